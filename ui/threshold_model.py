"""The Thresholds page's view model: one model's validation predictions for one label.

Pure (no Streamlit): :func:`threshold_model` reads the validation set once and answers
everything the page shows — the operating points it offers (and those validation cannot
reach), where the slider starts, and the statistics at any threshold and prevalence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ui.report import operating_points, unreachable_points
from ui.stats import ScoredSet, ThresholdTable, both_classes, metrics_at
from zoo.card import ModelCard

#: The operating point of a threshold the user set by hand.
CUSTOM = "Custom"


@dataclass(frozen=True)
class OperatingPoints:
    """The named thresholds offered at one cost ratio."""

    points: dict[str, float]
    unreachable: list[str]

    @property
    def start(self) -> str:
        """Where the page opens: the card's threshold, else Youden's, else the user's own."""
        return next((n for n in ("Card default", "Youden") if n in self.points), CUSTOM)

    @property
    def choices(self) -> list[str]:
        return [CUSTOM, *self.points]

    def caption(self, name: str) -> str:
        return name if name == CUSTOM else f"{name} ({self.points[name]:.3f})"


@dataclass(frozen=True)
class ThresholdModel:
    """A model's validation set seen as ``label`` against the rest."""

    card: ModelCard
    label: str
    y: np.ndarray
    scores: np.ndarray
    table: ThresholdTable | None
    curves: dict[str, Any] | None

    @property
    def defined(self) -> bool:
        """Both classes are present: sensitivity, specificity and ROC exist."""
        return self.table is not None

    @property
    def negative(self) -> str:
        """What the other side of the call is named."""
        if self.card.is_binary:
            return next(v for v in self.card.labels if v != self.label)
        return f"not {self.label}"

    @property
    def n_cases(self) -> int:
        return len(self.y)

    @property
    def validation_prevalence(self) -> float:
        return float(np.mean(self.y)) if len(self.y) else float("nan")

    def operating_points(self, cost_ratio: float) -> OperatingPoints:
        return OperatingPoints(
            operating_points(self.table, self.card, cost_ratio=cost_ratio),
            unreachable_points(self.table, cost_ratio=cost_ratio),
        )

    def at(self, threshold: float, prevalence: float | None = None) -> dict[str, Any]:
        """Counts, sensitivity and specificity (Wilson CIs), PPV/NPV at ``prevalence``."""
        if self.table is None:
            raise ValueError(f"'{self.label}' has one class only on validation")
        return metrics_at(self.table, threshold, prevalence=prevalence)


def threshold_model(validation: ScoredSet, label: str) -> ThresholdModel:
    """The view of ``validation`` (a model's scored validation set) for ``label``."""
    y, scores = validation.binary(label)
    defined = both_classes(y)
    return ThresholdModel(
        card=validation.card,
        label=label,
        y=y,
        scores=scores,
        table=validation.table(label) if defined else None,
        curves=validation.curves(label) if defined else None,
    )
