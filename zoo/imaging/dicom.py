"""Decode one frame of a DICOM file with pydicom.

Pipeline (:func:`load_dicom`): parse the dataset from memory (``force=True``, so
files without the 128-byte preamble or without file meta are read too) →
check the *Image Pixel* attributes, the pixel budget and, for uncompressed data,
that the *Pixel Data* is as long as the header says → decode only the chosen
frame → modality LUT → VOI (window or LUT) → MONOCHROME1 inversion. Colour
(RGB, YBR_* converted to RGB by pydicom, PALETTE COLOR through its LUT) is only
scaled by its bit depth: windows apply to grey-scale images alone.

Decoding of compressed transfer syntaxes is delegated to the pydicom pixel
plugins installed with the app (see ``requirements.txt``), tried in this order
(:func:`_plugin_order`): RLE Lossless by pylibjpeg-rle, then pydicom's own
decoder; JPEG Baseline/Extended (8-bit) by Pillow; JPEG-LS by pyjpegls; JPEG 2000
by pylibjpeg-openjpeg, then Pillow; HTJ2K by pylibjpeg-openjpeg; JPEG Lossless by
python-gdcm, its only decoder here. python-gdcm is never a fallback for the
others, because corrupt input can abort the process inside it. 12-bit JPEG
Extended would need pylibjpeg-libjpeg (GPLv3), deliberately not installed.

Before a compressed frame is decoded, its codestream header is read
(:mod:`zoo.imaging.codestream`): a frame whose declared size disagrees with
*Rows*/*Columns* or exceeds the pixel budget is refused, since the decoders
allocate from the codestream, not from the DICOM header.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.encaps import get_frame
from pydicom.pixels import apply_color_lut, get_decoder
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from zoo.errors import ScanError
from zoo.imaging.codestream import frame_dimensions
from zoo.imaging.limits import check_pixels, describe_file
from zoo.imaging.phi import descriptive_metadata, phi_metadata
from zoo.imaging.scan import UNTAGGED, Scan, Window
from zoo.imaging.windowing import (
    apply_minmax,
    apply_rescale,
    apply_voi_lut_sequence,
    apply_window,
    file_window,
)

# pydicom quotes invalid element values (names, UIDs...) in its log while validating
# them; serving must never log patient identifiers, so reading never validates.
pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE

NOT_AN_IMAGE = "not a PNG, JPEG, TIFF, BMP, WebP or DICOM file"

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_BITS_ALLOCATED = (1, 8, 16, 32, 64)
_PHOTOMETRICS = (
    "MONOCHROME1",
    "MONOCHROME2",
    "PALETTE COLOR",
    "RGB",
    "YBR_FULL",
    "YBR_FULL_422",
    "YBR_ICT",
    "YBR_RCT",
    "YBR_PARTIAL_420",
)

# Plugin preference for compressed data: the pure-Python or well-fuzzed
# decoders first; python-gdcm last (see _plugin_order).
_PLUGIN_PREFERENCE = ("pylibjpeg", "pyjpegls", "pillow", "pydicom", "gdcm")

# Transfer syntaxes pydicom 3 has no decoder for, and what to do about them.
_NO_DECODER_HINTS = {
    "1.2.840.10008.1.2.4.100": "video",
    "1.2.840.10008.1.2.4.100.1": "video",
    "1.2.840.10008.1.2.4.101": "video",
    "1.2.840.10008.1.2.4.101.1": "video",
    "1.2.840.10008.1.2.4.102": "video",
    "1.2.840.10008.1.2.4.102.1": "video",
    "1.2.840.10008.1.2.4.103": "video",
    "1.2.840.10008.1.2.4.103.1": "video",
    "1.2.840.10008.1.2.4.104": "video",
    "1.2.840.10008.1.2.4.104.1": "video",
    "1.2.840.10008.1.2.4.105": "video",
    "1.2.840.10008.1.2.4.105.1": "video",
    "1.2.840.10008.1.2.4.106": "video",
    "1.2.840.10008.1.2.4.106.1": "video",
    "1.2.840.10008.1.2.4.107": "video",
    "1.2.840.10008.1.2.4.108": "video",
}


def _not_an_image(label: str, data: bytes, filename: str | None) -> ScanError:
    from zoo.imaging.sniff import describe_other

    kind = describe_other(data)
    what = f" (it looks like {kind})" if kind else ""
    hint = ""
    if filename and "." in filename:
        ext = filename.rsplit(".", 1)[-1].lower()
        if ext in {"png", "jpg", "jpeg", "tif", "tiff", "bmp", "webp", "gif", "dcm"}:
            hint = f"; the name ends in .{ext} but the content does not match"
    return ScanError(f"{label} is {NOT_AN_IMAGE}{what}{hint}.")


def read_dataset(data: bytes, *, filename: str | None = None, sniffed: bool = False) -> Dataset:
    """Parse ``data`` as DICOM, with or without preamble and file meta.

    Parameters
    ----------
    data : bytes
        The whole file.
    filename : str or None
        Used in messages only.
    sniffed : bool
        True when ``data`` carries the ``DICM`` prefix. Otherwise the parse is a
        guess, and the result must hold at least one element of group 0x0008
        (identification) or 0x0028 (image pixel), or it is "not an image".

    Raises
    ------
    ScanError
        When the bytes are not DICOM, or a DICOM file cannot be parsed.
    """
    label = describe_file(filename)
    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=True)
        groups = {tag >> 16 for tag in ds.keys()}  # noqa: SIM118 - tags, no values
    except Exception as exc:  # pydicom raises many types on garbage
        if not sniffed:
            raise _not_an_image(label, data, filename) from exc
        raise ScanError(
            f"{label} is a DICOM file but could not be parsed "
            f"({type(exc).__name__}: {exc}); it may be truncated or damaged."
        ) from exc
    if not sniffed and not groups & {0x0008, 0x0028}:
        raise _not_an_image(label, data, filename)
    return ds


def _int_attr(
    ds: Dataset,
    keyword: str,
    tag: str,
    *,
    default: int | None = None,
    allowed: tuple[int, ...] | None = None,
    label: str,
) -> int:
    """Read an integer Image Pixel attribute; ScanError names tag, value, allowed."""
    value: Any = ds.get(keyword)
    if isinstance(value, (list, tuple)) or (
        value is not None and hasattr(value, "__len__") and not isinstance(value, str)
    ):
        value = value[0] if len(value) else None
    if value is None or value == "":
        if default is None:
            raise ScanError(f"{label}: the DICOM image lacks {tag} {keyword}; the file is damaged.")
        return default
    try:
        out = int(value)
    except (TypeError, ValueError) as exc:
        raise ScanError(f"{label}: {tag} {keyword} must be an integer, got {value!r}") from exc
    if allowed is not None and out not in allowed:
        raise ScanError(
            f"{label}: {tag} {keyword} is {out}; supported values are "
            f"{', '.join(map(str, allowed))}"
        )
    return out


def _transfer_syntax(ds: Dataset, label: str, encapsulated: bool) -> UID:
    """Return the transfer syntax, inferring a native one when the meta lacks it."""
    meta = ds.file_meta
    ts = meta.get("TransferSyntaxUID")
    if ts:
        return UID(str(ts).strip())
    if encapsulated:
        raise ScanError(
            f"{label}: the pixel data is compressed but the file meta has no "
            "(0002,0010) Transfer Syntax UID, so the codec is unknown; "
            "re-export the file with its meta information."
        )
    ts = _native_syntax(ds)
    meta.TransferSyntaxUID = ts  # used by pydicom's LUT readers for endianness
    return ts


def _native_syntax(ds: Dataset) -> UID:
    """The uncompressed transfer syntax matching how the dataset was encoded."""
    implicit, little = getattr(ds, "original_encoding", (None, None))
    if little is False:
        return UID(ExplicitVRBigEndian)
    if implicit:
        return UID(ImplicitVRLittleEndian)
    return UID(ExplicitVRLittleEndian)


def _decoder(ts: UID, label: str) -> Any:
    """Return the pydicom decoder for ``ts`` or a ScanError saying what is missing."""
    name = ts.name if ts.name != ts else "unknown transfer syntax"
    try:
        decoder = get_decoder(ts)
    except NotImplementedError as exc:
        if _NO_DECODER_HINTS.get(str(ts)) == "video":
            hint = "it is a video; export a still frame as an image"
        else:
            hint = (
                "convert it to an uncompressed transfer syntax, e.g. with "
                "`gdcmconv --raw in.dcm out.dcm`"
            )
        raise ScanError(
            f"{label}: transfer syntax {ts} ({name}) is not supported: pydicom "
            f"{pydicom.__version__} has no decoder for it; {hint}."
        ) from exc
    if not decoder.is_available:
        missing = "; ".join(decoder.missing_dependencies) or "no plugin"
        raise ScanError(
            f"{label}: transfer syntax {ts} ({name}) needs a decoder plugin that is "
            f"not installed: {missing}."
        )
    return decoder


def _plugin_order(decoder: Any) -> list[str]:
    """Decoder plugins to try, in order; python-gdcm only when nothing else can.

    Fuzzing found python-gdcm aborting the whole process (an uncaught C++
    exception, SIGABRT) on corrupt JPEG 2000 data, which no ``except`` can
    catch. It is therefore never a fallback: it decodes only the transfer
    syntaxes no other installed plugin handles (JPEG Lossless, without the
    GPL pylibjpeg-libjpeg).
    """
    available = list(decoder.available_plugins)
    ranked = [p for p in _PLUGIN_PREFERENCE if p in available]
    ranked += [p for p in available if p not in ranked]
    safe = [p for p in ranked if p != "gdcm"]
    return safe or ranked


def _gdcm_would_abort(ds: Dataset) -> str | None:
    """Why python-gdcm might abort the process on ``ds``, or None when the header is one
    it is known to decode.

    Fuzzing found python-gdcm 3.2 aborting (assertions in gdcmImageCodec.cxx, SIGABRT)
    on JPEG Lossless frames whose header disagrees with itself: 8-bit frames with *Bits
    Stored* other than 8, *Bits Allocated* of 32 or 64. An abort kills the server for
    every user, so gdcm only sees the layouts real scanners write.
    """
    allocated, stored = ds.get("BitsAllocated"), ds.get("BitsStored")
    high, samples = ds.get("HighBit"), ds.get("SamplesPerPixel", 1)
    known = (
        (
            (allocated == 8 and stored == 8)
            or (allocated == 16 and isinstance(stored, int) and 9 <= stored <= 16)
        )
        and (high is None or high == stored - 1)
        and samples in (1, 3)
        and ds.get("PixelRepresentation", 0) in (0, 1)
    )
    if known:
        return None
    return (
        f"its decoder aborts on unusual layouts (Bits Allocated {allocated}, Bits Stored "
        f"{stored}, High Bit {high}, Samples per Pixel {samples}); convert the file to an "
        "uncompressed transfer syntax"
    )


def _decode_frame(decoder: Any, ds: Dataset, index: int) -> tuple[np.ndarray, dict]:
    """Decode one frame, trying the plugins of :func:`_plugin_order` in turn."""
    if decoder.is_native:
        return decoder.as_array(ds, index=index)
    failures = []
    for plugin in _plugin_order(decoder):
        if plugin == "gdcm" and (why := _gdcm_would_abort(ds)):
            failures.append(f"gdcm: not tried, {why}")
            continue
        try:
            return decoder.as_array(ds, index=index, decoding_plugin=plugin)
        except (KeyboardInterrupt, SystemExit, MemoryError):
            raise
        except BaseException as exc:  # Rust panics are BaseExceptions too
            failures.append(f"{plugin}: {type(exc).__name__}: {exc}")
    raise RuntimeError("no decoder plugin succeeded; " + "; ".join(failures))


def _check_codestream(
    ds: Dataset,
    pixel_bytes: bytes,
    index: int,
    n_frames: int,
    shape: tuple[int, int],
    max_pixels: int,
    filename: str | None,
) -> None:
    """Refuse a compressed frame whose own header is over budget or disagrees
    with *Rows*/*Columns*, before a decoder allocates for it."""
    label = describe_file(filename)
    offsets = None
    if "ExtendedOffsetTable" in ds and "ExtendedOffsetTableLengths" in ds:
        offsets = (ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths)
    try:
        frame_bytes = get_frame(
            pixel_bytes, index, number_of_frames=n_frames, extended_offsets=offsets
        )
    except Exception as exc:  # damaged item tags or offset tables
        raise ScanError(
            f"{label}: the compressed pixel data is damaged: frame {index} cannot be "
            f"found ({type(exc).__name__}: {exc})"
        ) from exc
    dims = frame_dimensions(frame_bytes)
    if dims is None:
        return
    rows, columns, components = dims
    if (rows, columns) != shape:
        raise ScanError(
            f"{label}: the compressed frame is {rows} × {columns} pixels but "
            f"(0028,0010) Rows × (0028,0011) Columns say {shape[0]} × {shape[1]}; "
            "the file is damaged."
        )
    check_pixels(rows, columns, max(components, 1), max_pixels, filename)


def _native_length(
    rows: int, columns: int, samples: int, bits: int, frames: int, photometric: str
) -> int:
    """Bytes of uncompressed pixel data the header promises (PS3.5 8.1.1)."""
    total = rows * columns * samples * frames
    length = (total + 7) // 8 if bits == 1 else total * (bits // 8)
    if photometric == "YBR_FULL_422":
        length = length // 3 * 2
    return length


def _spacing(ds: Dataset) -> tuple[float, float] | None:
    """(0028,0030) Pixel Spacing, else (0018,1164) Imager Pixel Spacing, in mm."""
    candidates = [ds.get("PixelSpacing"), ds.get("ImagerPixelSpacing")]
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        measures = shared[0].get("PixelMeasuresSequence")
        if measures:
            candidates.append(measures[0].get("PixelSpacing"))
    for value in candidates:
        try:
            if value is None or len(value) != 2:
                continue
            row, col = float(value[0]), float(value[1])
        except (TypeError, ValueError):
            continue
        if np.isfinite(row) and np.isfinite(col) and row > 0 and col > 0:
            return row, col
    return None


def _colour_to_float(arr: np.ndarray, bits: int) -> np.ndarray:
    """Scale (H, W, 3) samples to [0, 1] by their bit depth.

    Unsigned samples are divided by ``2**bits - 1``; signed or float samples,
    which have no fixed range, are stretched min–max. Identical channels give a
    grey (H, W) image, as for image files.
    """
    if np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 1], arr[..., 2]):
        arr = arr[..., 0]
    if arr.dtype.kind != "u":
        out, _ = apply_minmax(arr, copy=True)
        return out
    out = arr.astype(np.float32)
    top = float(2 ** min(max(bits, 1), arr.dtype.itemsize * 8) - 1)
    out *= np.float32(1.0 / top)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def load_dicom(
    data: bytes,
    *,
    filename: str | None = None,
    frame: int | None = None,
    window: Window | str | None = None,
    include_phi: bool = False,
    max_pixels: int,
    sniffed: bool = False,
) -> Scan:
    """Decode one frame of a DICOM file to display values in [0, 1].

    Parameters
    ----------
    data : bytes
        The whole file (preamble optional).
    filename : str or None
        Used in messages only.
    frame : int or None
        Frame of a multi-frame image; None means the first (0).
    window : Window, "minmax" or None
        Resolved by :func:`~zoo.imaging.windowing.resolve_window`. None uses the
        file's (0028,3010) *VOI LUT Sequence*, else its first (0028,1050)
        *Window Center* / (0028,1051) *Window Width*, else a min–max stretch.
    include_phi : bool
        Also read the identifying attributes into ``metadata["phi"]``.
    max_pixels : int
        Budget for the decoded frame, checked before pixel data is touched.
    sniffed : bool
        True when the file carries the ``DICM`` prefix.

    Returns
    -------
    Scan

    Raises
    ------
    ScanError
        Not DICOM, no pixel data, unsupported transfer syntax, truncated pixel
        data, frame out of range, over budget, or a decoder failure.
    """
    label = describe_file(filename)
    ds = read_dataset(data, filename=filename, sniffed=sniffed)

    keyword = next((k for k in _PIXEL_KEYWORDS if k in ds), None)
    if keyword is None:
        raise ScanError(
            f"{label} is a DICOM file with no pixel data (e.g. a structured report, "
            "RT plan or presentation state); upload an image object."
        )
    try:
        elem = ds[keyword]
        pixel_bytes = elem.value
        encapsulated = bool(elem.is_undefined_length)
    except Exception as exc:  # damaged element header
        raise ScanError(f"{label}: the DICOM pixel data element is damaged ({exc})") from exc
    if not isinstance(pixel_bytes, (bytes, bytearray)) or not pixel_bytes:
        raise ScanError(f"{label} is a DICOM file whose pixel data is empty.")

    ts = _transfer_syntax(ds, label, encapsulated)
    decoder = _decoder(ts, label)
    if encapsulated and decoder.is_native:
        raise ScanError(
            f"{label}: the pixel data is compressed (encapsulated) but the transfer "
            f"syntax {ts} ({ts.name}) is uncompressed, so the codec is unknown; "
            "the file is damaged."
        )
    if not encapsulated and not decoder.is_native:
        # A file decompressed by a tool that kept the old Transfer Syntax UID:
        # read the data as native in the dataset's own encoding (the length
        # check below still has to pass).
        ts = _native_syntax(ds)
        ds.file_meta.TransferSyntaxUID = ts  # pydicom checks it against the decoder
        decoder = _decoder(ts, label)

    rows = _int_attr(ds, "Rows", "(0028,0010)", label=label)
    columns = _int_attr(ds, "Columns", "(0028,0011)", label=label)
    default_bits = {"FloatPixelData": 32, "DoubleFloatPixelData": 64}.get(keyword)
    bits = _int_attr(
        ds,
        "BitsAllocated",
        "(0028,0100)",
        default=default_bits,
        allowed=_BITS_ALLOCATED,
        label=label,
    )
    samples = _int_attr(
        ds, "SamplesPerPixel", "(0028,0002)", default=1, allowed=(1, 3), label=label
    )
    photometric = str(ds.get("PhotometricInterpretation") or "").strip().upper()
    if not photometric:
        photometric = "MONOCHROME2" if samples == 1 else "RGB"
        ds.PhotometricInterpretation = photometric
    if photometric not in _PHOTOMETRICS:
        raise ScanError(
            f"{label}: (0028,0004) Photometric Interpretation is {photometric!r}; "
            f"supported values are {', '.join(_PHOTOMETRICS)}"
        )
    # Lenient defaults for attributes some writers leave out.
    if "BitsAllocated" not in ds:
        ds.BitsAllocated = bits
    if "SamplesPerPixel" not in ds:
        ds.SamplesPerPixel = samples
    if ds.get("BitsStored") in (None, ""):
        ds.BitsStored = bits
    if ds.get("PixelRepresentation") in (None, ""):
        ds.PixelRepresentation = 0
    if samples == 3 and ds.get("PlanarConfiguration") in (None, ""):
        ds.PlanarConfiguration = 0
    try:
        n_frames = int(ds.get("NumberOfFrames") or 1)
    except (TypeError, ValueError):
        n_frames = 1
    if n_frames < 1:
        n_frames = 1
    if "NumberOfFrames" in ds:
        ds.NumberOfFrames = n_frames

    if not encapsulated:
        need = _native_length(rows, columns, samples, bits, n_frames, photometric)
        if len(pixel_bytes) < need:
            raise ScanError(
                f"{label}: the DICOM pixel data is truncated: it holds "
                f"{len(pixel_bytes):,} bytes but {rows} × {columns} × {samples} "
                f"sample(s) × {bits} bits × {n_frames} frame(s) needs {need:,}; "
                "the file was cut short, export it again."
            )
    out_samples = 3 if samples == 3 or photometric == "PALETTE COLOR" else 1
    check_pixels(rows, columns, out_samples, max_pixels, filename)

    index = 0 if frame is None else frame
    if not 0 <= index < n_frames:
        valid = "0" if n_frames == 1 else f"0 to {n_frames - 1}"
        raise ScanError(
            f"{label}: frame {frame} is out of range; the file has {n_frames} "
            f"frame(s), valid frames are {valid}."
        )

    if encapsulated:
        _check_codestream(ds, pixel_bytes, index, n_frames, (rows, columns), max_pixels, filename)

    try:
        arr, props = _decode_frame(decoder, ds, index)
    except MemoryError as exc:
        raise ScanError(f"{label} is too large to decode in memory.") from exc
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # plugins raise many types; Rust panics
        # (pyo3 PanicException, e.g. pylibjpeg-rle on corrupt data) are not
        # Exceptions, so they are caught here too.
        missing = "; ".join(decoder.missing_dependencies)
        hint = f"; plugins not installed that might decode it: {missing}" if missing else ""
        raise ScanError(
            f"{label}: could not decode the {ts.name} pixel data "
            f"({type(exc).__name__}: {exc}){hint}"
        ) from exc
    if arr.ndim == 3 and samples == 1:  # defensive: a frame axis left in
        arr = arr[0]
    decoded_pi = str(props.get("photometric_interpretation", photometric))

    applied: Window | None = None
    if decoded_pi == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds)
        # PS3.3 C.7.6.3.1.5: some writers store 8-bit entries in a 16-bit LUT.
        lut_bits = 8 if rgb.dtype == np.uint8 or int(rgb.max()) <= 255 else 16
        pixels = _colour_to_float(rgb, lut_bits)
    elif arr.ndim == 3:
        bits_stored = _int_attr(ds, "BitsStored", "(0028,0101)", default=bits, label=label)
        pixels = _colour_to_float(arr, bits_stored)
    else:
        pixels, applied = _grey(arr, ds, index, window)
        if photometric == "MONOCHROME1":
            np.subtract(np.float32(1.0), pixels, out=pixels)
    if pixels.ndim not in (2, 3) or 0 in pixels.shape:
        raise ScanError(f"{label}: the decoded image has no pixels ({arr.shape}).")

    metadata = descriptive_metadata(ds)
    metadata["Format"] = "DICOM"
    metadata["TransferSyntax"] = ts.name
    if include_phi:
        metadata["phi"] = phi_metadata(ds)
    return Scan(
        pixels=pixels,
        modality=str(ds.get("Modality") or UNTAGGED).strip() or UNTAGGED,
        photometric=photometric,
        source_format="dicom",
        pixel_spacing=_spacing(ds),
        frame_count=n_frames,
        frame_index=index,
        window=applied,
        metadata=metadata,
    )


def _grey(
    arr: np.ndarray, ds: Dataset, index: int, window: Window | str | None
) -> tuple[np.ndarray, Window | None]:
    """Modality LUT then VOI for one grey frame; returns float32 in [0, 1]."""
    is_float = arr.dtype.kind == "f"
    out = apply_rescale(arr, ds, frame=index)
    if out is arr:
        out = out.copy()  # float32 pixel data: never write into pydicom's array
    applied: Window | None
    if isinstance(window, Window):
        out = apply_window(out, window, copy=False)
        applied = window
    elif window == "minmax":
        out, applied = apply_minmax(out, copy=False)
    elif ds.get("VOILUTSequence"):
        out = apply_voi_lut_sequence(out, ds)
        applied = None
    else:
        found = file_window(ds, frame=index)
        if found is None:
            out, applied = apply_minmax(out, copy=False)
        else:
            applied, function = found
            out = apply_window(out, applied, function=function, copy=False)
    if is_float:
        np.nan_to_num(out, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
        np.clip(out, 0.0, 1.0, out=out)
    return out, applied
