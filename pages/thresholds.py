"""Thresholds: a model's validation predictions, a threshold and what it gives.

Moving the slider recomputes threshold statistics only: the curves are cached per model
(``st.cache_data``), the ThresholdTable is shared (``st.cache_resource``), and no model runs.
"""

import streamlit as st

from ui.common import model_label, page_setup, require_models, user_action
from ui.imported import session_zoo
from ui.stats import validation_set
from ui.threshold_model import threshold_model
from ui.thresholds_view import threshold_panels, threshold_picker
from ui.widgets import label_picker

page_setup("Thresholds")
st.markdown(
    "Every threshold trades sensitivity against specificity. Pick an operating point or move "
    "the slider and watch the validation statistics follow. Nothing is re-run: these are the "
    "model's predictions on its validation split."
)
zoo = session_zoo()
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
    # a multi-label model: this finding against the rest, at its own threshold
    model = threshold_model(validation_set(zoo, card.id).finding(label), label)
if not model.defined:
    st.warning(
        f"The validation set of {card.name} holds only one class for '{label}': sensitivity, "
        "specificity and ROC are undefined. Pick another label or model."
    )
    st.stop()

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
        value=round(100 * model.validation_prevalence, 1),
        step=0.5,
        key=f"thr_prev_{card.id}_{label}",
        help="PPV and NPV depend on how common the label is where the model is used; "
        f"the validation set has {model.validation_prevalence:.1%}.",
    )
with c1:
    threshold = threshold_picker(model, model.operating_points(float(cost)))

threshold_panels(model, threshold, float(prevalence_pct) / 100)
