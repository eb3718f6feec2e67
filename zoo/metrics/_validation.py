"""Input checks shared by the metric functions, and the warning for undefined metrics.

Malformed input (wrong shape, length mismatch, NaN or infinite scores, labels other
than 0/1, probabilities outside [0, 1]) raises :class:`ValueError` with a message that
names the argument and echoes the offending value. Degenerate but well-formed input
(only one class present, an empty denominator) is not an error: the metric warns with
:class:`UndefinedMetricWarning` and returns NaN.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike, NDArray

_MAX_SHOWN = 5


class UndefinedMetricWarning(UserWarning):
    """A metric is undefined for the given input (e.g. only one class); NaN is returned."""


def warn_undefined(message: str) -> None:
    """Warn with :class:`UndefinedMetricWarning`, attributed to the caller's caller."""
    warnings.warn(message, UndefinedMetricWarning, stacklevel=3)


def _py(value: object) -> object:
    """A NumPy scalar as the Python scalar it holds (for readable messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _show(values: np.ndarray) -> str:
    """Short text of the first few values of ``values``."""
    shown = ", ".join(repr(_py(v)) for v in values[:_MAX_SHOWN])
    more = f", ... ({len(values)} in all)" if len(values) > _MAX_SHOWN else ""
    return f"[{shown}{more}]"


def as_1d(values: ArrayLike, name: str) -> np.ndarray:
    """``values`` as a non-empty 1-D array; ValueError naming ``name`` otherwise."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got an array of shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    return arr


def check_scores(y_score: ArrayLike, name: str = "y_score") -> NDArray[np.float64]:
    """Finite real scores as a float64 1-D array.

    Parameters
    ----------
    y_score : array-like, shape (n_samples,)
        Real-valued scores; higher means more likely positive.
    name : str
        Argument name used in error messages.

    Returns
    -------
    ndarray of float64, shape (n_samples,)

    Raises
    ------
    ValueError
        If the input is not 1-D, is empty, is not numeric, or holds NaN or infinity.
    """
    arr = as_1d(y_score, name)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric; got dtype {arr.dtype} (e.g. {_py(arr[0])!r})")
    arr = arr.astype(np.float64, copy=False)
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ValueError(
            f"{name} must be finite; found {arr[bad[0]].item()!r} at index {int(bad[0])} "
            f"({len(bad)} non-finite value(s) in all)"
        )
    return arr


def check_binary_labels(y_true: ArrayLike, name: str = "y_true") -> NDArray[np.bool_]:
    """Binary labels (0 = negative/control, 1 = positive/case) as a boolean 1-D array.

    Parameters
    ----------
    y_true : array-like, shape (n_samples,)
        Labels: booleans, or numbers equal to 0 or 1.
    name : str
        Argument name used in error messages.

    Returns
    -------
    ndarray of bool, shape (n_samples,)

    Raises
    ------
    ValueError
        If the input is not 1-D, is empty, or holds anything other than 0 and 1.
    """
    arr = as_1d(y_true, name)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "iuf":
        bad = np.unique(arr.astype(object).astype(str))
        raise ValueError(
            f"{name} must contain only 0 and 1; got dtype {arr.dtype} with values {_show(bad)}"
        )
    ok = (arr == 0) | (arr == 1)
    if not ok.all():
        bad = np.unique(arr[~ok])
        raise ValueError(f"{name} must contain only 0 and 1; found {_show(bad)}")
    return arr == 1


def check_same_length(**arrays: np.ndarray) -> None:
    """ValueError echoing the lengths unless all ``arrays`` have the same length."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"inconsistent numbers of samples: {detail}")


def check_binary_inputs(
    y_true: ArrayLike, y_score: ArrayLike, score_name: str = "y_score"
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Validated ``(labels, scores)`` of a binary problem; see :func:`check_binary_labels`."""
    y = check_binary_labels(y_true)
    s = check_scores(y_score, score_name)
    check_same_length(y_true=y, **{score_name: s})
    return y, s


def check_probabilities(y_prob: ArrayLike, name: str = "y_prob") -> NDArray[np.float64]:
    """Finite probabilities in [0, 1] as a float64 1-D array; ValueError otherwise."""
    p = check_scores(y_prob, name)
    out = (p < 0) | (p > 1)
    if out.any():
        bad = np.flatnonzero(out)
        raise ValueError(
            f"{name} must lie in [0, 1]; found {p[bad[0]].item()!r} at index {int(bad[0])} "
            f"({len(bad)} value(s) outside in all)"
        )
    return p


def check_class_labels(
    y: ArrayLike, n_classes: int | None, name: str = "y_true"
) -> NDArray[np.intp]:
    """Integer class labels, in ``[0, n_classes)`` if given, as an intp 1-D array.

    Raises
    ------
    ValueError
        If the labels are not integers (floats must be integral), are negative, or
        reach ``n_classes``.
    """
    arr = as_1d(y, name)
    if arr.dtype.kind == "f":
        integral = np.isfinite(arr) & (arr == np.round(arr))
        if not integral.all():
            raise ValueError(
                f"{name} must hold integer class labels; found {_show(np.unique(arr[~integral]))}"
            )
    elif arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer class labels; got dtype {arr.dtype}")
    labels = arr.astype(np.intp)
    if n_classes is None:
        out = labels < 0
        if out.any():
            bad = _show(np.unique(labels[out]))
            raise ValueError(f"{name} must hold non-negative labels; found {bad}")
        return labels
    out = (labels < 0) | (labels >= n_classes)
    if out.any():
        raise ValueError(
            f"{name} must hold labels in [0, {n_classes}) for n_classes={n_classes}; "
            f"found {_show(np.unique(labels[out]))}"
        )
    return labels


def check_n_classes(n_classes: int) -> int:
    """``n_classes`` as an int >= 1; ValueError otherwise."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)):
        raise ValueError(f"n_classes must be an integer; got {n_classes!r}")
    if n_classes < 1:
        raise ValueError(f"n_classes must be at least 1; got {n_classes}")
    return int(n_classes)


def check_prob_matrix(prob: ArrayLike, name: str = "prob_matrix") -> NDArray[np.float64]:
    """Finite class probabilities of shape (n_samples, n_classes) with n_classes >= 2."""
    p = np.asarray(prob)
    if p.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_classes); got shape {p.shape}")
    if p.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if p.shape[1] < 2:
        raise ValueError(f"{name} must have at least 2 columns (classes); got shape {p.shape}")
    if p.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric; got dtype {p.dtype}")
    p = p.astype(np.float64, copy=False)
    finite = np.isfinite(p)
    if not finite.all():
        r, c = np.argwhere(~finite)[0]
        raise ValueError(f"{name} must be finite; found {p[r, c].item()!r} at [{r}, {c}]")
    return p


def check_alpha(alpha: float) -> float:
    """``alpha`` as a float in the open interval (0, 1); ValueError otherwise."""
    a = float(alpha)
    if not 0.0 < a < 1.0:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha!r}")
    return a


def check_fraction(value: float, name: str) -> float:
    """``value`` as a float in the closed interval [0, 1]; ValueError otherwise."""
    v = float(value)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1]; got {value!r}")
    return v


def check_prevalence(prevalence: float | None) -> float | None:
    """``prevalence`` as a float in the open interval (0, 1), or None; ValueError otherwise."""
    if prevalence is None:
        return None
    p = float(prevalence)
    if not 0.0 < p < 1.0:
        raise ValueError(f"prevalence must lie in (0, 1); got {prevalence!r}")
    return p


def check_choice(value: str, name: str, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``; ValueError listing them otherwise."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def both_classes_present(y: NDArray[np.bool_], metric: str) -> bool:
    """True if ``y`` holds both classes; otherwise warn that ``metric`` is undefined."""
    n_pos = int(np.count_nonzero(y))
    n_neg = len(y) - n_pos
    if n_pos and n_neg:
        return True
    warnings.warn(
        f"{metric} is undefined when y_true holds a single class "
        f"({n_pos} positive(s), {n_neg} negative(s)); returning NaN",
        UndefinedMetricWarning,
        stacklevel=3,
    )
    return False
