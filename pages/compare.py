"""Compare: one scan through several models, or several models on one labelled set."""

import pandas as pd
import streamlit as st

from ui.analysis import render_comparison
from ui.choice import default_models, rank_models, scan_modality
from ui.common import get_registry, model_key, model_label, page_setup, require_models, show_error
from ui.heatmap import DEFAULT_OPACITY, cam_channel, overlay
from ui.inference import result_card, run_prediction, scan_resemblance
from ui.stats import validation_set
from ui.trust import ood_sentence
from ui.widgets import modality_note, scan_controls, scan_key, scan_picker
from zoo.errors import ZooError
from zoo.labels import label_tasks

SCAN, LABELLED = "One scan, several models", "Models on a labelled set"

page_setup("Compare models")
zoo = get_registry()
require_models(zoo)
mode = st.radio("Compare", [SCAN, LABELLED], horizontal=True, key="compare_mode")


def compare_on_scan() -> None:
    upload = scan_picker("compare")
    if upload is None:
        st.info("Upload a scan to run it through several models side by side.")
        return
    scan, frame, window = scan_controls(upload, "compare")
    modality = scan_modality(scan.modality, upload.declared_modality)
    ranked = rank_models(zoo, modality, scan_resemblance(zoo, upload, scan, frame, window))
    fits = {fit.id: fit for fit in ranked}
    chosen = st.multiselect(
        "Models",
        [fit.entry for fit in ranked],
        default=default_models(ranked, 3),
        format_func=lambda e: ("" if fits[e.id].fits else "⚠ ") + model_label(e),
        key=scan_key("compare_models", upload),
        help="Models that fit this scan come first and are selected: its modality tag, "
        "else (image files) the models whose training images it resembles.",
    )
    modality_note(modality, scan.modality)
    if not chosen:
        st.info("Choose at least one model.")
        return
    alpha = st.slider("Heatmap opacity", 0.0, 1.0, DEFAULT_OPACITY, 0.05, key="compare_alpha")
    rows = []
    columns = st.columns(min(4, max(3, len(chosen))))
    for i, entry in enumerate(chosen):
        card = entry.card
        with columns[i % len(columns)]:
            try:
                prediction = run_prediction(
                    *model_key(entry), upload.digest, frame, window, _scan=scan, _registry=zoo
                )
                card = result_card(zoo, prediction)
            except ZooError as exc:
                show_error(exc, f"{card.name} could not analyse {upload.name}")
                continue
            st.markdown(f"**{card.name}** v{card.version}")
            focus = card.positive_label or prediction.label
            score = prediction.probabilities[focus]
            called = (
                "≥"
                if card.is_binary and score >= card.default_threshold
                else "<"
                if card.is_binary
                else ""
            )
            st.metric(
                f"P('{focus}')",
                f"{score:.3f}",
                f"{called} t = {card.default_threshold:.3f}" if card.is_binary else "top label",
                delta_color="off",
                delta_arrow="off",
                border=True,
            )
            if not fits[entry.id].fits:
                st.caption(f"⚠ {fits[entry.id].why}")
            flagged = ood_sentence(prediction, card)
            if flagged:
                st.warning(flagged, icon=":material/travel_explore:")
            cam = cam_channel(prediction, focus)
            if cam is not None:
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
            else:
                st.caption("No activation map exported.")
            rows.append(
                {
                    "model": card.id,
                    "predicted label": prediction.label,
                    "label of interest": focus,
                    "score": round(score, 4),
                    "threshold": f"{card.default_threshold:.3f}"
                    if card.is_binary
                    else "— (top label)",
                    "latency (ms)": round(prediction.latency_ms, 1),
                    "probabilities": " · ".join(
                        f"{k} {v:.3f}" for k, v in prediction.probabilities.items()
                    ),
                }
            )
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        st.caption(
            "Binary models are called positive at their card's default threshold; multiclass "
            "models report their most probable label. Latency: this run, one scan, this server."
        )


def compare_on_labelled_set() -> None:
    batch = st.session_state.get("batch") or {}
    sources = ["Validation split (shipped with the models)"]
    if batch.get("sets"):
        sources.append("My labelled batch (from the Batch page)")
    if len(sources) > 1:
        source = st.radio("Labelled set", sources, horizontal=True, key="compare_source")
    else:
        source = sources[0]
    if source == sources[0]:
        candidates = {e.id: e for e in zoo.entries() if e.card.validation_predictions}
    else:
        candidates = {m: zoo.get(m) for m in batch["sets"] if m in zoo}
    if len(sources) == 1:
        st.caption(
            "Labelled set: each model's shipped validation split. To compare models on your own "
            "labelled scans, score them on the Batch page first."
        )
    tasks = label_tasks(entry.card for entry in candidates.values())
    if not tasks:
        st.info(
            "No model has labelled predictions to compare: models built with "
            "`python -m training build-zoo` ship their validation predictions."
        )
        return
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
        return
    label = task.label
    sets = []
    for entry in chosen:
        try:
            scored = (
                validation_set(zoo, entry.id) if source == sources[0] else batch["sets"][entry.id]
            )
        except ZooError as exc:
            show_error(exc, f"The predictions of {entry.card.name} could not be read")
            continue
        if scored is not None:
            sets.append(scored)
    if not sets:
        return
    if len(sets) == 1:
        st.caption("One model: add another to test the difference between their AUCs.")
    render_comparison(sets, label, key="compare_set")


if mode == SCAN:
    compare_on_scan()
else:
    compare_on_labelled_set()
