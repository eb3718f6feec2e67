"""DeLong's nonparametric variance of the ROC AUC, its confidence interval and tests.

The placements (structural components) of DeLong, DeLong & Clarke-Pearson (1988) are
computed with the O(n log n) midrank algorithm of Sun & Xu (2014): for a case (positive)
``i`` the placement is the fraction of controls scoring below it, and for a control
``j`` the fraction of cases scoring above it, ties counting 1/2. The AUC is the mean of
either set of placements.

Variances, covariances, confidence intervals and tests follow R's pROC (Robin et al.
2011) exactly: sample variances (denominator n - 1), a normal CI clipped to [0, 1], a
Z test for paired (correlated) curves and, for unpaired curves, a D statistic with a
Welch-like number of degrees of freedom and Student's t distribution. Unlike pROC there
is no automatic "direction": higher scores always mean "more likely a case".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata
from scipy.stats import t as student_t

from zoo.metrics._validation import (
    both_classes_present,
    check_alpha,
    check_binary_inputs,
    check_binary_labels,
    check_choice,
    check_same_length,
    check_scores,
    warn_undefined,
)

__all__ = [
    "DeLongPlacements",
    "DeLongTestResult",
    "DeLongUnpairedResult",
    "auc_ci_delong",
    "delong_covariance",
    "delong_placements",
    "delong_test_paired",
    "delong_test_unpaired",
    "delong_variance",
]

_ALTERNATIVES = ("two-sided", "greater", "less")


@dataclass(frozen=True)
class DeLongPlacements:
    """DeLong placements (structural components) of one score.

    Attributes
    ----------
    auc : float
        The ROC AUC, equal to ``cases.mean()`` and ``controls.mean()``.
    cases : ndarray of float64, shape (n_cases,)
        For each case (``y_true == 1``, in input order), the fraction of controls with a
        lower score plus half the fraction with an equal one (pROC's ``X``, V10).
    controls : ndarray of float64, shape (n_controls,)
        For each control (``y_true == 0``, in input order), the fraction of cases with
        a higher score plus half the fraction with an equal one (pROC's ``Y``, V01).
    """

    auc: float
    cases: NDArray[np.float64]
    controls: NDArray[np.float64]


@dataclass(frozen=True)
class DeLongTestResult:
    """DeLong's test for two correlated (paired) ROC curves.

    Attributes
    ----------
    auc_a, auc_b : float
        AUCs of the two scores.
    difference : float
        ``auc_a - auc_b``.
    z : float
        ``difference / sqrt(var(auc_a) + var(auc_b) - 2 cov(auc_a, auc_b))``.
    p_value : float
        P-value for the requested alternative.
    ci_low, ci_high : float
        Two-sided ``1 - alpha`` normal confidence interval of the difference (as pROC
        reports it, whatever the alternative).
    """

    auc_a: float
    auc_b: float
    difference: float
    z: float
    p_value: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class DeLongUnpairedResult:
    """DeLong's test for two ROC curves on independent samples (pROC's "D" test).

    Attributes
    ----------
    auc_a, auc_b : float
        AUCs of the two scores.
    difference : float
        ``auc_a - auc_b``.
    d : float
        ``difference / sqrt(var(auc_a) + var(auc_b))``.
    df : float
        Welch-Satterthwaite-like degrees of freedom
        ``(Va + Vb)^2 / (Va^2 / (n_a - 1) + Vb^2 / (n_b - 1))``.
    p_value : float
        P-value from Student's t with ``df`` degrees of freedom.
    ci_low, ci_high : float
        Two-sided ``1 - alpha`` interval of the difference,
        ``difference -/+ t_{df}(1 - alpha/2) * sqrt(Va + Vb)`` (pROC gives none).
    """

    auc_a: float
    auc_b: float
    difference: float
    d: float
    df: float
    p_value: float
    ci_low: float
    ci_high: float


def _placements(
    y: NDArray[np.bool_], scores: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Midrank placements of K scores; both classes must be present.

    Parameters
    ----------
    y : ndarray of bool, shape (n_samples,)
    scores : ndarray of float64, shape (K, n_samples)

    Returns
    -------
    aucs : ndarray, shape (K,)
    v10 : ndarray, shape (K, n_cases)
    v01 : ndarray, shape (K, n_controls)
    """
    m = int(np.count_nonzero(y))
    n = y.shape[0] - m
    cases = scores[:, y]
    controls = scores[:, ~y]
    tz = rankdata(scores, axis=1)
    tx = rankdata(cases, axis=1)
    ty = rankdata(controls, axis=1)
    tz_cases = tz[:, y]
    v10 = (tz_cases - tx) / n
    v01 = 1.0 - (tz[:, ~y] - ty) / m
    aucs = (tz_cases.sum(axis=1) - m * (m + 1) / 2.0) / (m * n)
    return aucs, v10, v01


def _sample_cov(v: NDArray[np.float64]) -> NDArray[np.float64]:
    """Sample covariance (denominator N - 1) of the rows of ``v``, shape (K, N) -> (K, K)."""
    centred = v - v.mean(axis=1, keepdims=True)
    return centred @ centred.T / (v.shape[1] - 1)


def _covariance_from_placements(
    v10: NDArray[np.float64], v01: NDArray[np.float64], who: str
) -> NDArray[np.float64]:
    """DeLong covariance ``S10 / m + S01 / n``, NaN with a warning if m or n < 2."""
    m, n = v10.shape[1], v01.shape[1]
    k = v10.shape[0]
    if m < 2 or n < 2:
        warn_undefined(
            f"{who}: DeLong variance needs at least 2 cases and 2 controls "
            f"(got {m} case(s), {n} control(s)); returning NaN"
        )
        return np.full((k, k), np.nan)
    return _sample_cov(v10) / m + _sample_cov(v01) / n


def _stack_scores(scores: ArrayLike | Sequence[ArrayLike]) -> NDArray[np.float64]:
    """Validated (K, n_samples) float64 matrix from a 2-D array or a list of 1-D arrays."""
    if isinstance(scores, np.ndarray) and scores.ndim == 2:
        rows = list(scores)
    elif isinstance(scores, np.ndarray):
        raise ValueError(f"scores must be 2-D (n_scores, n_samples); got shape {scores.shape}")
    else:
        rows = list(scores)
    if not rows:
        raise ValueError("scores is empty: give at least one score")
    checked = [check_scores(r, f"scores[{i}]") for i, r in enumerate(rows)]
    check_same_length(**{f"scores[{i}]": r for i, r in enumerate(checked)})
    return np.vstack(checked)


def delong_placements(y_true: ArrayLike, y_score: ArrayLike) -> DeLongPlacements:
    """DeLong placements of one score by the midrank algorithm of Sun & Xu (2014).

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        1 = case (positive), 0 = control (negative).
    y_score : array-like of float, shape (n_samples,)
        Scores; higher means more likely a case.

    Returns
    -------
    DeLongPlacements
        AUC and the placements of the cases and of the controls. If only one class is
        present, warns with :class:`UndefinedMetricWarning` and returns NaN AUC and
        empty placements.
    """
    y, s = check_binary_inputs(y_true, y_score)
    if not both_classes_present(y, "delong_placements"):
        empty = np.empty(0)
        return DeLongPlacements(float("nan"), empty, empty)
    aucs, v10, v01 = _placements(y, s[np.newaxis, :])
    return DeLongPlacements(float(aucs[0]), v10[0], v01[0])


def delong_covariance(
    y_true: ArrayLike, scores: ArrayLike | Sequence[ArrayLike]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """AUCs of K scores of the same samples and DeLong's covariance matrix of them.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        1 = case, 0 = control.
    scores : array-like, shape (K, n_samples), or a sequence of K 1-D arrays
        The scores to compare, one row per score.

    Returns
    -------
    aucs : ndarray of float64, shape (K,)
        AUC of each score.
    cov : ndarray of float64, shape (K, K)
        ``cov(V10) / n_cases + cov(V01) / n_controls`` with sample covariances, the
        variances on the diagonal. NaN (with a warning) for a single class, or with
        fewer than 2 cases or 2 controls.
    """
    y = check_binary_labels(y_true)
    s = _stack_scores(scores)
    check_same_length(y_true=y, scores=s[0])
    k = s.shape[0]
    if not both_classes_present(y, "delong_covariance"):
        return np.full(k, np.nan), np.full((k, k), np.nan)
    aucs, v10, v01 = _placements(y, s)
    return aucs, _covariance_from_placements(v10, v01, "delong_covariance")


def delong_variance(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """DeLong variance of the AUC: ``var(V01) / n_controls + var(V10) / n_cases``.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        1 = case, 0 = control.
    y_score : array-like of float, shape (n_samples,)
        Scores; higher means more likely a case.

    Returns
    -------
    float
        The variance (sample variances of the placements, as pROC's ``var``); NaN with
        :class:`UndefinedMetricWarning` for a single class or fewer than 2 of either.
    """
    y, s = check_binary_inputs(y_true, y_score)
    if not both_classes_present(y, "delong_variance"):
        return float("nan")
    _, v10, v01 = _placements(y, s[np.newaxis, :])
    return float(_covariance_from_placements(v10, v01, "delong_variance")[0, 0])


def auc_ci_delong(
    y_true: ArrayLike, y_score: ArrayLike, *, alpha: float = 0.05
) -> tuple[float, float, float]:
    """AUC with DeLong's normal ``1 - alpha`` confidence interval, clipped to [0, 1].

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        1 = case, 0 = control.
    y_score : array-like of float, shape (n_samples,)
        Scores; higher means more likely a case.
    alpha : float, default 0.05
        One minus the confidence level.

    Returns
    -------
    auc, lower, upper : float
        ``auc -/+ z_{1 - alpha/2} * sqrt(delong_variance)`` clipped to [0, 1]. All NaN
        for a single class; bounds NaN with fewer than 2 cases or 2 controls (both with
        :class:`UndefinedMetricWarning`).
    """
    a = check_alpha(alpha)
    y, s = check_binary_inputs(y_true, y_score)
    if not both_classes_present(y, "auc_ci_delong"):
        return float("nan"), float("nan"), float("nan")
    aucs, v10, v01 = _placements(y, s[np.newaxis, :])
    auc = float(aucs[0])
    var = float(_covariance_from_placements(v10, v01, "auc_ci_delong")[0, 0])
    half = float(ndtri(1.0 - a / 2.0)) * np.sqrt(max(var, 0.0))
    lower = float(np.clip(auc - half, 0.0, 1.0))
    upper = float(np.clip(auc + half, 0.0, 1.0))
    return auc, lower, upper


def _p_value_normal(z: float, alternative: str) -> float:
    if alternative == "two-sided":
        return float(2.0 * ndtr(-abs(z)))
    if alternative == "greater":
        return float(ndtr(-z))
    return float(ndtr(z))


def _p_value_t(d: float, df: float, alternative: str) -> float:
    if alternative == "two-sided":
        return float(2.0 * student_t.sf(abs(d), df))
    if alternative == "greater":
        return float(student_t.sf(d, df))
    return float(student_t.cdf(d, df))


def _ratio(difference: float, se: float, who: str) -> float:
    """``difference / se``, with 0/0 reported as undefined (NaN)."""
    if np.isnan(se) or np.isnan(difference):
        return float("nan")
    if se == 0.0:
        if difference == 0.0:
            warn_undefined(f"{who}: zero variance and zero difference; statistic is NaN")
            return float("nan")
        return float(np.copysign(np.inf, difference))
    return difference / se


def delong_test_paired(
    y_true: ArrayLike,
    score_a: ArrayLike,
    score_b: ArrayLike,
    *,
    alternative: str = "two-sided",
    alpha: float = 0.05,
) -> DeLongTestResult:
    """DeLong's Z test comparing the AUCs of two scores of the same samples.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        1 = case, 0 = control.
    score_a, score_b : array-like of float, shape (n_samples,)
        The two scores; higher means more likely a case.
    alternative : {"two-sided", "greater", "less"}, default "two-sided"
        "greater" tests ``auc_a > auc_b``; "less" tests ``auc_a < auc_b``.
    alpha : float, default 0.05
        One minus the confidence level of the CI of the difference.

    Returns
    -------
    DeLongTestResult
        All fields NaN (with :class:`UndefinedMetricWarning`) for a single class.
    """
    check_choice(alternative, "alternative", _ALTERNATIVES)
    a = check_alpha(alpha)
    y = check_binary_labels(y_true)
    sa = check_scores(score_a, "score_a")
    sb = check_scores(score_b, "score_b")
    check_same_length(y_true=y, score_a=sa, score_b=sb)
    if not both_classes_present(y, "delong_test_paired"):
        nan = float("nan")
        return DeLongTestResult(nan, nan, nan, nan, nan, nan, nan)
    aucs, v10, v01 = _placements(y, np.vstack((sa, sb)))
    cov = _covariance_from_placements(v10, v01, "delong_test_paired")
    var_diff = cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1]
    se = float(np.sqrt(max(var_diff, 0.0))) if not np.isnan(var_diff) else float("nan")
    diff = float(aucs[0] - aucs[1])
    z = _ratio(diff, se, "delong_test_paired")
    p = _p_value_normal(z, alternative) if not np.isnan(z) else float("nan")
    half = float(ndtri(1.0 - a / 2.0)) * se
    return DeLongTestResult(
        auc_a=float(aucs[0]),
        auc_b=float(aucs[1]),
        difference=diff,
        z=z,
        p_value=p,
        ci_low=diff - half,
        ci_high=diff + half,
    )


def _auc_and_variance(y_true: ArrayLike, y_score: ArrayLike, who: str) -> tuple[float, float, int]:
    y, s = check_binary_inputs(y_true, y_score)
    if not both_classes_present(y, who):
        return float("nan"), float("nan"), len(y)
    aucs, v10, v01 = _placements(y, s[np.newaxis, :])
    var = float(_covariance_from_placements(v10, v01, who)[0, 0])
    return float(aucs[0]), var, len(y)


def delong_test_unpaired(
    y_a: ArrayLike,
    score_a: ArrayLike,
    y_b: ArrayLike,
    score_b: ArrayLike,
    *,
    alternative: str = "two-sided",
    alpha: float = 0.05,
) -> DeLongUnpairedResult:
    """DeLong's test comparing the AUCs of two scores on independent samples.

    ``D = (auc_a - auc_b) / sqrt(Va + Vb)`` against Student's t with
    ``df = (Va + Vb)^2 / (Va^2 / (n_a - 1) + Vb^2 / (n_b - 1))``, as pROC's
    ``roc.test(..., paired = FALSE, method = "delong")``.

    Parameters
    ----------
    y_a : array-like of {0, 1} or bool, shape (n_a,)
        Labels of the first sample.
    score_a : array-like of float, shape (n_a,)
        Scores of the first sample.
    y_b : array-like of {0, 1} or bool, shape (n_b,)
        Labels of the second sample.
    score_b : array-like of float, shape (n_b,)
        Scores of the second sample.
    alternative : {"two-sided", "greater", "less"}, default "two-sided"
        "greater" tests ``auc_a > auc_b``; "less" tests ``auc_a < auc_b``.
    alpha : float, default 0.05
        One minus the confidence level of the CI of the difference.

    Returns
    -------
    DeLongUnpairedResult
        NaN fields (with :class:`UndefinedMetricWarning`) when either sample holds a
        single class or fewer than 2 cases or 2 controls.
    """
    check_choice(alternative, "alternative", _ALTERNATIVES)
    a = check_alpha(alpha)
    auc_a, var_a, n_a = _auc_and_variance(y_a, score_a, "delong_test_unpaired (sample a)")
    auc_b, var_b, n_b = _auc_and_variance(y_b, score_b, "delong_test_unpaired (sample b)")
    diff = auc_a - auc_b
    var = var_a + var_b
    se = float(np.sqrt(var)) if not np.isnan(var) else float("nan")
    d = _ratio(diff, se, "delong_test_unpaired")
    if np.isnan(var):
        df = float("nan")
    elif var == 0.0:
        df = float("inf")  # 0/0; only reached with an infinite (or NaN) D
    else:
        df = var**2 / (var_a**2 / (n_a - 1) + var_b**2 / (n_b - 1))
    if np.isnan(d) or np.isnan(df):
        p = float("nan")
        half = float("nan")
    else:
        p = _p_value_t(d, df, alternative)
        half = float(student_t.ppf(1.0 - a / 2.0, df)) * se
    return DeLongUnpairedResult(
        auc_a=auc_a,
        auc_b=auc_b,
        difference=diff,
        d=d,
        df=df,
        p_value=p,
        ci_low=diff - half,
        ci_high=diff + half,
    )
