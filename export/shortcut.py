"""Measure a collection shortcut: can the model tell where an image came from?

When every image of one class comes from one collection, a model can score the
collection instead of the disease. Measured on held-out images only (validation and
test), with the shipped ONNX model's own outputs:

- **probe**: a logistic regression on the model's embedding, cross-validated by group,
  telling the collections apart among images of one label (e.g. normals from the NIH
  versus normals from the TB set). AUC near 0.5 means the embedding does not encode the
  collection; near 1 means it does.
- **score by collection**: the target class's mean probability, and the share of images
  predicted as the target, on same-label images of each collection.
- **score by a nuisance column** (e.g. ``tinted``): the target's recall per value, among
  target images; a gap means the model leans on the look the column marks.

``spec`` (the recipe's ``card.shortcut_check``) names ``column`` (collection column),
``label`` (the label compared across collections), ``target`` (the class at risk),
optional ``nuisance`` (a column among target images) and ``mitigations`` (text).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from zoo.metrics.proportion import wilson_interval


def shortcut_report(
    spec: dict[str, Any],
    labelled,
    y: np.ndarray,
    probabilities: np.ndarray,
    embedding: np.ndarray,
    labels: tuple[str, ...],
) -> dict[str, Any]:
    """The shortcut section of a model card (see the module docstring)."""
    column, label, target = spec["column"], spec["label"], spec["target"]
    if column not in labelled.metadata.columns:
        return {"skipped": f"the data has no {column!r} column"}
    label_index, target_index = labels.index(label), labels.index(target)
    meta = labelled.metadata
    groups = np.asarray(labelled.groups)
    same_label = np.flatnonzero(y == label_index)
    collections = meta[column].astype(str).to_numpy()
    report: dict[str, Any] = {
        "measured_on": "held-out images (validation and test sides)",
        "question": f"does the model tell '{label}' images of different {column}s apart?",
        "probe": _probe(embedding[same_label], collections[same_label], groups[same_label]),
        "by_collection": {},
        "mitigations": spec.get("mitigations", []),
    }
    predicted = probabilities.argmax(axis=1)
    for value in sorted(set(collections[same_label])):
        rows = same_label[collections[same_label] == value]
        flagged = int((predicted[rows] == target_index).sum())
        report["by_collection"][value] = {
            "n": len(rows),
            f"mean_p_{target}": float(probabilities[rows, target_index].mean()),
            f"predicted_{target}": _share(flagged, len(rows)),
        }
    nuisance = spec.get("nuisance")
    if nuisance and nuisance in meta.columns:
        targets = np.flatnonzero(y == target_index)
        values = meta[nuisance].astype(str).to_numpy()
        report[f"{target}_recall_by_{nuisance}"] = {
            value: _share(
                int((predicted[rows] == target_index).sum()),
                len(rows),
            )
            | {f"mean_p_{target}": float(probabilities[rows, target_index].mean())}
            for value in sorted(set(values[targets]))
            for rows in [targets[values[targets] == value]]
        }
    report["summary"] = _summary(report, label, target, nuisance)
    return report


def _summary(report: dict[str, Any], label: str, target: str, nuisance: str | None) -> list[str]:
    """The measurements in words, for the card and the Model zoo page."""
    lines = []
    probe = report["probe"]
    if "auc" in probe:
        a, b = probe["collections"]
        lines.append(
            f"The embedding tells {label} images of {a} and {b} apart with AUC "
            f"{probe['auc']:.2f} (accuracy {probe['accuracy']['value']:.0%}; always guessing "
            f"the larger collection gives {probe['chance_accuracy']:.0%})."
        )
    shares = [
        f"{v[f'predicted_{target}']['value']:.1%} of {k}"
        for k, v in report["by_collection"].items()
    ]
    if shares:
        lines.append(f"{target} is predicted for {' and '.join(shares)} {label} images.")
    recall = report.get(f"{target}_recall_by_{nuisance}") if nuisance else None
    if recall:
        parts = [f"{v['value']:.0%} where {nuisance} = {k}" for k, v in recall.items()]
        lines.append(
            f"{target} recall is {' and '.join(parts)}: a gap means the model leans on "
            f"what '{nuisance}' marks rather than on the disease."
        )
    return lines


def _probe(embedding: np.ndarray, collections: np.ndarray, groups: np.ndarray) -> dict[str, Any]:
    """Group-cross-validated logistic regression telling two collections apart."""
    names = sorted(set(collections))
    if len(names) != 2:
        return {"skipped": f"needs exactly two collections, found {names}"}
    y = (collections == names[1]).astype(int)
    folds = min(5, len(set(groups)), int(y.sum()), int((1 - y).sum()))
    if folds < 2:
        return {"skipped": "too few images of one collection"}
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    score = cross_val_predict(
        model, embedding, y, groups=groups, cv=GroupKFold(folds), method="predict_proba"
    )[:, 1]
    correct = int(((score >= 0.5) == y).sum())
    return {
        "collections": names,
        "n": len(y),
        "auc": float(roc_auc_score(y, score)),
        "accuracy": _share(correct, len(y)),
        "method": f"logistic regression on the embedding, {folds}-fold group cross-validation",
        "chance_accuracy": float(max(y.mean(), 1 - y.mean())),
    }


def _share(k: int, n: int) -> dict[str, Any]:
    low, high = wilson_interval(k, n) if n else (float("nan"), float("nan"))
    return {"value": k / n if n else float("nan"), "ci": [low, high], "method": "Wilson"}
