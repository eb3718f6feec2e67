"""The single-scan report: risk level, a confidence estimate, operating points, advice.

Rules, stated here once (:data:`RISK_RULE`, :data:`DISTANCE_RULE`) and shown in the app and
the PDF. The level, the distance and the advice are computed from the same score and
threshold by :func:`risk_level`, :func:`confidence` and :func:`recommendations`, whose
wording is written so that they cannot contradict each other.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from zoo.card import ModelCard
from zoo.metrics import ThresholdTable, wilson_interval

MODERATE_FRACTION = 0.75
#: Shares of validation scores between a score and the threshold: below NEAR the call could
#: flip with a small change; from FAR on the score is well away from the threshold.
NEAR, FAR = 0.10, 0.25
MIN_COST = "Min cost (FN:FP ratio)"
RISK_RULE = (
    "Risk level against the threshold t: **High** if the score is ≥ t; **Borderline** if it "
    "is below t but near it (fewer than 10% of validation scores lie between the score and "
    "t; without validation predictions: score ≥ 0.75·t); **Low** otherwise. It restates the "
    "score relative to the threshold; it is not a calibrated clinical risk."
)
DISTANCE_RULE = (
    "Distance to the threshold: the share of validation scores lying between this score and "
    "t. **Near** below 10% (a small change in the image or the threshold could flip the "
    "call), **Moderate** from 10%, **Far** from 25%. Beside it, the validation PPV (score ≥ t) "
    "or NPV (score < t) with its Wilson 95% CI: how often validation cases on the same side "
    "of the threshold truly had, or lacked, the label. Neither is the chance of being right."
)


def risk_level(score: float, threshold: float, margin: float | None = None) -> str:
    """Low / Borderline / High of ``score`` against ``threshold`` (:data:`RISK_RULE`);
    ``margin`` is the share of validation scores between them, when known."""
    if score >= threshold:
        return "High"
    if margin is not None:
        return "Borderline" if margin < NEAR else "Low"
    if score >= MODERATE_FRACTION * threshold - 1e-12:  # 0.75 * 0.4 is 0.30000000000000004
        return "Borderline"
    return "Low"


def distance_level(margin: float) -> str:
    """Near / Moderate / Far (:data:`DISTANCE_RULE`)."""
    return "Far" if margin >= FAR else "Moderate" if margin >= NEAR else "Near"


@dataclass(frozen=True)
class Confidence:
    positive: bool  # score >= threshold
    predictive_value: float  # validation PPV if positive, else NPV (NaN if undefined)
    ci: tuple[float, float]
    successes: int
    total: int
    margin: float  # share of validation scores between the score and the threshold
    level: str  # distance_level(margin): Near / Moderate / Far

    @property
    def name(self) -> str:
        return "PPV" if self.positive else "NPV"

    def sentence(self, label: str) -> str:
        side = "at or above" if self.positive else "below"
        if self.total == 0 or math.isnan(self.predictive_value):
            pv = f"no validation case scored {side} this threshold, so the {self.name} is undefined"
        else:
            truth = f"had '{label}'" if self.positive else f"did not have '{label}'"
            pv = (
                f"{self.successes} of {self.total} validation cases scored {side} the threshold "
                f"{truth} ({self.name} {self.predictive_value:.0%}, 95% CI "
                f"{self.ci[0]:.0%}–{self.ci[1]:.0%})"
            )
        where = {"Near": "Near the threshold", "Moderate": "Some way from the threshold"}
        return (
            f"{where.get(self.level, 'Far from the threshold')}: {self.margin:.0%} of "
            f"validation scores lie between this score and the threshold; {pv}."
        )


def confidence(
    score: float, threshold: float, y_true: np.ndarray, y_score: np.ndarray
) -> Confidence:
    """The confidence estimate of ``score`` at ``threshold`` on validation ``(y_true, y_score)``."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(y_score, dtype=np.float64)
    positive = score >= threshold
    if positive:
        called = s >= threshold
        successes, total = int((y & called).sum()), int(called.sum())
    else:
        called = s < threshold
        successes, total = int((~y & called).sum()), int(called.sum())
    value = successes / total if total else math.nan
    ci = wilson_interval(successes, total) if total else (math.nan, math.nan)
    low, high = sorted((score, threshold))
    margin = float(np.mean((s >= low) & (s < high))) if len(s) else 0.0
    level = distance_level(margin)
    return Confidence(
        positive, value, (float(ci[0]), float(ci[1])), successes, total, margin, level
    )


def recommendations(
    level: str,
    label: str,
    *,
    confidence_level: str | None,
    modality_matches: bool,
    card: ModelCard,
) -> list[str]:
    """Research-use next steps for a report (never clinical advice).

    ``level`` and ``confidence_level`` come from :func:`risk_level` and :func:`confidence`
    on the same score and threshold, so the sentences agree: "near the threshold" is said
    once, by the level (Borderline) or by the distance (Near) of a High score.
    """
    items: list[str] = []
    if level == "High":
        items.append(
            f"The model scores this scan at or above its threshold for '{label}'. In a research "
            "or teaching setting, compare with the reference standard (an expert read or the "
            "data set's label) before drawing any conclusion."
        )
        if confidence_level == "Near":
            items.append(
                "The score lies near the threshold on the validation distribution: a small "
                "change in the image or the threshold could flip the call."
            )
    elif level == "Borderline":
        items.append(
            f"The score is below the threshold for '{label}' but near it: treat it as "
            "borderline, and look at how the call changes with the operating point."
        )
    else:
        items.append(
            f"The score is below the threshold for '{label}'. A score below the threshold "
            "does not rule anything out: the model only knows its training data."
        )
    items.append(
        "Check the heatmap: attention on text labels, tubes, borders or outside the anatomy "
        "suggests a shortcut rather than a finding."
    )
    if not modality_matches:
        items.append(
            f"This model was trained on {', '.join(card.modalities)} {card.body_part} images "
            "and the scan does not look like one: its output is outside its intended use."
        )
    items.append(
        "Research and teaching only: this output is not a diagnosis and must not guide "
        "patient care."
    )
    return items


#: Shown for an operating point that no threshold reaches on validation.
NOT_REACHABLE = "not reachable"


def operating_points(
    table: ThresholdTable | None,
    card: ModelCard,
    *,
    cost_ratio: float | None = None,
) -> dict[str, float]:
    """Named thresholds that validation can reach: from the validation table when there is
    one, else from the card.

    Keys: ``Card default`` (binary cards), ``Youden``, ``Sensitivity 90%``/``95%``,
    ``Specificity 90%``/``95%`` and, given ``cost_ratio``, :data:`MIN_COST`. Points no
    threshold reaches with at least one case called positive (see :func:`unreachable_points`)
    and undefined ones (a single-class validation set) are left out: a "Specificity 95%"
    at t = 1.000 that calls nothing positive is not an operating point.
    """
    points: dict[str, float] = {}
    if card.is_binary:
        points["Card default"] = card.default_threshold
    if table is None:
        names = {
            "youden": "Youden",
            "sensitivity_90": "Sensitivity 90%",
            "sensitivity_95": "Sensitivity 95%",
            "specificity_90": "Specificity 90%",
            "specificity_95": "Specificity 95%",
        }
        if card.is_binary:
            for key, value in card.operating_points.items():
                points[names.get(key, key.replace("_", " ").capitalize())] = value
        return points
    for name, value in _computed_points(table, cost_ratio).items():
        if math.isfinite(value):
            points[name] = float(value)
    return points


def unreachable_points(
    table: ThresholdTable | None, *, cost_ratio: float | None = None
) -> list[str]:
    """Operating points that only "call nothing positive" reaches on validation (their
    threshold would be above every score): shown as :data:`NOT_REACHABLE`."""
    if table is None:
        return []
    return [
        name for name, value in _computed_points(table, cost_ratio).items() if value == math.inf
    ]


def _computed_points(table: ThresholdTable, cost_ratio: float | None) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        computed = {
            "Youden": table.youden_threshold(),
            "Sensitivity 90%": table.threshold_for_sensitivity(0.90),
            "Sensitivity 95%": table.threshold_for_sensitivity(0.95),
            "Specificity 90%": table.threshold_for_specificity(0.90),
            "Specificity 95%": table.threshold_for_specificity(0.95),
        }
        if cost_ratio is not None:
            computed[MIN_COST] = table.min_cost_threshold(cost_fn_fp_ratio=cost_ratio)
    return computed


def fmt_score(value: float, other: float) -> str:
    """``value`` with enough decimals to tell it apart from ``other`` (a score vs a threshold)."""
    for digits in (3, 4, 5, 6):
        if round(value, digits) != round(other, digits) or value == other:
            return f"{value:.{digits}f}"
    return f"{value:.7f}"
