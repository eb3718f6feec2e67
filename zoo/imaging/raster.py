"""Decode ordinary image files (PNG, JPEG, TIFF, BMP, WebP, GIF) with Pillow.

Conventions (see :func:`load_raster`):

* Grey modes (``1``, ``L``, ``LA``, ``I;16*``, ``I``, ``F``) give (H, W); colour
  modes give (H, W, 3), unless all three channels are identical, in which case
  the image is grey (many radiographs are saved as RGB) and comes back (H, W).
* Alpha is dropped, not composited: the stored colour is kept, so an opaque
  image (the usual case) is unchanged and a transparent region shows whatever
  colour it stores (usually black).
* ``P``/``PA`` go through their palette to RGB; ``CMYK``, ``YCbCr``, ``LAB`` and
  ``HSV`` are converted to RGB by Pillow.
* Scaling to [0, 1]: 8-bit modes divide by 255, 16-bit (``I;16*``) by 65535.
  Mode ``I`` (32-bit int) divides by 65535 when its values lie in 0..65535
  (16-bit data that Pillow widened), otherwise it is stretched min–max. Mode
  ``F`` (float) is kept when already within [0, 1], otherwise stretched
  min–max; non-finite values become 0.
* The EXIF orientation tag is applied (:func:`PIL.ImageOps.exif_transpose`).
* Window presets mean nothing without Hounsfield units and are ignored here.

Size is checked from the header before any pixel is decoded. Files are opened
through their plugin class rather than :func:`PIL.Image.open`, because ``open``
applies Pillow's process-wide ``MAX_IMAGE_PIXELS`` before the caller's
``max_pixels`` can be; Pillow's own bomb errors from later steps (TIFF tiles,
GIF frames) are turned into the same "too large" ScanError.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import (
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageFile,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
)

from zoo.errors import ScanError
from zoo.imaging.limits import check_pixels, describe_file
from zoo.imaging.scan import UNTAGGED, Scan

try:  # WebP needs Pillow built with libwebp (the wheels are)
    from PIL import WebPImagePlugin
except ImportError:  # pragma: no cover - depends on the Pillow build
    WebPImagePlugin = None  # type: ignore[assignment]

_PLUGINS: dict[str, Any] = {
    "png": PngImagePlugin.PngImageFile,
    "jpeg": JpegImagePlugin.JpegImageFile,
    "tiff": TiffImagePlugin.TiffImageFile,
    "bmp": BmpImagePlugin.BmpImageFile,
    "gif": GifImagePlugin.GifImageFile,
}
if WebPImagePlugin is not None:
    _PLUGINS["webp"] = WebPImagePlugin.WebPImageFile

_FORMAT_NAMES = {
    "png": "PNG",
    "jpeg": "JPEG",
    "tiff": "TIFF",
    "bmp": "BMP",
    "gif": "GIF",
    "webp": "WebP",
}

_GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "F"})
_PHOTOMETRIC = {
    "1": "MONOCHROME2",
    "L": "MONOCHROME2",
    "LA": "MONOCHROME2",
    "La": "MONOCHROME2",
    "I": "MONOCHROME2",
    "F": "MONOCHROME2",
    "P": "PALETTE COLOR",
    "PA": "PALETTE COLOR",
    "RGB": "RGB",
    "RGBA": "RGB",
    "RGBX": "RGB",
    "RGBa": "RGB",
    "CMYK": "CMYK",
    "YCbCr": "YBR_FULL",
}

_SCALE_8 = np.float32(1.0 / 255.0)
_SCALE_16 = np.float32(1.0 / 65535.0)

# Errors Pillow and numpy raise on malformed or truncated content.
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    EOFError,
    AttributeError,
    ZeroDivisionError,
    OverflowError,
    RuntimeError,
    Image.DecompressionBombError,
)


def _is_grey_mode(mode: str) -> bool:
    return mode in _GREY_MODES or mode.startswith("I;16")


def _to_float(arr: np.ndarray) -> np.ndarray:
    """Scale a decoded array to float32 in [0, 1] by its dtype (module notes)."""
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    if arr.dtype == np.uint8:
        out = arr.astype(np.float32)
        out *= _SCALE_8
        return out
    if arr.dtype.kind == "u" and arr.dtype.itemsize == 2:
        out = arr.astype(np.float32)
        out *= _SCALE_16
        return out
    out = arr.astype(np.float32)
    if out.size == 0:
        return out
    if arr.dtype.kind in "iu":
        lo, hi = int(arr.min()), int(arr.max())
        if lo >= 0 and hi <= 65535:
            out *= _SCALE_16
            return out
    else:
        bad = ~np.isfinite(out)
        if bad.any():
            out[bad] = 0.0
        lo, hi = float(out.min()), float(out.max())
        if lo >= 0.0 and hi <= 1.0:
            return out
    if hi > lo:
        out -= np.float32(lo)
        out *= np.float32(1.0 / (hi - lo))
        np.clip(out, 0.0, 1.0, out=out)
    else:
        out[...] = 0.0
    return out


def _pixels(im: Image.Image) -> np.ndarray:
    """Return the decoded frame as float32 (H, W) or (H, W, 3) in [0, 1]."""
    mode = im.mode
    if mode in ("LA", "La"):
        im = im.convert("L")
    elif mode == "1":
        return np.asarray(im, dtype=np.float32)
    elif not _is_grey_mode(mode) and mode != "RGB":
        im = im.convert("RGB")  # P, PA, RGBA, RGBX, CMYK, YCbCr, LAB, HSV...
    arr = np.asarray(im)
    if arr.ndim == 3:
        if arr.shape[2] > 3:
            arr = arr[:, :, :3]
        if np.array_equal(arr[:, :, 0], arr[:, :, 1]) and np.array_equal(
            arr[:, :, 1], arr[:, :, 2]
        ):
            arr = arr[:, :, 0]
    return _to_float(arr)


def _oriented(im: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag (0x0112) when it asks for a transform."""
    orientation = im.getexif().get(0x0112)
    if orientation in (2, 3, 4, 5, 6, 7, 8):
        return ImageOps.exif_transpose(im)
    return im  # exif_transpose would copy the image for nothing


def _output_samples(mode: str) -> int:
    return 1 if _is_grey_mode(mode) else 3


def load_raster(
    data: bytes,
    fmt: str,
    *,
    filename: str | None = None,
    frame: int | None = None,
    max_pixels: int,
    include_phi: bool = False,
) -> Scan:
    """Decode one frame of a PNG, JPEG, TIFF, BMP, WebP or GIF file.

    Parameters
    ----------
    data : bytes
        The whole file.
    fmt : str
        The format from :func:`~zoo.imaging.sniff.sniff_format`.
    filename : str or None
        Used in messages only.
    frame : int or None
        Frame of a multi-frame TIFF/GIF/WebP/APNG; None means 0.
    max_pixels : int
        Budget for the decoded frame (see :mod:`zoo.imaging.limits`).
    include_phi : bool
        Adds an empty ``metadata["phi"]``: image files carry no DICOM patient
        attributes, and EXIF/text chunks are never read into metadata.

    Returns
    -------
    Scan
        ``modality="OT"``, ``window=None``, ``photometric`` the DICOM name of the
        source mode (``"MONOCHROME2"``, ``"RGB"``, ``"PALETTE COLOR"``...).

    Raises
    ------
    ScanError
        For a damaged or truncated file, an out-of-range frame, or an image over
        ``max_pixels``.
    """
    label = describe_file(filename)
    name = _FORMAT_NAMES.get(fmt, fmt.upper())
    plugin = _PLUGINS.get(fmt)
    if plugin is None:
        raise ScanError(
            f"{label} is a {name} file, but this Pillow build cannot read {name}; "
            "convert it to PNG."
        )
    try:
        im = plugin(io.BytesIO(data), filename or "")
    except Image.DecompressionBombError as exc:
        raise ScanError(f"{label} is too large to decode ({exc})") from exc
    except _DECODE_ERRORS as exc:
        raise ScanError(
            f"{label} looks like a {name} file but its header is damaged "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    try:
        return _decode(im, fmt, name, label, filename, frame, max_pixels, include_phi)
    finally:
        im.close()


def _decode(
    im: ImageFile.ImageFile,
    fmt: str,
    name: str,
    label: str,
    filename: str | None,
    frame: int | None,
    max_pixels: int,
    include_phi: bool,
) -> Scan:
    width, height = im.size
    check_pixels(height, width, _output_samples(im.mode), max_pixels, filename)
    try:
        n_frames = int(getattr(im, "n_frames", 1) or 1)
    except _DECODE_ERRORS as exc:
        raise ScanError(
            f"{label}: the {name} frames are damaged ({type(exc).__name__}: {exc})"
        ) from exc
    index = 0 if frame is None else frame
    if not 0 <= index < n_frames:
        valid = "0" if n_frames == 1 else f"0 to {n_frames - 1}"
        raise ScanError(
            f"{label}: frame {frame} is out of range; the file has {n_frames} "
            f"frame(s), valid frames are {valid}."
        )
    source_mode = im.mode
    try:
        if index:
            im.seek(index)
            width, height = im.size
            check_pixels(height, width, _output_samples(im.mode), max_pixels, filename)
        im.load()
        pixels = _pixels(_oriented(im))
    except Image.DecompressionBombError as exc:
        raise ScanError(f"{label} is too large to decode ({exc})") from exc
    except _DECODE_ERRORS as exc:
        raise ScanError(
            f"{label}: the {name} data is truncated or damaged "
            f"({type(exc).__name__}: {exc}); export the image again."
        ) from exc
    metadata: dict[str, Any] = {
        "Format": name,
        "Mode": source_mode,
        "Rows": int(pixels.shape[0]),
        "Columns": int(pixels.shape[1]),
        "NumberOfFrames": n_frames,
    }
    if include_phi:
        metadata["phi"] = {}
    return Scan(
        pixels=pixels,
        modality=UNTAGGED,
        photometric=_PHOTOMETRIC.get(
            source_mode, "MONOCHROME2" if _is_grey_mode(source_mode) else source_mode
        ),
        source_format=fmt,
        pixel_spacing=None,
        frame_count=n_frames,
        frame_index=index,
        window=None,
        metadata=metadata,
    )
