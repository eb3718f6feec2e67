"""The Thresholds page's panels: figures, confusion matrix and curves at one threshold."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import streamlit as st

from ui import charts
from ui.analysis import _ci
from ui.figures import number
from ui.report import MIN_COST
from zoo.card import ModelCard


def threshold_panels(
    card: ModelCard,
    label: str,
    negative: str,
    threshold: float,
    prevalence: float,
    at: dict[str, Any],
    curves: dict[str, Any],
    validation: tuple[np.ndarray, np.ndarray],
    n_cases: int,
) -> None:
    """Sensitivity, specificity, PPV/NPV at the user's prevalence, the confusion matrix, ROC
    with the point, score histograms and the decision curve, all at ``threshold``."""
    y, s = validation
    sample_prevalence = float(np.mean(y))
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
