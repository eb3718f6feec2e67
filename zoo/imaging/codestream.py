"""Image size from a compressed frame's own header (JPEG, JPEG-LS, JPEG 2000).

A compressed DICOM frame carries its dimensions twice: in the DICOM header
(*Rows*, *Columns*) and in the codestream the plugin decodes. Decoders such as
OpenJPEG and CharLS allocate from the codestream, so a frame declaring
60000 × 60000 inside a file whose header says 512 × 512 is a decompression bomb
the DICOM-level check cannot see. :func:`frame_dimensions` reads the codestream
header (a few bytes, no decoding) so that the caller can refuse such frames.

References
----------
* ITU-T T.81 (JPEG) B.2.2 frame header; ITU-T T.87 (JPEG-LS) SOF55 marker.
* ITU-T T.800 (JPEG 2000) A.5.1 image and tile size (SIZ) marker segment.
"""

from __future__ import annotations

# Start-of-frame markers: SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC);
# SOF55 (F7) is JPEG-LS.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC} | {0xF7}
_STANDALONE = frozenset(range(0xD0, 0xDA)) | {0x01}  # RSTn, SOI, EOI, TEM
_SOS = 0xDA
_J2K_SOC_SIZ = b"\xff\x4f\xff\x51"
_J2K_SEARCH = 4096  # a JP2 wrapper puts a few boxes before the codestream


def _be(data: bytes, start: int, size: int) -> int:
    return int.from_bytes(data[start : start + size], "big")


def _jpeg(data: bytes) -> tuple[int, int, int] | None:
    """(rows, columns, components) from a JPEG or JPEG-LS frame header."""
    pos = 2  # after SOI
    end = len(data)
    for _ in range(10_000):  # bounded walk over the marker segments
        if pos + 4 > end:
            return None
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker in _SOF_MARKERS:
            if pos + 10 > end:
                return None
            rows, columns, components = _be(data, pos + 5, 2), _be(data, pos + 7, 2), data[pos + 9]
            return (rows, columns, components) if rows else None  # 0: set later by DNL
        if marker == _SOS:
            return None  # scan data before any frame header
        pos += 2 + _be(data, pos + 2, 2)
    return None


def _j2k(data: bytes, siz: int) -> tuple[int, int, int] | None:
    """(rows, columns, components) from the JPEG 2000 SIZ marker at ``siz``.

    After the marker: Lsiz (2), Rsiz (2), Xsiz, Ysiz, XOsiz, YOsiz, XTsiz, YTsiz,
    XTOsiz, YTOsiz (4 each), Csiz (2).
    """
    if siz + 40 > len(data):
        return None
    width = _be(data, siz + 6, 4) - _be(data, siz + 14, 4)  # Xsiz - XOsiz
    height = _be(data, siz + 10, 4) - _be(data, siz + 18, 4)  # Ysiz - YOsiz
    components = _be(data, siz + 38, 2)  # Csiz
    return max(height, 0), max(width, 0), components


def frame_dimensions(frame: bytes) -> tuple[int, int, int] | None:
    """Return (rows, columns, components) declared by a compressed frame.

    Parameters
    ----------
    frame : bytes
        One frame of encapsulated pixel data: a JPEG (baseline, extended or
        lossless), JPEG-LS or JPEG 2000 (raw codestream or JP2) stream.

    Returns
    -------
    tuple of int or None
        None when no frame header is found (RLE, an unknown codec, or a header
        too damaged to read); the decoder then reports the damage itself.
    """
    if frame[:2] == b"\xff\xd8":
        return _jpeg(frame)
    pos = frame.find(_J2K_SOC_SIZ, 0, _J2K_SEARCH)
    if pos >= 0:
        return _j2k(frame, pos + 2)
    return None
