"""Thresholds: a model's validation predictions, a threshold and what it gives.

Moving the slider recomputes threshold statistics only: the curves are cached per model
(``st.cache_data``), the ThresholdTable is shared (``st.cache_resource``), and no model runs.
"""

import streamlit as st

from ui.common import get_registry, model_label, page_setup, require_models, user_action
from ui.report import operating_points, unreachable_points
from ui.state import choose_threshold
from ui.stats import both_classes, metrics_at, validation_set
from ui.thresholds_view import threshold_panels
from ui.widgets import label_picker, unreachable_note

CUSTOM = "Custom"

page_setup("Thresholds")
st.markdown(
    "Every threshold trades sensitivity against specificity. Pick an operating point or move "
    "the slider and watch the validation statistics follow. Nothing is re-run: these are the "
    "model's predictions on its validation split."
)
zoo = get_registry()
require_models(zoo)
entries = [e for e in zoo.entries() if e.card.validation_predictions]
if not entries:
    st.info(
        "None of the installed models ships validation predictions (the `validation_predictions` "
        "file of its card), so there is nothing to set a threshold on. Models built with "
        "`python -m pipeline build-zoo` include them."
    )
    st.stop()

top_left, top_right = st.columns([3, 2])
entry = top_left.selectbox("Model", entries, format_func=model_label, key="thr_model")
card = entry.card
with top_right:
    label = label_picker(card, f"thr_label_{card.id}")
with user_action(f"The validation predictions of {card.name} could not be read"):
    validation = validation_set(zoo, card.id)
y, s = validation.binary(label)
if not both_classes(y):
    st.warning(
        f"The validation set of {card.name} holds only one class for '{label}': sensitivity, "
        "specificity and ROC are undefined. Pick another label or model."
    )
    st.stop()
table = validation.table(label)
curves = validation.curves(label)
negative = next(v for v in card.labels if v != label) if card.is_binary else f"not {label}"
sample_prevalence = float(y.mean())

suffix = f"{card.id}_{label}"
slider_key, preset_key = f"thr_t_{suffix}", f"thr_preset_{suffix}"
c1, c2, c3 = st.columns([3, 1, 1])
with c2:
    cost = st.number_input(
        "FN:FP cost ratio",
        min_value=0.01,
        max_value=1000.0,
        value=1.0,
        step=0.5,
        key="thr_cost",
        help="How many false positives one false negative is worth avoiding: "
        "used by the 'Min cost' operating point.",
    )
with c3:
    prevalence_pct = st.number_input(
        "Prevalence (%)",
        min_value=0.1,
        max_value=99.9,
        value=round(100 * sample_prevalence, 1),
        step=0.5,
        key=f"thr_prev_{suffix}",
        help="PPV and NPV depend on how common the label is where the model is used; "
        f"the validation set has {100 * sample_prevalence:.1f}%.",
    )
points = operating_points(table, card, cost_ratio=float(cost))
unreachable = unreachable_points(table, cost_ratio=float(cost))
start = "Card default" if "Card default" in points else "Youden" if "Youden" in points else CUSTOM
if st.session_state.get(preset_key) not in (None, CUSTOM, *points):
    st.session_state[preset_key] = start  # a cost ratio made the chosen point unreachable
st.session_state.setdefault(preset_key, start)
st.session_state.setdefault(slider_key, float(points.get(start, 0.5)))
with c1:
    preset = st.radio(
        "Operating point",
        [CUSTOM, *points],
        horizontal=True,
        key=preset_key,
        format_func=lambda n: n if n == CUSTOM else f"{n} ({points[n]:.3f})",
    )
    unreachable_note(unreachable)
if preset != CUSTOM and st.session_state.get(slider_key) != points[preset]:
    st.session_state[slider_key] = points[preset]  # before the slider exists in this run


def _to_custom() -> None:
    st.session_state[preset_key] = CUSTOM


threshold = st.slider(
    f"Threshold on P('{label}'): a case is called '{label}' when its score is ≥ the threshold",
    0.0,
    1.0,
    step=0.001,
    format="%.3f",
    key=slider_key,
    on_change=_to_custom,
)
choose_threshold(card.id, label, threshold)
prevalence = float(prevalence_pct) / 100
at = metrics_at(table, threshold, prevalence=prevalence)

threshold_panels(card, label, negative, threshold, prevalence, at, curves, (y, s), len(table))
