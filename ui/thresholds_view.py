"""The Thresholds page's widgets: the operating-point picker, and the figures, confusion
matrix and curves at one threshold, all rendered from a :class:`ThresholdModel`."""

from __future__ import annotations

import math

import streamlit as st

from ui import charts
from ui.analysis import _ci
from ui.figures import number
from ui.report import MIN_COST
from ui.state import choose_threshold
from ui.threshold_model import CUSTOM, OperatingPoints, ThresholdModel
from ui.widgets import unreachable_note


def threshold_picker(model: ThresholdModel, offered: OperatingPoints) -> float:
    """The operating-point radio and the threshold slider (moving it selects "Custom");
    records the threshold as this session's choice for the model and label."""
    suffix = f"{model.card.id}_{model.label}"
    slider_key, preset_key = f"thr_t_{suffix}", f"thr_preset_{suffix}"
    if st.session_state.get(preset_key) not in (None, CUSTOM, *offered.points):
        st.session_state[preset_key] = offered.start  # a cost ratio made the point unreachable
    st.session_state.setdefault(preset_key, offered.start)
    st.session_state.setdefault(slider_key, float(offered.points.get(offered.start, 0.5)))
    preset = st.radio(
        "Operating point",
        offered.choices,
        horizontal=True,
        key=preset_key,
        format_func=offered.caption,
    )
    unreachable_note(offered.unreachable)
    if preset != CUSTOM and st.session_state.get(slider_key) != offered.points[preset]:
        st.session_state[slider_key] = offered.points[preset]  # before the slider exists

    def to_custom() -> None:
        st.session_state[preset_key] = CUSTOM

    threshold = st.slider(
        f"Threshold on P('{model.label}'): a case is called '{model.label}' when its score is "
        "≥ the threshold",
        0.0,
        1.0,
        step=0.001,
        format="%.3f",
        key=slider_key,
        on_change=to_custom,
    )
    choose_threshold(model.card.id, model.label, threshold)
    return float(threshold)


def threshold_panels(model: ThresholdModel, threshold: float, prevalence: float) -> None:
    """Sensitivity, specificity, PPV/NPV at the user's prevalence, the confusion matrix, ROC
    with the point, score histograms and the decision curve, all at ``threshold``."""
    card, label, negative = model.card, model.label, model.negative
    y, s, curves, n_cases = model.y, model.scores, model.curves, model.n_cases
    at = model.at(threshold, prevalence)
    sample_prevalence = model.validation_prevalence
    cols = st.columns(6)
    cols[0].metric(
        "Sensitivity",
        number(at["sensitivity"], "{:.1%}"),
        border=True,
        help="95% CI (Wilson): " + _ci(at["sensitivity"], at["sensitivity_ci"], "{:.1%}"),
    )
    cols[1].metric(
        "Specificity",
        number(at["specificity"], "{:.1%}"),
        border=True,
        help="95% CI (Wilson): " + _ci(at["specificity"], at["specificity_ci"], "{:.1%}"),
    )
    cols[2].metric(f"PPV at {prevalence:.1%}", number(at["ppv"], "{:.1%}"), border=True)
    cols[3].metric(f"NPV at {prevalence:.1%}", number(at["npv"], "{:.1%}"), border=True)
    cols[4].metric("F1", number(at["f1"]), border=True)
    cols[5].metric("Balanced accuracy", number(at["balanced_accuracy"], "{:.1%}"), border=True)
    st.markdown(
        f"At t = {threshold:.3f}: "
        f"**TP {at['tp']} · FP {at['fp']} · TN {at['tn']} · FN {at['fn']}** "
        f"of {n_cases} validation cases. Sensitivity 95% CI "
        f"{_ci(at['sensitivity'], at['sensitivity_ci'], '{:.1%}')}, specificity 95% CI "
        f"{_ci(at['specificity'], at['specificity_ci'], '{:.1%}')}. PPV and NPV are re-weighted "
        "to the prevalence above (Bayes' rule)."
    )

    left, right = st.columns(2)
    left.plotly_chart(
        charts.confusion_figure(
            [[at["tn"], at["fp"]], [at["fn"], at["tp"]]],
            [negative, label],
            title=f"Confusion matrix at t = {threshold:.3f}",
        ),
        key="thr_cm",
    )
    fpr = 1 - at["specificity"]
    right.plotly_chart(
        charts.roc_figure(
            [(card.id, curves)],
            point=(fpr, at["sensitivity"]) if math.isfinite(fpr) else None,
        ),
        key="thr_roc",
    )
    left, right = st.columns(2)
    left.plotly_chart(
        charts.histogram_figure(s, y, threshold, positive=label, negative=negative), key="thr_hist"
    )
    right.plotly_chart(charts.net_benefit_figure(curves, threshold, name=card.id), key="thr_dca")
    st.caption(
        "Decision curve: net benefit = TP/n − FP/n · t/(1 − t) on the validation set (its own "
        f"prevalence, {sample_prevalence:.1%}); a model is useful where it lies above both "
        f"'treat all' and 'treat none'. '{MIN_COST}' minimises ratio·prevalence·(1 − sensitivity) "
        "+ (1 − prevalence)·(1 − specificity) at the validation prevalence."
    )
