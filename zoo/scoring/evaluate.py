"""The Batch page's statistics from a results file of any size.

Each model's rows are read on their own (its key, label and probability columns only), so
memory grows with one model's rows, not with the file. Per model: :func:`zoo.evaluation.
evaluate` (AUC with its DeLong CI, operating statistics at the card's threshold with Wilson
CIs, calibration); per pair of models sharing a label: the paired DeLong test on the files
both scored; with ``by``: the label of interest sliced by that column.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc

from zoo.card import ModelCard, json_safe
from zoo.errors import ScanError
from zoo.evaluation import evaluate
from zoo.labels import canonical, label_in, label_row
from zoo.metrics import delong_test_paired
from zoo.registry import Registry
from zoo.scoring.results import read_results
from zoo.trust.subgroups import slice_metrics


@dataclass(frozen=True)
class ModelScores:
    """One model's labelled, error-free rows of a results file."""

    card: ModelCard
    paths: list[str]
    y_true: np.ndarray  # label indices, or a multi-label model's (N, C) 0/1 matrix
    probabilities: np.ndarray
    groups: list[Any] | None
    left_out: int  # rows whose label is none of the model's

    def binary(self, label: str) -> tuple[np.ndarray, np.ndarray]:
        index = self.card.labels.index(label_in(self.card, label) or label)
        if self.y_true.ndim == 2:
            return self.y_true[:, index], self.probabilities[:, index]
        return (self.y_true == index).astype(np.int64), self.probabilities[:, index]


def model_scores(
    path: str | Path, card: ModelCard, labels_column: str, by: str | None = None
) -> ModelScores:
    """``card``'s labelled, error-free rows of the results at ``path``."""
    probability_columns = [f"p_{k}" for k in card.labels]
    columns = ["path", "error", labels_column, *probability_columns, *([by] if by else [])]
    table = read_results(path, columns=columns, model=card.id)
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise ScanError(f"{path}: the results have no column {missing[0]!r} for {card.id}")
    table = table.filter(pc.and_(pc.is_null(table["error"]), pc.is_valid(table[labels_column])))
    texts = [str(v) for v in table[labels_column].to_pylist()]
    if card.is_multilabel:
        parsed = [label_row(text, card.labels) for text in texts]
        keep = np.array([not unknown for _, unknown in parsed], dtype=bool)
        rows = [row for (row, _), k in zip(parsed, keep, strict=True) if k]
        y = np.array(rows, dtype=np.int64).reshape(-1, len(card.labels))
    else:
        own = [label_in(card, text) for text in texts]
        keep = np.array([o is not None for o in own], dtype=bool)
        y = np.array([card.labels.index(o) for o in own if o is not None], dtype=np.int64)
    probabilities = np.column_stack(
        [np.asarray(table[c].to_pylist(), dtype=np.float64) for c in probability_columns]
    ).reshape(len(texts), len(card.labels))[keep]
    paths = [p for p, k in zip(table["path"].to_pylist(), keep, strict=True) if k]
    groups = [g for g, k in zip(table[by].to_pylist(), keep, strict=True) if k] if by else None
    return ModelScores(card, paths, y, probabilities, groups, int((~keep).sum()))


def focus_label(card: ModelCard) -> str:
    """The label a model is compared and sliced on: its positive one, else its last."""
    return card.positive_label or card.labels[-1]


def evaluate_results(
    path: str | Path, registry: Registry, labels_column: str = "label", by: str | None = None
) -> dict[str, Any]:
    """Per model, the metrics of its labelled rows; per pair sharing a label, the paired
    DeLong test on shared files; with ``by``, subgroups. JSON-ready."""
    models = read_results(path, columns=["model"])["model"].unique().to_pylist()
    if not models:
        raise ScanError(f"{path}: no rows")
    scores: dict[str, ModelScores] = {}
    report: dict[str, Any] = {"models": {}, "comparisons": [], "subgroups": {}}
    for model_id in sorted(models):
        card = registry.card(model_id)
        found = model_scores(path, card, labels_column, by)
        scores[model_id] = found
        entry: dict[str, Any] = {"n": len(found.paths), "left_out": found.left_out}
        if len(found.paths) >= 2:
            entry |= evaluate(card, found.y_true, found.probabilities)
        report["models"][model_id] = entry
        if by and found.groups is not None and len(found.paths) >= 2:
            label = focus_label(card)
            y, s = found.binary(label)
            # one label against the rest of a multiclass model: 0.5 (its cards have no threshold)
            threshold = 0.5 if card.task == "multiclass" else card.finding(label).default_threshold
            values = np.array(["(none)" if g is None else str(g) for g in found.groups])
            report["subgroups"][model_id] = slice_metrics(
                y, s, values, threshold=threshold, column=by
            ).to_dict()
    for a, b in itertools.combinations(sorted(scores), 2):
        report["comparisons"] += _paired(scores[a], scores[b])
    return json_safe(report)


def _paired(a: ModelScores, b: ModelScores) -> list[dict[str, Any]]:
    """The paired DeLong test of two models on each label both predict, on the files both
    scored with the same truth for it."""
    shared_labels = (
        [label for label in a.card.labels if label_in(b.card, label) is not None]
        if a.card.is_binary is False
        else [a.card.positive_label]
    )
    tests = []
    index_b = {p: i for i, p in enumerate(b.paths)}
    for label in shared_labels:
        if label is None or label_in(b.card, label) is None:
            continue
        ya, sa = a.binary(label)
        yb, sb = b.binary(label)
        pairs = [(i, index_b[p]) for i, p in enumerate(a.paths) if p in index_b]
        ia = np.array([i for i, _ in pairs], dtype=np.int64)
        ib = np.array([j for _, j in pairs], dtype=np.int64)
        if len(pairs) < 2 or not np.array_equal(ya[ia], yb[ib]):
            continue
        y = ya[ia]
        if not 0 < y.sum() < len(y):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = delong_test_paired(y, sa[ia], sb[ib])
        tests.append(
            {
                "label": canonical(label),
                "model_a": a.card.id,
                "model_b": b.card.id,
                "cases": len(y),
                "auc_a": result.auc_a,
                "auc_b": result.auc_b,
                "difference": result.difference,
                "ci": [result.ci_low, result.ci_high],
                "z": result.z,
                "p_value": result.p_value,
            }
        )
    return tests
