"""Size budgets checked before anything is decoded.

Two budgets protect the app from files that would exhaust memory:

* ``max_bytes`` caps the encoded input (the upload, or the file on disk).
* ``max_pixels`` caps the decoded frame: rows × columns × output samples per
  pixel (1 for grey, 3 for colour), so a colour frame costs three times a grey
  one. It is checked from the header alone (Pillow's lazy ``open``, DICOM *Rows*
  and *Columns*), before the pixel data is touched.

Both raise :class:`~zoo.errors.ScanError` naming the file, the size found and the
limit, so a user knows what to shrink.
"""

from __future__ import annotations

from zoo.errors import ScanError

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
"""Largest accepted input, 200 MiB."""

DEFAULT_MAX_PIXELS = 50_000_000
"""Largest accepted decoded frame, in samples (rows × columns × 1 or 3)."""


def describe_file(filename: str | None) -> str:
    """Return how messages name the file: ``'name.dcm'`` or ``the file``."""
    return f"'{filename}'" if filename else "the file"


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


def check_bytes(n_bytes: int, max_bytes: int, filename: str | None = None) -> None:
    """Raise ScanError when ``n_bytes`` is 0 or over ``max_bytes``."""
    label = describe_file(filename)
    if n_bytes == 0:
        raise ScanError(f"{label} is empty (0 bytes); upload the scan again.")
    if n_bytes > max_bytes:
        raise ScanError(
            f"{label} is too large: {_mb(n_bytes)} ({n_bytes} bytes) is over the "
            f"limit of {_mb(max_bytes)}; export a smaller image or a single frame."
        )


def check_pixels(
    rows: int,
    columns: int,
    samples: int,
    max_pixels: int,
    filename: str | None = None,
) -> None:
    """Raise ScanError when a decoded frame would exceed ``max_pixels`` samples.

    Parameters
    ----------
    rows, columns : int
        Frame height and width from the header.
    samples : int
        Samples per output pixel: 1 (grey) or 3 (colour).
    max_pixels : int
        The budget, in samples.
    filename : str or None
        Named in the message.
    """
    label = describe_file(filename)
    if rows <= 0 or columns <= 0:
        raise ScanError(
            f"{label} declares an empty image ({rows} × {columns} pixels); the file is damaged."
        )
    total = rows * columns * samples
    if total > max_pixels:
        what = f"{rows} × {columns}" + (f" × {samples} samples" if samples > 1 else "")
        raise ScanError(
            f"{label} is too large to decode: {what} = {total:,} values is over the "
            f"limit of {max_pixels:,}; downsample the image or raise max_pixels."
        )
