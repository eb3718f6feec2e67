"""Procedural synthetic medical scans: chest radiographs, chest CT slices and brain MRI.

The scans are cartoons drawn with OpenCV, not simulations, but they have the parts a reader
expects (lung fields, ribs, heart, vessels, skull, ventricles...) and the lesions vary in
size, contrast and margin. They train the "synthetic" demo model (abnormality present or
absent) and feed every pipeline test, so they are fast (several hundred 224-pixel images per
second on one core) and need only numpy and OpenCV, never TensorFlow.

Every image is a float32 H×W array in [0, 1] with a label and the lesions' bounding boxes in
pixel coordinates (a box bounds the lesion's body after the random pose; spicules and oedema
are left out). The same seed gives the same pixels on one machine (OpenCV's SIMD paths may
differ in the last bits between CPU families).

>>> import numpy as np
>>> scan = chest_radiograph(np.random.default_rng(0), abnormal=True)
>>> scan.image.shape, scan.image.dtype, scan.label, scan.modality
((224, 224), dtype('float32'), 'abnormal', 'CR')
>>> images, labels, boxes = generate("brain", 8, seed=1, size=64)
>>> images.shape
(8, 64, 64)

Labels (``LABELS``; the negative class is listed in ``NEGATIVE_LABEL``):

- ``chest`` (modality ``CR``, a PA radiograph): ``normal`` or ``abnormal``; each lesion's box
  says ``nodule`` (small, 1-3 % of the width in radius) or ``mass`` (large, 4.5-9 %), with a
  smooth or spiculated margin. An abnormal film has one lesion, sometimes two.
- ``ct`` (modality ``CT``, an axial slice in a lung window): ``normal``, ``benign`` (a
  smooth, round nodule, sometimes calcified) or ``malignant`` (a larger, lobulated,
  spiculated nodule); the box label is the kind.
- ``brain`` (modality ``MR``, an axial T1-weighted, contrast-enhanced slice): ``glioma``
  (irregular, heterogeneous, ring-enhancing mass with a necrotic core and an oedema halo in
  one hemisphere), ``meningioma`` (well-circumscribed, homogeneous, bright, dural-based on
  the inner table of the skull, with a dural tail), ``pituitary`` (small bright mass on the
  midline, in the lower centre of the head, as in the public data sets' sella views) or
  ``notumor``; the box label is the kind.

Images follow radiological convention: the patient's left is on the viewer's right (so the
heart bulges to the right of the image) and, on axial slices, anterior is up.

Randomness comes in three streams so that counterfactual pairs are exact: the *anatomy*
(shapes and sizes of the organs), the *acquisition* (pose, intensity, texture, noise) and
the *lesions*. ``chest_radiograph(np.random.default_rng(s), abnormal=False)`` and
``chest_radiograph(np.random.default_rng(s), abnormal=True)`` differ only where the lesion
was drawn (the same holds for ``ct_slice`` and ``brain_mri`` with different ``kind``). In
:func:`generate` and :func:`write_dataset`, images of the same patient group share their
anatomy, so a split that ignores groups leaks.
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

__all__ = [
    "CHEST_LESIONS",
    "KINDS",
    "LABELS",
    "MODALITIES",
    "NEGATIVE_LABEL",
    "Box",
    "SyntheticScan",
    "brain_mri",
    "chest_radiograph",
    "ct_slice",
    "format_boxes",
    "generate",
    "parse_boxes",
    "patient_groups",
    "to_png_bytes",
    "write_dataset",
]

KINDS: tuple[str, ...] = ("chest", "ct", "brain")
LABELS: dict[str, tuple[str, ...]] = {
    "chest": ("normal", "abnormal"),
    "ct": ("normal", "benign", "malignant"),
    "brain": ("glioma", "meningioma", "notumor", "pituitary"),
}
NEGATIVE_LABEL: dict[str, str] = {"chest": "normal", "ct": "normal", "brain": "notumor"}
MODALITIES: dict[str, str] = {"chest": "CR", "ct": "CT", "brain": "MR"}
CHEST_LESIONS: tuple[str, ...] = ("nodule", "mass")
MIN_SIZE = 32
"""The smallest image side the generators accept, in pixels."""

_REFERENCE_SIZE = 224.0  # sizes in pixels (blur sigmas, line widths) are given at this size
_SHIFT = 4  # fractional bits for OpenCV drawing: sub-pixel positions at any image size
_FIXED = 1 << _SHIFT


# --------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class Box:
    """An axis-aligned lesion box in pixel coordinates: columns ``x..x+w``, rows ``y..y+h``."""

    x: int
    y: int
    w: int
    h: int
    label: str

    def to_text(self) -> str:
        """``'label:x:y:w:h'``, the form used in ``labels.csv``."""
        return f"{self.label}:{self.x}:{self.y}:{self.w}:{self.h}"


@dataclass(frozen=True, eq=False)
class SyntheticScan:
    """One synthetic scan.

    Attributes
    ----------
    image : numpy.ndarray
        float32, shape (H, W), values in [0, 1].
    label : str
        The image's class, one of ``LABELS[kind]``.
    boxes : tuple of Box
        One box per lesion (empty for the negative class).
    modality : str
        DICOM modality code: ``"CR"``, ``"CT"`` or ``"MR"``.
    """

    image: np.ndarray
    label: str
    boxes: tuple[Box, ...]
    modality: str


def format_boxes(boxes: Iterable[Box]) -> str:
    """Boxes as ``'label:x:y:w:h;label:x:y:w:h'`` (empty string for none)."""
    return ";".join(box.to_text() for box in boxes)


def parse_boxes(text: str) -> tuple[Box, ...]:
    """Inverse of :func:`format_boxes`.

    Raises
    ------
    ValueError
        If a box is not ``label:x:y:w:h`` with integer coordinates.
    """
    boxes = []
    for item in filter(None, (part.strip() for part in text.split(";"))):
        fields = item.split(":")
        if len(fields) != 5:
            raise ValueError(f"a box must be 'label:x:y:w:h', got {item!r}")
        label, *numbers = fields
        try:
            x, y, w, h = (int(number) for number in numbers)
        except ValueError:
            raise ValueError(f"box coordinates must be integers, got {item!r}") from None
        boxes.append(Box(x, y, w, h, label))
    return tuple(boxes)


# --------------------------------------------------------------------------- drawing helpers


class _Streams(NamedTuple):
    """Independent random streams: organ shapes, acquisition (pose, intensity, noise), lesions."""

    anatomy: np.random.Generator
    acquisition: np.random.Generator
    lesion: np.random.Generator


class _Canvas:
    """A float32 image drawn on in unit coordinates (0..1 across the width and the height)."""

    def __init__(self, size: int, fill: float = 0.0) -> None:
        self.size = size
        self.pixels = np.full((size, size), fill, np.float32)

    def blank(self) -> _Canvas:
        """A zero canvas of the same size."""
        return _Canvas(self.size)

    def _point(self, x: float, y: float) -> tuple[int, int]:
        return round(x * self.size * _FIXED), round(y * self.size * _FIXED)

    def _width(self, width: float) -> int:
        return max(1, round(width * self.size))

    def ellipse(
        self,
        centre: tuple[float, float],
        axes: tuple[float, float],
        value: float,
        *,
        angle: float = 0.0,
        arc: tuple[float, float] = (0.0, 360.0),
        width: float | None = None,
    ) -> None:
        """Fill an ellipse (or stroke it, ``width`` in unit coordinates); ``angle`` in degrees."""
        axes_fixed = self._point(max(axes[0], 0.0), max(axes[1], 0.0))
        thickness = -1 if width is None else self._width(width)
        cv2.ellipse(
            self.pixels, self._point(*centre), axes_fixed, angle, arc[0], arc[1],
            float(value), thickness, cv2.LINE_8, _SHIFT,
        )  # fmt: skip

    def polygon(self, points: np.ndarray, value: float) -> None:
        """Fill a polygon given as an (N, 2) array of unit (x, y) points."""
        cv2.fillPoly(self.pixels, [self._fixed(points)], float(value), cv2.LINE_8, _SHIFT)

    def polyline(self, points: np.ndarray, value: float, width: float) -> None:
        """Stroke an open polyline of unit (x, y) points."""
        cv2.polylines(
            self.pixels, [self._fixed(points)], False, float(value), self._width(width),
            cv2.LINE_8, _SHIFT,
        )  # fmt: skip

    def polylines(self, paths: np.ndarray, value: float, width: float) -> None:
        """Stroke many open polylines at once: ``paths`` is (K, N, 2) unit points.

        A path whose points coincide draws a round dot ``width`` across.
        """
        fixed = self._fixed(paths)
        cv2.polylines(
            self.pixels, list(fixed), False, float(value), self._width(width), cv2.LINE_8, _SHIFT
        )

    def _fixed(self, points: np.ndarray) -> np.ndarray:
        return np.round(np.asarray(points) * (self.size * _FIXED)).astype(np.int32)


def _scaled(pixels_at_224: float, size: int) -> float:
    """A length given in pixels of a 224-pixel image, at ``size``."""
    return pixels_at_224 * size / _REFERENCE_SIZE


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with ``sigma`` in pixels (no-op below a tenth of a pixel)."""
    if sigma < 0.1:
        return image
    return cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


@functools.lru_cache(maxsize=16)
def _unit_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Read-only (x, y) pixel-centre coordinates in [0, 1], each shaped (size, size)."""
    axis = (np.arange(size, dtype=np.float32) + 0.5) / size
    x, y = np.meshgrid(axis, axis)
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


def _smooth_field(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """A smooth random field with about unit variance: ``cells``×``cells`` noise, upsampled."""
    coarse = rng.standard_normal((cells, cells), dtype=np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)


def _ellipse_outline(
    centre: tuple[float, float],
    axes: tuple[float, float],
    radial: np.ndarray | None = None,
    points: int = 64,
) -> np.ndarray:
    """(N, 2) points of an ellipse whose radius is scaled by ``radial`` (length N) if given."""
    theta = np.linspace(0.0, 2.0 * np.pi, points, endpoint=False)
    scale = 1.0 if radial is None else radial
    return np.stack(
        [centre[0] + axes[0] * scale * np.cos(theta), centre[1] + axes[1] * scale * np.sin(theta)],
        axis=1,
    )


def _radial_wobble(
    rng: np.random.Generator, amplitude: float, points: int = 64, harmonics: range = range(2, 8)
) -> np.ndarray:
    """Radius factors around 1: a random sum of cosines (lobulation), clipped to [0.45, 1.8]."""
    theta = np.linspace(0.0, 2.0 * np.pi, points, endpoint=False)
    orders = np.asarray(harmonics, dtype=np.float64)[:, None]
    amplitudes = amplitude * rng.standard_normal((len(orders), 1)) / np.sqrt(orders)
    phases = rng.uniform(0.0, 2.0 * np.pi, (len(orders), 1))
    return np.clip(1.0 + (amplitudes * np.cos(orders * theta + phases)).sum(axis=0), 0.45, 1.8)


def _place_in_mask(
    rng: np.random.Generator, mask: np.ndarray, clearance: float
) -> tuple[float, float]:
    """A random unit (x, y) point of ``mask`` (uint8) at least ``clearance`` (unit) from its edge.

    Falls back to the deepest point of the mask when no point is that far inside.
    """
    size = mask.shape[0]
    depth = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    candidates = np.flatnonzero(depth >= clearance * size)
    index = int(rng.choice(candidates)) if candidates.size else int(np.argmax(depth))
    row, column = divmod(index, size)
    return (column + 0.5) / size, (row + 0.5) / size


def _polygon_mask(size: int, outline: np.ndarray) -> np.ndarray:
    """uint8 mask (1 inside) of a polygon of unit points."""
    canvas = _Canvas(size)
    canvas.polygon(outline, 1.0)
    return canvas.pixels.astype(np.uint8)


def _spicules(
    rng: np.random.Generator,
    canvas: _Canvas,
    centre: tuple[float, float],
    radius: float,
    count: int,
    value: float,
) -> None:
    """Thin, slightly bent lines radiating from a lesion's edge (a spiculated margin)."""
    angles = rng.uniform(0.0, 2.0 * np.pi, count)
    direction = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    across = np.stack([-direction[:, 1], direction[:, 0]], axis=1)
    bend = across * rng.normal(0.0, 0.15, (count, 1)) * radius
    start = np.asarray(centre) + direction * radius * 0.6
    end = np.asarray(centre) + direction * radius * rng.uniform(1.3, 2.1, (count, 1)) + bend
    canvas.polylines(np.stack([start, (start + end) / 2 + bend / 2, end], axis=1), value, 1.2 / 224)


# --------------------------------------------------------------------------- acquisition


@dataclass(frozen=True)
class _Lesion:
    """A drawn lesion: where it is (uint8 mask, before the pose warp) and what it is."""

    mask: np.ndarray
    label: str


def _lesion_mask(alpha: np.ndarray) -> np.ndarray:
    return (alpha > 0.5).astype(np.uint8)


def _pose(
    rng: np.random.Generator, size: int, max_degrees: float, scales: tuple[float, float]
) -> np.ndarray:
    """A random 2×3 similarity transform about the centre: rotation, scale and shift."""
    matrix = cv2.getRotationMatrix2D(
        (size / 2.0, size / 2.0), rng.uniform(-max_degrees, max_degrees), rng.uniform(*scales)
    )
    matrix[:, 2] += rng.uniform(-0.04, 0.04, 2) * size
    return matrix


def _warp(
    image: np.ndarray, matrix: np.ndarray, border: float, nearest: bool = False
) -> np.ndarray:
    size = image.shape[0]
    return cv2.warpAffine(
        image, matrix, (size, size),
        flags=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT, borderValue=border,
    )  # fmt: skip


def _box(lesion: _Lesion, matrix: np.ndarray) -> Box:
    """The lesion's bounding box after the pose warp, clipped to the image (at least 1×1)."""
    size = lesion.mask.shape[0]
    x, y, w, h = cv2.boundingRect(_warp(lesion.mask, matrix, 0.0, nearest=True))
    if w == 0 or h == 0:  # warped out of view or too thin: keep the centre, 1×1
        bx, by, bw, bh = cv2.boundingRect(lesion.mask)
        cx, cy = matrix @ np.array([bx + bw / 2.0, by + bh / 2.0, 1.0])
        x, y, w, h = int(np.clip(cx, 0, size - 1)), int(np.clip(cy, 0, size - 1)), 1, 1
    return Box(int(x), int(y), int(w), int(h), lesion.label)


def _adjust_intensity(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random gamma, contrast and brightness (in that order), clipped to [0, 1]."""
    gamma = math.exp(rng.uniform(-0.25, 0.25))
    contrast, brightness = rng.uniform(0.85, 1.15), rng.uniform(-0.05, 0.05)
    out = np.power(np.clip(image, 0.0, 1.0), gamma, dtype=np.float32)
    return np.clip((out - 0.5) * contrast + 0.5 + brightness, 0.0, 1.0)


@functools.lru_cache(maxsize=4)
def _noise_bank(size: int) -> np.ndarray:
    """Read-only standard normal noise, (2·size)² (fixed seed), cropped at random per image.

    Drawing fresh Gaussian noise for every pixel would cost more than drawing the anatomy; a
    random crop, flip and transposition of a bank is as good for training and ~20 times faster.
    """
    bank = np.random.default_rng(20240229).standard_normal((2 * size, 2 * size), np.float32)
    bank.flags.writeable = False
    return bank


def _gaussian_noise(rng: np.random.Generator, size: int) -> np.ndarray:
    """A (size, size) view of standard normal noise from a random crop of the bank."""
    row, column = rng.integers(0, size + 1, 2)
    crop = _noise_bank(size)[row : row + size, column : column + size]
    flip_rows, flip_columns, transpose = rng.random(3) < 0.5
    crop = crop[::-1] if flip_rows else crop
    crop = crop[:, ::-1] if flip_columns else crop
    return crop.T if transpose else crop


def _add_noise(image: np.ndarray, rng: np.random.Generator, *, rician: bool) -> np.ndarray:
    """Gaussian noise, or Rician noise (magnitude of complex Gaussian noise) for MR."""
    size = image.shape[0]
    sigma = rng.uniform(0.008, 0.03)
    noisy = image + sigma * _gaussian_noise(rng, size)
    if rician:
        noisy = np.hypot(noisy, sigma * _gaussian_noise(rng, size))
    return np.clip(noisy, 0.0, 1.0).astype(np.float32, copy=False)


def _acquire(
    image: np.ndarray,
    lesions: Sequence[_Lesion],
    rng: np.random.Generator,
    *,
    background: float,
    max_degrees: float,
    rician: bool = False,
) -> tuple[np.ndarray, tuple[Box, ...]]:
    """Pose, intensity and noise: the drawn anatomy becomes a final image with lesion boxes."""
    size = image.shape[0]
    shading = 1.0 + 0.06 * _smooth_field(rng, size, 4)
    matrix = _pose(rng, size, max_degrees, (0.92, 1.05))
    warped = _warp(image * shading, matrix, background)
    final = _add_noise(_adjust_intensity(warped, rng), rng, rician=rician)
    return final, tuple(_box(lesion, matrix) for lesion in lesions)


# --------------------------------------------------------------------------- chest radiograph


def _thorax_outline(rng: np.random.Generator) -> np.ndarray:
    """The body's silhouette on a PA film: neck, sloping shoulders, chest wall, flanks."""
    neck = rng.uniform(0.08, 0.11)
    shoulder_y = rng.uniform(0.05, 0.11)
    chest = rng.uniform(0.42, 0.47)
    left = [
        (0.5 - neck, -0.05),
        (0.5 - neck - 0.02, shoulder_y - 0.02),
        (0.5 - chest + 0.06, shoulder_y + 0.02),
        (0.5 - chest, shoulder_y + 0.12),
        (0.5 - chest - 0.01, 0.55),
        (0.5 - chest + 0.03, 1.05),
    ]
    right = [(1.0 - x, y) for x, y in reversed(left)]
    return np.array(left + right)


def _lung_outline(
    side: int, apex_y: float, lateral: float, base_y: float, dome: float, medial: float
) -> np.ndarray:
    """One lung field; ``side`` -1 is the image's left (the patient's right), +1 its right."""
    apex_x = 0.5 + side * (medial + 0.07)
    t = np.linspace(0.0, 1.0, 16)
    wall_x = apex_x + side * (lateral - medial - 0.07) * np.sin(t * np.pi / 2)
    wall_y = apex_y + (base_y - apex_y) * (1.0 - np.cos(t * np.pi / 2))
    medial_x, medial_y = 0.5 + side * medial, base_y - 0.04
    dome_x = wall_x[-1] + (medial_x - wall_x[-1]) * t
    dome_y = base_y + (medial_y - base_y) * t - dome * np.sin(np.pi * t) ** 0.7
    up_y = medial_y + (apex_y + 0.03 - medial_y) * t
    up_x = 0.5 + side * (medial + 0.07 * t**3)
    return np.concatenate(
        [
            np.stack([wall_x, wall_y], 1),
            np.stack([dome_x, dome_y], 1)[1:],
            np.stack([up_x, up_y], 1),
        ]
    )


def _chest_lungs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Both lung outlines (image left first); the patient's right dome sits a little higher."""
    apex_y, base_y = rng.uniform(0.1, 0.15), rng.uniform(0.74, 0.8)
    lateral, medial = rng.uniform(0.35, 0.4), rng.uniform(0.05, 0.075)
    outlines = []
    for side in (-1, 1):
        dome = rng.uniform(0.05, 0.09) + (0.02 if side < 0 else 0.0)
        outlines.append(
            _lung_outline(side, apex_y, lateral + rng.uniform(-0.015, 0.015), base_y, dome, medial)
        )
    return outlines[0], outlines[1]


def _draw_ribs(rng: np.random.Generator, canvas: _Canvas, apex_y: float) -> None:
    """Posterior ribs (arches from the spine, curving down laterally) and fainter anterior ribs."""
    spacing = rng.uniform(0.062, 0.072)
    side = np.array([-1.0, 1.0])[:, None, None]
    k = np.arange(10.0)[None, :, None]
    y0 = apex_y + spacing * k
    t = np.linspace(0.0, 1.0, 12)[None, None, :]
    x = 0.5 + side * (0.04 + (0.36 + 0.01 * k) * t)
    y = y0 + 0.03 - 0.06 * np.sin(np.pi * 0.75 * t) + 0.1 * t**3
    canvas.polylines(_paths(x, y), 0.1, 0.018)
    t = np.linspace(0.0, 1.0, 6)[None, None, :]
    x = 0.5 + side * (0.4 - 0.26 * t)
    y = y0 + 0.12 + 0.12 * t - 0.03 * np.sin(np.pi * t)
    canvas.polylines(_paths(x, y), 0.035, 0.014)


def _paths(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(..., N) coordinate arrays as (K, N, 2) polylines."""
    x, y = np.broadcast_arrays(x, y)
    return np.stack([x, y], axis=-1).reshape(-1, x.shape[-1], 2)


def _draw_lung_markings(rng: np.random.Generator, canvas: _Canvas, hilum_y: float) -> None:
    """Vessels fanning out from each hilum, thinning towards the periphery."""
    side = np.repeat([-1.0, 1.0], 9)
    angle = rng.uniform(-1.2, 1.3, 18)
    direction = np.stack([side * np.cos(angle), np.sin(angle)], axis=1)
    steps = direction[:, None, :] * rng.uniform(0.04, 0.07, (18, 4, 1))
    steps += rng.normal(0.0, 0.015, (18, 4, 2))
    hilum = np.stack([0.5 + side * 0.11, np.full(18, hilum_y)], axis=1)
    points = hilum[:, None, :] + np.concatenate([np.zeros((18, 1, 2)), steps.cumsum(axis=1)], 1)
    for step in range(4):
        segments = points[:, step : step + 2]
        canvas.polylines(segments, 0.07 - 0.012 * step, 0.009 - 0.002 * step)


def _chest_anatomy(rng: np.random.Generator, size: int) -> tuple[_Canvas, list[np.ndarray]]:
    """A PA chest film without lesions, and the lung outlines lesions may be placed in."""
    canvas = _Canvas(size, 0.03)
    body = canvas.blank()
    body.polygon(_smooth_outline(_thorax_outline(rng), closed=True), 1.0)
    canvas.pixels += 0.47 * body.pixels
    lungs = _chest_lungs(rng)
    lung_mask = canvas.blank()
    for outline in lungs:
        lung_mask.polygon(outline, 1.0)
    lung_mask.pixels = _blur(lung_mask.pixels, _scaled(2.0, size))
    markings = canvas.blank()
    _draw_lung_markings(rng, markings, rng.uniform(0.4, 0.46))
    texture = 0.035 * _smooth_field(rng, size, 24)
    canvas.pixels -= lung_mask.pixels * (0.33 - markings.pixels - texture)
    _draw_mediastinum(rng, canvas, base_y=float(lungs[1][15, 1]))
    _draw_abdomen(rng, canvas, lungs, body.pixels)
    bones = canvas.blank()
    _draw_ribs(rng, bones, apex_y=float(lungs[0][0, 1]))
    _draw_clavicles(rng, bones)
    bones.pixels *= body.pixels * (0.3 + 0.7 * lung_mask.pixels)
    _draw_spine(bones)
    canvas.pixels += _blur(bones.pixels, _scaled(1.2, size))
    return canvas, list(lungs)


def _draw_mediastinum(rng: np.random.Generator, canvas: _Canvas, base_y: float) -> None:
    """Mediastinum and heart as one silhouette (bulging to the patient's left), and trachea."""
    width, right, left = rng.uniform(0.05, 0.065), rng.uniform(0.05, 0.08), rng.uniform(0.16, 0.21)
    knob = rng.uniform(0.27, 0.31)
    outline = np.array([
        (0.5 - width, -0.05), (0.5 - width - 0.005, 0.35), (0.5 - width - 0.02, 0.47),
        (0.5 - width - right, base_y - 0.16), (0.5 - width - right + 0.01, base_y - 0.04),
        (0.5 + left - 0.03, base_y - 0.02), (0.5 + left, base_y - 0.1),
        (0.5 + left - 0.07, base_y - 0.26), (0.5 + width + 0.03, knob + 0.1),
        (0.5 + width + 0.045, knob), (0.5 + width + 0.005, knob - 0.07), (0.5 + width, -0.05),
    ])  # fmt: skip
    canvas.polygon(_smooth_outline(outline, closed=True), 0.6)
    heart_axes = (rng.uniform(0.15, 0.18), rng.uniform(0.12, 0.15))
    heart_centre = (0.5 + rng.uniform(0.05, 0.07), base_y - heart_axes[1] * 0.85)
    canvas.ellipse(heart_centre, heart_axes, 0.6, angle=rng.uniform(10.0, 25.0))
    trachea = np.array([[0.5, -0.05], [0.5, 0.3], [0.5 + 0.008, 0.37]])
    canvas.polyline(trachea, 0.47, 0.028)
    for side in (-1, 1):
        canvas.polyline(np.array([[0.5 + 0.008, 0.37], [0.5 + side * 0.05, 0.43]]), 0.5, 0.02)


def _draw_abdomen(
    rng: np.random.Generator, canvas: _Canvas, lungs: Sequence[np.ndarray], body: np.ndarray
) -> None:
    """Soft tissue under both hemidiaphragms (hiding the heart's lower edge) and stomach gas."""
    domes = [outline[15:31] for outline in lungs]  # costophrenic angle to the medial end
    upper = np.concatenate([domes[0], domes[1][::-1]])
    flanks = [[1.05, upper[-1, 1] + 0.03], [1.05, 1.05], [-0.05, 1.05], [-0.05, upper[0, 1] + 0.03]]
    abdomen = canvas.blank()
    abdomen.polygon(np.concatenate([upper, flanks]), 1.0)
    abdomen.pixels *= body
    canvas.pixels += abdomen.pixels * (0.58 - canvas.pixels)
    stomach_y = float(domes[1][8, 1]) + rng.uniform(0.04, 0.07)
    canvas.ellipse((0.5 + rng.uniform(0.12, 0.2), stomach_y), (0.05, 0.028), 0.34)


def _smooth_outline(points: np.ndarray, closed: bool, iterations: int = 3) -> np.ndarray:
    """Chaikin corner cutting: a polygon with rounded corners."""
    for _ in range(iterations):
        following = np.roll(points, -1, axis=0) if closed else points[1:]
        current = points if closed else points[:-1]
        cut = np.empty((2 * len(current), 2))
        cut[0::2] = 0.75 * current + 0.25 * following
        cut[1::2] = 0.25 * current + 0.75 * following
        points = cut if closed else np.concatenate([points[:1], cut, points[-1:]])
    return points


def _draw_clavicles(rng: np.random.Generator, canvas: _Canvas) -> None:
    """Both clavicles: gently S-shaped bands rising from the midline to the shoulders."""
    height = rng.uniform(0.1, 0.15)
    for side in (-1, 1):
        t = np.linspace(0.0, 1.0, 8)
        x = 0.5 + side * (0.05 + 0.32 * t)
        y = height - 0.05 * t + 0.015 * np.sin(2.0 * np.pi * t)
        canvas.polyline(np.stack([x, y], 1), 0.16, 0.026)


def _draw_spine(canvas: _Canvas) -> None:
    """Vertebral bodies, faint behind the mediastinum."""
    for k in range(18):
        canvas.ellipse((0.5, 0.03 + k * 0.056), (0.032, 0.021), 0.045)


def _chest_lesion(
    rng: np.random.Generator, canvas: _Canvas, lungs: Sequence[np.ndarray], kind: str
) -> _Lesion:
    """A nodule or mass in a lung field: random size, contrast, shape and margin."""
    radius = rng.uniform(0.012, 0.03) if kind == "nodule" else rng.uniform(0.045, 0.09)
    lung = _polygon_mask(canvas.size, lungs[int(rng.integers(len(lungs)))])
    region = lung & (canvas.pixels < 0.4)  # not behind the heart or under the diaphragm
    centre = _place_in_mask(rng, region.astype(np.uint8), clearance=radius * 0.9)
    spiculated = bool(rng.random() < 0.5)
    radial = _radial_wobble(rng, 0.18 if spiculated else 0.04)
    axes = (radius * rng.uniform(0.85, 1.15), radius * rng.uniform(0.85, 1.15))
    alpha = canvas.blank()
    alpha.polygon(_ellipse_outline(centre, axes, radial), 1.0)
    mask = _lesion_mask(alpha.pixels)
    if spiculated:
        _spicules(rng, alpha, centre, radius, int(rng.integers(6, 14)), 0.6)
    softness = _scaled(0.6 if spiculated else 0.6 + 20.0 * radius, canvas.size)
    shape = _blur(alpha.pixels, softness)
    heterogeneity = 1.0 + 0.15 * _smooth_field(rng, canvas.size, 16)
    canvas.pixels += rng.uniform(0.15, 0.35) * shape * heterogeneity
    return _Lesion(mask, kind)


def _chest(streams: _Streams, size: int, lesion_kinds: Sequence[str]) -> SyntheticScan:
    canvas, lungs = _chest_anatomy(streams.anatomy, size)
    lesions = [_chest_lesion(streams.lesion, canvas, lungs, kind) for kind in lesion_kinds]
    canvas.pixels = _blur(canvas.pixels, _scaled(1.0, size))
    image, boxes = _acquire(
        canvas.pixels, lesions, streams.acquisition, background=0.03, max_degrees=5.0
    )
    label = "abnormal" if lesion_kinds else "normal"
    return SyntheticScan(image, label, boxes, MODALITIES["chest"])


def _chest_lesion_kinds(rng: np.random.Generator, lesion: str | None) -> tuple[str, ...]:
    """One lesion, sometimes two; of kind ``lesion`` or drawn at random."""
    count = 2 if rng.random() < 0.15 else 1
    drawn = tuple(CHEST_LESIONS[int(i)] for i in rng.integers(len(CHEST_LESIONS), size=count))
    return drawn if lesion is None else (lesion,) * count


def chest_radiograph(
    rng: np.random.Generator,
    *,
    size: int = 224,
    abnormal: bool | None = None,
    lesion: str | None = None,
) -> SyntheticScan:
    """A synthetic posteroanterior chest radiograph.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness; the same generator state gives the same scan.
    size : int
        Image side in pixels (at least ``MIN_SIZE``).
    abnormal : bool or None
        Whether to draw lesions; ``None`` draws it at random (even odds), or ``True`` when
        ``lesion`` is given.
    lesion : {"nodule", "mass"} or None
        The lesion kind; ``None`` draws each lesion's kind at random.

    Returns
    -------
    SyntheticScan
        Label ``"normal"`` or ``"abnormal"``, modality ``"CR"``, one box per lesion labelled
        ``"nodule"`` or ``"mass"``.

    Raises
    ------
    ValueError
        For a size below ``MIN_SIZE``, an unknown lesion, or ``abnormal=False`` with a lesion.
    """
    _check_size(size)
    drawn = bool(rng.random() < 0.5)
    if lesion is not None:
        _check_choice("lesion", lesion, CHEST_LESIONS)
        if abnormal is False:
            raise ValueError(f"lesion={lesion!r} contradicts abnormal=False")
        abnormal = True
    streams = _Streams(*rng.spawn(3))
    is_abnormal = drawn if abnormal is None else abnormal
    kinds = _chest_lesion_kinds(streams.lesion, lesion) if is_abnormal else ()
    return _chest(streams, size, kinds)


# --------------------------------------------------------------------------- chest CT


class _Body(NamedTuple):
    """An elliptical body section: centre and semi-axes in unit coordinates."""

    cx: float
    cy: float
    ax: float
    ay: float


def _ct_lung_outline(rng: np.random.Generator, body: _Body, side: int) -> np.ndarray:
    """A lung in cross-section: an ellipse dented medially (hilum, heart, spine)."""
    centre = (body.cx + side * body.ax * rng.uniform(0.4, 0.45), body.cy + body.ay * 0.02)
    axes = (body.ax * rng.uniform(0.33, 0.38), body.ay * rng.uniform(0.66, 0.74))
    theta = np.linspace(0.0, 2.0 * np.pi, 64, endpoint=False)
    medial = 0.0 if side < 0 else np.pi
    offset = np.angle(np.exp(1j * (theta - medial)))
    dent = 0.22 * np.exp(-(offset**2) / 0.3)
    if side > 0:  # the heart presses on the patient's left lung from the front
        dent += 0.2 * np.exp(-((offset + 0.7) ** 2) / 0.2)
    radial = (1.0 - dent) * _radial_wobble(rng, 0.025)
    return _ellipse_outline(centre, axes, radial)


def _draw_vessel_trees(
    rng: np.random.Generator, canvas: _Canvas, roots: np.ndarray, directions: np.ndarray
) -> None:
    """Branching vessels: each segment splits in two, thinner and shorter, four times."""
    starts, angles, width = roots, directions, 0.008
    for _ in range(4):
        lengths = rng.uniform(0.035, 0.065, (len(angles), 1)) * (width / 0.008) ** 0.3
        ends = starts + lengths * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        canvas.polylines(np.stack([starts, ends], axis=1), 1.0, width)
        turns = rng.uniform(0.2, 0.55, (len(angles), 2)) * np.array([-1.0, 1.0])
        starts, angles = np.repeat(ends, 2, axis=0), (angles[:, None] + turns).ravel()
        width *= 0.7


def _draw_vessels(rng: np.random.Generator, canvas: _Canvas, body: _Body) -> None:
    """Vessel trees from both hila plus vessels seen end-on (dots)."""
    side = np.repeat([-1.0, 1.0], 4)
    hila_y = body.cy + rng.uniform(-0.02, 0.02, 2)
    roots = np.stack([body.cx + side * body.ax * 0.2, np.repeat(hila_y, 4)], axis=1)
    outward = np.where(side > 0, 0.0, np.pi)
    _draw_vessel_trees(rng, canvas, roots, outward + rng.uniform(-1.4, 1.4, 8))
    low, high = (body.cx - body.ax, body.cy - body.ay), (body.cx + body.ax, body.cy + body.ay)
    for width in (0.004, 0.008, 0.012):
        dots = rng.uniform(low, high, (20, 2))
        canvas.polylines(np.stack([dots, dots], axis=1), 1.0, width)


def _draw_ct_skeleton(rng: np.random.Generator, canvas: _Canvas, body: _Body) -> None:
    """Vertebra (body, canal, lamina, spinous and transverse processes), ribs and sternum."""
    vertebra = (body.cx, body.cy + body.ay * 0.6)
    canvas.ellipse(vertebra, (0.05, 0.045), 0.8)
    canvas.ellipse(vertebra, (0.05, 0.045), 0.95, width=0.01)
    canal_y = vertebra[1] + 0.07
    canvas.ellipse((body.cx, canal_y), (0.022, 0.02), 0.58)
    for side in (-1, 1):
        lamina = np.array([[body.cx + side * 0.03, canal_y - 0.02], [body.cx + side * 0.025,
                          canal_y + 0.025], [body.cx, canal_y + 0.06]])  # fmt: skip
        canvas.polyline(lamina, 0.92, 0.012)
        process = np.array([[body.cx + side * 0.035, canal_y - 0.03],
                            [body.cx + side * 0.09, canal_y - 0.015]])  # fmt: skip
        canvas.polyline(process, 0.9, 0.014)
        for angle in np.deg2rad(rng.uniform(-60.0, 70.0, 6)):
            direction = angle if side > 0 else np.pi - angle
            centre = (body.cx + body.ax * 0.86 * math.cos(direction),
                      body.cy + body.ay * 0.86 * math.sin(direction))  # fmt: skip
            canvas.ellipse(centre, (0.018, 0.008), 0.92, angle=math.degrees(direction) + 90.0)
    canvas.ellipse((body.cx, body.cy - body.ay * 0.86), (0.035, 0.012), 0.9)


def _ct_anatomy(rng: np.random.Generator, size: int) -> tuple[_Canvas, np.ndarray]:
    """An axial chest CT slice (anterior up) without lesions, and the lung mask."""
    body = _Body(0.5, rng.uniform(0.46, 0.5), rng.uniform(0.39, 0.44), rng.uniform(0.27, 0.31))
    canvas = _Canvas(size)
    table_y = body.cy + body.ay + 0.012
    canvas.ellipse((0.5, table_y + 0.8), (0.9, 0.8), 0.42, arc=(235.0, 305.0), width=0.012)
    canvas.ellipse((0.5, table_y + 0.83), (0.9, 0.8), 0.3, arc=(235.0, 305.0), width=0.008)
    wobble = _radial_wobble(rng, 0.02, harmonics=range(2, 5))
    canvas.polygon(_ellipse_outline(body[:2], body[2:], wobble), 0.5)
    inner = (body.ax - 0.025, body.ay - 0.02)
    canvas.polygon(_ellipse_outline(body[:2], inner, wobble), 0.64)
    lungs = canvas.blank()
    for side in (-1, 1):
        lungs.polygon(_ct_lung_outline(rng, body, side), 1.0)
    lung_mask = lungs.pixels.copy()
    _, y = _unit_grid(size)
    parenchyma = 0.09 + 0.08 * (y - body.cy) + 0.015 * _smooth_field(rng, size, 40)
    vessels = canvas.blank()
    _draw_vessels(rng, vessels, body)
    vessels.pixels = _blur(vessels.pixels, _scaled(0.5, size))
    canvas.pixels += lung_mask * (parenchyma + vessels.pixels * (0.42 - parenchyma) - canvas.pixels)
    heart_centre = (body.cx + rng.uniform(0.03, 0.06), body.cy - body.ay * 0.15)
    heart_axes = (rng.uniform(0.11, 0.13), rng.uniform(0.08, 0.1))
    canvas.ellipse(heart_centre, heart_axes, 0.67, angle=-30)
    canvas.ellipse((body.cx + 0.055, body.cy + body.ay * 0.38), (0.03, 0.03), 0.69)
    _draw_ct_skeleton(rng, canvas, body)
    heart_free = (canvas.pixels < 0.6).astype(np.uint8)
    return canvas, (lung_mask.astype(np.uint8) & heart_free)


def _ct_nodule(rng: np.random.Generator, canvas: _Canvas, lungs: np.ndarray, kind: str) -> _Lesion:
    """A benign (small, smooth, maybe calcified) or malignant (lobulated, spiculated) nodule."""
    malignant = kind == "malignant"
    radius = rng.uniform(0.025, 0.055) if malignant else rng.uniform(0.012, 0.028)
    centre = _place_in_mask(rng, lungs, clearance=radius * 1.1)
    radial = _radial_wobble(rng, 0.22 if malignant else 0.03)
    axes = (radius * rng.uniform(0.85, 1.15), radius * rng.uniform(0.85, 1.15))
    alpha = canvas.blank()
    alpha.polygon(_ellipse_outline(centre, axes, radial), 1.0)
    mask = _lesion_mask(alpha.pixels)
    value = canvas.blank()
    value.pixels[:] = rng.uniform(0.55, 0.68)
    if malignant:
        _spicules(rng, alpha, centre, radius, int(rng.integers(10, 18)), 0.8)
        value.pixels *= 1.0 + 0.08 * _smooth_field(rng, canvas.size, 24)
        if rng.random() < 0.2:  # cavitation
            offset = rng.uniform(-0.3, 0.3, 2) * radius
            alpha.ellipse(tuple(np.asarray(centre) + offset), (radius * 0.35,) * 2, 0.1)
    elif rng.random() < 0.35:  # central calcification
        value.ellipse(centre, (radius * rng.uniform(0.3, 0.6),) * 2, 0.95)
    shape = _blur(alpha.pixels, _scaled(0.6, canvas.size))
    canvas.pixels += shape * (value.pixels - canvas.pixels)
    return _Lesion(mask, kind)


def _ct(streams: _Streams, size: int, kind: str) -> SyntheticScan:
    canvas, lungs = _ct_anatomy(streams.anatomy, size)
    lesions = [] if kind == "normal" else [_ct_nodule(streams.lesion, canvas, lungs, kind)]
    canvas.pixels = _blur(canvas.pixels, _scaled(0.6, size))
    image, boxes = _acquire(
        canvas.pixels, lesions, streams.acquisition, background=0.0, max_degrees=4.0
    )
    return SyntheticScan(image, kind, boxes, MODALITIES["ct"])


def ct_slice(
    rng: np.random.Generator, *, size: int = 224, kind: str | None = None
) -> SyntheticScan:
    """A synthetic axial chest CT slice in a lung window.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness; the same generator state gives the same scan.
    size : int
        Image side in pixels (at least ``MIN_SIZE``).
    kind : {"normal", "benign", "malignant"} or None
        What to draw; ``None`` draws it at random (uniformly).

    Returns
    -------
    SyntheticScan
        Label ``kind``, modality ``"CT"``, one box labelled ``kind`` unless normal.

    Raises
    ------
    ValueError
        For a size below ``MIN_SIZE`` or an unknown kind.
    """
    return _from_rng(rng, "ct", size, kind)


# --------------------------------------------------------------------------- brain MRI


class _Head(NamedTuple):
    """The head's outline, parametrised so any layer (scalp, skull, brain) is a scaled copy."""

    cx: float
    cy: float
    ax: float
    ay: float
    radial: np.ndarray

    def outline(self, scale: float) -> np.ndarray:
        return _ellipse_outline((self.cx, self.cy), (self.ax * scale, self.ay * scale), self.radial)


_BRAIN_SCALE = 0.87  # the brain surface relative to the scalp
_INNER_TABLE = 0.885  # the inner surface of the skull


def _draw_head_layers(canvas: _Canvas, head: _Head) -> None:
    """Scalp fat (bright), galea, skull (dark, with bright marrow), CSF, cortex."""
    for scale, value in ((1.0, 0.78), (0.965, 0.45), (0.94, 0.06), (0.915, 0.36), (0.905, 0.06),
                         (_INNER_TABLE, 0.12), (_BRAIN_SCALE, 0.42)):  # fmt: skip
        canvas.polygon(head.outline(scale), value)


def _draw_white_matter(rng: np.random.Generator, canvas: _Canvas, head: _Head) -> None:
    """A brighter white-matter core with soft edges under a grey cortical ribbon."""
    size = canvas.size
    white = canvas.blank()
    core = _Head(head.cx, head.cy, head.ax, head.ay, head.radial * _radial_wobble(rng, 0.05))
    white.polygon(core.outline(0.74), 0.15)
    brain = _polygon_mask(size, head.outline(_BRAIN_SCALE))
    texture = 0.02 * _smooth_field(rng, size, 12)
    canvas.pixels += _blur(white.pixels, _scaled(3.0, size)) + brain * texture


def _draw_sulci(rng: np.random.Generator, canvas: _Canvas, head: _Head) -> None:
    """Sulci (dark CSF clefts running in from the surface) and the interhemispheric fissure."""
    count = 44
    theta = np.linspace(0.0, 2.0 * np.pi, count, endpoint=False) + rng.uniform(-0.06, 0.06, count)
    knots = np.linspace(0.0, 2.0 * np.pi, len(head.radial), endpoint=False)
    surface = np.interp(theta, knots, head.radial, period=2.0 * np.pi) * _BRAIN_SCALE
    centre = np.array([head.cx, head.cy])
    starts = centre + np.stack(
        [head.ax * surface * np.cos(theta), head.ay * surface * np.sin(theta)], axis=1
    )
    inward = centre - starts
    inward /= np.linalg.norm(inward, axis=1, keepdims=True)
    across = np.stack([-inward[:, 1], inward[:, 0]], axis=1)
    depth = rng.uniform(0.02, 0.075, (count, 1))
    middles = starts + inward * depth * 0.5 + across * rng.normal(0.0, 0.008, (count, 1))
    ends = starts + inward * depth + across * rng.normal(0.0, 0.012, (count, 1))
    canvas.polylines(np.stack([starts, middles, ends], axis=1), 0.2, 0.0055)
    sides = rng.choice((-1.0, 1.0), (count, 1))
    branches = middles + (across * sides + inward) * depth * 0.35
    chosen = rng.random(count) < 0.4
    canvas.polylines(np.stack([middles, branches], axis=1)[chosen], 0.2, 0.0045)
    for top, bottom in ((-_BRAIN_SCALE, -0.4), (0.45, _BRAIN_SCALE)):
        fissure = np.array(
            [[head.cx, head.cy + head.ay * top], [head.cx, head.cy + head.ay * bottom]]
        )
        canvas.polyline(fissure, 0.2, 0.005)


def _draw_deep_structures(rng: np.random.Generator, canvas: _Canvas, head: _Head) -> None:
    """Caudate heads, thalami, the lateral ventricles (a dark butterfly) and the third ventricle."""
    cx, cy, enlarge = head.cx, head.cy, rng.uniform(0.8, 1.5)
    nuclei = canvas.blank()
    for side in (-1, 1):
        nuclei.ellipse((cx + side * 0.06, cy - 0.085), (0.03, 0.04), 1.0)
        nuclei.ellipse((cx + side * 0.055, cy + 0.07), (0.045, 0.055), 1.0)
    canvas.pixels -= 0.06 * _blur(nuclei.pixels, _scaled(2.0, canvas.size))
    spread = rng.uniform(0.0, 0.015)
    for side in (-1, 1):
        path = np.array([
            (cx + side * (0.045 + spread), cy - 0.17), (cx + side * 0.022, cy - 0.1),
            (cx + side * 0.024, cy - 0.01), (cx + side * 0.045, cy + 0.08),
            (cx + side * (0.075 + spread), cy + 0.17),
        ])  # fmt: skip
        canvas.polyline(_smooth_outline(path, closed=False, iterations=2), 0.1, 0.014 * enlarge)
        horn = (cx + side * (0.035 + spread * 0.5), cy - 0.12)
        canvas.ellipse(horn, (0.016 * enlarge, 0.04), 0.1, angle=side * rng.uniform(15.0, 30.0))
        atrium = (cx + side * (0.06 + spread * 0.5), cy + 0.12)
        canvas.ellipse(atrium, (0.017 * enlarge, 0.04), 0.1, angle=-side * rng.uniform(15.0, 30.0))
    canvas.ellipse((cx, cy + 0.07), (0.005 * enlarge, 0.03), 0.12)


def _brain_anatomy(rng: np.random.Generator, size: int) -> tuple[_Canvas, _Head]:
    """An axial T1-weighted brain slice (anterior up) without a tumour."""
    head = _Head(
        0.5 + rng.uniform(-0.01, 0.01), 0.5 + rng.uniform(-0.01, 0.01),
        rng.uniform(0.33, 0.37), rng.uniform(0.41, 0.45),
        _radial_wobble(rng, 0.03, harmonics=range(2, 5)),
    )  # fmt: skip
    canvas = _Canvas(size)
    _draw_head_layers(canvas, head)
    _draw_white_matter(rng, canvas, head)
    _draw_sulci(rng, canvas, head)
    _draw_deep_structures(rng, canvas, head)
    return canvas, head


def _glioma(rng: np.random.Generator, canvas: _Canvas, head: _Head) -> _Lesion:
    """An irregular, ring-enhancing mass with a necrotic core and an oedema halo, off midline."""
    size, radius = canvas.size, rng.uniform(0.05, 0.1)
    region = _polygon_mask(size, head.outline(0.7))
    margin = round((0.06 + radius) * size)
    centre_column = round(head.cx * size)
    region[:, max(centre_column - margin, 0) : centre_column + margin] = 0
    centre = _place_in_mask(rng, region, clearance=radius * 0.8)
    oedema = canvas.blank()
    oedema.polygon(_ellipse_outline(centre, (radius * 1.7,) * 2, _radial_wobble(rng, 0.25)), 1.0)
    canvas.pixels -= 0.09 * _blur(oedema.pixels, _scaled(4.0, size))
    outline = _ellipse_outline(
        centre, (radius, radius * rng.uniform(0.75, 1.2)), _radial_wobble(rng, 0.2)
    )
    alpha = canvas.blank()
    alpha.polygon(outline, 1.0)
    mask = _lesion_mask(alpha.pixels)
    value = canvas.blank()
    value.pixels[:] = rng.uniform(0.7, 0.85)
    core = np.asarray(centre) + rng.uniform(-0.2, 0.2, 2) * radius
    value.polygon(_ellipse_outline(tuple(core), (radius * rng.uniform(0.4, 0.65),) * 2,
                                   _radial_wobble(rng, 0.2)), 0.22)  # fmt: skip
    value.pixels = _blur(value.pixels, _scaled(1.5, size)) * (
        1 + 0.18 * _smooth_field(rng, size, 20)
    )
    canvas.pixels += _blur(alpha.pixels, _scaled(1.0, size)) * (value.pixels - canvas.pixels)
    return _Lesion(mask, "glioma")


def _meningioma(rng: np.random.Generator, canvas: _Canvas, head: _Head) -> _Lesion:
    """A round, homogeneous, bright extra-axial mass on the inner table, with a dural tail."""
    size, radius = canvas.size, rng.uniform(0.045, 0.09)
    inner = head.outline(_INNER_TABLE)
    anchor = inner[int(rng.integers(len(inner)))]
    inward = np.array([head.cx, head.cy]) - anchor
    inward /= np.linalg.norm(inward)
    centre = tuple(anchor + inward * radius * rng.uniform(0.5, 0.8))
    alpha = canvas.blank()
    alpha.polygon(_ellipse_outline(centre, (radius, radius), _radial_wobble(rng, 0.04)), 1.0)
    tangent = math.degrees(math.atan2(inward[0], -inward[1]))
    alpha.ellipse(
        tuple(anchor), (radius * rng.uniform(1.4, 2.0), radius * 0.13), 1.0, angle=tangent
    )
    alpha.pixels *= _polygon_mask(size, inner)
    mask = _lesion_mask(alpha.pixels)
    value = rng.uniform(0.75, 0.9)
    canvas.pixels += _blur(alpha.pixels, _scaled(0.8, size)) * (value - canvas.pixels)
    return _Lesion(mask, "meningioma")


def _pituitary(rng: np.random.Generator, canvas: _Canvas, head: _Head) -> _Lesion:
    """A small bright mass on the midline in the lower centre (the sella in the public views)."""
    radius = rng.uniform(0.025, 0.05)
    centre = (head.cx + rng.uniform(-0.01, 0.01), head.cy + head.ay * rng.uniform(0.42, 0.55))
    alpha = canvas.blank()
    axes = (radius * rng.uniform(1.0, 1.3), radius)
    alpha.polygon(_ellipse_outline(centre, axes, _radial_wobble(rng, 0.06)), 1.0)
    mask = _lesion_mask(alpha.pixels)
    value = rng.uniform(0.72, 0.88)
    canvas.pixels += _blur(alpha.pixels, _scaled(0.8, canvas.size)) * (value - canvas.pixels)
    return _Lesion(mask, "pituitary")


_TUMOURS: dict[str, Callable[[np.random.Generator, _Canvas, _Head], _Lesion]] = {
    "glioma": _glioma,
    "meningioma": _meningioma,
    "pituitary": _pituitary,
}


def _brain(streams: _Streams, size: int, kind: str) -> SyntheticScan:
    canvas, head = _brain_anatomy(streams.anatomy, size)
    draw = _TUMOURS.get(kind)
    lesions = [] if draw is None else [draw(streams.lesion, canvas, head)]
    canvas.pixels = _blur(canvas.pixels, _scaled(0.6, size))
    image, boxes = _acquire(
        canvas.pixels, lesions, streams.acquisition, background=0.0, max_degrees=8.0, rician=True
    )
    return SyntheticScan(image, kind, boxes, MODALITIES["brain"])


def brain_mri(
    rng: np.random.Generator, *, size: int = 224, kind: str | None = None
) -> SyntheticScan:
    """A synthetic axial T1-weighted, contrast-enhanced brain MRI slice.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness; the same generator state gives the same scan.
    size : int
        Image side in pixels (at least ``MIN_SIZE``).
    kind : {"glioma", "meningioma", "notumor", "pituitary"} or None
        What to draw; ``None`` draws it at random (uniformly).

    Returns
    -------
    SyntheticScan
        Label ``kind``, modality ``"MR"``, one box labelled ``kind`` unless ``"notumor"``.

    Raises
    ------
    ValueError
        For a size below ``MIN_SIZE`` or an unknown kind.
    """
    return _from_rng(rng, "brain", size, kind)


# --------------------------------------------------------------------------- data sets


def _chest_from_label(streams: _Streams, size: int, label: str) -> SyntheticScan:
    """A chest film of class ``label``, lesion kinds drawn from the lesion stream."""
    kinds = _chest_lesion_kinds(streams.lesion, None) if label == "abnormal" else ()
    return _chest(streams, size, kinds)


_DRAW: dict[str, Callable[[_Streams, int, str], SyntheticScan]] = {
    "chest": _chest_from_label,
    "ct": _ct,
    "brain": _brain,
}


def _check_size(size: int) -> None:
    if int(size) != size or size < MIN_SIZE:
        raise ValueError(f"size must be an integer of at least {MIN_SIZE} pixels, got {size!r}")


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _from_rng(rng: np.random.Generator, kind: str, size: int, label: str | None) -> SyntheticScan:
    """Draw a label (always, so the streams do not depend on ``label``), then the scan."""
    _check_size(size)
    labels = LABELS[kind]
    drawn = labels[int(rng.integers(len(labels)))]
    if label is not None:
        _check_choice("kind", label, labels)
    return _DRAW[kind](_Streams(*rng.spawn(3)), size, drawn if label is None else label)


def _balanced_labels(
    rng: np.random.Generator, kind: str, n: int, positive_fraction: float | None
) -> list[str]:
    """``n`` shuffled labels in exact proportions (remainders go to classes drawn at random)."""
    labels = LABELS[kind]
    negative = NEGATIVE_LABEL[kind]
    positives = [label for label in labels if label != negative]
    if positive_fraction is None:
        shares = {label: 1.0 / len(labels) for label in labels}
    else:
        shares = {negative: 1.0 - positive_fraction}
        shares.update({label: positive_fraction / len(positives) for label in positives})
    counts = {label: int(n * share + 1e-9) for label, share in shares.items()}
    remainder = n - sum(counts.values())
    extra = rng.choice(labels, size=remainder, replace=False, p=_normalised(shares, labels))
    for label in extra:
        counts[str(label)] += 1
    result = [label for label in labels for _ in range(counts[label])]
    return [result[i] for i in rng.permutation(n)]


def _normalised(shares: dict[str, float], labels: Sequence[str]) -> np.ndarray:
    weights = np.array([shares[label] for label in labels], dtype=np.float64) + 1e-12
    return weights / weights.sum()


def _patient_indices(n: int, seed: int) -> np.ndarray:
    """Patient number of each of ``n`` images: runs of 1 to 3 consecutive images."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, 1)))
    runs = rng.choice((1, 2, 3), size=n, p=(0.5, 0.3, 0.2))
    return np.repeat(np.arange(n), runs)[:n]


def patient_groups(n: int, seed: int) -> list[str]:
    """Patient group ids (``'patient-00012'``) for ``n`` images; runs of 1 to 3 share one.

    Images of one group share their anatomy in :func:`generate` (and
    :func:`write_dataset`), like repeat films of one patient. A longer data set with the same
    seed starts with the same groups.
    """
    return [f"patient-{index:05d}" for index in _patient_indices(n, seed)]


def _image_streams(seed: int, group: int, index: int) -> _Streams:
    """Streams for image ``index``: the anatomy comes from its group, the rest from the image."""

    def stream(*key: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))

    return _Streams(stream(1, group), stream(2, index), stream(3, index))


def generate(
    kind: str,
    n: int,
    *,
    seed: int,
    size: int = 224,
    positive_fraction: float | None = None,
) -> tuple[np.ndarray, list[str], list[tuple[Box, ...]]]:
    """``n`` synthetic scans of one kind, reproducibly.

    Parameters
    ----------
    kind : {"chest", "ct", "brain"}
        Which generator.
    n : int
        How many images.
    seed : int
        Same seed (and arguments), same arrays.
    size : int
        Image side in pixels.
    positive_fraction : float or None
        Share of images that are not ``NEGATIVE_LABEL[kind]``, split evenly between the
        positive classes (exact up to rounding). ``None``: half abnormal for ``chest``, all
        classes equally often for ``ct`` and ``brain``.

    Returns
    -------
    images : numpy.ndarray
        float32, shape (n, size, size), values in [0, 1].
    labels : list of str
        One label per image, from ``LABELS[kind]``.
    boxes : list of tuple of Box
        The lesion boxes of each image.

    Raises
    ------
    ValueError
        For an unknown kind, a negative ``n``, a bad size or a fraction outside [0, 1].
    """
    _check_choice("kind", kind, KINDS)
    _check_size(size)
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if positive_fraction is not None and not 0.0 <= positive_fraction <= 1.0:
        raise ValueError(f"positive_fraction must lie in [0, 1], got {positive_fraction}")
    label_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, 0)))
    labels = _balanced_labels(label_rng, kind, n, positive_fraction)
    patients = _patient_indices(n, seed)
    images = np.empty((n, size, size), np.float32)
    boxes = []
    for i, label in enumerate(labels):
        streams = _image_streams(seed, int(patients[i]), i)
        scan = _DRAW[kind](streams, size, label)
        images[i] = scan.image
        boxes.append(scan.boxes)
    return images, labels, boxes


def to_png_bytes(image: np.ndarray) -> bytes:
    """An image in [0, 1] (H×W) as an 8-bit greyscale PNG.

    Raises
    ------
    ValueError
        If the image is not two-dimensional.
    """
    pixels = np.asarray(image, dtype=np.float32)
    if pixels.ndim != 2:
        raise ValueError(f"expected an H×W image, got shape {pixels.shape}")
    grey = np.round(np.clip(pixels, 0.0, 1.0) * 255.0).astype(np.uint8)
    ok, encoded = cv2.imencode(".png", grey)
    if not ok:  # pragma: no cover - OpenCV fails only on impossible images
        raise ValueError("PNG encoding failed")
    return encoded.tobytes()


def write_dataset(
    folder: str | Path,
    kind: str,
    n: int,
    seed: int,
    size: int = 224,
    positive_fraction: float | None = None,
) -> Path:
    """Write a class-per-folder PNG data set with a ``labels.csv``; return the CSV's path.

    Images go to ``folder/<label>/<kind>-<index>.png``. ``labels.csv`` has the columns
    ``path`` (relative to ``folder``, with forward slashes), ``label``, ``group`` (a patient
    id; images of one patient share anatomy) and ``boxes`` (``label:x:y:w:h`` joined by
    ``;``, empty for none). The arguments mean what they mean in :func:`generate`.
    """
    root = Path(folder)
    images, labels, boxes = generate(
        kind, n, seed=seed, size=size, positive_fraction=positive_fraction
    )
    groups = patient_groups(n, seed)
    rows = []
    for index, (image, label) in enumerate(zip(images, labels, strict=True)):
        relative = f"{label}/{kind}-{index:05d}.png"
        (root / label).mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(to_png_bytes(image))
        rows.append((relative, label, groups[index], format_boxes(boxes[index])))
    csv_path = root / "labels.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("path", "label", "group", "boxes"))
        writer.writerows(rows)
    return csv_path
