"""Streamlit widgets shared by the pages; each returns what the user chose."""

from __future__ import annotations

import math

import streamlit as st

from ui.choice import ModelFit, declared_kind, declared_model, is_untagged
from ui.common import model_label, user_action
from ui.report import NOT_REACHABLE, operating_points, unreachable_points
from ui.scans import (
    FILE_WINDOW,
    MINMAX_WINDOW,
    Upload,
    decode,
    find_samples,
    sample_attribution,
    window_choices,
    window_label,
)
from zoo.card import ModelCard
from zoo.imaging import Scan
from zoo.metrics import ThresholdTable

UPLOAD_HELP = (
    "PNG, JPEG, TIFF, BMP, WebP or DICOM (with or without the .dcm extension): the format is "
    "read from the content. The file stays in memory and is never written to disk."
)


def scan_picker(key: str) -> Upload | None:
    """An uploader, plus a sample picker when sample scans ship with the app."""
    samples = find_samples()
    source = "upload"
    if samples:
        source = st.radio(
            "Scan",
            ["upload", "sample"],
            format_func={"upload": "Upload a scan", "sample": "Use a sample scan"}.get,
            horizontal=True,
            key=f"{key}_source",
        )
    if source == "sample":
        path = st.selectbox(
            "Sample scan", samples, format_func=lambda p: p.name, key=f"{key}_sample"
        )
        attribution = sample_attribution(samples)
        if attribution:
            with st.expander("Where the samples come from"):
                st.markdown(attribution)
        if path is None:
            return None
        return Upload.from_bytes(
            path.read_bytes(), path.name, declared_kind(path), declared_model(path)
        )
    uploaded = st.file_uploader("Upload a scan", type=None, key=f"{key}_upload", help=UPLOAD_HELP)
    if uploaded is None:
        return None
    return Upload.from_bytes(uploaded.getvalue(), uploaded.name)


def scan_controls(upload: Upload, key: str) -> tuple[Scan, int | None, str | None]:
    """Decode ``upload``; for DICOM offer a window preset and a frame.

    Returns the scan, the frame index (None = first) and the window (None = the file's).
    """
    with user_action(f"Could not read {upload.name}"):
        scan = decode(upload.digest, upload.name, None, None, upload.data)
    frame: int | None = None
    window: str | None = None
    choices = window_choices(scan)
    if scan.source_format == "dicom" and (choices or scan.frame_count > 1):
        left, right = st.columns(2)
        if choices:
            choice = left.selectbox(
                "DICOM window",
                choices,
                format_func=window_label,
                key=f"{key}_window",
                help="Presets are in Hounsfield units (CT only).",
            )
            window = None if choice == FILE_WINDOW else choice
            if choice == MINMAX_WINDOW:
                window = "minmax"
        if scan.frame_count > 1:
            frame = (
                int(
                    right.number_input(
                        f"Frame (1–{scan.frame_count})",
                        min_value=1,
                        max_value=scan.frame_count,
                        value=1,
                        step=1,
                        key=f"{key}_frame",
                    )
                )
                - 1
            )
        if frame or window:
            with user_action(f"Could not read {upload.name}"):
                scan = decode(upload.digest, upload.name, frame, window, upload.data)
    return scan, frame, window


def scan_key(key: str, upload: Upload) -> str:
    """A widget key tied to the scan: a new scan gets new widgets, on purpose.

    A widget keyed by the page alone keeps its value when its options change, so after a
    new upload Streamlit handed back the previous scan's model for one run while the
    picker already showed the new one: the report was computed by another model than the
    one named.
    """
    return f"{key}:{upload.digest[:16]}"


def modality_note(modality: str | None, file_modality: str) -> None:
    """One note per scan about where its modality came from, when the file has none."""
    if modality is None:
        st.caption(
            "Image files carry no modality tag: the models whose training images this scan "
            "resembles come first. Make sure the scan is what the chosen model expects."
        )
    elif is_untagged(file_modality):
        st.caption(f"A shipped sample: {modality}, as its sample list declares.")


def model_picker(ranked: list[ModelFit], key: str) -> ModelFit:
    """The model for this scan, opening on the first of ``ranked`` (:func:`rank_models`);
    ⚠ marks only models that do not fit the scan."""
    fit = st.selectbox(
        "Model",
        ranked,
        index=0,
        format_func=lambda f: ("" if f.fits else "⚠ ") + model_label(f.entry),
        key=key,
        help="Models trained on this scan's modality come first; among them, and for image "
        "files (no modality tag), the ones whose training images the scan looks most like.",
    )
    # a select box cuts long names at 1280-1440 px: the whole name, wrapped, below it
    st.caption(f"**{fit.entry.card.name}** · `{fit.id}` · {', '.join(fit.entry.card.modalities)}")
    return fit


def misfit_warning(fit: ModelFit) -> None:
    """Said once, and only when the chosen model does not fit the scan."""
    card = fit.entry.card
    st.warning(
        f"**{card.name}** does not fit this scan ({fit.why}): its output is outside its "
        f"intended use ({', '.join(card.modalities)} {card.body_part} images).",
        icon=":material/warning:",
    )


def label_picker(card: ModelCard, key: str, *, default: str | None = None) -> str:
    """The label of interest: fixed for binary models, chosen for multiclass ones; for a
    multi-label model, the finding whose own threshold and figures the page shows."""
    if card.is_binary:
        return card.positive_label  # type: ignore[return-value]
    labels = list(card.labels)
    index = labels.index(default) if default in labels else len(labels) - 1
    if card.is_multilabel:
        return st.selectbox(
            "Finding",
            labels,
            index=index,
            key=key,
            help="This model predicts each label on its own, each with its own threshold: "
            "pick the one to look at.",
        )
    return st.selectbox(
        "Label of interest (one-vs-rest)",
        labels,
        index=index,
        key=key,
        help="Multiclass models: the threshold applies to this label's probability.",
    )


def operating_point_control(
    card: ModelCard, table: ThresholdTable | None, key: str
) -> tuple[float, str]:
    """A sensitivity control: operating points ordered from most specific to most sensitive.

    Moving right lowers the threshold (higher sensitivity). A toggle sets the threshold
    by hand. Returns the threshold and the name of the operating point.
    """
    key = f"{key}:{card.id}"
    points = operating_points(table, card)
    if not points:
        points = {"0.5": 0.5}
    unreachable_note(unreachable_points(table))
    ordered = sorted(points.items(), key=lambda kv: (-kv[1], kv[0]))
    names = [name for name, _ in ordered]
    default = (
        "Card default"
        if "Card default" in points
        else ("Youden" if "Youden" in points else names[0])
    )
    manual = st.toggle("Set the threshold by hand", key=f"{key}_manual")
    if manual:
        threshold = st.slider(
            "Threshold (lower = more sensitive)",
            0.0,
            1.0,
            value=float(points[default]),
            step=0.001,
            format="%.3f",
            key=f"{key}_threshold",
        )
        return float(threshold), "custom"
    if len(names) == 1:
        st.caption(f"Operating point: {names[0]} (t = {points[names[0]]:.3f})")
        return float(points[names[0]]), names[0]
    name = st.select_slider(
        "Sensitivity: ← more specific · more sensitive →",
        options=names,
        value=default,
        format_func=lambda n: f"{n} (t={points[n]:.3f})",
        key=f"{key}_point",
        help="Operating points from the model's validation predictions, ordered by threshold: "
        "to the right the threshold is lower, so more cases are called positive.",
    )
    st.caption(
        "From most specific to most sensitive: "
        + " → ".join(f"{n} ({points[n]:.3f})" for n in names)
    )
    return float(points[name]), name


def unreachable_note(names: list[str]) -> None:
    """Operating points that validation cannot reach, said as such (never t = 1.000)."""
    if names:
        st.caption(
            f"{', '.join(names)}: {NOT_REACHABLE} on the validation set (only calling no "
            "case positive gets there), so they are not offered."
        )


def fmt_pct(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.1%}"


def key_values(rows: dict[str, object]) -> None:
    """A two-column field/value table (Markdown, so long values wrap)."""

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = [
        "| field | value |",
        "|---|---|",
        *(f"| **{cell(k)}** | {cell(v)} |" for k, v in rows.items()),
    ]
    st.markdown("\n".join(lines))
