"""One figure per fact: each number the pages, the PDF and the docs show about a shipped
model is computed here, once, from the served probabilities the card ships.

The card's ``validation.csv`` and ``test.csv`` hold each side's raw outputs; the registry
serves them through the card's calibration, as the app serves a scan. Every page then
reads the same report (:func:`held_out_report`), so Home, Model zoo, Thresholds, Metrics
and the PDF cannot disagree, and a threshold means the same thing everywhere: the
card's default, on the served scale.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ui.report import NOT_REACHABLE, operating_points, unreachable_points
from ui.stats import evaluation, held_out, validation_set
from zoo.errors import CardError
from zoo.registry import Registry

SIDES = {"test": "held-out test", "validation": "validation"}


def held_out_report(registry: Registry, model_id: str, side: str) -> dict[str, Any] | None:
    """:func:`ui.stats.evaluation` of the served probabilities on ``side`` at the card's
    default threshold (cached); None when the card ships no predictions for that side."""
    card = registry.card(model_id)
    try:
        predictions = held_out(registry, model_id, side)
    except CardError:
        return None
    return evaluation(card, predictions.y_true, predictions.probabilities)


def number(value: object, pattern: str = "{:.3f}") -> str:
    """A figure as the app writes it; "n/a" for anything not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "n/a"
    return pattern.format(value)


def with_ci(figure: Mapping[str, Any] | None, pattern: str = "{:.3f}") -> str:
    """``{"value", "ci"}`` as "0.705 (0.546–0.865)"; the value alone without a finite CI."""
    if not isinstance(figure, Mapping):
        return "n/a"
    text = number(figure.get("value"), pattern)
    ci = figure.get("ci")
    if text != "n/a" and isinstance(ci, list | tuple) and len(ci) == 2:
        low, high = number(ci[0], pattern), number(ci[1], pattern)
        if "n/a" not in (low, high):
            text += f" ({low}–{high})"
    return text


def headline_auc(report: Mapping[str, Any] | None) -> str:
    """A report's headline AUC with its 95% CI: the AUC of a binary model's positive label,
    the macro one-vs-rest AUC of a multiclass one."""
    if not report:
        return "n/a"
    metrics = report.get("metrics", {})
    if "auc" in metrics:
        return with_ci(metrics["auc"])
    return with_ci(metrics.get("macro_auc_ci") or {"value": metrics.get("macro_auc")})


def auc_of(registry: Registry, model_id: str, side: str) -> str:
    """The headline AUC (95% CI) of a shipped model on ``side``: what Home, Model zoo and
    Metrics print."""
    return headline_auc(held_out_report(registry, model_id, side))


# -- card prose: figures referenced, never typed ---------------------------------------------

#: ``../shared/data/chest_xray``, ``/home/x/data``, ``C:\\data``: where a model was built,
#: which means nothing to a reader and must not leave the server.
_LOCAL_PATH = re.compile(
    r"(?:\s+(?:in|at|from|under)\s+)?(?<![\w:/.])(?:\.{1,2}/|~/|/(?:[\w.-]+/)+|[A-Za-z]:\\)[^\s,;)]*"
)


def public_text(text: str) -> str:
    """``text`` without local file paths (for the screen, the PDF and the docs)."""
    return re.sub(r"\s{2,}", " ", _LOCAL_PATH.sub("", text)).strip()


def card_figures(registry: Registry, model_id: str) -> dict[str, str]:
    """The figures card prose may reference as ``{name}``: each from :func:`held_out_report`
    or the card's counts, so the prose cannot drift from the numbers."""
    card = registry.card(model_id)
    figures: dict[str, str] = {
        "calibration": str(card.calibration.get("method", "none")),
    }
    counts = card.training_data.get("counts") or {}
    for side in ("train", "validation", "test"):
        side_counts = counts.get(side) if isinstance(counts, dict) else None
        if isinstance(side_counts, dict) and card.positive_label in side_counts:
            figures[f"{side}_positives"] = str(side_counts[card.positive_label])
    for side in SIDES:
        report = held_out_report(registry, model_id, side)
        figures[f"{side}_auc"] = headline_auc(report)
        if report and card.is_binary:
            metrics = report["metrics"]
            positives, n = metrics.get("positives"), metrics.get("n")
            if isinstance(positives, int) and isinstance(n, int) and n:
                figures[f"{side}_prevalence"] = f"{positives / n:.0%}"
    return figures


class _Figures(dict):
    def __missing__(self, key: str) -> str:
        return "n/a"


def card_text(registry: Registry, model_id: str, text: str) -> str:
    """Card prose with its ``{figure}`` references filled in and local paths removed."""
    return _filled(text, card_figures(registry, model_id))


def _filled(text: str, figures: dict[str, str]) -> str:
    try:
        filled = text.format_map(_Figures(figures))
    except (ValueError, IndexError, AttributeError):  # stray braces: show the text as written
        filled = text
    return public_text(filled)


def report_figures(registry: Registry, model_id: str) -> dict[str, Any]:
    """What the PDF prints about a model: the same figures and prose as the pages."""
    card = registry.card(model_id)
    figures = card_figures(registry, model_id)  # once for all the prose
    return {
        "validation_auc": figures["validation_auc"],
        "test_auc": figures["test_auc"],
        "limitations": [_filled(item, figures) for item in card.limitations],
        "training_source": public_text(str(card.training_data.get("source", "n/a"))),
        "intended_use": _filled(card.intended_use, figures),
    }


def operating_point_rows(registry: Registry, model_id: str) -> list[dict[str, str]]:
    """The operating points of a binary model on its served validation predictions, the ones
    validation cannot reach marked :data:`~ui.report.NOT_REACHABLE` (never t = 1.000)."""
    card = registry.card(model_id)
    if not card.is_binary:
        return [{"operating point": "most probable label", "threshold": "—"}]
    validation = validation_set(registry, model_id)
    table = validation.defined_table(card.positive_label) if validation is not None else None
    rows = [
        {"operating point": name, "threshold": f"{value:.3f}"}
        for name, value in operating_points(table, card).items()
    ]
    rows += [
        {"operating point": name, "threshold": NOT_REACHABLE} for name in unreachable_points(table)
    ]
    return rows
