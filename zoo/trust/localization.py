"""Do a model's activation maps point at the lesion? Maps against radiologist boxes.

A model's ``cam`` covers its input, a letterboxed (``aspect="pad"``) or cropped resize of
the scan. :func:`cam_on_source` lays it back onto the scan's pixel grid, the one code path
shared by the dashboard's overlay (:mod:`ui.heatmap`) and offline localization reports;
:func:`full_map_on_source` gives the whole scan's grid, zeros where a crop cut the scan.

Boxes (:class:`Box`, :func:`parse_boxes`) are in source pixels, as in the NIH chest X-ray
``labels.csv`` (``label:x:y:w:h``, ``x, y`` the top-left corner). On a grid, pixel
``(row, col)`` covers ``[col, col + 1) x [row, row + 1)``, so its centre is
``(col + 0.5, row + 0.5)``; a pixel belongs to a box when its centre lies in
``[x, x + w) x [y, y + h)``.

Two scores per image, both on the source grid:

- **Pointing game** (Zhang et al., *Top-down neural attention by excitation backprop*,
  ECCV 2016): a hit when the map's maximum lies in a box, optionally within a tolerance
  (the paper uses 15 px). :func:`pointing_hit`.
- **Energy inside**: the share of the map's mass inside the union of the boxes
  (as in Score-CAM's energy-based pointing game). :func:`energy_inside`.

Neither means much alone: lesions cluster in the middle of a chest film, so
:func:`localization_report` scores a fixed Gaussian at the image centre
(:func:`centre_prior`) on the same images; a model is only localizing if it beats that.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from zoo.metrics import bootstrap_ci, wilson_interval
from zoo.preprocess import Preprocessed

__all__ = [
    "Box",
    "boxes_for",
    "cam_on_source",
    "centre_prior",
    "energy_inside",
    "full_map_on_source",
    "localization_report",
    "normalise",
    "parse_boxes",
    "pointing_hit",
]

#: Digits kept in :func:`localization_report` (shares and rates; more is noise).
_DIGITS = 4
#: Pixels within this relative distance of the maximum count as tied for it: maps go
#: through two float32 bilinear resizes, which split a plateau in the last bits.
_TIE_RTOL = 1e-6


# -- boxes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in source pixels: columns ``x .. x + w``, rows ``y .. y + h``.

    Attributes
    ----------
    label : str
        The finding, e.g. ``"Mass"``.
    x, y : float
        Top-left corner (column, row).
    w, h : float
        Width and height, both > 0.
    """

    label: str
    x: float
    y: float
    w: float
    h: float

    def __post_init__(self) -> None:
        values = (self.x, self.y, self.w, self.h)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"box coordinates must be finite, got {values!r}")
        if self.w <= 0 or self.h <= 0:
            raise ValueError(f"box width and height must be > 0, got w={self.w}, h={self.h}")
        if not self.label.strip():
            raise ValueError("box label must not be empty")


def parse_boxes(text: str | float | None) -> list[Box]:
    """Boxes from a ``labels.csv`` cell: ``'label:x:y:w:h;label:x:y:w:h'``.

    Parameters
    ----------
    text : str, float or None
        The cell. Empty, blank, None or NaN (how pandas reads an empty cell) give no
        boxes. Empty entries between ``;`` are skipped.

    Returns
    -------
    list of Box
        In the order written.

    Raises
    ------
    ValueError
        If an entry is not ``label:x:y:w:h`` with finite numbers and ``w, h > 0``
        (the message quotes the entry), or ``text`` is a number other than NaN.
    """
    if text is None:
        return []
    if isinstance(text, float):
        if math.isnan(text):
            return []
        raise ValueError(f"boxes must be text like 'label:x:y:w:h', got {text!r}")
    boxes = []
    for entry in filter(None, (part.strip() for part in str(text).split(";"))):
        fields = entry.split(":")
        if len(fields) != 5:
            raise ValueError(f"a box must be 'label:x:y:w:h', got {entry!r}")
        label, *numbers = (field.strip() for field in fields)
        try:
            x, y, w, h = (float(number) for number in numbers)
            boxes.append(Box(label, x, y, w, h))
        except ValueError as exc:
            raise ValueError(f"bad box {entry!r}: {exc}") from None
    return boxes


def boxes_for(boxes: Iterable[Box], labels: Iterable[str]) -> list[Box]:
    """The boxes whose label is one of ``labels``, compared case-insensitively.

    A single string counts as one label (not as its characters). Labels must match
    exactly otherwise: NIH's boxes say ``"Infiltrate"`` where some label lists say
    ``"Infiltration"``.
    """
    if isinstance(labels, str):
        labels = [labels]
    wanted = {label.strip().casefold() for label in labels}
    return [box for box in boxes if box.label.strip().casefold() in wanted]


def _union_mask(boxes: Iterable[Box], shape: tuple[int, int]) -> np.ndarray:
    """Pixels whose centre lies in at least one box (half-open, see the module doc)."""
    height, width = shape
    mask = np.zeros((height, width), dtype=bool)
    for box in boxes:
        # col + 0.5 >= x  <=>  col >= ceil(x - 0.5); col + 0.5 < x + w  <=>  col < ceil(x + w - 0.5)
        top = min(height, max(0, math.ceil(box.y - 0.5)))
        bottom = min(height, max(0, math.ceil(box.y + box.h - 0.5)))
        left = min(width, max(0, math.ceil(box.x - 0.5)))
        right = min(width, max(0, math.ceil(box.x + box.w - 0.5)))
        mask[top:bottom, left:right] = True
    return mask


# -- maps on the source grid -----------------------------------------------------------


def normalise(cam: np.ndarray) -> np.ndarray:
    """Min–max to [0, 1]; a flat or non-finite map becomes zeros."""
    cam = np.nan_to_num(np.asarray(cam, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(cam.min()), float(cam.max())
    if high - low <= 1e-12:
        return np.zeros_like(cam)
    return (cam - low) / (high - low)


def cam_on_source(
    cam: np.ndarray,
    prepared: Preprocessed,
    input_size: tuple[int, int],
    source_shape: tuple[int, int],
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Map a normalised cam onto the source scan's pixel grid.

    The cam is min–max normalised (:func:`normalise`), upsampled to the model input,
    cut to ``prepared.content_box`` (dropping the letterbox padding) and resized to
    ``prepared.source_box`` (the part of the scan the model saw), all bilinear.

    Parameters
    ----------
    cam : ndarray, shape (h, w)
        One label's activation map over the model input.
    prepared : Preprocessed
        What :func:`zoo.preprocess.preprocess` returned for this scan.
    input_size : tuple of int
        The model input's (height, width).
    source_shape : tuple of int
        The source scan's (height, width).

    Returns
    -------
    heat : ndarray of float32, shape (bottom - top, right - left)
        The map in [0, 1] over the source box.
    box : tuple of int
        ``(top, left, bottom, right)`` of that box in source pixels, clipped to the scan.
    """
    in_h, in_w = input_size
    full = cv2.resize(normalise(cam), (in_w, in_h), interpolation=cv2.INTER_LINEAR)
    top, left, bottom, right = prepared.content_box
    content = full[top:bottom, left:right]
    s_top, s_left, s_bottom, s_right = prepared.source_box
    s_top, s_left = max(0, s_top), max(0, s_left)
    s_bottom, s_right = min(source_shape[0], s_bottom), min(source_shape[1], s_right)
    out_h, out_w = max(1, s_bottom - s_top), max(1, s_right - s_left)
    if content.size == 0:
        content = np.zeros((1, 1), dtype=np.float32)
    mapped = cv2.resize(content, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
    return np.clip(mapped, 0.0, 1.0), (s_top, s_left, s_bottom, s_right)


def full_map_on_source(
    cam: np.ndarray,
    prepared: Preprocessed,
    input_size: tuple[int, int],
    source_shape: tuple[int, int],
) -> np.ndarray:
    """The normalised [0, 1] map on the whole source grid, as boxes are drawn.

    Same parameters as :func:`cam_on_source`. Outside ``prepared.source_box`` (what an
    ``aspect="crop"`` recipe cut away) the map is 0: the model never saw it.

    Returns
    -------
    ndarray of float32, shape ``source_shape``
    """
    height, width = int(source_shape[0]), int(source_shape[1])
    heat, (top, left, bottom, right) = cam_on_source(cam, prepared, input_size, (height, width))
    out = np.zeros((height, width), dtype=np.float32)
    region = out[top:bottom, left:right]
    region[...] = heat[: region.shape[0], : region.shape[1]]
    return out


def centre_prior(shape: tuple[int, int]) -> np.ndarray:
    """An isotropic Gaussian at the image centre: the baseline "map" of every claim.

    ``exp(-d^2 / (2 sigma^2))`` with ``d`` the distance of a pixel's centre from the
    image's centre and ``sigma`` a quarter of the shorter side, so the map reaches
    ``exp(-2) ~ 0.14`` at the middle of the shorter side's edges. Peak 1 (at the centre;
    tied over the 2 or 4 middle pixels when a side is even), like a normalised cam.

    Parameters
    ----------
    shape : tuple of int
        (height, width) of the source grid.

    Returns
    -------
    ndarray of float32, shape ``shape``
    """
    height, width = int(shape[0]), int(shape[1])
    if height < 1 or width < 1:
        raise ValueError(f"shape must be positive, got {shape!r}")
    sigma = min(height, width) / 4.0
    rows = (np.arange(height) - (height - 1) / 2.0) ** 2
    cols = (np.arange(width) - (width - 1) / 2.0) ** 2
    return np.exp(-(rows[:, None] + cols[None, :]) / (2.0 * sigma * sigma)).astype(np.float32)


# -- scores ---------------------------------------------------------------------------


def _check_heat(heat: np.ndarray) -> np.ndarray:
    heat = np.asarray(heat, dtype=np.float64)
    if heat.ndim != 2 or heat.size == 0:
        raise ValueError(f"a heat map must be a non-empty (H, W) array, got shape {heat.shape}")
    if not np.isfinite(heat).all():
        raise ValueError("a heat map must be finite")
    return heat


def _peak(heat: np.ndarray) -> tuple[float, float]:
    """(x, y) of the maximum in source pixels: the centroid of the pixels tied for it."""
    peak = heat.max()
    rows, cols = np.nonzero(heat >= peak - _TIE_RTOL * max(1.0, abs(peak)))
    return float(cols.mean()) + 0.5, float(rows.mean()) + 0.5


def pointing_hit(heat: np.ndarray, boxes: Iterable[Box], *, tolerance_px: float = 0) -> bool:
    """The pointing game: does the map's maximum fall in (or near) a box?

    Parameters
    ----------
    heat : ndarray, shape (H, W)
        The map on the source grid (e.g. :func:`full_map_on_source`).
    boxes : iterable of Box
        The image's boxes, in source pixels.
    tolerance_px : float, default 0
        A hit also when the maximum lies within this distance of a box (Zhang et al.
        2016 use 15 px).

    Returns
    -------
    bool
        False when there are no boxes.

    Notes
    -----
    The maximum is a point: the centre of the maximal pixel or, when several pixels tie
    (within a relative 1e-6), the centroid of their centres. The centroid rather than
    "any tied pixel" so that a flat or plateaued map cannot score by covering
    everything: a flat map points at the image centre, as :func:`centre_prior` does. A
    point on a box's edge counts as inside.
    """
    heat = _check_heat(heat)
    if tolerance_px < 0:
        raise ValueError(f"tolerance_px must be >= 0, got {tolerance_px!r}")
    px, py = _peak(heat)
    for box in boxes:
        dx = max(box.x - px, 0.0, px - (box.x + box.w))
        dy = max(box.y - py, 0.0, py - (box.y + box.h))
        if math.hypot(dx, dy) <= tolerance_px:
            return True
    return False


def energy_inside(heat: np.ndarray, boxes: Iterable[Box]) -> float:
    """Share of the map's mass inside the union of the boxes, in [0, 1].

    Negative values count as no mass (a raw cam may go below 0; a normalised one does
    not). Overlapping boxes count their common pixels once. 0 for an all-zero map or no
    boxes; a uniform map scores the boxes' share of the image's area.
    """
    heat = np.clip(_check_heat(heat), 0.0, None)
    total = float(heat.sum())
    if total <= 0.0:
        return 0.0
    mask = _union_mask(boxes, heat.shape)
    return float(heat[mask].sum() / total)


# -- report ---------------------------------------------------------------------------


def _round(value: float) -> float | None:
    value = float(value)
    return None if not math.isfinite(value) else round(value, _DIGITS)


def _scores(hits: np.ndarray, energy: np.ndarray, lower: float, upper: float) -> dict[str, Any]:
    n = len(hits)
    hit_low, hit_high = wilson_interval(int(hits.sum()), n)
    return {
        "pointing_hits": int(hits.sum()),
        "pointing_hit_rate": _round(hits.mean()) if n else None,
        "pointing_hit_rate_ci": [_round(hit_low), _round(hit_high)],
        "energy_inside": _round(energy.mean()) if n else None,
        "energy_inside_ci": [_round(lower), _round(upper)],
    }


def localization_report(
    heats: Sequence[np.ndarray],
    boxes: Sequence[list[Box]],
    *,
    tolerance_px: float = 0,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Pointing game and energy inside of the maps, against the centre prior.

    Parameters
    ----------
    heats : sequence of ndarray, each (H, W)
        One map per image on its source grid (e.g. :func:`full_map_on_source`).
    boxes : sequence of list of Box
        The boxes of each image, same order (already filtered to the label the maps
        are for, see :func:`boxes_for`). Images without boxes are left out.
    tolerance_px : float, default 0
        Passed to :func:`pointing_hit`.
    n_boot : int, default 2000
        Bootstrap replicates of the energy CIs.
    seed : int, default 0
        Seed of the bootstrap; model and prior are resampled together (paired).

    Returns
    -------
    dict
        JSON-ready, floats rounded to 4 digits, undefined values None::

            {"n": images scored, "n_without_boxes": images left out,
             "tolerance_px": ..., "box_area_share": mean share of the image inside
             the boxes (what a uniform map scores as energy),
             "model": {...}, "centre_prior": {...}}

        ``model`` and ``centre_prior`` each hold ``pointing_hits``,
        ``pointing_hit_rate`` and its Wilson 95% CI ``pointing_hit_rate_ci``
        ``[low, high]``, and the mean ``energy_inside`` with its percentile bootstrap
        95% CI ``energy_inside_ci``.
    """
    if len(heats) != len(boxes):
        raise ValueError(f"got {len(heats)} heat maps but {len(boxes)} lists of boxes")
    hits, energy, area = [], [], []
    for heat, image_boxes in zip(heats, boxes, strict=True):
        image_boxes = list(image_boxes)
        if not image_boxes:
            continue
        heat = _check_heat(heat)
        prior = centre_prior(heat.shape)
        hits.append(
            [
                pointing_hit(heat, image_boxes, tolerance_px=tolerance_px),
                pointing_hit(prior, image_boxes, tolerance_px=tolerance_px),
            ]
        )
        energy.append([energy_inside(heat, image_boxes), energy_inside(prior, image_boxes)])
        area.append(float(_union_mask(image_boxes, heat.shape).mean()))
    n = len(hits)
    hit_arr = np.asarray(hits, dtype=bool).reshape(n, 2)
    energy_arr = np.asarray(energy, dtype=np.float64).reshape(n, 2)
    if n:
        _, lower, upper = bootstrap_ci(
            lambda _, s: s.mean(axis=0),
            np.zeros(n),
            energy_arr,
            n_boot=n_boot,
            seed=seed,
            stratified=False,
        )
    else:
        lower = upper = np.full(2, math.nan)
    return {
        "n": n,
        "n_without_boxes": len(heats) - n,
        "tolerance_px": _round(tolerance_px),
        "box_area_share": _round(np.mean(area)) if n else None,
        "model": _scores(hit_arr[:, 0], energy_arr[:, 0], lower[0], upper[0]),
        "centre_prior": _scores(hit_arr[:, 1], energy_arr[:, 1], lower[1], upper[1]),
    }
