"""Class-activation maps laid back onto the original scan.

A model's ``cam`` output covers its input (the letterboxed or cropped resize of the scan).
To show it on the scan as uploaded: normalise the map to [0, 1], upsample it to the model
input with ``cv2.resize``, cut out ``content_box`` (the scan inside the padding), resize
that to ``source_box`` (the part of the scan the model saw), colour it and alpha-blend it
over the scan. Outside ``source_box`` (cropped away) the scan is left as it was.
"""

from __future__ import annotations

import cv2
import numpy as np

from zoo.preprocess import Preprocessed
from zoo.runtime import Prediction

#: Longest side of the images sent to the browser and the PDF (overlays are computed there).
DISPLAY_MAX_SIDE = 1024


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

    Returns the map resized to the ``source_box`` and the box itself (top, left, bottom,
    right) in source pixels.
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
