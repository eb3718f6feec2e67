"""Percentile bootstrap confidence intervals: a vectorised one for the AUC, and a generic one.

Resampling is stratified by default (cases and controls, or each class, resampled
separately so that every replicate keeps the sample's class counts), as pROC's
``boot.stratified = TRUE``. Percentiles use linear interpolation (R's quantile type 7,
NumPy's default), as pROC does. Results are reproducible for a given ``seed`` and
input.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from zoo.metrics._validation import (
    UndefinedMetricWarning,
    as_1d,
    both_classes_present,
    check_alpha,
    check_binary_inputs,
    check_same_length,
    warn_undefined,
)
from zoo.metrics.roc import roc_auc

__all__ = ["auc_ci_bootstrap", "bootstrap_ci"]

_CHUNK_ELEMENTS = 4_000_000  # replicate rows per chunk * samples: bounds memory to ~100 MB


def _check_n_boot(n_boot: int) -> int:
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer; got {n_boot!r}")
    return int(n_boot)


def _resample_counts(rng: np.random.Generator, n_rows: int, size: int) -> NDArray[np.int64]:
    """How often each of ``size`` items is drawn in each of ``n_rows`` resamples."""
    idx = rng.integers(0, size, size=(n_rows, size))
    idx += np.arange(n_rows)[:, np.newaxis] * size
    return np.bincount(idx.ravel(), minlength=n_rows * size).reshape(n_rows, size)


def _bootstrap_aucs(
    y: NDArray[np.bool_],
    s: NDArray[np.float64],
    n_boot: int,
    rng: np.random.Generator,
    stratified: bool,
) -> NDArray[np.float64]:
    """AUC of each bootstrap replicate, computed from resampling weights (NaN: one class).

    A replicate's AUC is ``sum_i u_i H_i / (m_b n_b)`` where ``u_i`` is how often case
    ``i`` was drawn and ``H_i`` the weighted count of drawn controls below it (ties 1/2),
    read off a cumulative sum of the control weights in score order.
    """
    case_pos = np.flatnonzero(y)
    ctrl_pos = np.flatnonzero(~y)
    ctrl_order = ctrl_pos[np.argsort(s[ctrl_pos], kind="stable")]
    ctrl_sorted = s[ctrl_order]
    case_scores = s[case_pos]
    lo = np.searchsorted(ctrl_sorted, case_scores, side="left")
    hi = np.searchsorted(ctrl_sorted, case_scores, side="right")
    m, n = len(case_pos), len(ctrl_pos)
    chunk = max(1, _CHUNK_ELEMENTS // (m + n))
    out = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - start)
        if stratified:
            u = _resample_counts(rng, rows, m)
            w = _resample_counts(rng, rows, n)
        else:
            counts = _resample_counts(rng, rows, m + n)
            u = counts[:, case_pos]
            w = counts[:, ctrl_order]
        cum = np.zeros((rows, n + 1))
        np.cumsum(w, axis=1, out=cum[:, 1:])
        below = 0.5 * (cum[:, lo] + cum[:, hi])
        pairs = u.sum(axis=1) * cum[:, -1]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + rows] = np.einsum("ij,ij->i", u, below) / pairs
    return out


def _interval(
    replicates: NDArray[np.float64], alpha: float, who: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Percentile bounds along axis 0, ignoring NaN replicates (with a warning)."""
    nan = np.isnan(replicates)
    if nan.all(axis=0).any():
        warn_undefined(f"{who}: the metric is undefined in every bootstrap replicate; NaN")
    elif nan.any():
        n_bad = int(nan.reshape(len(replicates), -1).any(axis=1).sum())
        warn_undefined(
            f"{who}: the metric is undefined in {n_bad} of {len(replicates)} bootstrap "
            "replicates, which are left out"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices
        lower, upper = np.nanquantile(replicates, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)
    return lower, upper


def auc_ci_bootstrap(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int | np.random.Generator | None = 0,
    stratified: bool = True,
) -> tuple[float, float, float]:
    """AUC with a percentile bootstrap ``1 - alpha`` confidence interval.

    Vectorised: replicates are drawn as resampling counts and their AUCs computed
    without re-sorting, so 2000 replicates of 10,000 samples take a fraction of a second.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        True labels.
    y_score : array-like of float, shape (n_samples,)
        Scores; higher means more likely positive.
    n_boot : int, default 2000
        Number of bootstrap replicates.
    alpha : float, default 0.05
        One minus the confidence level.
    seed : int, numpy Generator or None, default 0
        Seed of the resampling.
    stratified : bool, default True
        Resample cases and controls separately (keeping their numbers). Otherwise
        resample all samples together, leaving out replicates with a single class.

    Returns
    -------
    auc, lower, upper : float
        The sample AUC and the ``alpha/2`` and ``1 - alpha/2`` percentiles of the
        replicate AUCs. All NaN (with :class:`UndefinedMetricWarning`) for a single
        class.
    """
    n_boot = _check_n_boot(n_boot)
    a = check_alpha(alpha)
    y, s = check_binary_inputs(y_true, y_score)
    if not both_classes_present(y, "auc_ci_bootstrap"):
        return float("nan"), float("nan"), float("nan")
    auc = roc_auc(y, s)
    aucs = _bootstrap_aucs(y, s, n_boot, np.random.default_rng(seed), bool(stratified))
    lower, upper = _interval(aucs, a, "auc_ci_bootstrap")
    return auc, float(lower), float(upper)


def bootstrap_ci(
    metric_fn: Callable[[NDArray[Any], NDArray[Any]], ArrayLike],
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int | np.random.Generator | None = 0,
    stratified: bool = True,
) -> tuple[Any, Any, Any]:
    """Percentile bootstrap CI of any metric ``metric_fn(y_true, y_score)``.

    Parameters
    ----------
    metric_fn : callable
        ``metric_fn(y_true_resampled, y_score_resampled)`` returning a number or a
        fixed-shape array of numbers (e.g. sensitivity and specificity together). NaN
        results mark undefined replicates, which are left out; warnings of
        :class:`UndefinedMetricWarning` inside replicates are silenced.
    y_true : array-like, shape (n_samples,)
        Labels (binary or multi-class); stratification is over their distinct values.
    y_score : array-like, shape (n_samples, ...)
        Scores, probabilities or predictions; resampled along the first axis.
    n_boot : int, default 2000
        Number of bootstrap replicates.
    alpha : float, default 0.05
        One minus the confidence level.
    seed : int, numpy Generator or None, default 0
        Seed of the resampling.
    stratified : bool, default True
        Resample each class separately, keeping the class counts.

    Returns
    -------
    estimate, lower, upper : float, or ndarray of the metric's shape
        ``metric_fn`` on the full sample and the percentile bounds.
    """
    n_boot = _check_n_boot(n_boot)
    a = check_alpha(alpha)
    y = as_1d(y_true, "y_true")
    s = np.asarray(y_score)
    if s.ndim == 0:
        raise ValueError(f"y_score must have at least one dimension; got {y_score!r}")
    check_same_length(y_true=y, y_score=s)
    estimate = np.asarray(metric_fn(y, s), dtype=np.float64)
    rng = np.random.default_rng(seed)
    if stratified:
        _, inverse = np.unique(y, return_inverse=True)
        groups = [np.flatnonzero(inverse == g) for g in range(inverse.max() + 1)]
    else:
        groups = [np.arange(len(y))]
    replicates = np.empty((n_boot, *estimate.shape))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        for b in range(n_boot):
            idx = np.concatenate([g[rng.integers(0, len(g), size=len(g))] for g in groups])
            replicates[b] = metric_fn(y[idx], s[idx])
    lower, upper = _interval(replicates, a, "bootstrap_ci")
    if estimate.ndim == 0:
        return float(estimate), float(lower), float(upper)
    return estimate, lower, upper
