"""Occlusion sensitivity: a heatmap for any classifier, run through ONNX Runtime alone.

Models without a class-activation output (imported ones, usually) get their map by
covering the input with a grey square, one place at a time, and measuring how much the
label's probability drops (Zeiler & Fergus, 2014). Each pixel's value is the mean drop of
the squares that cover it; rises count as zero. The squares run in batches under a time
bound: a map cut short says so (``complete``), and the squares are visited in an order
that spreads them over the whole image first, so a partial map is coarse, not one-sided.

It costs one model run per square (squares a seventh of the image wide, overlapping by
half: 169 runs at 224 px), so it is computed on request, never for every scan.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from zoo.card import ModelCard
from zoo.runtime.predict import probability_matrix
from zoo.runtime.session import ModelSession

METHOD = "occlusion sensitivity (model-agnostic)"


@dataclass(frozen=True)
class OcclusionMap:
    """The map of one label at the model's input resolution, in [0, 1]."""

    heat: np.ndarray  # (H, W)
    label: str
    runs: int
    planned: int
    seconds: float
    patch: int

    @property
    def complete(self) -> bool:
        return self.runs == self.planned


def occlusion_map(
    session: ModelSession,
    card: ModelCard,
    model_input: np.ndarray,
    label: str,
    *,
    grid: int = 7,
    batch: int = 16,
    time_budget_s: float = 10.0,
) -> OcclusionMap:
    """The occlusion map of ``label`` for one preprocessed input (1, H, W, C) or (1, C, H, W)."""
    if model_input.ndim != 4 or model_input.shape[0] != 1:
        raise ValueError(f"one preprocessed image expected, got shape {model_input.shape}")
    started = time.perf_counter()
    layout = card.preprocessing.layout
    image = model_input[0] if layout == "NHWC" else np.moveaxis(model_input[0], 0, -1)
    height, width = image.shape[:2]
    patch, corners = squares((height, width), grid)
    fill = image.reshape(-1, image.shape[2]).mean(axis=0)
    column = card.labels.index(label)
    base = _scores(session, card, model_input, column)[0]
    drops = np.zeros((height, width), np.float64)
    counts = np.zeros((height, width), np.float64)
    runs = 0
    for start in range(0, len(corners), batch):
        if runs and time.perf_counter() - started > time_budget_s:
            break
        chunk = corners[start : start + batch]
        covered = np.repeat(image[None], len(chunk), axis=0)
        for i, (top, left) in enumerate(chunk):
            covered[i, top : top + patch, left : left + patch] = fill
        batch_input = covered if layout == "NHWC" else np.moveaxis(covered, -1, 1)
        scores = _scores(session, card, np.ascontiguousarray(batch_input), column)
        for (top, left), score in zip(chunk, scores, strict=True):
            drops[top : top + patch, left : left + patch] += max(0.0, base - score)
            counts[top : top + patch, left : left + patch] += 1
        runs += len(chunk)
    heat = np.divide(drops, counts, out=np.zeros_like(drops), where=counts > 0)
    peak = heat.max()
    heat = heat / peak if peak > 0 else heat
    return OcclusionMap(
        heat=heat.astype(np.float32),
        label=label,
        runs=runs,
        planned=len(corners),
        seconds=time.perf_counter() - started,
        patch=patch,
    )


def squares(size: tuple[int, int], grid: int = 7) -> tuple[int, list[tuple[int, int]]]:
    """The square's side and the top-left corners it visits (half-overlapping), in the
    order they run, for an input of ``size`` (height, width)."""
    height, width = size
    patch = max(2, round(max(height, width) / grid))
    stride = max(1, patch // 2)
    corners = [
        (top, left)
        for top in _starts(height, patch, stride)
        for left in _starts(width, patch, stride)
    ]
    return patch, _spread(corners)


def _starts(size: int, patch: int, stride: int) -> list[int]:
    starts = list(range(0, max(1, size - patch + 1), stride))
    if starts[-1] + patch < size:
        starts.append(size - patch)
    return starts


def _spread(corners: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Every other square first, then the rest: a cut-short map still covers the image."""
    return corners[::2] + corners[1::2]


def _scores(session: ModelSession, card: ModelCard, batch: np.ndarray, column: int) -> np.ndarray:
    raw = session.run(batch.astype(np.float32))[card.outputs.probabilities]
    return probability_matrix(card, raw)[:, column]
