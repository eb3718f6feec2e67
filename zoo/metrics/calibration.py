"""Calibration of predicted probabilities: reliability curve, ECE and Brier score.

Bins follow :func:`sklearn.calibration.calibration_curve`: with ``n_bins`` edges
``e_0 < ... < e_B``, a probability ``p`` falls in the first bin whose upper edge is
``>= p`` (bins are closed on the right, the first one also on the left). "uniform" edges
split [0, 1] evenly; "quantile" edges are percentiles of the predictions, so bins hold
about equally many samples (repeated edges give empty bins, which are dropped).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from zoo.metrics._validation import (
    check_binary_labels,
    check_choice,
    check_class_labels,
    check_prob_matrix,
    check_probabilities,
    check_same_length,
)

__all__ = ["brier_score", "expected_calibration_error", "reliability_curve", "top_label_ece"]

_STRATEGIES = ("uniform", "quantile")


def _check_n_bins(n_bins: int) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got {n_bins!r}")
    return int(n_bins)


def _binned(
    correct: NDArray[np.float64], conf: NDArray[np.float64], n_bins: int, strategy: str
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Mean confidence, mean outcome and count of each non-empty bin."""
    n_bins = _check_n_bins(n_bins)
    check_choice(strategy, "strategy", _STRATEGIES)
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        edges = np.percentile(conf, np.linspace(0.0, 100.0, n_bins + 1))
    ids = np.searchsorted(edges[1:-1], conf)
    counts = np.bincount(ids, minlength=n_bins)
    sum_conf = np.bincount(ids, weights=conf, minlength=n_bins)
    sum_correct = np.bincount(ids, weights=correct, minlength=n_bins)
    keep = counts > 0
    counts = counts[keep]
    return sum_conf[keep] / counts, sum_correct[keep] / counts, counts.astype(np.int64)


def _binary(y_true: ArrayLike, y_prob: ArrayLike) -> tuple[NDArray, NDArray[np.float64]]:
    y = check_binary_labels(y_true)
    p = check_probabilities(y_prob)
    check_same_length(y_true=y, y_prob=p)
    return y, p


def reliability_curve(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    n_bins: int = 10,
    strategy: str = "uniform",
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Reliability diagram: mean predicted probability vs. observed frequency per bin.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        True labels.
    y_prob : array-like of float in [0, 1], shape (n_samples,)
        Predicted probabilities of the positive class.
    n_bins : int, default 10
        Number of bins.
    strategy : {"uniform", "quantile"}, default "uniform"
        Equal-width bins on [0, 1], or bins at quantiles of ``y_prob``.

    Returns
    -------
    mean_pred : ndarray of float64, shape (n_nonempty,)
        Mean predicted probability in each non-empty bin (sklearn's ``prob_pred``).
    frac_pos : ndarray of float64, shape (n_nonempty,)
        Fraction of positives in each non-empty bin (sklearn's ``prob_true``).
    counts : ndarray of int64, shape (n_nonempty,)
        Number of samples in each non-empty bin.
    """
    y, p = _binary(y_true, y_prob)
    return _binned(y.astype(np.float64), p, n_bins, strategy)


def expected_calibration_error(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    n_bins: int = 10,
    strategy: str = "uniform",
) -> float:
    """Expected calibration error: sum over bins of ``count / n * |frac_pos - mean_pred|``.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        True labels.
    y_prob : array-like of float in [0, 1], shape (n_samples,)
        Predicted probabilities of the positive class.
    n_bins : int, default 10
        Number of bins.
    strategy : {"uniform", "quantile"}, default "uniform"
        Binning, as in :func:`reliability_curve`.

    Returns
    -------
    float
        ECE in [0, 1].
    """
    mean_pred, frac_pos, counts = reliability_curve(
        y_true, y_prob, n_bins=n_bins, strategy=strategy
    )
    return float(np.dot(counts, np.abs(frac_pos - mean_pred)) / counts.sum())


def brier_score(y_true: ArrayLike, y_prob: ArrayLike) -> float:
    """Brier score: mean squared difference between probability and outcome.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        True labels.
    y_prob : array-like of float in [0, 1], shape (n_samples,)
        Predicted probabilities of the positive class.

    Returns
    -------
    float
        Brier score in [0, 1]; lower is better.
    """
    y, p = _binary(y_true, y_prob)
    return float(np.mean((p - y) ** 2))


def top_label_ece(
    y_true_int: ArrayLike,
    prob_matrix: ArrayLike,
    *,
    n_bins: int = 10,
    strategy: str = "uniform",
) -> float:
    """Multi-class ECE of the top-label confidence (Guo et al. 2017).

    The confidence of a sample is its largest class probability and it is "correct"
    when that class (the first one among ties) is the true class; the ECE of these
    pairs is computed as in :func:`expected_calibration_error`.

    Parameters
    ----------
    y_true_int : array-like of int, shape (n_samples,)
        True class indices in ``[0, n_classes)``.
    prob_matrix : array-like of float in [0, 1], shape (n_samples, n_classes)
        Predicted class probabilities (rows are not required to sum to 1).
    n_bins : int, default 10
        Number of bins.
    strategy : {"uniform", "quantile"}, default "uniform"
        Binning, as in :func:`reliability_curve`.

    Returns
    -------
    float
        Top-label ECE in [0, 1].
    """
    prob = check_prob_matrix(prob_matrix)
    if (prob < 0).any() or (prob > 1).any():
        r, c = np.argwhere((prob < 0) | (prob > 1))[0]
        raise ValueError(
            f"prob_matrix must lie in [0, 1]; found {prob[r, c].item()!r} at [{r}, {c}]"
        )
    y = check_class_labels(y_true_int, prob.shape[1], "y_true_int")
    check_same_length(y_true_int=y, prob_matrix=prob)
    pred = prob.argmax(axis=1)
    conf = prob[np.arange(len(y)), pred]
    correct = (pred == y).astype(np.float64)
    mean_conf, acc, counts = _binned(correct, conf, n_bins, strategy)
    return float(np.dot(counts, np.abs(acc - mean_conf)) / counts.sum())
