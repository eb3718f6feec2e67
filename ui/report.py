"""The single-scan report: risk level, a confidence estimate, operating points, advice.

Rules, stated here once and shown in the app:

- **Risk level** compares the score ``s`` (the model's probability for the label of
  interest) with the decision threshold ``t``: Low when ``s < 0.75·t``, Moderate when
  ``0.75·t ≤ s < t``, High when ``s ≥ t``. It is a restatement of the score against the
  threshold, not a calibrated clinical risk.
- **Confidence** is not the probability that the result is right. It has two parts, both
  from the model's validation predictions: the *validation PPV* (scan at or above the
  threshold) or *NPV* (below it) with its Wilson 95% CI, i.e. how often validation cases on
  the same side of the threshold truly had (or lacked) the label; and the *margin*, the share
  of validation scores lying between this score and the threshold (how far the score is from
  the threshold, measured on the validation score distribution). The level is High when the
  margin is at least 25%, Moderate from 10%, Low below (close to the threshold, where a small
  change in the image or the threshold flips the call).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from zoo.card import ModelCard
from zoo.metrics import ThresholdTable, wilson_interval

MODERATE_FRACTION = 0.75
MIN_COST = "Min cost (FN:FP ratio)"
RISK_RULE = (
    "Risk level against the threshold t: **Low** if score < 0.75·t, **Moderate** if "
    "0.75·t ≤ score < t, **High** if score ≥ t. It restates the score relative to the "
    "threshold; it is not a calibrated clinical risk."
)
CONFIDENCE_RULE = (
    "Confidence is not the chance that the result is right. It reports (1) the validation "
    "PPV (if the score is at or above the threshold) or NPV (if below): how often validation "
    "cases on the same side of the threshold truly had, or lacked, the label, with a Wilson "
    "95% CI; and (2) the margin: the share of validation scores that lie between this score "
    "and the threshold. Level: High if the margin is ≥ 25%, Moderate if ≥ 10%, Low otherwise."
)


def risk_level(score: float, threshold: float) -> str:
    """Low / Moderate / High of ``score`` against ``threshold`` (see the module docstring)."""
    if score >= threshold:
        return "High"
    if score >= MODERATE_FRACTION * threshold - 1e-12:  # 0.75 * 0.4 is 0.30000000000000004
        return "Moderate"
    return "Low"


@dataclass(frozen=True)
class Confidence:
    positive: bool  # score >= threshold
    predictive_value: float  # validation PPV if positive, else NPV (NaN if undefined)
    ci: tuple[float, float]
    successes: int
    total: int
    margin: float  # share of validation scores between the score and the threshold
    level: str

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
        return (
            f"{self.level} confidence: {self.margin:.0%} of validation scores lie between this "
            f"score and the threshold; {pv}."
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
    level = "High" if margin >= 0.25 else "Moderate" if margin >= 0.10 else "Low"
    return Confidence(
        positive, value, (float(ci[0]), float(ci[1])), successes, total, margin, level
    )


def operating_points(
    table: ThresholdTable | None,
    card: ModelCard,
    *,
    cost_ratio: float | None = None,
) -> dict[str, float]:
    """Named thresholds: from the validation table when there is one, else from the card.

    Keys: ``Card default`` (binary cards), ``Youden``, ``Sensitivity 90%``/``95%``,
    ``Specificity 90%``/``95%`` and, given ``cost_ratio``, :data:`MIN_COST`.
    Undefined points (a single-class validation set) are left out.
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
    for name, value in computed.items():
        if math.isfinite(value):
            points[name] = float(value)
        elif value == math.inf:  # "call nothing positive": show as 1.0
            points[name] = 1.0
    return points


def recommendations(
    level: str,
    label: str,
    *,
    confidence_level: str | None,
    modality_matches: bool,
    card: ModelCard,
    modality: str | None = None,
) -> list[str]:
    """Research-use next steps for a report (never clinical advice)."""
    items: list[str] = []
    if level == "High":
        items.append(
            f"The model scores this scan at or above its threshold for '{label}'. In a research "
            "or teaching setting, compare with the reference standard (an expert read or the "
            "data set's label) before drawing any conclusion."
        )
    elif level == "Moderate":
        items.append(
            f"The score is below the threshold for '{label}' but within 25% of it: treat it as "
            "borderline and look at how the call changes with the operating point."
        )
    else:
        items.append(
            f"The score is well below the threshold for '{label}'. A low score does not rule "
            "anything out: the model only knows its training data."
        )
    items.append(
        "Check the heatmap: attention on text labels, tubes, borders or outside the anatomy "
        "suggests a shortcut rather than a finding."
    )
    if confidence_level == "Low":
        items.append(
            "The score lies close to the threshold on the validation distribution: small "
            "changes in the image or the threshold could flip the call."
        )
    if not modality_matches and modality == "OT":
        items.append(
            f"Image files carry no modality: this model expects {', '.join(card.modalities)} "
            f"{card.body_part} images, so confirm that the scan is one before reading its output."
        )
    elif not modality_matches:
        items.append(
            f"This model was trained on {', '.join(card.modalities)} {card.body_part} images; "
            "its output on this scan is outside its intended use."
        )
    items.append(
        "Research and teaching only: this output is not a diagnosis and must not guide "
        "patient care."
    )
    return items
