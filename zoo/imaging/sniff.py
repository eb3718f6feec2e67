"""Tell the file format from its first bytes, never from its name."""

from __future__ import annotations

_DICM_OFFSET = 128

# BMP DIB header sizes (BITMAPCOREHEADER .. BITMAPV5HEADER, OS/2 variants).
_BMP_DIB_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})

# Archive and document signatures, only used to word the "not an image" message.
_OTHER_KINDS = (
    (b"PK\x03\x04", "a ZIP archive (extract the scan first)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\x1f\x8b", "a gzip archive (decompress it first)"),
    (b"%PDF", "a PDF document"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive (extract the scan first)"),
    (b"Rar!", "a RAR archive (extract the scan first)"),
)


def sniff_format(data: bytes) -> str | None:
    """Return the image format that ``data`` starts with, or None.

    Parameters
    ----------
    data : bytes
        The start of the file (at least 132 bytes to recognise DICOM).

    Returns
    -------
    str or None
        ``"png"``, ``"jpeg"``, ``"tiff"``, ``"bmp"``, ``"webp"``, ``"gif"`` or
        ``"dicom"``; None when no signature matches. DICOM is recognised by the
        ``"DICM"`` prefix after the 128-byte preamble only: files written without
        the preamble (or without file meta) give None, and :func:`load_scan` then
        tries to read them as DICOM anyway.

    Examples
    --------
    >>> sniff_format(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8))
    'png'
    >>> sniff_format(b"hello") is None
    True
    """
    # DICOM first: the 128-byte preamble is free-form and is often a TIFF header
    # (dual-personality files), so the "DICM" prefix outranks the first bytes.
    if bytes(data[_DICM_OFFSET : _DICM_OFFSET + 4]) == b"DICM":
        return "dicom"
    head = bytes(data[:16])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:2] == b"BM" and int.from_bytes(data[14:18], "little") in _BMP_DIB_SIZES:
        return "bmp"
    return None


def describe_other(data: bytes) -> str | None:
    """Name a common non-image format (ZIP, PDF...) for error messages, or None."""
    head = bytes(data[:8])
    for magic, kind in _OTHER_KINDS:
        if head.startswith(magic):
            return kind
    return None
