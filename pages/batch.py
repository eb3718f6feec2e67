"""Batch: many scans (or ZIP archives) through one or more models; with labels, metrics."""

import hashlib

import streamlit as st

from ui.analysis import render_comparison, render_model_metrics
from ui.batch import (
    MAX_FILES,
    MAX_RATIO,
    MAX_TOTAL_BYTES,
    collect_files,
    display_scores,
    labelled_sets,
    read_labels_csv,
    read_labels_metadata,
    score_files,
)
from ui.common import get_registry, model_label, page_setup, require_models, user_action
from ui.stats import target_label
from ui.trust import render_subgroups

page_setup("Batch")
st.markdown(
    f"Score many scans at once: upload files, or ZIP archives (read in memory; at most "
    f"{MAX_FILES} files, {MAX_TOTAL_BYTES // 2**20} MB unpacked, {MAX_RATIO}:1 compression). "
    "Add a CSV with the columns `path,label` to evaluate the models on your own data: `path` "
    "matches a file's name, or its path inside the ZIP; labels must use the model's label names."
)
zoo = get_registry()
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
    with user_action("The batch could not be read"):
        files = collect_files((f.name, f.getvalue()) for f in uploads)
        labels = read_labels_csv(labels_file.getvalue(), labels_file.name) if labels_file else {}
        metadata = (
            read_labels_metadata(labels_file.getvalue(), labels_file.name) if labels_file else {}
        )
    if not files:
        st.error("No files found in the upload (empty ZIP?).\n\n**What to do:** upload scans.")
        st.stop()
    bar = st.progress(0.0, text="Scoring…")

    def _progress(done: int, total: int, name: str) -> None:
        bar.progress(
            done / max(1, total),
            text=f"Scoring {done + 1}/{total}: {name}"
            if done < total
            else f"Scored {total} file(s).",
        )

    frame = score_files(
        files, [e.id for e in chosen], zoo, labels=labels, metadata=metadata, progress=_progress
    )
    sets, notes = labelled_sets(frame, zoo)
    digest = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()[:12]
    st.session_state["batch"] = {"frame": frame, "sets": sets, "notes": notes, "id": digest}

batch = st.session_state.get("batch")
if not batch:
    st.info("Upload scans, choose models and press **Score the batch**.")
    st.stop()

frame = batch["frame"]
errors = frame[frame["error"].notna()]
st.subheader("Scores")
good = frame["error"].isna().sum()
st.markdown(
    f"{frame['file'].nunique()} file(s) × {frame['model'].nunique()} model(s): "
    f"{good} score(s), {len(errors)} failure(s)."
)
if len(errors):
    with st.expander(f"{errors['file'].nunique()} file(s) could not be scored"):
        st.dataframe(errors[["file", "model", "error"]], hide_index=True)
st.dataframe(display_scores(frame), hide_index=True)
st.download_button(
    "Download the scores (CSV)",
    frame.to_csv(index=False).encode(),
    file_name="medzoo-scores.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
)
if "modality_ok" in frame and (frame["modality_ok"] == False).any():  # noqa: E712
    st.warning("Some scans' modality is not one the model was trained on (see `modality_ok`).")

if "ood_flagged" in frame and frame["ood_flagged"].eq(True).any():
    flagged = frame[frame["ood_flagged"].eq(True)]
    per_model = ", ".join(f"{m}: {n}" for m, n in flagged.groupby("model").size().items())
    st.warning(
        f"{len(flagged)} score(s) come from scans that look unlike the model's training data "
        f"(`ood_flagged`; {per_model}). Those outputs mean little: check the scan suits the "
        "model.",
        icon=":material/travel_explore:",
    )

sets = batch["sets"]
for note in batch["notes"]:
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
        "Label of interest (one-vs-rest)",
        list(card.labels),
        index=len(card.labels) - 1,
        key=f"batch_label_{model_id}",
    )
threshold = card.default_threshold if card.is_binary else 0.5
render_model_metrics(scored, label, key=f"batch_{model_id}", threshold=threshold)
st.markdown("**Subgroups**")
render_subgroups(scored, label, threshold, key=f"batch_{model_id}")

if len(sets) > 1:
    st.subheader("Compare the models on your data")
    common = [lab for lab in card.labels if all(lab in s.card.labels for s in sets.values())]
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
