"""Class-activation maps laid back onto the original scan, as uint8 RGB images.

A model's ``cam`` output covers its input (the letterboxed or cropped resize of the scan).
To show it on the scan as uploaded: normalise the map to [0, 1], upsample it to the model
input with ``cv2.resize``, cut out ``content_box`` (the scan inside the padding), resize
that to ``source_box`` (the part of the scan the model saw), colour it and alpha-blend it
over the scan. Outside ``source_box`` (cropped away) the scan is left as it was. The same
image goes to the screen, the PDF and the DICOM Secondary Capture.
"""

from __future__ import annotations

import cv2
import numpy as np

from zoo.preprocess import Preprocessed
from zoo.runtime import Prediction
from zoo.trust.localization import cam_on_source

#: Longest side of the images sent to the browser and the PDF (overlays are computed there).
DISPLAY_MAX_SIDE = 1024
#: Heatmap opacity by default: at 0.45 the map washed out the anatomy under it.
DEFAULT_OPACITY = 0.3


def to_rgb_uint8(pixels: np.ndarray) -> np.ndarray:
    """Display intensities in [0, 1] (grey or RGB) → uint8 RGB."""
    image = (np.clip(np.asarray(pixels, dtype=np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[..., np.newaxis], 3, axis=2)
    return image


def display_image(pixels: np.ndarray, max_side: int = DISPLAY_MAX_SIDE) -> tuple[np.ndarray, float]:
    """The scan as uint8 RGB no larger than ``max_side``, and the scale applied."""
    image = to_rgb_uint8(pixels)
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return image, scale


def cam_channel(prediction: Prediction, label: str) -> np.ndarray | None:
    """The (h, w) map of ``label``: one map per label, or one map (the positive label)."""
    cam = prediction.cam
    if cam is None:
        return None
    cam = np.asarray(cam, dtype=np.float32)
    if cam.ndim == 2:
        return cam
    if cam.ndim != 3:
        return None
    if cam.shape[2] == len(prediction.labels):
        return cam[..., prediction.labels.index(label)]
    if cam.shape[2] == 1:
        return cam[..., 0]
    return None


def colorize(heat: np.ndarray, colormap: int = cv2.COLORMAP_JET) -> np.ndarray:
    """A [0, 1] map → uint8 RGB through an OpenCV colormap."""
    grey = (np.clip(heat, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(grey, colormap), cv2.COLOR_BGR2RGB)


def overlay(
    pixels: np.ndarray,
    cam: np.ndarray,
    prepared: Preprocessed,
    input_size: tuple[int, int],
    *,
    alpha: float = 0.4,
    max_side: int = DISPLAY_MAX_SIDE,
    colormap: int = cv2.COLORMAP_JET,
) -> np.ndarray:
    """The scan (uint8 RGB, at most ``max_side``) with the cam blended in at ``alpha``."""
    alpha = float(np.clip(alpha, 0.0, 1.0))
    source_shape = (int(pixels.shape[0]), int(pixels.shape[1]))
    image, scale = display_image(pixels, max_side)
    heat, (top, left, bottom, right) = cam_on_source(cam, prepared, input_size, source_shape)
    # the box in display pixels
    d_h, d_w = image.shape[:2]
    box = (
        min(d_h - 1, round(top * scale)),
        min(d_w - 1, round(left * scale)),
        max(1, min(d_h, round(bottom * scale))),
        max(1, min(d_w, round(right * scale))),
    )
    b_h, b_w = max(1, box[2] - box[0]), max(1, box[3] - box[1])
    heat = cv2.resize(heat, (b_w, b_h), interpolation=cv2.INTER_LINEAR)
    colored = colorize(heat, colormap).astype(np.float32)
    region = image[box[0] : box[0] + b_h, box[1] : box[1] + b_w].astype(np.float32)
    colored = colored[: region.shape[0], : region.shape[1]]
    blended = (1.0 - alpha) * region + alpha * colored
    out = image.copy()
    out[box[0] : box[0] + region.shape[0], box[1] : box[1] + region.shape[1]] = (
        blended + 0.5
    ).astype(np.uint8)
    return out
