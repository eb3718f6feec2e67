"""One question asked of a model whose labels split it finer: "pneumonia against normal"
of a model that tells bacterial from viral pneumonia, or of one that also knows
tuberculosis.

A :class:`LabelGroup` names the model's labels whose probabilities add up to the score
(``positive``) and, on a labelled set, which labels count as positive and which as
negative cases (cases of any other label are left out). :func:`group_report` gives the
figures a card and the pages show for it: AUC with DeLong's CI, and the sensitivity and
specificity of the model's own call (its most probable label falls in the group) with
Wilson CIs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from zoo.metrics import auc_ci_delong, wilson_interval


@dataclass(frozen=True)
class LabelGroup:
    """``name``: what the question calls positive; ``positive``: the model's labels whose
    probabilities make the score; ``cases``/``controls``: the set's labels counted as
    positive and negative cases (default: ``positive`` and every other label)."""

    name: str
    positive: tuple[str, ...]
    cases: tuple[str, ...] = ()
    controls: tuple[str, ...] = ()

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> LabelGroup:
        """From a recipe's or card's ``{"name", "labels", "cases"?, "controls"?}``."""
        return cls(
            name=str(spec["name"]),
            positive=tuple(spec["labels"]),
            cases=tuple(spec.get("cases", ())),
            controls=tuple(spec.get("controls", ())),
        )

    def describe(self) -> str:
        against = " / ".join(self.controls) if self.controls else "the rest"
        return f"{self.name} against {against}"

    def score(self, probabilities: np.ndarray, labels: Sequence[str]) -> np.ndarray:
        """The summed probability of the group's labels, one per case."""
        columns = [_index(labels, label) for label in self.positive]
        summed = np.asarray(probabilities, dtype=np.float64)[:, columns].sum(axis=1)
        return np.clip(summed, 0.0, 1.0)  # float32 softmax outputs may add up to 1 + 2e-8

    def called(self, probabilities: np.ndarray, labels: Sequence[str]) -> np.ndarray:
        """True where the model's most probable label is one of the group's."""
        columns = {_index(labels, label) for label in self.positive}
        return np.isin(np.argmax(probabilities, axis=1), sorted(columns))

    def truth(self, case_labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(kept, positive): which cases the question covers, and which of those are cases."""
        cases = set(self.cases or self.positive)
        names = np.asarray(case_labels, dtype=object)
        positive = np.isin(names, sorted(cases))
        negative = np.isin(names, sorted(self.controls)) if self.controls else ~positive
        kept = positive | negative
        return kept, positive[kept]


def group_report(
    group: LabelGroup,
    case_labels: Sequence[str],
    probabilities: np.ndarray,
    labels: Sequence[str],
) -> dict[str, Any]:
    """The group's figures on one labelled set (``probabilities``: (N, C) in ``labels``'
    order, as served)."""
    kept, truth = group.truth(case_labels)
    p = np.asarray(probabilities, dtype=np.float64)[kept]
    score, called = group.score(p, labels), group.called(p, labels)
    positives, negatives = int(truth.sum()), int((~truth).sum())
    report: dict[str, Any] = {"n": int(kept.sum()), "positives": positives}
    if positives and negatives:
        value, low, high = auc_ci_delong(truth.astype(int), score)
        report["auc"] = {"value": float(value), "ci": _finite([low, high]), "method": "DeLong"}
    for name, hits, total in (
        ("sensitivity", int((called & truth).sum()), positives),
        ("specificity", int((~called & ~truth).sum()), negatives),
    ):
        if total:
            low, high = wilson_interval(hits, total)
            report[name] = {"value": hits / total, "ci": _finite([low, high]), "method": "Wilson"}
    return report


def sliced_reports(
    group: LabelGroup,
    case_labels: Sequence[str],
    probabilities: np.ndarray,
    labels: Sequence[str],
    column: Sequence[Any],
) -> list[dict[str, Any]]:
    """:func:`group_report` for each value of ``column`` (e.g. the collection a film came
    from), largest slice first."""
    values = np.asarray([str(v) for v in column], dtype=object)
    names = np.asarray(case_labels, dtype=object)
    rows = []
    for value in sorted(set(values), key=lambda v: (-int((values == v).sum()), v)):
        mask = values == value
        rows.append(
            {"value": value, **group_report(group, names[mask], probabilities[mask], labels)}
        )
    return rows


def _finite(bounds: Sequence[float]) -> list[float | None]:
    """CI bounds for JSON: None where undefined (one case or one control only)."""
    return [float(b) if np.isfinite(b) else None for b in bounds]


def _index(labels: Sequence[str], label: str) -> int:
    try:
        return list(labels).index(label)
    except ValueError:
        raise ValueError(f"no label {label!r} among {list(labels)}") from None
