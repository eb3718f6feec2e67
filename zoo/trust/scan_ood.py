"""Out-of-distribution score of a scan from two sides: the model's embedding and the input.

The embedding alone (:mod:`zoo.trust.ood`) misses what a network trained on one kind of
scan maps close to its own classes: a small custom CNN trained on brain MRI put half of a
set of lung CT slices inside its validation range. The input image itself tells them apart
easily, so a second Mahalanobis summary is kept of a small, model-independent descriptor
of the model input (version 2, what new cards get):

- a 32-bin histogram of the grey level, over the 0.5th–99.5th percentile range of the
  training inputs (what intensities the scans have),
- a 16-bin histogram of the gradient magnitude (how much texture and edges),
- a 16-bin histogram of the grey level *inside the body*: the convex hull of the largest
  region brighter than 8% of that range, on a 64×64 copy, and the share of the image the
  hull covers (a lung CT slice is mostly dark inside its outline, a brain MRI is not; the
  whole-image histograms mix that with how much background there is),
- the mean spread between colour channels (photographs are coloured, scans are grey).

Histograms enter as square roots (the Hellinger embedding), so rare intensities count
as well as common ones. Version 1 (cards written before; still served as they are) had
the first two histograms as plain shares, an 8×8 thumbnail in place of the body part and
the colour spread: the thumbnail let a brain MRI model pass 64% of lung CT slices (an
axial body outline averages to the same blob as a skull) and, fitted on a few cases, it
flagged a quarter of held-out slices of a lung CT model's own kind.

Each part's score is divided by its own threshold (the value at most ``flag_rate`` of
validation images exceed), and the scan's score is the larger ratio: 1.0 means "at the
edge of the validation images" on whichever side is further out. A final threshold on
that combined score, chosen on validation again, keeps the overall flag rate at or below
``flag_rate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from zoo.errors import CardError
from zoo.trust.ood import OODDetector, fit_ood

METHOD = "max of embedding and input-image Mahalanobis ratios"
GREY_BINS, GRADIENT_BINS, BODY_BINS = 32, 16, 16
THUMBNAIL = 8  # version 1 only
#: Side of the copy the body outline is found on, and its brightness cut (share of range).
BODY_SIDE, BODY_CUT = 64, 0.08
DESCRIPTOR_VERSION = 2
N_QUANTILES = 101


def descriptor_ranges(inputs: np.ndarray, *, layout: str = "NHWC") -> dict[str, float]:
    """Intensity and gradient ranges of the training inputs, fixed for every later scan."""
    grey = _grey(inputs, layout)
    gradients = np.concatenate([_gradient(g).ravel() for g in grey[:256]])
    low, high = np.percentile(grey, [0.5, 99.5])
    if high - low <= 1e-6:
        high = low + 1.0
    g_high = float(np.percentile(gradients, 99.5))
    return {
        "version": DESCRIPTOR_VERSION,
        "layout": layout,
        "grey_low": float(low),
        "grey_high": float(high),
        "gradient_high": g_high if g_high > 1e-6 else 1.0,
    }


def input_descriptor(inputs: np.ndarray, ranges: Mapping[str, Any]) -> NDArray[np.float64]:
    """The (N, 66) descriptor of a batch of model inputs (version 1: (N, 113)).

    See the module docstring; ``ranges`` (from :func:`descriptor_ranges`) fixes the
    intensity scale and names the version.
    """
    version = int(ranges.get("version", 1))
    grey = _grey(inputs, str(ranges["layout"]))
    low, high = float(ranges["grey_low"]), float(ranges["grey_high"])
    g_high = float(ranges["gradient_high"])
    rows = []
    colour = _colour_spread(inputs, str(ranges["layout"]))
    for image, spread in zip(grey, colour, strict=True):
        scaled = np.clip((image - low) / (high - low), 0.0, 1.0).astype(np.float32)
        grey_hist = _shares(scaled, GREY_BINS)
        gradient_hist = _shares(np.clip(_gradient(image) / g_high, 0.0, 1.0), GRADIENT_BINS)
        if version == 1:
            thumbnail = cv2.resize(scaled, (THUMBNAIL, THUMBNAIL), interpolation=cv2.INTER_AREA)
            rows.append(np.concatenate([grey_hist, gradient_hist, thumbnail.ravel(), [spread]]))
            continue
        body_hist, body_share = _body(scaled)
        rows.append(
            np.concatenate(
                [
                    np.sqrt(grey_hist),
                    np.sqrt(gradient_hist),
                    np.sqrt(body_hist),
                    [body_share, spread],
                ]
            )
        )
    return np.asarray(rows, dtype=np.float64)


def descriptor_size(version: int) -> int:
    """Length of the input descriptor of a version."""
    if version == 1:
        return GREY_BINS + GRADIENT_BINS + THUMBNAIL * THUMBNAIL + 1
    return GREY_BINS + GRADIENT_BINS + BODY_BINS + 2


def _shares(values: np.ndarray, bins: int) -> np.ndarray:
    """Histogram over [0, 1] as shares of the values."""
    return np.histogram(values, bins=bins, range=(0.0, 1.0))[0] / max(values.size, 1)


def _body(scaled: np.ndarray) -> tuple[np.ndarray, float]:
    """Grey-level shares inside the body outline, and the share of the image it covers.

    The outline is the convex hull of the largest region above ``BODY_CUT``; with no such
    region (a blank image) the whole image stands in for it.
    """
    small = cv2.resize(scaled, (BODY_SIDE, BODY_SIDE), interpolation=cv2.INTER_AREA)
    bright = (small > BODY_CUT).astype(np.uint8)
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = np.zeros_like(bright)
    if contours:
        largest = max(contours, key=cv2.contourArea)
        cv2.drawContours(hull, [cv2.convexHull(largest)], -1, 1, thickness=-1)
    inside = small[hull > 0] if hull.sum() > 0 else small.ravel()
    return _shares(inside, BODY_BINS), float(hull.mean())


def _nhwc(inputs: np.ndarray, layout: str) -> np.ndarray:
    inputs = np.asarray(inputs, dtype=np.float32)
    if inputs.ndim != 4:
        raise ValueError(f"expected a 4-D batch of model inputs, got shape {inputs.shape}")
    return inputs if layout == "NHWC" else inputs.transpose(0, 2, 3, 1)


def _grey(inputs: np.ndarray, layout: str) -> np.ndarray:
    return _nhwc(inputs, layout).mean(axis=3)


def _colour_spread(inputs: np.ndarray, layout: str) -> np.ndarray:
    images = _nhwc(inputs, layout)
    return np.abs(images - images.mean(axis=3, keepdims=True)).mean(axis=(1, 2, 3))


def _gradient(image: np.ndarray) -> np.ndarray:
    gx = cv2.Sobel(image.astype(np.float32), cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(image.astype(np.float32), cv2.CV_32F, 0, 1, ksize=3)
    return np.sqrt(gx * gx + gy * gy)


def _threshold(scores: np.ndarray, rate: float) -> float:
    """The smallest value with at most ``rate`` of ``scores`` strictly above it."""
    ordered = np.sort(scores)
    allowed = int(np.floor(rate * len(ordered) + 1e-9))
    return float(ordered[len(ordered) - allowed - 1]) if allowed < len(ordered) else 0.0


def fit_scan_ood(
    train_embeddings: ArrayLike,
    validation_embeddings: ArrayLike,
    train_inputs: np.ndarray,
    validation_inputs: np.ndarray,
    *,
    layout: str = "NHWC",
    flag_rate: float = 0.05,
) -> dict[str, Any]:
    """The card's ``ood`` section: both summaries and the combined threshold."""
    embedding = fit_ood(train_embeddings, validation_embeddings, flag_rate=flag_rate)
    ranges = descriptor_ranges(train_inputs, layout=layout)
    image = fit_ood(
        input_descriptor(train_inputs, ranges),
        input_descriptor(validation_inputs, ranges),
        flag_rate=flag_rate,
    )
    image["descriptor"] = ranges
    partial = {"embedding": embedding, "input": image}
    detector = ScanOOD.from_section(
        {**partial, "method": METHOD, "threshold": 1.0, "validation_quantiles": [0.0] * 101}
    )
    combined = detector.ratios(validation_embeddings, validation_inputs).max(axis=1)
    threshold = _threshold(combined, flag_rate)
    return {
        "method": METHOD,
        "threshold": threshold,  # unrounded: the served flags must equal the rate below
        "flag_rate_target": flag_rate,
        "validation_flag_rate": round(float(np.mean(combined > threshold)), 4),
        "validation_quantiles": [
            round(float(q), 6) for q in np.percentile(combined, np.linspace(0, 100, N_QUANTILES))
        ],
        **partial,
    }


@dataclass(frozen=True)
class OODParts:
    """One scan's combined score and the two ratios it is the larger of."""

    score: float
    embedding_ratio: float
    input_ratio: float


class ScanOOD:
    """The served detector built from a card's ``ood`` section."""

    def __init__(
        self,
        embedding: OODDetector,
        image: OODDetector,
        ranges: dict[str, Any],
        threshold: float,
        quantiles: np.ndarray,
    ) -> None:
        self.embedding, self.image, self.ranges = embedding, image, ranges
        self.threshold, self.quantiles = threshold, quantiles

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> ScanOOD:
        """Raises :class:`CardError` naming the first bad field."""
        if section.get("method") != METHOD:
            raise CardError(f"ood.method must be {METHOD!r}, got {section.get('method')!r}")
        for key in ("embedding", "input"):
            if not isinstance(section.get(key), Mapping):
                raise CardError(f"ood.{key} must be an object")
        try:
            embedding = OODDetector.from_section(section["embedding"])
            image = OODDetector.from_section(
                {k: v for k, v in section["input"].items() if k != "descriptor"}
            )
        except CardError as exc:
            raise CardError(f"ood: {exc}") from exc
        ranges = section["input"].get("descriptor")
        needed = ("layout", "grey_low", "grey_high", "gradient_high")
        if not isinstance(ranges, Mapping) or any(k not in ranges for k in needed):
            raise CardError(f"ood.input.descriptor must give {', '.join(needed)}")
        if ranges.get("version", 1) not in (1, DESCRIPTOR_VERSION):
            raise CardError(
                f"ood.input.descriptor.version must be 1 or {DESCRIPTOR_VERSION}, "
                f"got {ranges.get('version')!r}"
            )
        if ranges["layout"] not in ("NHWC", "NCHW") or not all(
            isinstance(ranges[k], int | float) and np.isfinite(ranges[k]) for k in needed[1:]
        ):
            raise CardError("ood.input.descriptor has a bad layout or a non-finite range")
        if not ranges["grey_high"] > ranges["grey_low"] or not ranges["gradient_high"] > 0:
            raise CardError("ood.input.descriptor ranges must be increasing and positive")
        size = descriptor_size(ranges.get("version", 1))
        if image.dim != size:
            raise CardError(
                f"ood.input summarises {image.dim} features, but descriptor version "
                f"{ranges.get('version', 1)} has {size}"
            )
        threshold = section.get("threshold")
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not (np.isfinite(threshold) and threshold > 0)
        ):
            raise CardError(f"ood.threshold must be a positive number, got {threshold!r}")
        quantiles = section.get("validation_quantiles")
        if (
            not isinstance(quantiles, list)
            or len(quantiles) != N_QUANTILES
            or not all(isinstance(q, int | float) and np.isfinite(q) for q in quantiles)
            or np.any(np.diff(quantiles) < 0)
        ):
            raise CardError(f"ood.validation_quantiles must be {N_QUANTILES} increasing numbers")
        return cls(embedding, image, dict(ranges), float(threshold), np.asarray(quantiles))

    def ratios(self, embeddings: ArrayLike, inputs: np.ndarray) -> NDArray[np.float64]:
        """(N, 2): each side's score over its own threshold."""
        emb = np.atleast_2d(np.asarray(embeddings, dtype=np.float64))
        return np.column_stack(
            [
                np.atleast_1d(self.embedding.score(emb)) / self.embedding.threshold,
                self.input_ratio(inputs),
            ]
        )

    def input_ratio(self, inputs: np.ndarray) -> NDArray[np.float64]:
        """(N,): the input-image side alone, over its threshold; needs no model run."""
        desc = input_descriptor(inputs, self.ranges)
        return np.atleast_1d(self.image.score(desc)) / self.image.threshold

    def parts(self, embeddings: ArrayLike, inputs: np.ndarray) -> list[OODParts]:
        return [
            OODParts(score=float(max(e, i)), embedding_ratio=float(e), input_ratio=float(i))
            for e, i in self.ratios(embeddings, inputs)
        ]

    def score(self, embeddings: ArrayLike, inputs: np.ndarray) -> NDArray[np.float64]:
        return self.ratios(embeddings, inputs).max(axis=1)

    def flags(self, embeddings: ArrayLike, inputs: np.ndarray) -> NDArray[np.bool_]:
        return self.score(embeddings, inputs) > self.threshold

    def percentile(self, score: float) -> float:
        """Share (0–100) of validation images that scored lower."""
        grid = np.linspace(0.0, 100.0, N_QUANTILES)
        if score <= self.quantiles[0]:
            return 0.0
        if score >= self.quantiles[-1]:
            return 100.0
        # the lowest grid point of a run of tied quantiles keeps this monotone
        index = int(np.searchsorted(self.quantiles, score, side="left"))
        low, high = self.quantiles[index - 1], self.quantiles[index]
        share = (score - low) / (high - low) if high > low else 0.0
        return float(grid[index - 1] + share * (grid[index] - grid[index - 1]))
