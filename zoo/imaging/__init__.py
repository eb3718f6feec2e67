"""Read scans: DICOM (via pydicom) and PNG/JPEG/TIFF/BMP/WebP/GIF (via Pillow).

>>> from zoo.imaging import load_scan
>>> scan = load_scan(uploaded_bytes, filename="chest.dcm", window="lung")  # doctest: +SKIP
>>> scan.pixels.dtype, scan.pixels.min() >= 0, scan.pixels.max() <= 1  # doctest: +SKIP
(dtype('float32'), True, True)

Modules, one job each: :mod:`~zoo.imaging.sniff` (format from magic bytes),
:mod:`~zoo.imaging.limits` (byte and pixel budgets),
:mod:`~zoo.imaging.raster` (Pillow), :mod:`~zoo.imaging.dicom` (pydicom),
:mod:`~zoo.imaging.codestream` (frame sizes inside compressed DICOM),
:mod:`~zoo.imaging.windowing` (rescale, VOI, presets), :mod:`~zoo.imaging.phi`
(which attributes are identifying), :mod:`~zoo.imaging.load` (the entry point).
"""

from zoo.imaging.limits import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS
from zoo.imaging.load import describe_scan, load_scan
from zoo.imaging.scan import UNTAGGED, Scan, Window
from zoo.imaging.sniff import sniff_format
from zoo.imaging.windowing import WINDOW_PRESETS

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "UNTAGGED",
    "WINDOW_PRESETS",
    "Scan",
    "Window",
    "describe_scan",
    "load_scan",
    "sniff_format",
]
