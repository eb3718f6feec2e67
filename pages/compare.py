"""Compare: one scan through several models, or several models on one labelled set."""

import pandas as pd
import streamlit as st

from ui import state
from ui.analysis import render_comparison
from ui.choice import default_models, rank_models, scan_modality
from ui.common import model_key, model_label, page_setup, require_models, show_error
from ui.compare_view import score_column, score_row, task_picker
from ui.heatmap import DEFAULT_OPACITY
from ui.imported import session_zoo
from ui.inference import result_card, run_prediction, scan_resemblance
from ui.population import render_population_comparison
from ui.stats import validation_set
from ui.widgets import modality_note, scan_controls, scan_key, scan_picker
from zoo.errors import ZooError

SCAN, LABELLED = "One scan, several models", "Models on a labelled set"

page_setup("Compare models")
zoo = session_zoo()
require_models(zoo)
mode = st.radio("Compare", [SCAN, LABELLED], horizontal=True, key="compare_mode")


def compare_on_scan() -> None:
    upload = scan_picker("compare")
    if upload is None:
        st.info("Upload a scan to run it through several models side by side.")
        return
    scan, frame, window = scan_controls(upload, "compare")
    modality = scan_modality(scan.modality, upload.declared_modality)
    ranked = rank_models(
        zoo, modality, scan_resemblance(zoo, upload, scan, frame, window), upload.drawn_for
    )
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
            score_column(card, prediction, fits[entry.id], scan, alpha)
            rows.append(score_row(card, prediction))
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        st.caption(
            "Binary models are called positive at their card's default threshold; multiclass "
            "models report their most probable label. Latency: this run, one scan, this server."
        )


def compare_on_labelled_set() -> None:
    batch_sets = state.batch_sets()
    sources = ["Validation split (shipped with the models)"]
    if batch_sets:
        sources.append("My labelled batch (from the Batch page)")
    if len(sources) > 1:
        source = st.radio("Labelled set", sources, horizontal=True, key="compare_source")
    else:
        source = sources[0]
    if source == sources[0]:
        candidates = {e.id: e for e in zoo.entries() if e.card.validation_predictions}
    else:
        candidates = {m: zoo.get(m) for m in batch_sets if m in zoo}
    if len(sources) == 1:
        st.caption(
            "Labelled set: each model's shipped validation split. To compare models on your own "
            "labelled scans, score them on the Batch page first."
        )
    picked = task_picker(candidates)
    if picked is None:
        return
    task, chosen = picked
    label = task.label
    sets = []
    for entry in chosen:
        try:
            scored = validation_set(zoo, entry.id) if source == sources[0] else batch_sets[entry.id]
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
    render_population_comparison(entry.card for entry in zoo.entries())
