"""The one entry point: bytes or a path in, a :class:`Scan` out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from zoo.errors import ScanError
from zoo.imaging.dicom import load_dicom
from zoo.imaging.limits import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    check_bytes,
    describe_file,
)
from zoo.imaging.raster import load_raster
from zoo.imaging.scan import Scan, Window
from zoo.imaging.sniff import sniff_format
from zoo.imaging.windowing import resolve_window


def _read_source(
    source: bytes | bytearray | memoryview | str | os.PathLike[str],
    filename: str | None,
    max_bytes: int,
) -> tuple[bytes, str | None]:
    """Return the file's bytes and the name to use in messages."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        check_bytes(len(data), max_bytes, filename)
        return data, filename
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be bytes or a path, got {type(source).__name__}")
    path = Path(source)
    name = filename or path.name
    label = describe_file(name)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ScanError(f"{label} is not a file ({path}).")
        check_bytes(size, max_bytes, name)
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise ScanError(f"{label} does not exist ({path}).") from exc
    except OSError as exc:
        raise ScanError(f"{label} could not be read ({exc.strerror or exc}).") from exc
    check_bytes(len(data), max_bytes, name)  # the file may have changed meanwhile
    return data, name


def load_scan(
    source: bytes | str | Path,
    filename: str | None = None,
    frame: int | None = None,
    *,
    window: str | Window | None = None,
    include_phi: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Scan:
    """Read a medical image or an ordinary image file into a :class:`Scan`.

    Parameters
    ----------
    source : bytes or str or Path
        The file's content (an upload, never written to disk) or its path.
    filename : str or None
        Named in error messages; for a path, defaults to its name. The format is
        always decided from the content (:func:`sniff_format`), never the name.
    frame : int or None
        Frame of a multi-frame DICOM, TIFF, GIF, WebP or APNG, from 0. None
        means the first frame (0), which every multi-frame file has.
    window : str or Window or None, keyword-only
        DICOM grey-scale only. None: the file's own VOI (VOI LUT Sequence, else
        the first Window Center/Width), or a min–max stretch when it has none.
        A key of :data:`WINDOW_PRESETS` (``"lung"``, ``"bone"``...) or a Window:
        that window, in modality units (Hounsfield units for CT).
        ``"none"``/``"minmax"``: min–max stretch over the frame. Ignored,
        without error, for image files (no Hounsfield units) and colour DICOM.
    include_phi : bool, keyword-only
        Add ``metadata["phi"]`` with patient, staff, institution, UID and date
        attributes. By default only descriptive attributes are kept.
    max_pixels : int, keyword-only
        Largest decoded frame, in rows × columns × samples (1 grey, 3 colour),
        checked from the header before decoding.
    max_bytes : int, keyword-only
        Largest accepted file.

    Returns
    -------
    Scan
        ``pixels`` float32 in [0, 1], (H, W) or (H, W, 3). ``window`` is the
        window applied: a preset, the file's own (name ``"file"``), the
        equivalent of a min–max stretch (name ``"minmax"``), or None (VOI LUT
        Sequence, colour DICOM, image files).

    Raises
    ------
    ScanError
        For any content that cannot be turned into an image: empty, too large,
        not an image, truncated or damaged, no pixel data, unsupported transfer
        syntax, frame out of range, unknown window preset. The message names the
        file and what to do.
    TypeError, ValueError
        For arguments of the wrong type or non-positive limits (caller bugs).

    Notes
    -----
    DICOM processing order: modality LUT (rescale) → VOI → MONOCHROME1
    inversion. Image files are scaled by their bit depth (255, 65535); see
    :mod:`zoo.imaging.raster` for the mode-by-mode rules.
    """
    for arg, value in (("max_pixels", max_pixels), ("max_bytes", max_bytes)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{arg} must be a positive integer, got {value!r}")
    if frame is not None and (isinstance(frame, bool) or not isinstance(frame, int)):
        raise TypeError(f"frame must be an int or None, got {type(frame).__name__}")
    requested = resolve_window(window)
    data, filename = _read_source(source, filename, max_bytes)
    label = describe_file(filename)
    fmt = sniff_format(data)
    try:
        if fmt is None or fmt == "dicom":
            return load_dicom(
                data,
                filename=filename,
                frame=frame,
                window=requested,
                include_phi=include_phi,
                max_pixels=max_pixels,
                sniffed=fmt == "dicom",
            )
        return load_raster(
            data,
            fmt,
            filename=filename,
            frame=frame,
            max_pixels=max_pixels,
            include_phi=include_phi,
        )
    except ScanError:
        raise
    except MemoryError as exc:
        raise ScanError(f"{label} is too large to decode in the memory available.") from exc
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # last resort: any library error is bad content,
        # including Rust panics from decoder plugins (not Exception subclasses)
        raise ScanError(f"{label} could not be decoded ({type(exc).__name__}: {exc})") from exc


def describe_scan(scan: Scan) -> dict[str, Any]:
    """Return a small, PHI-free summary of ``scan`` (for the CLI ``info`` command).

    Returns
    -------
    dict
        ``format``, ``modality``, ``photometric``, ``size`` ([rows, columns]),
        ``channels`` (1 or 3), ``frames``, ``frame``, ``window`` (None or a dict
        with ``name``, ``center``, ``width``) and ``spacing`` (None or
        [row_mm, column_mm]). Built from the Scan fields only, never from
        ``metadata``, so it cannot carry identifying attributes.
    """
    window = scan.window
    return {
        "format": scan.source_format,
        "modality": scan.modality,
        "photometric": scan.photometric,
        "size": [int(scan.pixels.shape[0]), int(scan.pixels.shape[1])],
        "channels": 3 if scan.pixels.ndim == 3 else 1,
        "frames": int(scan.frame_count),
        "frame": int(scan.frame_index),
        "window": None
        if window is None
        else {
            "name": window.name,
            "center": float(window.center),
            "width": float(window.width),
        },
        "spacing": None
        if scan.pixel_spacing is None
        else [float(scan.pixel_spacing[0]), float(scan.pixel_spacing[1])],
    }
