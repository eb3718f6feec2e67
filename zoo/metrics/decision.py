"""Decision-curve analysis (Vickers & Elkin 2006): net benefit over threshold probabilities.

At a threshold probability ``pt`` a sample is treated when its score is >= ``pt``, and

    net benefit = TP / n - FP / n * pt / (1 - pt),

the true-positive rate of the whole sample minus false positives weighted by the odds
at which a patient would be indifferent between treatment and none. The references are
"treat all" (``prev - (1 - prev) * pt / (1 - pt)``) and "treat none" (0).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from zoo.metrics._validation import as_1d, check_binary_labels
from zoo.metrics.threshold import ThresholdTable

__all__ = ["net_benefit", "net_benefit_treat_all", "net_benefit_treat_none"]


def _check_thresholds(thresholds: ArrayLike) -> NDArray[np.float64]:
    t = as_1d(np.atleast_1d(np.asarray(thresholds, dtype=np.float64)), "thresholds")
    bad = ~((t >= 0.0) & (t < 1.0))  # also catches NaN
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"thresholds must lie in [0, 1); found {t[i].item()!r} at index {i}")
    return t


def _odds(t: NDArray[np.float64]) -> NDArray[np.float64]:
    return t / (1.0 - t)


def net_benefit(
    y_true: ArrayLike, y_score: ArrayLike, thresholds: ArrayLike
) -> NDArray[np.float64]:
    """Net benefit of treating samples whose score is >= each threshold probability.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        True labels.
    y_score : array-like of float, shape (n_samples,)
        Predicted risks (probabilities of the positive class).
    thresholds : array-like of float in [0, 1), shape (n_thresholds,)
        Threshold probabilities ``pt``.

    Returns
    -------
    ndarray of float64, shape (n_thresholds,)
        ``TP / n - FP / n * pt / (1 - pt)`` at each threshold.
    """
    t = _check_thresholds(thresholds)
    table = ThresholdTable(y_true, y_score)
    c = table.counts(t)
    n = len(table)
    return c["tp"] / n - c["fp"] / n * _odds(t)


def net_benefit_treat_all(y_true: ArrayLike, thresholds: ArrayLike) -> NDArray[np.float64]:
    """Net benefit of treating everyone: ``prev - (1 - prev) * pt / (1 - pt)``.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        True labels; ``prev`` is their mean.
    thresholds : array-like of float in [0, 1), shape (n_thresholds,)
        Threshold probabilities ``pt``.

    Returns
    -------
    ndarray of float64, shape (n_thresholds,)
    """
    t = _check_thresholds(thresholds)
    prev = float(np.mean(check_binary_labels(y_true)))
    return prev - (1.0 - prev) * _odds(t)


def net_benefit_treat_none(thresholds: ArrayLike) -> NDArray[np.float64]:
    """Net benefit of treating no one: zero at every threshold.

    Parameters
    ----------
    thresholds : array-like of float in [0, 1), shape (n_thresholds,)
        Threshold probabilities ``pt``.

    Returns
    -------
    ndarray of float64, shape (n_thresholds,)
        Zeros.
    """
    return np.zeros_like(_check_thresholds(thresholds))
