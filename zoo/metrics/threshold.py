"""Confusion counts and derived metrics at a score threshold, and operating points.

A sample is predicted positive when its score is >= the threshold. :class:`ThresholdTable`
sorts the scores once (O(n log n)) and then answers any threshold, or a vector of them,
in O(log n) each with :func:`numpy.searchsorted`; the plain functions here are thin
wrappers around it or compute the counts directly.

Operating points are searched among the candidate thresholds ``inf`` (nothing predicted
positive) and every distinct score; a threshold between two distinct scores behaves as
the next distinct score above it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from zoo.metrics._validation import (
    check_binary_inputs,
    check_fraction,
    check_prevalence,
    warn_undefined,
)

__all__ = [
    "METRIC_NAMES",
    "ConfusionCounts",
    "ThresholdTable",
    "card_operating_points",
    "confusion_at",
    "min_cost_threshold",
    "threshold_for_sensitivity",
    "threshold_for_specificity",
    "threshold_metrics",
    "youden_threshold",
]

#: Keys of the dictionaries returned by :func:`threshold_metrics` and ThresholdTable.at.
METRIC_NAMES = (
    "threshold",
    "tp",
    "fp",
    "tn",
    "fn",
    "sensitivity",
    "specificity",
    "ppv",
    "npv",
    "f1",
    "accuracy",
    "balanced_accuracy",
)

_COUNT_NAMES = ("tp", "fp", "tn", "fn")


class ConfusionCounts(NamedTuple):
    """Binary confusion counts at one threshold."""

    tp: int
    fp: int
    tn: int
    fn: int


def _check_threshold(threshold: ArrayLike) -> NDArray[np.float64]:
    t = np.asarray(threshold, dtype=np.float64)
    if np.isnan(t).any():
        raise ValueError(f"threshold must not be NaN; got {threshold!r}")
    return t


def _divide(num: NDArray, den: NDArray) -> NDArray[np.float64]:
    """``num / den`` elementwise, NaN where ``den == 0``."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _metrics_from_counts(
    tp: ArrayLike,
    fp: ArrayLike,
    tn: ArrayLike,
    fn: ArrayLike,
    *,
    prevalence: float | None = None,
) -> dict[str, NDArray[np.float64]]:
    """Rates derived from confusion counts, vectorised; NaN where a denominator is 0.

    Parameters
    ----------
    tp, fp, tn, fn : array-like of int, broadcastable shapes
        Confusion counts.
    prevalence : float in (0, 1), optional
        If given, PPV and NPV are computed by Bayes' rule from sensitivity,
        specificity and this prevalence instead of from the counts.

    Returns
    -------
    dict of str to ndarray of float64
        sensitivity, specificity, ppv, npv, f1, accuracy, balanced_accuracy.
    """
    tp, fp, tn, fn = (np.asarray(c) for c in (tp, fp, tn, fn))
    sens = _divide(tp, tp + fn)
    spec = _divide(tn, tn + fp)
    if prevalence is None:
        ppv = _divide(tp, tp + fp)
        npv = _divide(tn, tn + fn)
    else:
        pos = sens * prevalence
        neg = spec * (1.0 - prevalence)
        ppv = _divide(pos, pos + (1.0 - spec) * (1.0 - prevalence))
        npv = _divide(neg, neg + (1.0 - sens) * prevalence)
    return {
        "sensitivity": sens,
        "specificity": spec,
        "ppv": ppv,
        "npv": npv,
        "f1": _divide(2 * tp, 2 * tp + fp + fn),
        "accuracy": _divide(tp + tn, tp + fp + tn + fn),
        "balanced_accuracy": (sens + spec) / 2.0,
    }


def _as_output(counts: dict[str, NDArray], rates: dict[str, NDArray], t: NDArray) -> dict[str, Any]:
    out: dict[str, Any] = {"threshold": t, **counts, **rates}
    if t.ndim == 0:
        return {k: (int(v) if k in _COUNT_NAMES else float(v)) for k, v in out.items()}
    return out


class ThresholdTable:
    """All threshold statistics of one score, precomputed for fast repeated queries.

    Building sorts the scores and takes a cumulative sum of the labels (O(n log n));
    afterwards :meth:`at` answers any threshold in O(log n) and :meth:`curve` gives the
    statistics at every distinct score in O(n). Meant for interactive use (a slider):
    undefined ratios (PPV when nothing is predicted positive, sensitivity without
    positives...) come back as NaN without a warning, whereas :func:`threshold_metrics`
    warns; the operating-point methods warn as their module-level counterparts do.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        True labels.
    y_score : array-like of float, shape (n_samples,)
        Scores; predicted positive when ``score >= threshold``.

    Attributes
    ----------
    n_pos, n_neg : int
        Numbers of positives and negatives.
    thresholds : ndarray of float64, shape (n_distinct + 1,)
        Candidate thresholds: ``inf`` then the distinct scores in decreasing order.
    """

    def __init__(self, y_true: ArrayLike, y_score: ArrayLike) -> None:
        y, s = check_binary_inputs(y_true, y_score)
        order = np.argsort(s, kind="stable")
        self._sorted = s[order]
        cum_pos = np.empty(len(s) + 1, dtype=np.int64)
        cum_pos[0] = 0
        np.cumsum(y[order], out=cum_pos[1:])
        self._cum_pos = cum_pos  # positives among the k lowest scores
        self.n_pos = int(cum_pos[-1])
        self.n_neg = len(s) - self.n_pos
        starts = np.flatnonzero(np.diff(self._sorted, prepend=-np.inf) != 0)
        # thresholds in decreasing order: inf, then distinct scores high to low;
        # number of samples scoring below each of them:
        self._below = np.concatenate(([len(s)], starts[::-1]))
        self.thresholds = np.concatenate(([np.inf], self._sorted[starts[::-1]]))

    def __len__(self) -> int:
        return len(self._sorted)

    def _counts_from_below(self, below: NDArray[np.intp]) -> dict[str, NDArray[np.int64]]:
        fn = self._cum_pos[below]
        tn = below - fn
        return {"tp": self.n_pos - fn, "fp": self.n_neg - tn, "tn": tn, "fn": fn}

    def counts(self, threshold: ArrayLike) -> dict[str, NDArray[np.int64]]:
        """Confusion counts at ``threshold`` (scalar or array), O(log n) per threshold.

        Returns
        -------
        dict of str to ndarray of int64
            tp, fp, tn, fn, each of the shape of ``threshold``.
        """
        t = _check_threshold(threshold)
        below = np.searchsorted(self._sorted, t, side="left")
        return self._counts_from_below(below)

    def at(self, threshold: ArrayLike, *, prevalence: float | None = None) -> dict[str, Any]:
        """All statistics at ``threshold``.

        Parameters
        ----------
        threshold : float or array-like of float, shape (n_thresholds,)
            Threshold(s); ±inf allowed, NaN rejected.
        prevalence : float in (0, 1), optional
            Re-weight PPV and NPV by Bayes' rule to this prevalence.

        Returns
        -------
        dict
            Keys :data:`METRIC_NAMES`. For a scalar threshold, ints (counts) and floats;
            for an array, arrays of its shape. Undefined ratios are NaN.
        """
        prev = check_prevalence(prevalence)
        t = _check_threshold(threshold)
        counts = self.counts(t)
        return _as_output(counts, _metrics_from_counts(**counts, prevalence=prev), t)

    def curve(self, *, prevalence: float | None = None) -> dict[str, NDArray]:
        """Statistics at every candidate threshold (:attr:`thresholds`), in O(n).

        Returns
        -------
        dict of str to ndarray, each of shape (n_distinct + 1,)
            Keys :data:`METRIC_NAMES`; ``threshold`` is :attr:`thresholds`.
        """
        prev = check_prevalence(prevalence)
        counts = self._counts_from_below(self._below)
        rates = _metrics_from_counts(**counts, prevalence=prev)
        return {"threshold": self.thresholds, **counts, **rates}

    # -- operating points ------------------------------------------------------------

    def _need_both(self, what: str) -> bool:
        if self.n_pos and self.n_neg:
            return True
        warn_undefined(
            f"{what} is undefined when y_true holds a single class "
            f"({self.n_pos} positive(s), {self.n_neg} negative(s)); returning NaN"
        )
        return False

    def _sens_spec(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        c = self._counts_from_below(self._below)
        return c["tp"] / self.n_pos, c["tn"] / self.n_neg

    def youden_threshold(self) -> float:
        """Threshold maximising Youden's J = sensitivity + specificity - 1.

        Ties go to the highest threshold. NaN (with a warning) for a single class.
        """
        if not self._need_both("youden_threshold"):
            return float("nan")
        sens, spec = self._sens_spec()
        return float(self.thresholds[int(np.argmax(sens + spec))])

    def threshold_for_sensitivity(self, target: float) -> float:
        """Highest threshold whose sensitivity is >= ``target`` (in [0, 1]).

        NaN (with a warning) when there are no positives.
        """
        target = check_fraction(target, "target sensitivity")
        if self.n_pos == 0:
            warn_undefined("threshold_for_sensitivity: no positive samples; returning NaN")
            return float("nan")
        tp = self.n_pos - self._cum_pos[self._below]
        # sensitivity increases along the (decreasing) thresholds; the lowest one has 1
        return float(self.thresholds[int(np.argmax(tp / self.n_pos >= target))])

    def threshold_for_specificity(self, target: float) -> float:
        """Lowest threshold whose specificity is >= ``target`` (in [0, 1]).

        NaN (with a warning) when there are no negatives.
        """
        target = check_fraction(target, "target specificity")
        if self.n_neg == 0:
            warn_undefined("threshold_for_specificity: no negative samples; returning NaN")
            return float("nan")
        tn = self._below - self._cum_pos[self._below]
        ok = tn / self.n_neg >= target  # True on a prefix (inf always qualifies)
        return float(self.thresholds[int(np.count_nonzero(ok)) - 1])

    def min_cost_threshold(
        self, *, cost_fn_fp_ratio: float, prevalence: float | None = None
    ) -> float:
        """Threshold minimising ``ratio * prev * (1 - sens) + (1 - prev) * (1 - spec)``.

        Parameters
        ----------
        cost_fn_fp_ratio : float > 0
            Cost of a false negative divided by the cost of a false positive.
        prevalence : float in (0, 1), optional
            Prevalence to weigh the errors with; default the sample's.

        Returns
        -------
        float
            The cheapest candidate threshold, the highest among ties; NaN (with a
            warning) for a single class.
        """
        ratio = float(cost_fn_fp_ratio)
        if not (np.isfinite(ratio) and ratio > 0):
            raise ValueError(f"cost_fn_fp_ratio must be a positive finite number; got {ratio!r}")
        prev = check_prevalence(prevalence)
        if not self._need_both("min_cost_threshold"):
            return float("nan")
        if prev is None:
            prev = self.n_pos / len(self)
        sens, spec = self._sens_spec()
        cost = ratio * prev * (1.0 - sens) + (1.0 - prev) * (1.0 - spec)
        return float(self.thresholds[int(np.argmin(cost))])


def confusion_at(y_true: ArrayLike, y_score: ArrayLike, threshold: float) -> ConfusionCounts:
    """Confusion counts when predicting positive for ``score >= threshold``.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        True labels.
    y_score : array-like of float, shape (n_samples,)
        Scores.
    threshold : float
        Decision threshold; ±inf allowed, NaN rejected.

    Returns
    -------
    ConfusionCounts
        ``(tp, fp, tn, fn)`` as ints.
    """
    y, s = check_binary_inputs(y_true, y_score)
    t = _check_threshold(threshold)
    if t.ndim != 0:
        raise ValueError(f"threshold must be a scalar; got shape {t.shape}")
    pred = s >= t
    tp = int(np.count_nonzero(pred & y))
    fp = int(np.count_nonzero(pred)) - tp
    fn = int(np.count_nonzero(y)) - tp
    return ConfusionCounts(tp, fp, len(y) - tp - fp - fn, fn)


def threshold_metrics(
    y_true: ArrayLike,
    y_score: ArrayLike,
    threshold: float,
    *,
    prevalence: float | None = None,
) -> dict[str, Any]:
    """Counts, sensitivity, specificity, PPV, NPV, F1 and accuracies at a threshold.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        True labels.
    y_score : array-like of float, shape (n_samples,)
        Scores; predicted positive when ``score >= threshold``.
    threshold : float
        Decision threshold.
    prevalence : float in (0, 1), optional
        If given, PPV and NPV are re-weighted by Bayes' rule,
        ``PPV = sens p / (sens p + (1 - spec)(1 - p))`` and
        ``NPV = spec (1 - p) / (spec (1 - p) + (1 - sens) p)``; the other metrics
        (F1 and accuracy included) stay those of the sample.

    Returns
    -------
    dict
        Keys :data:`METRIC_NAMES`: ``threshold`` (float), ``tp, fp, tn, fn`` (int) and
        the rates (float). A rate whose denominator is 0 is NaN, with an
        :class:`UndefinedMetricWarning` naming it.
    """
    prev = check_prevalence(prevalence)
    counts = confusion_at(y_true, y_score, threshold)
    arrays = {k: np.asarray(v) for k, v in counts._asdict().items()}
    rates = _metrics_from_counts(**arrays, prevalence=prev)
    out = _as_output(arrays, rates, np.asarray(float(threshold)))
    undefined = [k for k in rates if np.isnan(out[k])]
    if undefined:
        warn_undefined(
            f"threshold_metrics: {', '.join(undefined)} undefined at threshold {threshold!r} "
            f"(tp={counts.tp}, fp={counts.fp}, tn={counts.tn}, fn={counts.fn}); returning NaN"
        )
    return out


def youden_threshold(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Threshold maximising Youden's J; see :meth:`ThresholdTable.youden_threshold`."""
    return ThresholdTable(y_true, y_score).youden_threshold()


def threshold_for_sensitivity(y_true: ArrayLike, y_score: ArrayLike, target: float) -> float:
    """Highest threshold with sensitivity >= ``target``.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        True labels.
    y_score : array-like of float, shape (n_samples,)
        Scores.
    target : float in [0, 1]
        Required sensitivity.

    Returns
    -------
    float
        A distinct score, or ``inf`` when ``target == 0``; NaN (with a warning) when
        there are no positives.
    """
    return ThresholdTable(y_true, y_score).threshold_for_sensitivity(target)


def threshold_for_specificity(y_true: ArrayLike, y_score: ArrayLike, target: float) -> float:
    """Lowest threshold with specificity >= ``target``.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        True labels.
    y_score : array-like of float, shape (n_samples,)
        Scores.
    target : float in [0, 1]
        Required specificity.

    Returns
    -------
    float
        A distinct score, or ``inf`` if only predicting nothing positive reaches the
        target; NaN (with a warning) when there are no negatives.
    """
    return ThresholdTable(y_true, y_score).threshold_for_specificity(target)


def min_cost_threshold(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    cost_fn_fp_ratio: float,
    prevalence: float | None = None,
) -> float:
    """Threshold minimising expected misclassification cost.

    See :meth:`ThresholdTable.min_cost_threshold`.
    """
    return ThresholdTable(y_true, y_score).min_cost_threshold(
        cost_fn_fp_ratio=cost_fn_fp_ratio, prevalence=prevalence
    )


def card_operating_points(y_true: ArrayLike, y_score: ArrayLike) -> dict[str, float]:
    """The operating points a card records (chosen on validation): Youden's J and the
    thresholds reaching 90% / 95% sensitivity and specificity; ones no threshold reaches
    are left out."""
    table = ThresholdTable(y_true, y_score)
    points = {
        "youden": table.youden_threshold(),
        "sensitivity_90": table.threshold_for_sensitivity(0.90),
        "sensitivity_95": table.threshold_for_sensitivity(0.95),
        "specificity_90": table.threshold_for_specificity(0.90),
        "specificity_95": table.threshold_for_specificity(0.95),
    }
    return {k: float(min(1.0, max(0.0, v))) for k, v in points.items() if np.isfinite(v)}
