"""The :class:`Scan` value every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: The modality of image files and of DICOM without a *Modality*: no tag a model could match.
UNTAGGED = "OT"


@dataclass(frozen=True)
class Window:
    """A VOI window: display intensities ``center ± width / 2`` map to [0, 1]."""

    center: float
    width: float
    name: str = "custom"


@dataclass(frozen=True)
class Scan:
    """A decoded scan, ready for :func:`zoo.preprocess.preprocess`.

    Attributes
    ----------
    pixels : ndarray of float32, shape (H, W) or (H, W, 3)
        Display intensities in [0, 1]: 8/16-bit images divided by their maximum,
        DICOM after rescale, VOI (window or LUT) and MONOCHROME1 inversion.
    modality : str
        DICOM (0008,0060) *Modality* (``"CR"``, ``"CT"``, ``"MR"``...), or ``"OT"``
        for ordinary image files, which carry no modality.
    photometric : str
        (0028,0004) *Photometric Interpretation* of the source (``"MONOCHROME2"``,
        ``"RGB"``...); for image files the equivalent of the Pillow mode.
    pixel_spacing : tuple of float or None
        Row and column spacing in mm, when the file states it.
    frame_count : int
        Frames in the source (1 for still images).
    frame_index : int
        The frame that ``pixels`` holds.
    source_format : str
        ``"dicom"``, ``"png"``, ``"jpeg"``, ``"tiff"``, ``"bmp"`` or ``"webp"``.
    window : Window or None
        The VOI window applied (DICOM only; None when a LUT or nothing was applied).
    metadata : dict
        Descriptive tags, with patient identifiers left out unless asked for.
    """

    pixels: np.ndarray
    modality: str
    photometric: str
    source_format: str
    pixel_spacing: tuple[float, float] | None = None
    frame_count: int = 1
    frame_index: int = 0
    window: Window | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def is_color(self) -> bool:
        return self.pixels.ndim == 3

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.pixels.shape[0]), int(self.pixels.shape[1])
