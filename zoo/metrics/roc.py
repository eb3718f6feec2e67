"""ROC and precision-recall curves, ROC AUC and average precision for binary scores.

Conventions: ``y_true`` holds 0 (negative, control) and 1 (positive, case); a higher
``y_score`` means "more likely positive", and a sample is predicted positive when its
score is >= the threshold. The curves have one point per distinct score (no points are
dropped), as :func:`sklearn.metrics.roc_curve` with ``drop_intermediate=False``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import rankdata

from zoo.metrics._validation import both_classes_present, check_binary_inputs, warn_undefined

__all__ = ["average_precision", "precision_recall_curve", "roc_auc", "roc_curve"]


def _binary_counts(
    y: NDArray[np.bool_], s: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Cumulative true and false positives at each distinct score, highest first.

    Parameters
    ----------
    y : ndarray of bool, shape (n_samples,)
        Validated labels.
    s : ndarray of float64, shape (n_samples,)
        Validated scores.

    Returns
    -------
    tps, fps : ndarray of int64, shape (n_thresholds,)
        Positives and negatives with score >= ``thresholds[k]``.
    thresholds : ndarray of float64, shape (n_thresholds,)
        The distinct scores, in decreasing order.
    """
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    y_sorted = y[order]
    # last index of each run of equal scores
    last = np.flatnonzero(np.diff(s_sorted) != 0)
    last = np.append(last, len(s_sorted) - 1)
    tps = np.cumsum(y_sorted, dtype=np.int64)[last]
    fps = (last + 1) - tps
    return tps, fps, s_sorted[last]


def roc_curve(
    y_true: ArrayLike, y_score: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Receiver operating characteristic curve, one point per distinct score.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        True labels.
    y_score : array-like of float, shape (n_samples,)
        Scores; higher means more likely positive.

    Returns
    -------
    fpr : ndarray of float64, shape (n_thresholds + 1,)
        False positive rate when predicting positive for ``score >= thresholds[k]``;
        starts at 0 and ends at 1. All NaN (with a warning) if there are no negatives.
    tpr : ndarray of float64, shape (n_thresholds + 1,)
        True positive rate (sensitivity), likewise; all NaN if there are no positives.
    thresholds : ndarray of float64, shape (n_thresholds + 1,)
        ``inf`` followed by the distinct scores in decreasing order.

    Raises
    ------
    ValueError
        On malformed input (see :mod:`zoo.metrics._validation`).
    """
    y, s = check_binary_inputs(y_true, y_score)
    tps, fps, thresholds = _binary_counts(y, s)
    tps = np.concatenate(([0], tps))
    fps = np.concatenate(([0], fps))
    thresholds = np.concatenate(([np.inf], thresholds))
    if fps[-1] == 0:
        warn_undefined("roc_curve: no negative samples in y_true; false positive rate is NaN")
        fpr = np.full(fps.shape, np.nan)
    else:
        fpr = fps / fps[-1]
    if tps[-1] == 0:
        warn_undefined("roc_curve: no positive samples in y_true; true positive rate is NaN")
        tpr = np.full(tps.shape, np.nan)
    else:
        tpr = tps / tps[-1]
    return fpr, tpr, thresholds


def precision_recall_curve(
    y_true: ArrayLike, y_score: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Precision-recall pairs at every distinct score, as scikit-learn orders them.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        True labels.
    y_score : array-like of float, shape (n_samples,)
        Scores; higher means more likely positive.

    Returns
    -------
    precision : ndarray of float64, shape (n_thresholds + 1,)
        Precision when predicting positive for ``score >= thresholds[k]``; the last
        element is 1 by convention (the point of zero recall).
    recall : ndarray of float64, shape (n_thresholds + 1,)
        Recall (sensitivity), decreasing; the last element is 0. All NaN (with a
        warning) if there are no positives.
    thresholds : ndarray of float64, shape (n_thresholds,)
        The distinct scores in increasing order.
    """
    y, s = check_binary_inputs(y_true, y_score)
    tps, fps, thresholds = _binary_counts(y, s)
    precision = tps / (tps + fps)  # tps + fps >= 1 at every distinct score
    if tps[-1] == 0:
        warn_undefined("precision_recall_curve: no positive samples in y_true; recall is NaN")
        recall = np.full(tps.shape, np.nan)
    else:
        recall = tps / tps[-1]
    return (
        np.concatenate((precision[::-1], [1.0])),
        np.concatenate((recall[::-1], [0.0])),
        thresholds[::-1].copy(),
    )


def roc_auc(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Area under the ROC curve (Mann-Whitney U / (n_pos * n_neg)), ties counted 1/2.

    Equals the probability that a random positive scores higher than a random negative,
    plus half the probability of a tie.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        True labels.
    y_score : array-like of float, shape (n_samples,)
        Scores; higher means more likely positive.

    Returns
    -------
    float
        AUC in [0, 1]; NaN (with :class:`UndefinedMetricWarning`) if only one class
        is present.
    """
    y, s = check_binary_inputs(y_true, y_score)
    if not both_classes_present(y, "roc_auc"):
        return float("nan")
    n_pos = int(np.count_nonzero(y))
    n_neg = len(y) - n_pos
    ranks = rankdata(s)  # average ranks (midranks) for ties
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def average_precision(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Average precision: sum over thresholds of (R_k - R_{k-1}) * P_k.

    The step-wise (not interpolated) area under the precision-recall curve, as
    :func:`sklearn.metrics.average_precision_score`.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        True labels.
    y_score : array-like of float, shape (n_samples,)
        Scores; higher means more likely positive.

    Returns
    -------
    float
        Average precision in [0, 1]; NaN (with :class:`UndefinedMetricWarning`) if
        there are no positives.
    """
    y, s = check_binary_inputs(y_true, y_score)
    tps, fps, _ = _binary_counts(y, s)
    if tps[-1] == 0:
        warn_undefined("average_precision is undefined without positive samples; returning NaN")
        return float("nan")
    precision = tps / (tps + fps)
    recall_steps = np.diff(tps, prepend=0) / tps[-1]
    return float(np.dot(recall_steps, precision))
