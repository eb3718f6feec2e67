"""Pixel value transforms: modality LUT (rescale) and VOI (window or LUT).

Every transform takes an array and returns a float32 array; transforms that find
none of their attributes in the dataset return ``arr`` unchanged, as pydicom's
``pydicom.pixels.processing`` functions do. The arithmetic is float32 and in
place on the working copy, so a 3000 × 3000 frame costs a handful of vectorised
passes and never a float64 copy.

Notes
-----
The order is the DICOM grey-scale pipeline (PS3.4 N.2.1.1): stored values →
modality LUT (*Rescale Slope*/*Intercept* or *Modality LUT Sequence*) → VOI
(window or *VOI LUT Sequence*) → MONOCHROME1 inversion (done by the caller).

References
----------
* DICOM PS3.3 C.11.1 Modality LUT Module
* DICOM PS3.3 C.11.2 VOI LUT Module; C.11.2.1.2 Window Center and Window Width
  (C.11.2.1.2.1 LINEAR, C.11.2.1.3.1 SIGMOID, C.11.2.1.3.2 LINEAR_EXACT)
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.errors import ScanError
from zoo.imaging.scan import Window

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

#: CT windows in Hounsfield units (width, level from common radiology practice).
#: ``bone`` uses W2000/L300; OHIF's W2500/L480 is a defensible alternative.
WINDOW_PRESETS: dict[str, Window] = {
    "lung": Window(center=-600.0, width=1500.0, name="lung"),
    "mediastinum": Window(center=50.0, width=350.0, name="mediastinum"),
    "bone": Window(center=300.0, width=2000.0, name="bone"),
    "brain": Window(center=40.0, width=80.0, name="brain"),
    "soft_tissue": Window(center=40.0, width=400.0, name="soft_tissue"),
    "abdomen": Window(center=50.0, width=400.0, name="abdomen"),
    "liver": Window(center=30.0, width=150.0, name="liver"),
}

#: ``window=`` values that ask for a min–max stretch instead of a window.
MINMAX_NAMES = frozenset({"none", "minmax", "min-max", "min_max"})

VOI_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")


def resolve_window(window: str | Window | None) -> Window | str | None:
    """Turn the ``window=`` argument of :func:`load_scan` into a Window.

    Parameters
    ----------
    window : str, Window or None
        None (use the file's VOI), ``"none"``/``"minmax"``, a key of
        :data:`WINDOW_PRESETS` (case and ``-``/space insensitive), or a Window.

    Returns
    -------
    Window, ``"minmax"`` or None

    Raises
    ------
    ScanError
        For an unknown preset name (the message lists the valid ones) or a
        Window whose width is not a positive finite number.
    """
    if window is None:
        return None
    if isinstance(window, Window):
        center, width = float(window.center), float(window.width)
        if not (np.isfinite(center) and np.isfinite(width) and width > 0):
            raise ScanError(
                f"window center/width must be finite with width > 0, got "
                f"center={window.center!r}, width={window.width!r}"
            )
        return window
    if isinstance(window, str):
        key = window.strip().lower().replace("-", "_").replace(" ", "_")
        if key in MINMAX_NAMES:
            return "minmax"
        if key in WINDOW_PRESETS:
            return WINDOW_PRESETS[key]
        valid = ", ".join([*WINDOW_PRESETS, "none", "minmax"])
        raise ScanError(f"unknown window preset {window!r}; valid presets: {valid}")
    raise ScanError(f"window must be a preset name, a Window or None, got {type(window).__name__}")


def _as_float32(arr: np.ndarray) -> np.ndarray:
    """Return a writeable float32 array that the caller may modify in place."""
    if arr.dtype == np.float32 and arr.flags.writeable:
        return arr
    return arr.astype(np.float32)


def _functional_item(ds: Dataset, frame: int, keyword: str) -> Dataset | None:
    """Return the first item of ``keyword`` from the per-frame or shared
    functional groups of an enhanced (multi-frame) dataset, or None."""
    for groups, index in (
        ("PerFrameFunctionalGroupsSequence", frame),
        ("SharedFunctionalGroupsSequence", 0),
    ):
        seq = ds.get(groups)
        if not seq or index >= len(seq):
            continue
        inner = seq[index].get(keyword)
        if inner:
            return inner[0]
    return None


def _first_float(value: Any, tag: str) -> float:
    """First value of a possibly multi-valued DS/IS element, as a float."""
    if value is None:
        raise ScanError(f"{tag} is empty")
    if not isinstance(value, (str, bytes)) and hasattr(value, "__len__"):
        if len(value) == 0:
            raise ScanError(f"{tag} is empty")
        value = value[0]
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise ScanError(f"{tag} must be a number, got {value!r}") from exc
    if not np.isfinite(out):
        raise ScanError(f"{tag} must be finite, got {value!r}")
    return out


# -- modality LUT -----------------------------------------------------------


def apply_rescale(arr: np.ndarray, ds: Dataset, *, frame: int = 0) -> np.ndarray:
    """Apply the modality LUT: *Rescale Slope*/*Intercept* or a LUT.

    Parameters
    ----------
    arr : ndarray, shape (H, W)
        One frame of stored values (any integer or float dtype).
    ds : Dataset
        Holds (0028,1053) *Rescale Slope* and (0028,1052) *Rescale Intercept*,
        either at the top level or, for enhanced multi-frame objects, in the
        *Pixel Value Transformation Sequence* of the per-frame or shared
        functional groups; or a (0028,3000) *Modality LUT Sequence*.
    frame : int
        Frame index, used to find per-frame functional groups.

    Returns
    -------
    ndarray of float32
        ``arr * slope + intercept`` (or the LUT output), e.g. Hounsfield units
        for CT. When no modality LUT is present, ``arr`` as float32.

    Raises
    ------
    ScanError
        When slope or intercept is not a finite number, or takes a stored value
        beyond the float32 range.

    See Also
    --------
    pydicom.pixels.apply_modality_lut : the float64 reference implementation.
    """
    if ds.get("ModalityLUTSequence"):
        from pydicom.pixels import apply_modality_lut

        return _as_float32(apply_modality_lut(arr, ds))
    source: Any = ds
    if "RescaleSlope" not in ds and "RescaleIntercept" not in ds:
        source = _functional_item(ds, frame, "PixelValueTransformationSequence")
    out = _as_float32(arr)
    if source is None:
        return out
    slope = source.get("RescaleSlope")
    intercept = source.get("RescaleIntercept")
    slope = 1.0 if slope in (None, "") else _first_float(slope, "(0028,1053) Rescale Slope")
    intercept = (
        0.0 if intercept in (None, "") else _first_float(intercept, "(0028,1052) Rescale Intercept")
    )
    if slope != 1.0:
        out *= np.float32(slope)
    if intercept != 0.0:
        out += np.float32(intercept)
    # a huge slope or intercept overflows float32: inf and NaN would reach the model
    if (slope != 1.0 or intercept != 0.0) and arr.dtype.kind != "f" and not np.isfinite(out).all():
        raise ScanError(
            f"(0028,1053) Rescale Slope {slope:g} and (0028,1052) Rescale Intercept "
            f"{intercept:g} give pixel values beyond the float32 range; the header is damaged"
        )
    return out


# -- VOI ---------------------------------------------------------------------


def file_window(ds: Dataset, *, frame: int = 0) -> tuple[Window, str] | None:
    """Return the file's own window and VOI LUT function, or None.

    Reads the first value of (0028,1050) *Window Center* and (0028,1051)
    *Window Width* (top level, or the *Frame VOI LUT Sequence* of an enhanced
    object) and (0028,1056) *VOI LUT Function* (default ``"LINEAR"``).
    A missing, non-numeric or non-positive width gives None, so the caller falls
    back to a min–max stretch rather than refusing a viewable image.
    """
    source: Any = ds
    if "WindowCenter" not in ds or "WindowWidth" not in ds:
        source = _functional_item(ds, frame, "FrameVOILUTSequence")
        if source is None:
            return None
    try:
        center = _first_float(source.get("WindowCenter"), "(0028,1050) Window Center")
        width = _first_float(source.get("WindowWidth"), "(0028,1051) Window Width")
    except ScanError:
        return None
    function = str(source.get("VOILUTFunction") or "LINEAR").strip().upper()
    if function not in VOI_FUNCTIONS:
        function = "LINEAR"
    if width <= 0 or (function == "LINEAR" and width < 1):
        return None
    return Window(center=center, width=width, name="file"), function


def apply_window(
    arr: np.ndarray,
    window: Window,
    *,
    function: str = "LINEAR",
    copy: bool = True,
) -> np.ndarray:
    """Map ``arr`` through a VOI window to display values in [0, 1].

    Parameters
    ----------
    arr : ndarray
        Modality values (after :func:`apply_rescale`).
    window : Window
        Center and width, in the units of ``arr``.
    function : {"LINEAR", "LINEAR_EXACT", "SIGMOID"}
        (0028,1056) *VOI LUT Function*.
    copy : bool
        False lets a float32 ``arr`` be overwritten (saves a full-frame copy).

    Returns
    -------
    ndarray of float32, same shape, values in [0, 1]

    Notes
    -----
    LINEAR (PS3.3 C.11.2.1.2.1), with y in [0, 1]::

        x <= c - 0.5 - (w - 1) / 2   ->  0
        x >  c - 0.5 + (w - 1) / 2   ->  1
        else                         ->  (x - (c - 0.5)) / (w - 1) + 0.5

    A LINEAR width of 1 is a threshold at ``c - 0.5``. LINEAR_EXACT is
    ``(x - c) / w + 0.5`` clipped; SIGMOID is ``1 / (1 + exp(-4 (x - c) / w))``.
    """
    out = arr.astype(np.float32) if copy else _as_float32(arr)
    c, w = float(window.center), float(window.width)
    if function == "SIGMOID":
        out -= np.float32(c)
        out *= np.float32(-4.0 / w)
        np.exp(out, out=out)
        out += np.float32(1.0)
        np.reciprocal(out, out=out)
        return out
    if function == "LINEAR_EXACT":
        scale, offset = 1.0 / w, 0.5 - c / w
    elif w <= 1.0:
        np.greater(out, np.float32(c - 0.5), out=out)  # threshold, writes 0/1
        return out
    else:
        scale = 1.0 / (w - 1.0)
        offset = 0.5 - (c - 0.5) * scale
    out *= np.float32(scale)
    out += np.float32(offset)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def apply_minmax(arr: np.ndarray, *, copy: bool = True) -> tuple[np.ndarray, Window]:
    """Stretch ``arr`` linearly so its minimum maps to 0 and maximum to 1.

    Non-finite values (float sources only) are ignored for the range and come
    back as 0. A constant frame comes back as zeros.

    Returns
    -------
    ndarray of float32 in [0, 1], and the equivalent Window (name ``"minmax"``).
    """
    out = arr.astype(np.float32) if copy else _as_float32(arr)
    if out.size == 0:
        return out, Window(center=0.0, width=1.0, name="minmax")
    lo, hi = float(out.min()), float(out.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        mask = np.isfinite(out)
        if not mask.any():
            out[...] = 0.0
            return out, Window(center=0.0, width=1.0, name="minmax")
        lo, hi = float(out[mask].min()), float(out[mask].max())
        out[~mask] = lo
    if hi > lo:
        out -= np.float32(lo)
        out *= np.float32(1.0 / (hi - lo))
        np.clip(out, 0.0, 1.0, out=out)  # float32 rounding may overshoot by 1 ulp
    else:
        out[...] = 0.0
    return out, Window(center=(lo + hi) / 2.0, width=max(hi - lo, 1e-12), name="minmax")


def _lut_array(item: Dataset, little_endian: bool) -> tuple[np.ndarray, int, int]:
    """Return (entries, first mapped value, bits per entry) of a LUT item."""
    descriptor = [int(v) for v in item.LUTDescriptor]
    if len(descriptor) != 3:
        raise ScanError(f"(0028,3002) LUT Descriptor must have 3 values, got {descriptor!r}")
    n_entries = descriptor[0] or 65536
    first, bits = descriptor[1], descriptor[2]
    raw = item.LUTData
    if isinstance(raw, (bytes, bytearray)):
        entries = np.frombuffer(raw, dtype="<u2" if little_endian else ">u2")
    else:
        entries = np.asarray(raw if isinstance(raw, (list, tuple)) else [raw])
    if entries.size == 0:
        raise ScanError("(0028,3006) LUT Data is empty")
    entries = entries[:n_entries].astype(np.float32)
    return entries, first, bits


def apply_voi_lut_sequence(arr: np.ndarray, ds: Dataset, *, index: int = 0) -> np.ndarray:
    """Apply the first (or ``index``-th) item of the (0028,3010) *VOI LUT Sequence*.

    Input values below the first mapped value take the first entry, values past
    the end take the last (PS3.3 C.11.2.1.1). The output is divided by
    ``2**bits - 1`` (bits = third *LUT Descriptor* value), or by the largest
    entry when the descriptor understates it.

    Returns
    -------
    ndarray of float32 in [0, 1]; ``arr`` unchanged when the sequence is absent.
    """
    seq = ds.get("VOILUTSequence")
    if not seq:
        return arr
    little_endian = bool(getattr(ds, "original_encoding", (None, True))[1] is not False)
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        with contextlib.suppress(AttributeError, ValueError):
            little_endian = bool(meta.TransferSyntaxUID.is_little_endian)
    entries, first, bits = _lut_array(seq[min(index, len(seq) - 1)], little_endian)
    idx = np.floor(np.asarray(arr, dtype=np.float32))
    idx -= np.float32(first)
    np.clip(idx, 0, entries.size - 1, out=idx)
    out = entries[idx.astype(np.intp)]
    top = float(2**bits - 1) if 1 <= bits <= 16 else 0.0
    top = max(top, float(entries.max()))
    if top > 0:
        out *= np.float32(1.0 / top)
    return out
