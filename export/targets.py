"""Quality targets: each recipe's ``{"metric", "min"}`` judged on a card's validation and
test figures (no TensorFlow: ``pipeline card-text`` judges them again on a shipped card)."""

from __future__ import annotations

from typing import Any

import numpy as np


def quality_targets(
    targets: list[dict[str, Any]],
    metrics: dict[str, Any],
    localization: dict[str, Any] | None = None,
) -> list[dict]:
    """Each target (``metric``, ``min``) with the value reached on validation and test.

    ``metric`` names a card metric (``auc``, ``macro_auc``, ``accuracy``,
    ``auc_<label>``), a class's recall (``recall_<label>``), a focus report's metric
    (``<name>_vs_rest.auc``) or, from the card's ``localization`` section, how much more
    often the heatmap points into a box of a finding than a centre prior does
    (``pointing_gain_<finding>``, a difference of hit rates); the validation value is what
    choices were made on, the test value what holds on images nothing was chosen on.
    """
    rows = []
    for target in targets:
        row: dict[str, Any] = {"metric": target["metric"], "min": target["min"]}
        for side in ("validation", "test"):
            value = metric_value(metrics, side, target["metric"], localization)
            row[side] = value
            row[f"met_on_{side}"] = value is not None and value >= target["min"]
        rows.append(row)
    return rows


def metric_value(
    metrics: dict[str, Any],
    side: str,
    name: str,
    localization: dict[str, Any] | None = None,
) -> float | None:
    """One figure of a card's ``metrics`` (or ``localization``) on ``side``
    (``validation`` or ``test``)."""
    if name.startswith("pointing_gain_"):
        findings = (localization or {}).get("findings") or {}
        report = (findings.get(name.removeprefix("pointing_gain_")) or {}).get(side) or {}
        model = (report.get("model") or {}).get("pointing_hits")
        prior = (report.get("centre_prior") or {}).get("pointing_hits")
        if model is None or prior is None or not report.get("n"):
            return None
        return (model - prior) / report["n"]  # the counts, not the rates rounded in the card
    if "." in name:  # a focus report: "<name>_vs_rest.auc"
        section, name = name.split(".", 1)
        return metric_value(metrics.get(section) or {}, side, name)
    if name.startswith("recall_"):
        per_class = metrics.get("per_class" if side == "validation" else f"{side}_per_class")
        value = ((per_class or {}).get(name.removeprefix("recall_")) or {}).get("recall")
    else:
        value = (metrics.get(side) or {}).get(name)
    if isinstance(value, dict):
        value = value.get("value")
    return float(value) if isinstance(value, int | float) and np.isfinite(value) else None
