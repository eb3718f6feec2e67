"""Metrics: each model on its validation split (or your labelled batch), and its training curves."""

import streamlit as st

from ui import state
from ui.analysis import (
    default_threshold,
    findings_table,
    render_history,
    render_model_metrics,
)
from ui.common import model_label, page_setup, require_models, user_action
from ui.imported import session_zoo
from ui.population import has_population_sections, render_population_shift
from ui.stats import target_label, validation_set
from ui.trust import render_calibration_effect, render_localization, render_subgroups
from ui.widgets import label_picker

VALIDATION, BATCH = "Validation split (shipped)", "My labelled batch"

page_setup("Metrics")
zoo = session_zoo()
require_models(zoo)

top_left, top_right = st.columns([3, 2])
entry = top_left.selectbox("Model", zoo.entries(), format_func=model_label, key="metrics_model")
card = entry.card
batch_sets = state.batch_sets()
sources = []
if card.validation_predictions:
    sources.append(VALIDATION)
if card.id in batch_sets:
    sources.append(BATCH)
with top_right:
    if not sources:
        st.info(
            "This model ships no validation predictions and has not scored a labelled batch "
            "in this session: score labelled scans on the Batch page to see its metrics."
        )
        source = None
    else:
        source = st.radio("Labelled set", sources, horizontal=True, key=f"metrics_src_{card.id}")
        label = label_picker(card, f"metrics_label_{card.id}", default=target_label(card))

if source is not None:
    if source == VALIDATION:
        with user_action(f"The validation predictions of {card.name} could not be read"):
            scored = validation_set(zoo, card.id)
    else:
        scored = batch_sets[card.id]
    if card.is_multilabel:
        findings_table(scored)
    scored = scored.finding(label)  # a multi-label model: this finding against the rest
    threshold = default_threshold(scored, label)
    if scored.card.is_binary:
        threshold = st.columns([1, 2])[0].number_input(
            "Threshold for the confusion matrix and the metrics",
            0.0,
            1.0,
            value=float(threshold),
            step=0.01,
            format="%.3f",
            key=f"metrics_t_{card.id}_{label}" if card.is_multilabel else f"metrics_t_{card.id}",
            help="Defaults to the threshold chosen on the Thresholds page, else the card's.",
        )
    st.caption(
        f"{len(scored.y_true)} cases from {scored.source}. ROC band: pointwise 95% "
        "bootstrap; AUC CI: DeLong; proportions: Wilson 95% CIs."
    )
    render_model_metrics(scored, label, key=f"metrics_{card.id}", threshold=threshold)
    st.subheader("Subgroups")
    st.caption(
        f"'{label}' against the rest on {scored.source}, sliced by a metadata column: does "
        "the model work as well on every slice?"
    )
    render_subgroups(scored, label, threshold, key=f"metrics_{card.id}_{source}")

if has_population_sections(card):
    st.subheader("Other populations and collections")
    render_population_shift(card)

st.subheader("Calibration of the served probabilities")
render_calibration_effect(card, key=f"metrics_{card.id}")

st.subheader("Localization against radiologist boxes")
render_localization(card)

st.subheader("Training curves")
render_history(zoo, card.id, key=f"metrics_{card.id}")
