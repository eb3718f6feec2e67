"""Subgroup (bias) analysis: a binary score's metrics sliced by a metadata column.

A labelled set is cut into slices by one metadata column (the view AP/PA or the source
collection of NIH chest X-rays; sex, age band, scanner or site of a user's CSV). Each
slice gets its AUC with a DeLong CI and its sensitivity and specificity at the threshold
with Wilson CIs; then, for each metric, the two slices furthest apart are compared:

* AUC: DeLong's test for independent samples (:func:`zoo.metrics.delong_test_unpaired`,
  pROC's unpaired "D" test), which gives a CI of the difference and a p-value;
* sensitivity, specificity: Newcombe's hybrid score interval (method 10 of Newcombe
  1998) for the difference of two independent proportions, which gives no p-value.

A gap is *flagged* when its ``1 - alpha`` CI excludes 0. The pair compared is picked as
the largest of all pairwise differences, and the flag is not adjusted for that choice:
with many slices, read it as a screen rather than as a test.

Multiclass models are sliced one label-vs-rest at a time by the caller, so only binary
truth and a score are needed here. Pure NumPy/SciPy/pandas, like the rest of serving.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from zoo.metrics import (
    auc_ci_delong,
    confusion_at,
    delong_test_unpaired,
    roc_auc,
    wilson_interval,
)
from zoo.metrics._validation import check_alpha, check_binary_inputs, check_same_length

__all__ = [
    "GAP_METRICS",
    "MISSING",
    "SliceGap",
    "SliceMetrics",
    "SubgroupReport",
    "bin_numeric",
    "metadata_columns",
    "newcombe_interval",
    "slice_metrics",
    "slice_values",
]

#: Label of the slice holding cases whose metadata value is missing (None, NaN, "").
MISSING = "(missing)"

#: Metrics compared between slices, in the order of :attr:`SubgroupReport.gaps`.
GAP_METRICS = ("auc", "sensitivity", "specificity")

#: Columns of the zoo's prediction tables that never slice (see ``export`` and ``cli``).
_RESERVED_COLUMNS = frozenset({"case_id", "label", "path", "predicted"})

_DASH = "–"  # en dash, as in "40–55"


@dataclass(frozen=True)
class SliceMetrics:
    """Metrics of one slice (one value of the metadata column).

    Attributes
    ----------
    value : str
        The slice's label (``"(missing)"`` for cases without a value).
    n, positives, negatives : int
        Numbers of cases, positives and negatives in the slice.
    tp, fp, tn, fn : int
        Confusion counts at the threshold (``score >= threshold`` is positive).
    auc, auc_low, auc_high : float
        ROC AUC and its DeLong ``1 - alpha`` CI; NaN when undefined (see ``auc_note``).
    auc_note : str or None
        Why the AUC or its CI is NaN, or None when both are defined.
    sensitivity, sensitivity_low, sensitivity_high : float
        ``tp / positives`` and its Wilson CI; NaN without positives.
    specificity, specificity_low, specificity_high : float
        ``tn / negatives`` and its Wilson CI; NaN without negatives.
    """

    value: str
    n: int
    positives: int
    negatives: int
    tp: int
    fp: int
    tn: int
    fn: int
    auc: float
    auc_low: float
    auc_high: float
    auc_note: str | None
    sensitivity: float
    sensitivity_low: float
    sensitivity_high: float
    specificity: float
    specificity_low: float
    specificity_high: float


@dataclass(frozen=True)
class SliceGap:
    """The largest difference of one metric between two slices, with its CI.

    Attributes
    ----------
    metric : str
        ``"auc"``, ``"sensitivity"`` or ``"specificity"``.
    best, worst : str
        Labels of the slices with the highest and the lowest value.
    best_estimate, worst_estimate : float
        The metric in those slices.
    difference : float
        ``best_estimate - worst_estimate`` (>= 0).
    ci_low, ci_high : float
        ``1 - alpha`` confidence interval of the difference (NaN if it cannot be had).
    p_value : float or None
        Two-sided p-value (DeLong's unpaired test for AUC); None for the proportions,
        whose Newcombe interval comes with no test.
    method : str
        How the interval was computed.
    flagged : bool
        True when the interval excludes 0.
    """

    metric: str
    best: str
    worst: str
    best_estimate: float
    worst_estimate: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float | None
    method: str
    flagged: bool


# Readable headers for SubgroupReport.to_frame, in column order.
_FRAME_COLUMNS = {
    "value": "Slice",
    "n": "N",
    "positives": "Positives",
    "negatives": "Negatives",
    "auc": "AUC",
    "auc_low": "AUC CI low",
    "auc_high": "AUC CI high",
    "sensitivity": "Sensitivity",
    "sensitivity_low": "Sensitivity CI low",
    "sensitivity_high": "Sensitivity CI high",
    "specificity": "Specificity",
    "specificity_low": "Specificity CI low",
    "specificity_high": "Specificity CI high",
    "tp": "TP",
    "fp": "FP",
    "tn": "TN",
    "fn": "FN",
    "auc_note": "AUC note",
}

_GAP_COLUMNS = {
    "metric": "Metric",
    "best": "Best slice",
    "worst": "Worst slice",
    "best_estimate": "Best",
    "worst_estimate": "Worst",
    "difference": "Gap",
    "ci_low": "Gap CI low",
    "ci_high": "Gap CI high",
    "p_value": "p-value",
    "method": "Method",
    "flagged": "Flagged",
}


@dataclass(frozen=True)
class SubgroupReport:
    """Per-slice metrics of a binary score and the largest gaps between slices.

    Attributes
    ----------
    column : str or None
        Name of the metadata column the slices come from, if known.
    threshold : float
        Decision threshold (``score >= threshold`` is positive).
    alpha : float
        One minus the confidence level of every interval.
    min_cases : int
        Slices with fewer cases get no AUC and take no part in the gaps.
    rows : list of SliceMetrics
        One per slice, in slice order (``"(missing)"`` last).
    gaps : dict of str to SliceGap or None
        For each of :data:`GAP_METRICS`, the largest gap, or None when fewer than two
        slices have the metric (and its CI) defined.
    """

    column: str | None
    threshold: float
    alpha: float
    min_cases: int
    rows: list[SliceMetrics] = field(default_factory=list)
    gaps: dict[str, SliceGap | None] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per slice with readable headers; numbers stay numbers (NaN if undefined)."""
        records = [
            {header: getattr(r, key) for key, header in _FRAME_COLUMNS.items()} for r in self.rows
        ]
        return pd.DataFrame.from_records(records, columns=list(_FRAME_COLUMNS.values()))

    def gaps_frame(self) -> pd.DataFrame:
        """One row per metric that has a gap, with readable headers."""
        records = [
            {header: getattr(g, key) for key, header in _GAP_COLUMNS.items()}
            for g in self.gaps.values()
            if g is not None
        ]
        return pd.DataFrame.from_records(records, columns=list(_GAP_COLUMNS.values()))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN as None) for the model card."""
        return _jsonable(
            {
                "column": self.column,
                "threshold": self.threshold,
                "alpha": self.alpha,
                "min_cases": self.min_cases,
                "rows": [asdict(r) for r in self.rows],
                "gaps": {k: None if g is None else asdict(g) for k, g in self.gaps.items()},
            }
        )


def _jsonable(value: Any) -> Any:
    """``value`` with NumPy scalars as Python ones and NaN/inf as None, recursively."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ---------------------------------------------------------------------------------------
# Newcombe's interval for a difference of independent proportions


def newcombe_interval(
    successes_a: int, total_a: int, successes_b: int, total_b: int, *, alpha: float = 0.05
) -> tuple[float, float, float]:
    """Newcombe's hybrid score interval for ``p_a - p_b``, independent samples.

    Method 10 of Newcombe (1998): with Wilson intervals ``(l_a, u_a)`` and
    ``(l_b, u_b)`` of the two proportions (no continuity correction),
    ``lower = D - sqrt((p_a - l_a)^2 + (u_b - p_b)^2)`` and
    ``upper = D + sqrt((u_a - p_a)^2 + (p_b - l_b)^2)``, where ``D = p_a - p_b``. It
    stays inside [-1, 1] and keeps its coverage near 0 and 1, unlike the Wald interval.

    Parameters
    ----------
    successes_a, total_a : int
        Successes and trials of the first sample.
    successes_b, total_b : int
        Successes and trials of the second sample.
    alpha : float, default 0.05
        One minus the confidence level.

    Returns
    -------
    difference, lower, upper : float
        All NaN when either total is 0.

    >>> tuple(round(v, 4) for v in newcombe_interval(56, 70, 48, 80))
    (0.2, 0.0524, 0.3339)
    """
    a = check_alpha(alpha)
    if total_a <= 0 or total_b <= 0:
        return (math.nan, math.nan, math.nan)
    low_a, high_a = wilson_interval(successes_a, total_a, alpha=a)
    low_b, high_b = wilson_interval(successes_b, total_b, alpha=a)
    p_a, p_b = successes_a / total_a, successes_b / total_b
    difference = p_a - p_b
    lower = difference - math.hypot(p_a - low_a, high_b - p_b)
    upper = difference + math.hypot(high_a - p_a, p_b - low_b)
    return (difference, lower, upper)


# ---------------------------------------------------------------------------------------
# Slice labels


def _missing_mask(values: pd.Series) -> NDArray[np.bool_]:
    """True where a value is missing: None, NaN, NaT, pd.NA or a blank string (CSV gaps)."""
    missing = np.array(values.isna(), dtype=bool)  # a copy: pandas may hand out read-only views
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        blank = values.map(lambda v: isinstance(v, str) and not v.strip())
        missing |= np.asarray(blank, dtype=bool)
    return missing


def _is_bool(values: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(values.dtype)


def _as_numbers(values: pd.Series) -> pd.Series | None:
    """Non-missing ``values`` as floats if they all are (or parse as) finite numbers."""
    if _is_bool(values):
        return None
    if pd.api.types.is_numeric_dtype(values.dtype):
        numbers = values.astype(np.float64)
    elif values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        # CSV metadata arrive as text: "45" should bin like 45
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.isna().any():
            return None
        numbers = numbers.astype(np.float64)
    else:
        return None
    return numbers if np.isfinite(numbers.to_numpy()).all() else None


def _format_number(x: float) -> str:
    """Short text of a number: integers without ".0", others by shortest repr."""
    if float(x).is_integer():
        return str(int(x))
    return np.format_float_positional(float(x), trim="-")


def _text_of(value: object) -> str:
    """Label of one non-missing value: text stripped, numbers as :func:`_format_number`."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    ):
        return _format_number(float(value))
    return str(value)


def _level_key(label: str) -> tuple[int, float, str]:
    """Sort key putting numeric-looking labels first, in numeric order, then the rest."""
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def _as_labels(values: pd.Series) -> pd.Series:
    """Values as an ordered categorical of text labels, ``"(missing)"`` last if present.

    A categorical input keeps its order of categories; numbers are labelled without a
    trailing ".0" and sorted numerically; other values are sorted as text (numbers
    written as text first, in numeric order).
    """
    missing = _missing_mask(values)
    present = values[~missing]
    if isinstance(values.dtype, pd.CategoricalDtype):
        used = set(present.astype(object))
        order = [str(c) for c in values.cat.categories if c in used]
        text = present.astype(object).map(str)
    elif not _is_bool(values) and pd.api.types.is_numeric_dtype(values.dtype):
        numbers = present.astype(np.float64)
        text = numbers.map(_format_number)
        order = [_format_number(v) for v in np.unique(numbers.to_numpy())]
    else:
        text = present.map(_text_of)
        order = sorted(set(text), key=_level_key)
    labels = pd.Series(MISSING, index=values.index, dtype=object, name=values.name)
    labels[~missing] = text.to_numpy(dtype=object)
    if missing.any():
        order = [*order, MISSING]
    return labels.astype(pd.CategoricalDtype(order, ordered=True))


def bin_numeric(values: ArrayLike | pd.Series, bins: int = 4) -> pd.Series:
    """Numeric values cut into quantile bands (quartiles by default) labelled "40–55".

    Edges are the ``k / bins`` quantiles (k = 0..bins) of the non-missing values,
    taken as observed values (NumPy's "inverted_cdf" method). Bands are closed on the
    right: each holds the values above its lower edge up to and including its upper
    edge, and the first also holds the minimum. Each band is labelled by the smallest
    and the largest value it holds, so a label says exactly what falls in it: ages 1 to
    100 give "1–25", "26–50", "51–75", "76–100"; a band holding a single value is
    labelled by it ("0").

    Repeated edges (heavy ties) are merged, which leaves fewer bands; when the minimum
    alone fills the first band (e.g. many zeros) it gets a band of its own ("0", then
    "1–4"...).

    Parameters
    ----------
    values : array-like or Series of numbers
        Numbers, or text that parses as numbers (as CSV metadata arrive); missing
        values (None, NaN, "") stay missing.
    bins : int, default 4
        Number of quantile bands before merging repeated edges (at least 2).

    Returns
    -------
    Series
        Ordered categorical of band labels, lowest band first, index and name of
        ``values`` kept when it is a Series; NaN where a value is missing.

    Raises
    ------
    ValueError
        If ``bins < 2``, or if a value is neither missing nor a finite number.
    """
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 2:
        raise ValueError(f"bins must be an integer >= 2; got {bins!r}")
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    missing = _missing_mask(series)
    numbers = _as_numbers(series[~missing])
    if numbers is None:
        raise ValueError(f"bin_numeric needs finite numbers; got dtype {series.dtype}")
    labels = pd.Series(np.nan, index=series.index, dtype=object, name=series.name)
    if numbers.empty:
        return labels.astype(pd.CategoricalDtype([], ordered=True))
    x = numbers.to_numpy()
    quantiles = np.quantile(x, np.linspace(0.0, 1.0, bins + 1), method="inverted_cdf")
    edges = np.unique(quantiles)
    # searchsorted "left": 0 for the minimum, i for values in (edges[i-1], edges[i]]
    codes = np.searchsorted(edges, x, side="left")
    if quantiles[1] != quantiles[0]:
        codes = np.maximum(codes - 1, 0)  # the minimum joins the first band
    # every band holds its upper edge (an observed value), so none is empty
    _, codes = np.unique(codes, return_inverse=True)
    lows = np.full(codes.max() + 1, np.inf)
    highs = np.full(codes.max() + 1, -np.inf)
    np.minimum.at(lows, codes, x)
    np.maximum.at(highs, codes, x)
    names = [
        _format_number(low)
        if low == high
        else f"{_format_number(low)}{_DASH}{_format_number(high)}"
        for low, high in zip(lows, highs, strict=True)
    ]
    labels[~missing] = np.asarray(names, dtype=object)[codes]
    return labels.astype(pd.CategoricalDtype(names, ordered=True))


def _is_many_valued_numeric(values: pd.Series, max_levels: int) -> bool:
    missing = _missing_mask(values)
    numbers = _as_numbers(values[~missing])
    return numbers is not None and numbers.nunique() > max_levels


def slice_values(
    frame: pd.DataFrame, column: str, *, max_levels: int = 20, bins: int = 4
) -> pd.Series:
    """A column of a labelled-set table as slice labels for :func:`slice_metrics`.

    Parameters
    ----------
    frame : DataFrame
        The labelled set, one row per case.
    column : str
        The metadata column to slice by.
    max_levels : int, default 20
        A numeric column (or text of numbers) with more distinct values than this is
        cut into quantile bands by :func:`bin_numeric`.
    bins : int, default 4
        Number of bands for such a column.

    Returns
    -------
    Series
        Ordered categorical of text labels, named ``column`` with ``frame``'s index:
        the bands of a binned column, otherwise each value (numbers without a trailing
        ".0", levels sorted), and ``"(missing)"`` (last) for missing values.
    """
    if column not in frame.columns:
        raise KeyError(f"column {column!r} not in frame (columns: {list(frame.columns)})")
    values = frame[column]
    if _is_many_valued_numeric(values, max_levels):
        values = bin_numeric(values, bins)
    labels = _as_labels(values)
    labels.name = column
    return labels


def _looks_like_identifier(values: pd.Series) -> bool:
    """Text where most values are unique: case ids, file paths."""
    present = values[~_missing_mask(values)]
    n_levels = present.astype(str).nunique()
    return n_levels > 2 and n_levels > len(present) / 2


def metadata_columns(
    frame: pd.DataFrame, *, exclude: Iterable[str] = (), max_levels: int = 20
) -> list[str]:
    """Columns of a labelled-set table that can slice it, in the frame's order.

    A column qualifies when it is text, categorical or boolean with 2 to ``max_levels``
    distinct non-missing values, or numeric (numbers written as text included) with at
    least 2 distinct values; a numeric column with more than ``max_levels`` values
    (age) is offered too, to be cut into quartile bands by :func:`slice_values`, as long
    as that leaves at least 2 bands.

    Never offered: the names in ``exclude``; the zoo's own ``case_id``, ``label``,
    ``path`` and ``predicted`` columns; probability columns ``p_*``; text in which most
    values are unique (identifiers, file paths); dates and other types.

    Parameters
    ----------
    frame : DataFrame
        The labelled set, one row per case.
    exclude : iterable of str, default ()
        Further columns to leave out (the label column, a case id under another name).
    max_levels : int, default 20
        Most distinct values a non-numeric column may have.

    Returns
    -------
    list of str
    """
    excluded = set(exclude) | _RESERVED_COLUMNS
    chosen = []
    for name in frame.columns:
        if not isinstance(name, str) or name in excluded or name.startswith("p_"):
            continue
        values = frame[name]
        kind = values.dtype
        if pd.api.types.is_datetime64_any_dtype(kind) or pd.api.types.is_timedelta64_dtype(kind):
            continue
        if pd.api.types.is_complex_dtype(kind):
            continue
        numeric = _as_numbers(values[~_missing_mask(values)]) is not None
        if not numeric and _looks_like_identifier(values):
            continue
        labels = slice_values(frame, name, max_levels=max_levels)
        n_levels = sum(1 for c in labels.cat.categories if c != MISSING)
        if 2 <= n_levels <= max_levels:
            chosen.append(name)
    return chosen


# ---------------------------------------------------------------------------------------
# Per-slice metrics and gaps


def _auc_with_ci(
    y: NDArray[np.bool_], s: NDArray[np.float64], min_cases: int, alpha: float
) -> tuple[float, float, float, str | None]:
    """AUC, DeLong CI and a note, checking first what would make them undefined.

    Checking here, rather than catching the metrics' warnings, keeps the reason for the
    page and leaves the process-wide warning filters alone (Streamlit runs threads).
    """
    nan = math.nan
    n, positives = len(y), int(np.count_nonzero(y))
    negatives = n - positives
    if positives == 0 or negatives == 0:
        return nan, nan, nan, f"single class ({positives} positives, {negatives} negatives)"
    if n < min_cases:
        return nan, nan, nan, f"fewer than {min_cases} cases (n = {n})"
    if positives < 2 or negatives < 2:
        note = (
            f"no DeLong CI with fewer than 2 positives or 2 negatives "
            f"({positives} positives, {negatives} negatives)"
        )
        return roc_auc(y, s), nan, nan, note
    auc, low, high = auc_ci_delong(y, s, alpha=alpha)
    return auc, low, high, None


def _slice_row(
    value: str,
    y: NDArray[np.bool_],
    s: NDArray[np.float64],
    threshold: float,
    min_cases: int,
    alpha: float,
) -> SliceMetrics:
    tp, fp, tn, fn = confusion_at(y, s, threshold)
    positives, negatives = tp + fn, tn + fp
    auc, auc_low, auc_high, note = _auc_with_ci(y, s, min_cases, alpha)
    sens_low, sens_high = wilson_interval(tp, positives, alpha=alpha)
    spec_low, spec_high = wilson_interval(tn, negatives, alpha=alpha)
    return SliceMetrics(
        value=value,
        n=len(y),
        positives=positives,
        negatives=negatives,
        tp=tp,
        fp=fp,
        tn=tn,
        fn=fn,
        auc=auc,
        auc_low=auc_low,
        auc_high=auc_high,
        auc_note=note,
        sensitivity=tp / positives if positives else math.nan,
        sensitivity_low=sens_low,
        sensitivity_high=sens_high,
        specificity=tn / negatives if negatives else math.nan,
        specificity_low=spec_low,
        specificity_high=spec_high,
    )


def _extremes(
    rows: list[SliceMetrics], metric: str, eligible: list[bool]
) -> tuple[SliceMetrics, SliceMetrics] | None:
    """Rows with the highest and lowest ``metric`` among the eligible; first wins ties."""
    candidates = [r for r, ok in zip(rows, eligible, strict=True) if ok]
    if len(candidates) < 2:
        return None
    best = max(candidates, key=lambda r: getattr(r, metric))
    worst = min(candidates, key=lambda r: getattr(r, metric))
    if best is worst:  # all equal: compare the first two
        best, worst = candidates[0], candidates[1]
    return best, worst


def _auc_gap(
    rows: list[SliceMetrics],
    masks: dict[str, NDArray[np.bool_]],
    y: NDArray[np.bool_],
    s: NDArray[np.float64],
    min_cases: int,
    alpha: float,
) -> SliceGap | None:
    # a CI of the slice's AUC implies the DeLong variance the test needs
    eligible = [r.n >= min_cases and math.isfinite(r.auc_low) for r in rows]
    pair = _extremes(rows, "auc", eligible)
    if pair is None:
        return None
    best, worst = pair
    method = "DeLong unpaired"
    if best.auc == worst.auc and best.auc_low == best.auc_high == worst.auc_low:
        # equal AUCs of zero variance (both 1, say): the test is 0/0 and would warn
        return _gap("auc", best, worst, math.nan, math.nan, math.nan, method)
    a, b = masks[best.value], masks[worst.value]
    test = delong_test_unpaired(y[a], s[a], y[b], s[b], alpha=alpha)
    return _gap("auc", best, worst, test.ci_low, test.ci_high, test.p_value, method)


def _proportion_gap(
    rows: list[SliceMetrics], metric: str, min_cases: int, alpha: float
) -> SliceGap | None:
    eligible = [r.n >= min_cases and math.isfinite(getattr(r, metric)) for r in rows]
    pair = _extremes(rows, metric, eligible)
    if pair is None:
        return None
    best, worst = pair
    if metric == "sensitivity":
        counts = (best.tp, best.positives, worst.tp, worst.positives)
    else:
        counts = (best.tn, best.negatives, worst.tn, worst.negatives)
    _, low, high = newcombe_interval(*counts, alpha=alpha)
    return _gap(metric, best, worst, low, high, None, "Newcombe hybrid score (method 10)")


def _gap(
    metric: str,
    best: SliceMetrics,
    worst: SliceMetrics,
    low: float,
    high: float,
    p_value: float | None,
    method: str,
) -> SliceGap:
    best_estimate, worst_estimate = getattr(best, metric), getattr(worst, metric)
    return SliceGap(
        metric=metric,
        best=best.value,
        worst=worst.value,
        best_estimate=best_estimate,
        worst_estimate=worst_estimate,
        difference=best_estimate - worst_estimate,
        ci_low=float(low),
        ci_high=float(high),
        p_value=None if p_value is None else float(p_value),
        method=method,
        flagged=bool(low > 0.0 or high < 0.0),  # False when the CI is NaN
    )


def slice_metrics(
    y_true: ArrayLike,
    y_score: ArrayLike,
    slices: ArrayLike | pd.Series,
    *,
    threshold: float,
    min_cases: int = 10,
    alpha: float = 0.05,
    column: str | None = None,
) -> SubgroupReport:
    """Metrics of a binary score in each slice, and the largest gaps between slices.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n_samples,)
        1 = positive (case), 0 = negative (control).
    y_score : array-like of float, shape (n_samples,)
        Scores; higher means more likely positive.
    slices : array-like or Series, shape (n_samples,)
        Slice of each case: text, numbers or booleans (e.g. from :func:`slice_values`,
        whose order of categories is kept). Missing values (None, NaN, "") form the
        slice ``"(missing)"``, listed last.
    threshold : float
        Decision threshold: ``score >= threshold`` is predicted positive.
    min_cases : int, default 10
        Slices with fewer cases keep their counts, sensitivity and specificity but get
        no AUC, and no slice this small enters a gap.
    alpha : float, default 0.05
        One minus the confidence level of every interval.
    column : str, optional
        Name of the metadata column, for the report; defaults to the Series' name.

    Returns
    -------
    SubgroupReport
        Rows per slice: counts, AUC with DeLong CI (NaN with ``auc_note`` for a single
        class or fewer than ``min_cases`` cases; CI NaN with fewer than 2 of either
        class), sensitivity and specificity with Wilson CIs. Gaps per metric: the
        highest and lowest slices among those with at least ``min_cases`` cases and
        the metric (for AUC, its CI) defined; AUC compared by DeLong's unpaired test,
        proportions by Newcombe's interval; flagged when the CI excludes 0.

    Raises
    ------
    ValueError
        For malformed labels or scores, a NaN threshold, lengths that differ, or
        ``min_cases < 1``.
    """
    y, s = check_binary_inputs(y_true, y_score)
    a = check_alpha(alpha)
    if isinstance(min_cases, bool) or not isinstance(min_cases, int | np.integer):
        raise ValueError(f"min_cases must be an integer; got {min_cases!r}")
    if min_cases < 1:
        raise ValueError(f"min_cases must be at least 1; got {min_cases}")
    t = float(threshold)
    if math.isnan(t):
        raise ValueError("threshold must not be NaN")
    # positions, not index labels, pair slices with cases
    raw = slices.reset_index(drop=True) if isinstance(slices, pd.Series) else pd.Series(slices)
    check_same_length(y_true=y, slices=raw)
    if column is None and isinstance(slices, pd.Series) and slices.name is not None:
        column = str(slices.name)
    k = int(min_cases)
    labels = _as_labels(raw)
    codes = labels.cat.codes.to_numpy()
    masks = {str(c): codes == i for i, c in enumerate(labels.cat.categories)}
    rows = [_slice_row(v, y[m], s[m], t, k, a) for v, m in masks.items()]
    gaps: dict[str, SliceGap | None] = {
        "auc": _auc_gap(rows, masks, y, s, k, a),
        "sensitivity": _proportion_gap(rows, "sensitivity", k, a),
        "specificity": _proportion_gap(rows, "specificity", k, a),
    }
    return SubgroupReport(column=column, threshold=t, alpha=a, min_cases=k, rows=rows, gaps=gaps)


def card_subgroups(
    metadata: pd.DataFrame,
    columns: Sequence[str],
    y: np.ndarray,
    served: np.ndarray,
    labels: Sequence[str],
    positive: int | None,
    threshold: float,
    sides: Mapping[str, np.ndarray],
    label_thresholds: Sequence[float] | None = None,
) -> dict[str, Any] | None:
    """A card's ``subgroups`` section: each label (the positive one of a binary model)
    against the rest, sliced by each metadata column, on each side (row indices of
    ``metadata``); None when no column has two values on any side. A multi-label model's
    ``y`` is its (N, C) 0/1 matrix and ``label_thresholds`` its thresholds, one per label."""
    targets = [positive] if positive is not None else list(range(len(labels)))
    out: dict[str, Any] = {}
    for side, idx in sides.items():
        if not len(idx):
            continue
        for column in columns:
            values = metadata.iloc[idx][column].to_numpy()
            if pd.Series(values).nunique(dropna=True) < 2:
                continue
            for target in targets:
                truth = y[idx, target] if y.ndim == 2 else (y[idx] == target).astype(int)
                own = threshold if label_thresholds is None else label_thresholds[target]
                report = slice_metrics(truth, served[idx, target], values, threshold=own)
                entry = out.setdefault(column, {}).setdefault(labels[target], {})
                entry[side] = report.to_dict()
    if not out:
        return None
    return {
        "threshold": threshold,
        "threshold_note": "the card's default (calibrated scale)"
        if positive is not None
        else "each label's own threshold (thresholds.per_label)"
        if label_thresholds is not None
        else "0.5 on each label's probability (one label against the rest)",
        "columns": out,
    }
