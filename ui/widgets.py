"""Streamlit widgets shared by the pages; each returns what the user chose."""

from __future__ import annotations

import math

import streamlit as st

from ui.common import model_label, user_action
from ui.report import operating_points
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
from zoo.registry import ModelEntry, Registry
from zoo.trust.resemblance import by_resemblance

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
        return Upload.from_bytes(path.read_bytes(), path.name) if path else None
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


# Image files (and DICOM without a Modality) are "OT": no tag a model could match. A card
# listing OT must not capture every JPEG upload silently, so OT matches no model and the
# user always sees the "no modality tag" warning.
UNTAGGED = "OT"


def _untagged(modality: str | None) -> bool:
    return modality is not None and modality.upper() == UNTAGGED


def model_options(
    registry: Registry, modality: str | None, resemblance: dict[str, float] | None = None
) -> list[ModelEntry]:
    """Models matching ``modality`` first. When it is unknown (image files): all models,
    those whose training inputs the scan resembles first (``resemblance``: model id →
    input-side OOD ratio), else in zoo order."""
    if not modality or _untagged(modality):
        entries = registry.entries()
        if not resemblance:
            return entries
        by_id = {entry.id: entry for entry in entries}
        return [by_id[i] for i in by_resemblance(resemblance, list(by_id))]
    return registry.for_modality(modality)


def matches(entry: ModelEntry, modality: str | None) -> bool:
    if _untagged(modality):
        return False
    return modality is None or modality.upper() in entry.card.modalities


def modality_warning(entry: ModelEntry, modality: str) -> None:
    card = entry.card
    if modality == "OT":
        st.warning(
            f"Image files carry no modality tag. **{card.name}** expects "
            f"{', '.join(card.modalities)} {card.body_part} images: make sure the scan is one.",
            icon=":material/warning:",
        )
    else:
        st.warning(
            f"This scan's modality is {modality}, but **{card.name}** was trained on "
            f"{', '.join(card.modalities)} {card.body_part} images: its output is outside its "
            "intended use.",
            icon=":material/warning:",
        )


def model_picker(
    registry: Registry,
    modality: str | None,
    key: str,
    resemblance: dict[str, float] | None = None,
) -> ModelEntry:
    entries = model_options(registry, modality, resemblance)
    entry = st.selectbox(
        "Model",
        entries,
        format_func=lambda e: ("" if matches(e, modality) else "⚠ ") + model_label(e),
        key=key,
        help="Models trained on this scan's modality come first. Image files carry no "
        "modality: the models whose training images the scan looks most like come first.",
    )
    return entry


def label_picker(card: ModelCard, key: str, *, default: str | None = None) -> str:
    """The label of interest: fixed for binary models, chosen for multiclass ones."""
    if card.is_binary:
        return card.positive_label  # type: ignore[return-value]
    labels = list(card.labels)
    index = labels.index(default) if default in labels else len(labels) - 1
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
    return float(points[name]), name


def fmt_pct(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.1%}"


def fmt_score(value: float, other: float) -> str:
    """``value`` with enough decimals to tell it apart from ``other`` (a score vs a threshold)."""
    for digits in (3, 4, 5, 6):
        if round(value, digits) != round(other, digits) or value == other:
            return f"{value:.{digits}f}"
    return f"{value:.7f}"


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
