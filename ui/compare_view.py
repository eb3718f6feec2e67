"""Compare's one-scan columns: each model's result, named by the model that produced it."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.choice import ModelFit
from ui.common import model_label
from ui.heatmap import cam_channel, overlay
from ui.report import fmt_score
from ui.trust import ood_sentence
from zoo.card import ModelCard
from zoo.imaging import Scan
from zoo.labels import LabelTask, label_tasks
from zoo.registry import ModelEntry
from zoo.runtime import Prediction


def score_row(card: ModelCard, prediction: Prediction) -> dict[str, Any]:
    """One row of the scores table; ``card`` is the result's own model's (a multi-label
    model's row is about its most probable label, at that label's own threshold)."""
    findings = prediction.findings
    call = " | ".join(findings) or "none" if prediction.label_thresholds else None
    card, prediction = card.finding(prediction.label), prediction.finding(prediction.label)
    focus = card.positive_label or prediction.label
    return {
        "model": card.id,
        "call at the threshold": call or prediction.label,
        "label of interest": focus,
        "score": round(prediction.probabilities[focus], 4),
        "threshold": f"{card.default_threshold:.3f}" if card.is_binary else "— (top label)",
        "latency (ms)": round(prediction.latency_ms, 1),
        "probabilities": " · ".join(f"{k} {v:.3f}" for k, v in prediction.probabilities.items()),
    }


def score_column(
    card: ModelCard, prediction: Prediction, fit: ModelFit, scan: Scan, alpha: float
) -> None:
    """A model's column: its score against its threshold, fit and OOD warnings, heatmap (a
    multi-label model's: its most probable label's, against that label's threshold)."""
    card, prediction = card.finding(prediction.label), prediction.finding(prediction.label)
    st.markdown(f"**{card.name}** v{prediction.model_version}")
    focus = card.positive_label or prediction.label
    score = prediction.probabilities[focus]  # not the table's rounded copy: it decides the call
    if card.is_binary:
        called = "≥" if score >= card.default_threshold else "<"
        delta = f"{called} t = {fmt_score(card.default_threshold, score)}"
    else:
        delta = "top label"
    st.metric(
        f"P('{focus}')",
        fmt_score(score, card.default_threshold),
        delta,
        delta_color="off",
        delta_arrow="off",
        border=True,
    )
    if not fit.fits:
        st.caption(f"⚠ {fit.why}")
    flagged = ood_sentence(prediction, card)
    if flagged:
        st.warning(flagged, icon=":material/travel_explore:")
    cam = cam_channel(prediction, focus)
    if cam is None:
        st.caption("No activation map exported.")
        return
    st.image(
        overlay(
            scan.pixels,
            cam,
            prediction.preprocessed,
            card.preprocessing.input_size,
            alpha=alpha,
            max_side=512,
        ),
        caption=f"Activation map for '{focus}'",
        width="stretch",
    )


def task_picker(candidates: dict[str, ModelEntry]) -> tuple[LabelTask, list[ModelEntry]] | None:
    """The label of interest (models that predict it, lined up by :mod:`zoo.labels`) and the
    models chosen among them; None, with a message, when there is nothing to compare."""
    tasks = label_tasks(entry.card for entry in candidates.values())
    if not tasks:
        st.info(
            "No model has labelled predictions to compare: models built with "
            "`python -m pipeline build-zoo` ship their validation predictions."
        )
        return None
    by_title = {task.title: task for task in tasks}
    title = st.selectbox(
        "Label of interest (one-vs-rest; models that predict it, by modality)",
        list(by_title),
        key="compare_task",
        help="Labels are matched by name across models (no_finding = normal, …: see "
        "zoo/labels.py). Each model is scored one-vs-rest on the label.",
    )
    task = by_title[title]
    entries = [candidates[model_id] for model_id in task.model_ids]
    chosen = st.multiselect(
        "Models",
        entries,
        default=entries[:4],
        format_func=model_label,
        key=f"compare_set_models_{task.label}_{'|'.join(task.modalities)}",
    )
    if not chosen:
        st.info("Choose at least one model.")
        return None
    return task, chosen
