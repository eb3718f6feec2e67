"""Class-activation maps laid back onto the original scan.

A model's ``cam`` output covers its input (the letterboxed or cropped resize of the scan).
To show it on the scan as uploaded: normalise the map to [0, 1], upsample it to the model
input with ``cv2.resize``, cut out ``content_box`` (the scan inside the padding), resize
that to ``source_box`` (the part of the scan the model saw), colour it and alpha-blend it
over the scan. Outside ``source_box`` (cropped away) the scan is left as it was.

The cam-to-scan mapping (:func:`cam_on_source`, :func:`normalise`) lives in
:mod:`zoo.trust.localization`, which scores the same maps against radiologist boxes
offline, and the overlay in :mod:`zoo.results.overlay` (the DICOM Secondary Capture draws
the same image); both are re-exported here. :func:`draw_boxes` draws those boxes on the
display image.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import cv2
import numpy as np

from zoo.results.overlay import DEFAULT_OPACITY as DEFAULT_OPACITY  # re-exported
from zoo.results.overlay import DISPLAY_MAX_SIDE as DISPLAY_MAX_SIDE  # re-exported
from zoo.results.overlay import cam_channel as cam_channel  # re-exported
from zoo.results.overlay import colorize as colorize  # re-exported
from zoo.results.overlay import display_image as display_image  # re-exported
from zoo.results.overlay import overlay as overlay  # re-exported
from zoo.results.overlay import to_rgb_uint8 as to_rgb_uint8  # re-exported
from zoo.trust.localization import Box
from zoo.trust.localization import cam_on_source as cam_on_source  # re-exported
from zoo.trust.localization import normalise as normalise  # re-exported

#: Width of the dark rim drawn under each box's label (keeps it legible over bright bone).
_LABEL_RIM = 3
#: Pixels between a box's edge and its label.
_LABEL_GAP = 3


class LabelSprite(NamedTuple):
    """A box's label rendered once, cropped to the pixels it paints.

    ``rim`` and ``text`` are coverages in [0, 1] of the dark rim and of the coloured
    text, shape (height, width). Measuring what was painted, rather than trusting
    ``cv2.getTextSize``, keeps the layout right on OpenCV 4 and 5 alike, whose fonts
    paint differently around the same metrics.
    """

    rim: np.ndarray
    text: np.ndarray

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.rim.shape[1], self.rim.shape[0]


def label_sprite(label: str, image_size: tuple[int, int]) -> LabelSprite:
    """Render ``label`` for an image of ``image_size`` (height, width).

    Text about 1.5 % of the image's shorter side tall, narrowed until it fits the width.
    """
    height, width = image_size
    font, font_scale = cv2.FONT_HERSHEY_SIMPLEX, max(0.35, min(height, width) / 1400)
    while True:
        sprite = _render_label(label, font, font_scale)
        if sprite.size[0] <= width or font_scale < 0.2:
            return sprite
        font_scale *= 0.8


def _render_label(label: str, font: int, font_scale: float) -> LabelSprite:
    (text_w, text_h), baseline = cv2.getTextSize(label, font, font_scale, _LABEL_RIM)
    pad = 2 * _LABEL_RIM + 4  # room for whatever the font paints outside its metrics
    shape = (text_h + baseline + 2 * pad, text_w + 2 * pad)
    origin = (pad, pad + text_h)
    rim, text = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
    cv2.putText(rim, label, origin, font, font_scale, 255, _LABEL_RIM, cv2.LINE_AA)
    cv2.putText(text, label, origin, font, font_scale, 255, 1, cv2.LINE_AA)
    rim = np.maximum(rim, text)  # the rim lies under every text pixel
    rows, cols = np.nonzero(rim)
    if rows.size == 0:
        return LabelSprite(np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32))
    crop = np.s_[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    return LabelSprite(rim[crop] / np.float32(255), text[crop] / np.float32(255))


def label_rect(
    box_rect: tuple[int, int, int, int],
    label_size: tuple[int, int],
    image_size: tuple[int, int],
) -> tuple[int, int, int, int]:
    """Where a box's label goes: the rectangle ``(x0, y0, x1, y1)`` it paints, exclusive ends.

    The label sits just above the box; below it when there is no room above; beside it
    (right, then left) when the box spans the image's height; inside the box's top-left
    corner only when there is no room outside it. It never leaves the image (callers
    make it no wider than the image, see :func:`label_sprite`).

    Parameters
    ----------
    box_rect : (left, top, right, bottom)
        The box in display pixels, ``right`` and ``bottom`` exclusive.
    label_size : (width, height)
        :attr:`LabelSprite.size`.
    image_size : (height, width)
    """
    left, top, right, bottom = box_rect
    height, width = image_size
    label_w, label_h = label_size
    candidates = (
        (left, top - _LABEL_GAP - label_h),  # above
        (left, bottom + _LABEL_GAP),  # below
        (right + _LABEL_GAP, top),  # right of the box
        (left - _LABEL_GAP - label_w, top),  # left of the box
    )
    for x0, y0 in candidates:
        x0 = max(0, min(x0, width - label_w))  # slide along the edge to stay on screen
        on_screen = y0 >= 0 and y0 + label_h <= height
        off_box = x0 >= right or x0 + label_w <= left or y0 >= bottom or y0 + label_h <= top
        if on_screen and off_box:
            break
    else:  # no room outside the box: its top-left corner, the only place left
        x0 = max(0, min(left + _LABEL_GAP, width - label_w))
        y0 = max(0, min(top + _LABEL_GAP, height - label_h))
    return x0, y0, x0 + label_w, y0 + label_h


def draw_boxes(
    image_rgb_uint8: np.ndarray,
    boxes: Iterable[Box],
    scale: float,
    *,
    color: tuple[int, int, int] = (0, 255, 0),
    thickness: int = 2,
) -> np.ndarray:
    """Radiologist boxes outlined on the display image, each with its label.

    Parameters
    ----------
    image_rgb_uint8 : ndarray of uint8, shape (H, W, 3)
        The display image: the source scan scaled by ``scale`` (see :func:`display_image`,
        :func:`overlay`).
    boxes : iterable of Box
        In source pixels.
    scale : float
        Display pixels per source pixel (> 0).
    color : tuple of int, default green
        RGB of the outline and the label.
    thickness : int, default 2
        Outline width in display pixels, drawn inward from the box's edge so that the
        outline never covers what lies just outside the box.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
        A copy; the input is left as it was. Each label (with a dark rim) lies inside
        the image and outside its box, placed by :func:`label_rect`.
    """
    image = np.asarray(image_rgb_uint8)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"draw_boxes needs a uint8 (H, W, 3) image, got {image.dtype} {image.shape}"
        )
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")
    out = np.ascontiguousarray(image.copy())  # cv2 draws in place on contiguous arrays
    height, width = out.shape[:2]
    thickness = max(1, int(thickness))
    color = tuple(int(c) for c in color)
    for box in boxes:
        left, top = round(box.x * scale), round(box.y * scale)
        right = max(left + 1, round((box.x + box.w) * scale))
        bottom = max(top + 1, round((box.y + box.h) * scale))
        # a filled band per side, inside [left, right) x [top, bottom): the outline
        # stays on the box's own pixels whatever the thickness (cv2.rectangle centres it)
        band = min(thickness, right - left, bottom - top)
        for r0, r1, c0, c1 in (
            (top, top + band, left, right),
            (bottom - band, bottom, left, right),
            (top, bottom, left, left + band),
            (top, bottom, right - band, right),
        ):
            out[max(0, r0) : max(0, min(height, r1)), max(0, c0) : max(0, min(width, c1))] = color
        label = box.label.strip()
        sprite = label_sprite(label, (height, width)) if label else None
        if sprite is None or sprite.rim.size == 0:
            continue
        x0, y0, x1, y1 = label_rect((left, top, right, bottom), sprite.size, (height, width))
        region = out[y0:y1, x0:x1].astype(np.float32)
        rim, text = sprite.rim[..., None], sprite.text[..., None]
        region = region * (1.0 - rim)  # the dark rim first, then the text over it
        region = region * (1.0 - text) + np.asarray(color, np.float32) * text
        out[y0:y1, x0:x1] = (region + 0.5).astype(np.uint8)
    return out
