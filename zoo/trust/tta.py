"""Test-time augmentation: the spread of a model's answer over small, label-preserving
changes of its input, shown as an interval beside the probability.

The views are applied to the model input (after preprocessing), so they cost one batched
run and no re-decoding. Each view is one the model saw during training (shifts and
contrast changes within every recipe's augmentation range; a horizontal flip only for
models trained with flips), so a stable model should barely move. A wide interval says
the answer hangs on details that should not matter; it is not a probability of error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from zoo.errors import CardError

#: Fraction of the input size moved by the shift views (every shipped recipe trains
#: with shifts of at least 5%).
SHIFT = 0.04
#: Contrast factors around the image mean (recipes train with ±20% or more).
CONTRASTS = (0.9, 1.1)


@dataclass(frozen=True)
class View:
    """One augmentation: ``kind`` is "identity", "hflip", "shift" or "contrast"."""

    kind: str
    dx: float = 0.0
    dy: float = 0.0
    factor: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "shift":
            return {"kind": "shift", "dx": self.dx, "dy": self.dy}
        if self.kind == "contrast":
            return {"kind": "contrast", "factor": self.factor}
        return {"kind": self.kind}

    @property
    def name(self) -> str:
        if self.kind == "shift":
            return f"shift ({self.dx:+.0%}, {self.dy:+.0%})"
        if self.kind == "contrast":
            return f"contrast ×{self.factor:g}"
        return self.kind


def default_views(*, flip: bool = False) -> tuple[View, ...]:
    """Eight views: identity, four shifts, two contrasts, and a flip or a diagonal shift.

    ``flip`` only for models trained with horizontal flips: chest anatomy is not
    left-right symmetric, so a flip would be a view such a model never saw.
    """
    extra = View("hflip") if flip else View("shift", dx=SHIFT, dy=SHIFT)
    return (
        View("identity"),
        View("shift", dx=SHIFT),
        View("shift", dx=-SHIFT),
        View("shift", dy=SHIFT),
        View("shift", dy=-SHIFT),
        View("contrast", factor=CONTRASTS[0]),
        View("contrast", factor=CONTRASTS[1]),
        extra,
    )


def views_from_section(section: Mapping[str, Any] | None) -> tuple[View, ...]:
    """The card's ``uncertainty.views``, or the default eight (no flip) when absent.

    Raises :class:`CardError` naming the bad view.
    """
    if not section:
        return default_views()
    raw = section.get("views")
    if not isinstance(raw, list) or not raw:
        raise CardError("uncertainty.views must be a non-empty list of views")
    views = []
    for i, item in enumerate(raw):
        where = f"uncertainty.views[{i}]"
        if not isinstance(item, Mapping) or item.get("kind") not in (
            "identity",
            "hflip",
            "shift",
            "contrast",
        ):
            raise CardError(f"{where} must have kind identity, hflip, shift or contrast")
        try:
            view = View(
                kind=item["kind"],
                dx=float(item.get("dx", 0.0)),
                dy=float(item.get("dy", 0.0)),
                factor=float(item.get("factor", 1.0)),
            )
        except (TypeError, ValueError) as exc:
            raise CardError(f"{where} has a non-numeric parameter") from exc
        if not (abs(view.dx) < 0.5 and abs(view.dy) < 0.5 and 0.0 < view.factor < 4.0):
            raise CardError(f"{where}: shifts must be under 50% and factor in (0, 4)")
        views.append(view)
    return tuple(views)


def augment(batch: np.ndarray, views: Sequence[View], *, layout: str = "NHWC") -> np.ndarray:
    """Every view of every image: shape (N * len(views), ...), views of one image adjacent."""
    batch = np.asarray(batch, dtype=np.float32)
    if batch.ndim != 4:
        raise ValueError(f"expected a 4-D model input, got shape {batch.shape}")
    nhwc = batch if layout == "NHWC" else batch.transpose(0, 2, 3, 1)
    out = np.stack([_apply(nhwc, view) for view in views], axis=1)
    out = out.reshape(-1, *nhwc.shape[1:])
    return out if layout == "NHWC" else np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def _apply(images: np.ndarray, view: View) -> np.ndarray:
    if view.kind == "identity":
        return images
    if view.kind == "hflip":
        return images[:, :, ::-1, :]
    if view.kind == "contrast":
        mean = images.mean(axis=(1, 2), keepdims=True)
        return mean + view.factor * (images - mean)
    height, width = images.shape[1:3]
    return _shift(images, round(view.dy * height), round(view.dx * width))


def _shift(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Move the content by (dy, dx) pixels, repeating the edge into the gap."""
    height, width = images.shape[1:3]
    pad = ((0, 0), (max(dy, 0), max(-dy, 0)), (max(dx, 0), max(-dx, 0)), (0, 0))
    padded = np.pad(images, pad, mode="edge")
    top, left = max(-dy, 0), max(-dx, 0)
    return padded[:, top : top + height, left : left + width, :]


@dataclass(frozen=True)
class Spread:
    """Per label: the mean over views and the (min, max) interval across them."""

    labels: tuple[str, ...]
    mean: dict[str, float]
    low: dict[str, float]
    high: dict[str, float]
    per_view: np.ndarray  # (views, labels)

    def width(self, label: str) -> float:
        return self.high[label] - self.low[label]


def spread(probabilities: np.ndarray, labels: Sequence[str]) -> Spread:
    """Summarise one image's (views, labels) probabilities."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != len(labels):
        raise ValueError(f"expected (views, {len(labels)}) probabilities, got {p.shape}")
    labels = tuple(labels)
    return Spread(
        labels=labels,
        mean={label: float(p[:, i].mean()) for i, label in enumerate(labels)},
        low={label: float(p[:, i].min()) for i, label in enumerate(labels)},
        high={label: float(p[:, i].max()) for i, label in enumerate(labels)},
        per_view=p,
    )
