"""Batch: many scans (or ZIP archives) through one or more models; with labels, metrics."""

import streamlit as st

from ui import state
from ui.analysis import findings_table, render_comparison, render_model_metrics
from ui.batch import (
    MAX_FILES,
    MAX_RATIO,
    MAX_TOTAL_BYTES,
)
from ui.batch_view import open_results, run_batch, scores_section
from ui.common import model_label, page_setup, require_models
from ui.imported import session_zoo
from ui.stats import target_label
from ui.trust import render_subgroups
from zoo.labels import label_in

page_setup("Batch")
st.markdown(
    f"Score many scans at once: upload files, or ZIP archives (read in memory; at most "
    f"{MAX_FILES} files, {MAX_TOTAL_BYTES // 2**20} MB unpacked, {MAX_RATIO}:1 compression). "
    "Add a CSV with the columns `path,label` to evaluate the models on your own data: `path` "
    "matches a file's name, or its path inside the ZIP; labels use the model's label names or "
    "their synonyms (normal = no_finding, …). For models that predict several labels at "
    "once, list a case's labels joined by `|` (`Effusion|Mass`; `No Finding` for none)."
)
zoo = session_zoo()
require_models(zoo)

left, right = st.columns([3, 2], gap="large")
with left:
    uploads = st.file_uploader(
        "Scans or ZIP archives",
        accept_multiple_files=True,
        key="batch_files",
        help="Any of PNG, JPEG, TIFF, BMP, WebP, DICOM, or ZIPs of them. Nothing is written "
        "to disk.",
    )
    labels_file = st.file_uploader(
        "Labels CSV (optional)",
        type=["csv"],
        key="batch_labels",
        help="Columns `path,label`, plus any others (sex, age, scanner, site…) to slice the "
        "metrics by.",
    )
with right:
    chosen = st.multiselect(
        "Models",
        zoo.entries(),
        default=zoo.entries()[:1],
        format_func=model_label,
        key="batch_models",
    )
    go = st.button(
        "Score the batch", type="primary", disabled=not uploads or not chosen, key="batch_go"
    )

if go:
    run_batch(zoo, uploads, labels_file, chosen)

with st.expander("Or open a results file of `python -m zoo score` (an archive scored elsewhere)"):
    results = st.file_uploader(
        "Results: the Parquet file(s) of the output folder",
        type=["parquet"],
        accept_multiple_files=True,
        key="batch_results",
    )
    labels_column = st.text_input(
        "Column of true labels (empty: none)", "label", key="batch_results_labels"
    )
    if st.button("Open the results", disabled=not results, key="batch_results_go"):
        open_results(zoo, results, labels_column.strip() or None)

batch = state.batch()
if batch is None:
    st.info("Upload scans, choose models and press **Score the batch**.")
    st.stop()

scores_section(batch.frame)

sets = batch.sets
for note in batch.notes:
    st.warning(note)
if not sets:
    st.caption("Add a labels CSV to see metrics and comparisons on your data.")
    st.stop()

st.subheader("Metrics on your data")
entry_ids = list(sets)
model_id = st.selectbox("Model", entry_ids, key="batch_metrics_model")
scored = sets[model_id]
card = scored.card
label = target_label(card)
if not card.is_binary:
    label = st.selectbox(
        "Finding" if card.is_multilabel else "Label of interest (one-vs-rest)",
        list(card.labels),
        index=len(card.labels) - 1,
        key=f"batch_label_{model_id}",
    )
if card.is_multilabel:
    findings_table(scored)
scored = scored.finding(label)  # a multi-label model: this finding against the rest
threshold = scored.card.default_threshold if scored.card.is_binary else 0.5
render_model_metrics(scored, label, key=f"batch_{model_id}_{label}", threshold=threshold)
st.markdown("**Subgroups**")
render_subgroups(scored, label, threshold, key=f"batch_{model_id}_{label}")

if len(sets) > 1:
    st.subheader("Compare the models on your data")
    # labels lined up by name across models (zoo.labels: "normal" = "no_finding")
    common = [lab for lab in card.labels if all(label_in(s.card, lab) for s in sets.values())]
    if not common:
        st.info("The models share no label, so they cannot be compared on one label.")
    else:
        focus = st.selectbox(
            "Label to compare on",
            common,
            index=common.index(label) if label in common else 0,
            key="batch_compare_label",
        )
        render_comparison(list(sets.values()), focus, key="batch_compare")
