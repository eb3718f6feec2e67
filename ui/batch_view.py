"""The Batch page's blocks: scoring a batch into the session, and showing its scores."""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import streamlit as st

from ui.batch import (
    collect_files,
    display_scores,
    labelled_sets,
    read_labels_csv,
    read_labels_metadata,
    results_frame,
    score_files,
)
from ui.common import user_action
from ui.state import BatchResult, set_batch
from zoo.registry import ModelEntry, Registry


def run_batch(zoo: Registry, uploads: list, labels_file: Any, chosen: list[ModelEntry]) -> None:
    """Read the uploads (and labels CSV) in memory, score them, keep the result in this
    session (:func:`ui.state.set_batch`, read by Compare and Metrics too)."""
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
    set_batch(BatchResult(frame, sets, tuple(notes), digest))


def open_results(zoo: Registry, uploads: list, labels_column: str | None) -> None:
    """A results file scored elsewhere, as this session's batch: the same tables and
    analyses as a batch scored here (models not in this zoo are said and left out)."""
    with user_action("The results file could not be read"):
        files = [(upload.name, upload.getvalue()) for upload in uploads]
        frame = results_frame(files, labels_column)
    unknown = sorted(set(frame["model"]) - set(zoo.ids()))
    frame = frame[frame["model"].isin(zoo.ids())]
    sets, notes = labelled_sets(frame, zoo) if labels_column else ({}, [])
    if unknown:
        notes.insert(0, f"Models not in this zoo, left out: {', '.join(map(str, unknown))}.")
    digest = hashlib.sha256(b"".join(data for _, data in files)).hexdigest()[:12]
    set_batch(BatchResult(frame.reset_index(drop=True), sets, tuple(notes), digest))


def scores_section(frame: pd.DataFrame) -> None:
    """The scores table, its CSV, and one warning per kind of doubtful score."""
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
