"""Multi-class metrics: confusion matrix, per-class precision/recall/F1, accuracy, AUCs.

Classes are integers ``0 .. n_classes - 1``; probability matrices have one column per
class, in that order.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import rankdata

from zoo.metrics._validation import (
    UndefinedMetricWarning,
    check_class_labels,
    check_n_classes,
    check_prob_matrix,
    check_same_length,
    warn_undefined,
)

__all__ = [
    "accuracy",
    "confusion_matrix",
    "macro_auc",
    "one_vs_rest_auc",
    "per_class_metrics",
]


def _labels_pair(
    y_true_int: ArrayLike, y_pred_int: ArrayLike, n_classes: int | None
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    y = check_class_labels(y_true_int, n_classes, "y_true_int")
    p = check_class_labels(y_pred_int, n_classes, "y_pred_int")
    check_same_length(y_true_int=y, y_pred_int=p)
    return y, p


def confusion_matrix(
    y_true_int: ArrayLike, y_pred_int: ArrayLike, n_classes: int
) -> NDArray[np.int64]:
    """Confusion matrix with true classes in rows and predicted classes in columns.

    Parameters
    ----------
    y_true_int : array-like of int, shape (n_samples,)
        True classes in ``[0, n_classes)``.
    y_pred_int : array-like of int, shape (n_samples,)
        Predicted classes in ``[0, n_classes)``.
    n_classes : int
        Number of classes.

    Returns
    -------
    ndarray of int64, shape (n_classes, n_classes)
        ``cm[i, j]`` = number of samples of class ``i`` predicted as ``j``.
    """
    k = check_n_classes(n_classes)
    y, p = _labels_pair(y_true_int, y_pred_int, k)
    return np.bincount(y * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


def accuracy(y_true_int: ArrayLike, y_pred_int: ArrayLike) -> float:
    """Fraction of samples whose predicted class is the true class.

    Parameters
    ----------
    y_true_int, y_pred_int : array-like of int, shape (n_samples,)
        True and predicted class indices (non-negative).

    Returns
    -------
    float
    """
    y, p = _labels_pair(y_true_int, y_pred_int, None)
    return float(np.mean(y == p))


def _ratio_per_class(num: NDArray, den: NDArray, what: str) -> NDArray[np.float64]:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    empty = np.flatnonzero(den == 0)
    if empty.size:
        warn_undefined(f"per_class_metrics: {what} undefined for class(es) {empty.tolist()}; NaN")
    return out


def per_class_metrics(
    y_true_int: ArrayLike, y_pred_int: ArrayLike, n_classes: int
) -> dict[str, NDArray]:
    """Precision, recall, F1 and support of each class (one-vs-rest).

    Parameters
    ----------
    y_true_int : array-like of int, shape (n_samples,)
        True classes in ``[0, n_classes)``.
    y_pred_int : array-like of int, shape (n_samples,)
        Predicted classes in ``[0, n_classes)``.
    n_classes : int
        Number of classes.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1`` (ndarray of float64, shape (n_classes,)) and
        ``support`` (ndarray of int64, shape (n_classes,), true samples per class).
        Precision of a never-predicted class, recall of an absent class, and F1 of a
        class both absent and never predicted are NaN, with
        :class:`UndefinedMetricWarning`.
    """
    cm = confusion_matrix(y_true_int, y_pred_int, n_classes)
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    return {
        "precision": _ratio_per_class(tp, predicted, "precision"),
        "recall": _ratio_per_class(tp, support, "recall"),
        "f1": _ratio_per_class(2 * tp, support + predicted, "f1"),
        "support": support,
    }


def one_vs_rest_auc(y_true_int: ArrayLike, prob_matrix: ArrayLike) -> NDArray[np.float64]:
    """ROC AUC of each class against all others, from its probability column.

    Parameters
    ----------
    y_true_int : array-like of int, shape (n_samples,)
        True classes in ``[0, n_classes)``.
    prob_matrix : array-like of float, shape (n_samples, n_classes)
        Class scores (usually probabilities); column ``k`` scores class ``k``.

    Returns
    -------
    ndarray of float64, shape (n_classes,)
        AUC per class (Mann-Whitney, ties 1/2). NaN, with
        :class:`UndefinedMetricWarning`, for a class that is absent from or the only
        class of ``y_true_int``.
    """
    prob = check_prob_matrix(prob_matrix)
    k = prob.shape[1]
    y = check_class_labels(y_true_int, k, "y_true_int")
    check_same_length(y_true_int=y, prob_matrix=prob)
    n_pos = np.bincount(y, minlength=k).astype(np.float64)
    n_neg = len(y) - n_pos
    ranks = rankdata(prob, axis=0)
    rank_sums = ranks[np.arange(len(y)), y]
    pos_rank_sum = np.bincount(y, weights=rank_sums, minlength=k)
    aucs = np.full(k, np.nan)
    ok = (n_pos > 0) & (n_neg > 0)
    aucs[ok] = (pos_rank_sum[ok] - n_pos[ok] * (n_pos[ok] + 1) / 2.0) / (n_pos[ok] * n_neg[ok])
    if not ok.all():
        warn_undefined(
            f"one_vs_rest_auc: AUC undefined for class(es) {np.flatnonzero(~ok).tolist()} "
            "(absent from y_true_int, or the only class present); returning NaN for them"
        )
    return aucs


def macro_auc(y_true_int: ArrayLike, prob_matrix: ArrayLike) -> float:
    """Unweighted mean of the one-vs-rest AUCs over the classes where they are defined.

    Parameters
    ----------
    y_true_int : array-like of int, shape (n_samples,)
        True classes in ``[0, n_classes)``.
    prob_matrix : array-like of float, shape (n_samples, n_classes)
        Class scores; column ``k`` scores class ``k``.

    Returns
    -------
    float
        Mean of :func:`one_vs_rest_auc`, skipping (with a warning) classes whose AUC is
        undefined; NaN if none is defined.
    """
    with warnings.catch_warnings():  # one warning, below, instead of one_vs_rest_auc's
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        aucs = one_vs_rest_auc(y_true_int, prob_matrix)
    defined = ~np.isnan(aucs)
    if not defined.all():
        warn_undefined(
            f"macro_auc: AUC undefined for class(es) {np.flatnonzero(~defined).tolist()} "
            "(absent from y_true_int, or the only class present); averaging over "
            f"{int(defined.sum())} of {len(aucs)} classes"
        )
    if not defined.any():
        return float("nan")
    return float(aucs[defined].mean())
