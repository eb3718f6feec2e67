"""Evaluation reports: a model's metrics on a labelled set, with 95% confidence intervals.

Used by ``python -m zoo evaluate``, by export (the card's validation metrics) and by the
dashboard. Binary models get AUC with a DeLong CI and sensitivity, specificity, PPV, NPV and
accuracy at the threshold with Wilson CIs; multiclass models get accuracy, one-vs-rest and
macro AUC, per-class metrics and the confusion matrix. Both get calibration (ECE, Brier).
Multi-label models get each label's binary report at its own threshold and the macro AUC.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from zoo.card import ModelCard
from zoo.metrics.bootstrap import bootstrap_ci
from zoo.metrics.calibration import brier_score, expected_calibration_error, top_label_ece
from zoo.metrics.delong import auc_ci_delong
from zoo.metrics.multiclass import confusion_matrix, macro_auc, one_vs_rest_auc, per_class_metrics
from zoo.metrics.proportion import wilson_interval
from zoo.metrics.roc import roc_auc
from zoo.metrics.threshold import threshold_metrics


def evaluate(
    card: ModelCard,
    y_true: np.ndarray,
    probabilities: np.ndarray,
    *,
    threshold: float | None = None,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Metrics of ``card``'s model given true label indices and its (N, C) probabilities.

    Returns a JSON-ready dict: ``metrics`` maps each name to a number or to
    ``{"value", "ci", "method"}``; ``confusion_matrix`` is a list of rows (true label
    by predicted label, in ``labels`` order). For a multi-label model ``y_true`` is the
    (N, C) 0/1 matrix; ``per_label`` holds each label's binary metrics (at its threshold)
    and there is no confusion matrix.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    with warnings.catch_warnings():  # one-class subsets give NaN, reported as such
        warnings.simplefilter("ignore")
        if card.is_multilabel:
            return _multilabel(card, y_true, probabilities, alpha)
        if card.is_binary:
            used = card.default_threshold if threshold is None else threshold
            return _binary(card, y_true, probabilities, used, alpha)
        return _multiclass(card, y_true, probabilities, alpha)


def _binary(
    card: ModelCard, y_true: np.ndarray, probabilities: np.ndarray, threshold: float, alpha: float
) -> dict[str, Any]:
    positive = card.positive_index
    y = (y_true == positive).astype(np.int64)
    score = probabilities[:, positive]
    auc, low, high = (
        auc_ci_delong(y, score, alpha=alpha) if 0 < y.sum() < len(y) else (math.nan,) * 3
    )
    at = threshold_metrics(y, score, threshold)
    tp, fp, tn, fn = (int(at[k]) for k in ("tp", "fp", "tn", "fn"))
    metrics: dict[str, Any] = {
        "n": len(y),
        "positives": int(y.sum()),
        "threshold": threshold,
        "auc": {"value": auc, "ci": [low, high], "method": "DeLong"},
        "sensitivity": _proportion(tp, tp + fn, alpha),
        "specificity": _proportion(tn, tn + fp, alpha),
        "ppv": _proportion(tp, tp + fp, alpha),
        "npv": _proportion(tn, tn + fn, alpha),
        "accuracy": _proportion(tp + tn, len(y), alpha),
        "f1": at["f1"],
        "ece": expected_calibration_error(y, score),
        "brier": brier_score(y, score),
    }
    predicted = np.where(score >= threshold, positive, 1 - positive)
    return {
        "labels": list(card.labels),
        "metrics": _jsonable(metrics),
        "confusion_matrix": confusion_matrix(y_true, predicted, 2).tolist(),
    }


def _multiclass(
    card: ModelCard, y_true: np.ndarray, probabilities: np.ndarray, alpha: float
) -> dict[str, Any]:
    n_classes = len(card.labels)
    predicted = probabilities.argmax(axis=1)
    correct = int((predicted == y_true).sum())
    per_class_auc = one_vs_rest_auc(y_true, probabilities)
    metrics: dict[str, Any] = {
        "n": len(y_true),
        "accuracy": _proportion(correct, len(y_true), alpha),
        "macro_auc": macro_auc(y_true, probabilities),
    }
    interval = macro_auc_ci(y_true, probabilities)
    if interval is not None:
        metrics["macro_auc_ci"] = interval
    for index, label in enumerate(card.labels):
        y = (y_true == index).astype(np.int64)
        if 0 < y.sum() < len(y):
            auc, low, high = auc_ci_delong(y, probabilities[:, index], alpha=alpha)
            metrics[f"auc_{label}"] = {
                "value": auc,
                "ci": [low, high],
                "method": "DeLong, one-vs-rest",
            }
        else:
            metrics[f"auc_{label}"] = {
                "value": float(per_class_auc[index]),
                "ci": None,
                "method": "one-vs-rest",
            }
    metrics["ece_top_label"] = top_label_ece(y_true, probabilities)
    columns = per_class_metrics(y_true, predicted, n_classes)
    per_class = {
        label: {name: values[index] for name, values in columns.items()}
        for index, label in enumerate(card.labels)
    }
    return {
        "labels": list(card.labels),
        "metrics": _jsonable(metrics),
        "per_class": _jsonable(per_class),
        "confusion_matrix": confusion_matrix(y_true, predicted, n_classes).tolist(),
    }


def _multilabel(
    card: ModelCard, truth: np.ndarray, probabilities: np.ndarray, alpha: float
) -> dict[str, Any]:
    if truth.shape != probabilities.shape:
        raise ValueError(f"truth {truth.shape} and probabilities {probabilities.shape} differ")
    per_label: dict[str, Any] = {}
    metrics: dict[str, Any] = {"n": len(truth)}
    for index, label in enumerate(card.labels):
        view = card.finding(label)
        p = probabilities[:, index]
        report = _binary(
            view, truth[:, index], np.column_stack([1.0 - p, p]), view.default_threshold, alpha
        )
        per_label[label] = report["metrics"]
        metrics[f"auc_{label}"] = {**report["metrics"]["auc"], "method": "DeLong, per label"}
    metrics["macro_auc"] = multilabel_macro_auc(truth, probabilities)
    low, high = _multilabel_macro_ci(truth, probabilities, alpha)
    if np.isfinite(low):
        metrics["macro_auc_ci"] = {
            "value": metrics["macro_auc"],
            "ci": [low, high],
            "method": f"bootstrap, {MACRO_AUC_RESAMPLES} resamples of images",
        }
    return {
        "labels": list(card.labels),
        "metrics": _jsonable(metrics),
        "per_label": _jsonable(per_label),
    }


def multilabel_macro_auc(truth: np.ndarray, probabilities: np.ndarray) -> float:
    """The mean AUC over the labels that have cases with and without them (NaN if none)."""
    aucs = [
        roc_auc(truth[:, i], probabilities[:, i])
        for i in range(truth.shape[1])
        if 0 < truth[:, i].sum() < len(truth)
    ]
    return float(np.mean(aucs)) if aucs else math.nan


def _multilabel_macro_ci(
    truth: np.ndarray, probabilities: np.ndarray, alpha: float
) -> tuple[float, float]:
    width = truth.shape[1]

    def macro(_: np.ndarray, packed: np.ndarray) -> float:
        return multilabel_macro_auc(packed[:, :width], packed[:, width:])

    packed = np.hstack([truth.astype(np.float64), probabilities])
    _, low, high = bootstrap_ci(
        macro,
        np.zeros(len(truth)),
        packed,
        n_boot=MACRO_AUC_RESAMPLES,
        alpha=alpha,
        stratified=False,
    )
    return float(low), float(high)


#: Resamples of the macro AUC's bootstrap CI (export and the app use the same).
MACRO_AUC_RESAMPLES = 1000


def macro_auc_ci(
    y_true: np.ndarray, probabilities: np.ndarray, n_boot: int = MACRO_AUC_RESAMPLES
) -> dict[str, Any] | None:
    """The macro one-vs-rest AUC with a stratified-bootstrap 95% CI; None when a class is
    missing from the set (no macro AUC)."""
    try:
        value, low, high = bootstrap_ci(macro_auc, y_true, probabilities, n_boot=n_boot)
    except ValueError:
        return None
    return {
        "value": float(value),
        "ci": [float(low), float(high)],
        "method": f"stratified bootstrap, {n_boot} resamples of images",
    }


def _proportion(successes: int, total: int, alpha: float) -> dict[str, Any]:
    value = successes / total if total else math.nan
    return {
        "value": value,
        "ci": list(wilson_interval(successes, total, alpha=alpha)),
        "method": "Wilson",
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value
