"""Scans from uploads and the sample folder: bytes in, a cached :class:`~zoo.imaging.Scan` out.

Uploads are read into memory and never written to disk; the format is decided from the
content by :func:`zoo.imaging.load_scan`, so a DICOM file without an extension works. Only
PHI-free fields (:func:`zoo.imaging.describe_scan`) are ever shown.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from zoo.imaging import UNTAGGED, WINDOW_PRESETS, Scan, describe_scan, load_scan

ROOT = Path(__file__).resolve().parents[1]
#: Optional override of the sample folder (a deployment's own samples).
SAMPLES_ENV = "MEDZOO_SAMPLES_DIR"
SAMPLE_DIRS = (ROOT / "zoo" / "samples", ROOT / "samples")
SAMPLE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".dcm", ".dicom"}
MAX_SAMPLES = 50

#: ``window`` choices offered for grey-scale DICOM: None = the file's own VOI.
FILE_WINDOW = "file"
MINMAX_WINDOW = "minmax"


@dataclass(frozen=True)
class Upload:
    """A scan's bytes, kept in memory, with the name it arrived under (a label only).

    ``declared_modality`` is what a shipped sample says it is (``kinds.csv``) and
    ``drawn_for`` the model whose data it was drawn from; None for uploads, whose modality
    is only what the file itself tags.
    """

    name: str
    data: bytes
    digest: str
    declared_modality: str | None = None
    drawn_for: str | None = None

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        name: str,
        declared_modality: str | None = None,
        drawn_for: str | None = None,
    ) -> Upload:
        return cls(
            name=name or "scan",
            data=bytes(data),
            digest=hashlib.sha256(data).hexdigest(),
            declared_modality=declared_modality,
            drawn_for=drawn_for,
        )


def sample_dirs() -> list[Path]:
    override = os.environ.get(SAMPLES_ENV)
    return [Path(override)] if override else list(SAMPLE_DIRS)


def find_samples() -> list[Path]:
    """Sample scans shipped with the app (``zoo/samples/`` or ``samples/``), if any."""
    found: list[Path] = []
    for folder in sample_dirs():
        if folder.is_dir():
            found += sorted(
                p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SAMPLE_SUFFIXES
            )
    return found[:MAX_SAMPLES]


def sample_attribution(samples: list[Path]) -> str | None:
    """The README/ATTRIBUTION text beside the samples, when there is one."""
    for folder in {p.parent for p in samples}:
        for name in ("ATTRIBUTION.md", "README.md"):
            path = folder / name
            if path.is_file():
                return path.read_text(encoding="utf-8", errors="replace")[:4000]
    return None


@st.cache_data(max_entries=8, show_spinner=False)
def decode(digest: str, name: str, frame: int | None, window: str | None, _data: bytes) -> Scan:
    """:func:`load_scan` on bytes, cached by their SHA-256 (``_data`` is not hashed)."""
    return load_scan(_data, filename=name, frame=frame, window=window)


def window_choices(scan: Scan) -> list[str]:
    """Windows that make sense for a DICOM scan: presets (HU) only for CT."""
    if scan.source_format != "dicom" or scan.is_color:
        return []
    presets = list(WINDOW_PRESETS) if scan.modality == "CT" else []
    return [FILE_WINDOW, MINMAX_WINDOW, *presets]


def window_label(choice: str) -> str:
    if choice == FILE_WINDOW:
        return "The file's own window"
    if choice == MINMAX_WINDOW:
        return "Min–max stretch"
    w = WINDOW_PRESETS[choice]
    return f"{choice.replace('_', ' ').title()} (W{w.width:g} / L{w.center:g})"


def summary_rows(scan: Scan, name: str) -> dict[str, str]:
    """What the pages show about a scan: PHI-free fields only."""
    info = describe_scan(scan)
    window = info["window"]
    return {
        "file": name,
        "format": info["format"].upper(),
        "modality": info["modality"]
        + (" (image file: no modality tag)" if info["modality"] == UNTAGGED else ""),
        "size": f"{info['size'][0]} × {info['size'][1]} px, {info['channels']} channel(s)",
        "frames": f"{info['frame'] + 1} of {info['frames']}",
        "window": "—"
        if window is None
        else f"{window['name']} (W{window['width']:g} / L{window['center']:g})",
        "pixel spacing": "—"
        if info["spacing"] is None
        else "{:.3g} × {:.3g} mm".format(*info["spacing"]),
    }
