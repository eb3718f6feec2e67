"""Post-hoc probability calibration: fitted offline, stored in the card, applied at serving.

:func:`fit_calibration` fits candidate maps on a model's validation predictions and keeps
the one with the lowest cross-validated negative log-likelihood (NLL); the result is the
card's ``calibration`` section, plain JSON::

    {"method": "platt", "params": {"a": 1.09844, "b": -1.9978}, "fitted_on": "validation",
     "n": 525, "chosen_by": "5-fold group cross-validated negative log-likelihood",
     "cv_nll": {"none": 0.639847, "temperature": 0.614361, "platt": 0.373955,
                "isotonic": 0.390995}}

:meth:`Calibrator.from_section` validates such a section and :meth:`Calibrator.apply`
maps raw probabilities to calibrated ones on every prediction.

Methods (``p`` is the raw probability of the positive class, ``z = logit(p)``)
    ``none``
        Identity.
    ``temperature``
        Binary: ``sigmoid(z / T)``; multiclass: ``softmax(log p / T)`` (Guo et al. 2017).
        With two classes both forms agree.
    ``platt``
        Binary only: ``sigmoid(a * z + b)`` with ``a > 0`` (Platt 1999). The intercept
        undoes a shifted base rate (e.g. from class-weighted training), which a
        temperature cannot.
    ``isotonic``
        Binary only: pool-adjacent-violators (Zadrozny & Elkan 2002) in its *centred* form
        (Oron & Flournoy 2017): one knot per block at the block's mean raw probability
        ``x`` with the block's outcome rate ``y``, applied by linear interpolation. Between
        the first and last knot the map is strictly increasing, so it keeps the order of
        the scores (AUC and threshold decisions) instead of tying whole blocks, which on
        the set it was fitted on turns misordered pairs into ties and flatters the AUC.

Probabilities are clipped to ``[1e-7, 1 - 1e-7]`` before a logit or log, and the output
of the isotonic map to ``[1e-3, 1 - 1e-3]``: a step fitted on a few hundred cases cannot
support a probability of 0 or 1, and a finite floor keeps the log-loss finite.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import isotonic_regression, minimize_scalar
from scipy.special import expit, log_expit, logit, logsumexp

from zoo.errors import CardError
from zoo.metrics._validation import (
    check_binary_labels,
    check_class_labels,
    check_prob_matrix,
    check_probabilities,
    check_same_length,
)
from zoo.metrics.calibration import (
    brier_score,
    expected_calibration_error,
    reliability_curve,
    top_label_ece,
)

__all__ = [
    "BINARY_METHODS",
    "MULTICLASS_METHODS",
    "Calibrator",
    "calibration_summary",
    "cv_folds",
    "fit_calibration",
]

BINARY_METHODS = ("none", "temperature", "platt", "isotonic")
"""Candidate methods for binary models, simplest first (the order breaks ties in CV NLL)."""
MULTICLASS_METHODS = ("none", "temperature")
"""Candidate methods for multiclass models."""

EPS = 1e-7
"""Probabilities are clipped to ``[EPS, 1 - EPS]`` before a logit or a log."""
ISOTONIC_EPS = 1e-3
"""Isotonic outputs are clipped to ``[ISOTONIC_EPS, 1 - ISOTONIC_EPS]``."""
TEMPERATURE_BOUNDS = (0.05, 20.0)
"""Search interval of the fitted temperature."""
_SLOPE_BOUNDS = (1e-3, 100.0)  # Platt slope kept > 0 so the map stays increasing
_INTERCEPT_BOUNDS = (-50.0, 50.0)
_NEWTON_STEPS = 50
_ROW_SUM_TOL = 1e-3  # float32 softmax rows sum to 1 within ~1e-6
_SIGNIFICANT = 6  # digits kept for parameters in the card
_DECIMALS = 6  # decimals kept for NLL, ECE and Brier in the card
_CURVE_DECIMALS = 4  # decimals kept for reliability-curve points
_DESCRIPTIVE_KEYS = ("fitted_on", "n", "chosen_by", "cv_nll")
_PARAM_KEYS = {
    "none": (),
    "temperature": ("temperature",),
    "platt": ("a", "b"),
    "isotonic": ("x", "y"),
}


# --------------------------------------------------------------------------- serving


@dataclass(frozen=True)
class Calibrator:
    """A fitted calibration map; build it with :meth:`from_section`.

    Parameters
    ----------
    method : {"none", "temperature", "platt", "isotonic"}
        The map.
    temperature : float
        ``T > 0`` of the ``temperature`` method.
    a, b : float
        Slope (> 0) and intercept of the ``platt`` method.
    x, y : tuple of float
        Isotonic knots: ``x`` strictly increasing in [0, 1], ``y`` non-decreasing in [0, 1].

    Raises
    ------
    CardError
        If a value is out of range; the message names the card field.
    """

    method: str = "none"
    temperature: float = 1.0
    a: float = 1.0
    b: float = 0.0
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    _xp: NDArray[np.float64] = field(init=False, repr=False, compare=False)
    _yp: NDArray[np.float64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.method not in BINARY_METHODS:
            raise CardError(
                f"calibration.method must be one of {', '.join(map(repr, BINARY_METHODS))}, "
                f"got {self.method!r}"
            )
        if self.method == "temperature" and not (
            math.isfinite(self.temperature) and self.temperature > 0
        ):
            raise CardError(
                "calibration.params.temperature must be a positive finite number, "
                f"got {self.temperature!r}"
            )
        if self.method == "platt":
            if not (math.isfinite(self.a) and self.a > 0):
                raise CardError(
                    "calibration.params.a must be a positive finite number "
                    f"(the map must increase), got {self.a!r}"
                )
            if not math.isfinite(self.b):
                raise CardError(f"calibration.params.b must be a finite number, got {self.b!r}")
        if self.method == "isotonic":
            _check_knots(self.x, self.y)
        # Arrays built once: apply() runs on every prediction.
        object.__setattr__(self, "_xp", np.asarray(self.x, dtype=np.float64))
        object.__setattr__(self, "_yp", np.asarray(self.y, dtype=np.float64))

    @classmethod
    def from_section(cls, section: Mapping[str, Any] | None) -> Calibrator:
        """The calibrator described by a card's ``calibration`` section.

        Parameters
        ----------
        section : mapping or None
            ``{"method": ..., "params": {...}, ...}`` as written by
            :func:`fit_calibration`. None, ``{}`` and ``{"method": "none"}`` give the
            identity. Other descriptive keys (``ece``, ``summary``, ...) are ignored, but
            ``fitted_on``, ``n``, ``chosen_by`` and ``cv_nll`` are type-checked.

        Returns
        -------
        Calibrator

        Raises
        ------
        CardError
            Naming the first malformed field: unknown method, missing or extra parameter,
            non-finite or non-positive temperature, non-positive Platt slope, isotonic knots
            not increasing, outside [0, 1] or of different lengths, and so on.
        """
        if section is None:
            return cls()
        if not isinstance(section, Mapping):
            raise CardError(f"calibration must be an object, got {section!r}")
        if not section:
            return cls()
        method = section.get("method")
        if not isinstance(method, str) or method not in BINARY_METHODS:
            raise CardError(
                f"calibration.method must be one of {', '.join(map(repr, BINARY_METHODS))}, "
                f"got {method!r}"
            )
        _check_descriptive(section)
        params = section.get("params", {})
        if params is None:
            params = {}
        if not isinstance(params, Mapping):
            raise CardError(f"calibration.params must be an object, got {params!r}")
        expected = _PARAM_KEYS[method]
        missing = [key for key in expected if key not in params]
        if missing:
            raise CardError(f"calibration.params.{missing[0]} is required for method {method!r}")
        extra = sorted(set(params) - set(expected))
        if extra:
            raise CardError(f"calibration.params has unknown keys {extra} for method {method!r}")
        if method == "temperature":
            return cls(method, temperature=_number(params["temperature"], "temperature"))
        if method == "platt":
            return cls(method, a=_number(params["a"], "a"), b=_number(params["b"], "b"))
        if method == "isotonic":
            return cls(method, x=_numbers(params["x"], "x"), y=_numbers(params["y"], "y"))
        return cls()

    @property
    def is_identity(self) -> bool:
        """True for the ``none`` method (``apply`` returns a copy of its input)."""
        return self.method == "none"

    @property
    def params(self) -> dict[str, Any]:
        """The ``params`` object of this map's card section."""
        if self.method == "temperature":
            return {"temperature": self.temperature}
        if self.method == "platt":
            return {"a": self.a, "b": self.b}
        if self.method == "isotonic":
            return {"x": list(self.x), "y": list(self.y)}
        return {}

    def to_section(self) -> dict[str, Any]:
        """``{"method": ..., "params": ...}``: the minimal section :meth:`from_section` reads."""
        return {"method": self.method, "params": self.params}

    def apply(self, probabilities: ArrayLike) -> NDArray[np.float64]:
        """Calibrated probabilities, in the shape of the input.

        Parameters
        ----------
        probabilities : array-like of float in [0, 1]
            Shape (n,) or (n, 1): probability of the positive class of a binary model;
            (n, 2): both classes of a binary model (the map acts on column 1 and column 0
            becomes its complement); (n, C) with C > 2: a multiclass model (temperature
            only), rows summing to 1. Values are not range-checked here (this runs on every
            prediction); NaN stays NaN.

        Returns
        -------
        ndarray of float64
            Same shape; binary values in [0, 1], multiclass rows summing to 1.

        Raises
        ------
        ValueError
            If the shape is none of the above.
        CardError
            If a binary-only method (platt, isotonic) meets more than two classes.
        """
        p = np.asarray(probabilities, dtype=np.float64)
        if p.ndim == 1:
            return p.copy() if self.method == "none" else self._binary(p)
        if p.ndim != 2 or p.shape[1] == 0:
            raise ValueError(f"probabilities must have shape (n,), (n, 1) or (n, C); got {p.shape}")
        if self.method == "none":
            return p.copy()
        n_classes = p.shape[1]
        if n_classes == 1:
            return self._binary(p[:, 0])[:, None]
        if n_classes == 2:
            q = self._binary(p[:, 1])
            return np.stack([1.0 - q, q], axis=1)
        if self.method != "temperature":
            raise CardError(
                f"calibration.method {self.method!r} is binary-only; got probabilities of "
                f"{n_classes} classes"
            )
        z = np.log(np.clip(p, EPS, 1.0)) / self.temperature
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def map_threshold(self, t: float) -> float:
        """The calibrated probability that a raw binary threshold ``t`` maps to.

        For ``none``, ``temperature`` and ``platt`` the map is increasing, so decisions
        are unchanged: ``raw >= t`` exactly when ``apply(raw) >= map_threshold(t)``
        (both sides are computed by the same floating-point code, so this also holds to
        the last bit, barring values that round to the same output). The isotonic map is
        only non-decreasing: ``raw >= t`` still implies ``apply(raw) >= map_threshold(t)``,
        but raw values just below ``t`` in the same flat block as ``t`` tie with it and
        would turn positive; compare raw scores with ``t`` where that matters.

        Parameters
        ----------
        t : float in [0, 1]
            Threshold on the raw probability of the positive class.

        Returns
        -------
        float
            The threshold on the calibrated probability.
        """
        if isinstance(t, bool) or not isinstance(t, int | float | np.floating | np.integer):
            raise ValueError(f"t must be a number in [0, 1]; got {t!r}")
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"t must lie in [0, 1]; got {t!r}")
        if self.method == "none":
            return float(t)
        return float(self._binary(np.array([t], dtype=np.float64))[0])

    def _binary(self, p: NDArray[np.float64]) -> NDArray[np.float64]:
        """The map on positive-class probabilities of shape (n,)."""
        if self.method == "isotonic":
            return np.clip(np.interp(p, self._xp, self._yp), ISOTONIC_EPS, 1.0 - ISOTONIC_EPS)
        z = logit(np.clip(p, EPS, 1.0 - EPS))
        if self.method == "temperature":
            return expit(z / self.temperature)
        if self.method == "platt":
            return expit(self.a * z + self.b)
        return p.copy()


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CardError(f"calibration.params.{key} must be a number, got {value!r}")
    return float(value)


def _numbers(value: Any, key: str) -> tuple[float, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise CardError(f"calibration.params.{key} must be a non-empty list of numbers")
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise CardError(f"calibration.params.{key}[{i}] must be a number, got {item!r}")
    return tuple(float(item) for item in value)


def _check_knots(x: tuple[float, ...], y: tuple[float, ...]) -> None:
    """CardError unless the isotonic knots describe a non-decreasing map of [0, 1]."""
    if len(x) == 0 or len(x) != len(y):
        raise CardError(
            "calibration.params.x and calibration.params.y must be non-empty and of the same "
            f"length, got {len(x)} and {len(y)}"
        )
    for key, values in (("x", x), ("y", y)):
        arr = np.asarray(values, dtype=np.float64)
        bad = ~np.isfinite(arr) | (arr < 0) | (arr > 1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise CardError(f"calibration.params.{key}[{i}] must lie in [0, 1], got {values[i]!r}")
    dx, dy = np.diff(x), np.diff(y)
    if (dx <= 0).any():
        i = int(np.flatnonzero(dx <= 0)[0]) + 1
        raise CardError(f"calibration.params.x must be strictly increasing; x[{i}] = {x[i]!r}")
    if (dy < 0).any():
        i = int(np.flatnonzero(dy < 0)[0]) + 1
        raise CardError(f"calibration.params.y must be non-decreasing; y[{i}] = {y[i]!r}")


def _check_descriptive(section: Mapping[str, Any]) -> None:
    """Type checks of the descriptive keys :func:`fit_calibration` writes."""
    for key in ("fitted_on", "chosen_by"):
        value = section.get(key)
        if value is not None and not isinstance(value, str):
            raise CardError(f"calibration.{key} must be a string, got {value!r}")
    n = section.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise CardError(f"calibration.n must be a positive integer, got {n!r}")
    cv_nll = section.get("cv_nll")
    if cv_nll is None:
        return
    if not isinstance(cv_nll, Mapping):
        raise CardError(f"calibration.cv_nll must be an object or null, got {cv_nll!r}")
    for name, value in cv_nll.items():
        if name not in BINARY_METHODS:
            raise CardError(f"calibration.cv_nll has an unknown method {name!r}")
        ok = not isinstance(value, bool) and isinstance(value, int | float)
        if not ok or not (math.isfinite(value) and value >= 0):
            raise CardError(
                f"calibration.cv_nll.{name} must be a non-negative finite number, got {value!r}"
            )


# --------------------------------------------------------------------------- fitting


def cv_folds(
    y_true: ArrayLike,
    *,
    groups: ArrayLike | None = None,
    n_folds: int = 5,
    seed: int = 0,
) -> NDArray[np.intp]:
    """Fold index of every sample for K-fold cross-validation.

    Without ``groups`` the folds are stratified by label (each fold gets about the same
    share of every class). With ``groups`` every group (patient, study, site...) lies in
    exactly one fold, and folds are balanced by sample count: groups are shuffled, then
    the largest first go to the fold with the fewest samples so far.

    Parameters
    ----------
    y_true : array-like, shape (n_samples,)
        Labels (binary or class indices); only their number and, without groups, their
        values are used.
    groups : array-like, shape (n_samples,), optional
        Group of each sample; samples of one group always share a fold.
    n_folds : int, default 5
        Requested number of folds K >= 2; fewer are used when there are fewer groups
        (or samples).
    seed : int, default 0
        Seed of the shuffle; the same inputs and seed give the same folds.

    Returns
    -------
    ndarray of intp, shape (n_samples,)
        Fold of each sample in ``[0, k)`` with ``k = min(n_folds, n_groups)``; every
        fold is non-empty.

    Raises
    ------
    ValueError
        If ``n_folds < 2``, the lengths differ, or there are fewer than 2 groups
        (or samples).
    """
    if isinstance(n_folds, bool) or not isinstance(n_folds, int | np.integer) or n_folds < 2:
        raise ValueError(f"n_folds must be an integer >= 2; got {n_folds!r}")
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-D; got an array of shape {y.shape}")
    n = len(y)
    rng = np.random.default_rng(seed)
    if groups is None:
        k = min(int(n_folds), n)
        if k < 2:
            raise ValueError(f"cross-validation needs at least 2 samples; got {n}")
        # Sorting by (label, random key) then dealing round-robin stratifies the folds.
        order = np.lexsort((rng.random(n), y))
        folds = np.empty(n, dtype=np.intp)
        folds[order] = np.arange(n) % k
        return folds
    g = np.asarray(groups)
    if g.ndim != 1 or len(g) != n:
        raise ValueError(f"groups must be 1-D with one entry per sample ({n}); got {g.shape}")
    _, group_ids, sizes = np.unique(g, return_inverse=True, return_counts=True)
    k = min(int(n_folds), len(sizes))
    if k < 2:
        raise ValueError(f"group cross-validation needs at least 2 groups; got {len(sizes)}")
    shuffled = rng.permutation(len(sizes))
    by_size = shuffled[np.argsort(-sizes[shuffled], kind="stable")]
    fold_of_group = np.empty(len(sizes), dtype=np.intp)
    load = np.zeros(k, dtype=np.int64)
    for group in by_size:
        target = int(np.argmin(load))  # first fold among the least loaded
        fold_of_group[group] = target
        load[target] += sizes[group]
    return fold_of_group[group_ids]


def fit_calibration(
    y_true: ArrayLike,
    probabilities: ArrayLike,
    *,
    groups: ArrayLike | None = None,
    n_folds: int = 5,
    seed: int = 0,
    methods: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Fit a calibration map on validation predictions; the card's ``calibration`` section.

    Every candidate method is scored by K-fold cross-validated NLL on the given set
    (each fold predicted by a map fitted on the other folds); the lowest wins, simpler
    methods winning ties at the stored precision, so an already calibrated model keeps
    ``none`` unless a map really helps. The winner is then refitted on all the data.
    When there are too few groups (or samples) for two folds, temperature scaling is
    fitted on everything without a comparison.

    Parameters
    ----------
    y_true : array-like, shape (n_samples,)
        Binary: 0/1 or booleans. Multiclass: class indices in ``[0, C)``.
    probabilities : array-like of float in [0, 1]
        Shape (n,) or (n, 1): probability of the positive class; (n, 2): both classes of
        a binary model (column 1 is positive); (n, C), C > 2: class probabilities with
        rows summing to 1.
    groups : array-like, shape (n_samples,), optional
        Patient (or study, site) of each sample; folds never split a group.
    n_folds : int, default 5
        Number of folds K >= 2 (fewer with fewer groups).
    seed : int, default 0
        Seed of the fold assignment.
    methods : sequence of str, optional
        Candidates; default all of :data:`BINARY_METHODS` for binary models and
        :data:`MULTICLASS_METHODS` for multiclass ones.

    Returns
    -------
    dict
        JSON-ready: ``method``, ``params``, ``fitted_on`` ("validation"), ``n``,
        ``chosen_by`` and ``cv_nll`` (mean held-out NLL per candidate, or None for the
        fallback).

    Raises
    ------
    ValueError
        If the inputs are malformed, a binary set holds a single class, or a method is
        unknown or not available for the task.
    """
    y, p, multiclass = _task_inputs(y_true, probabilities)
    allowed = MULTICLASS_METHODS if multiclass else BINARY_METHODS
    if methods is None:
        candidates = allowed
    else:
        if isinstance(methods, str) or not methods:
            raise ValueError(f"methods must be a non-empty sequence of names; got {methods!r}")
        bad = [m for m in methods if m not in allowed]
        if bad:
            task = "multiclass" if multiclass else "binary"
            raise ValueError(
                f"methods must be among {', '.join(map(repr, allowed))} for a {task} model; "
                f"got {bad[0]!r}"
            )
        candidates = tuple(m for m in allowed if m in methods)  # simplest first
    if groups is not None:
        g = np.asarray(groups)
        if g.ndim != 1:
            raise ValueError(f"groups must be 1-D; got an array of shape {g.shape}")
        check_same_length(y_true=y, groups=g)
        n_units, unit = len(np.unique(g)), "group"
    else:
        g, n_units, unit = None, len(y), "sample"
    if isinstance(n_folds, bool) or not isinstance(n_folds, int | np.integer) or n_folds < 2:
        raise ValueError(f"n_folds must be an integer >= 2; got {n_folds!r}")
    n = len(y)
    if min(int(n_folds), n_units) < 2:
        fallback = "temperature" if "temperature" in candidates else "none"
        return {
            **_fit(fallback, y, p, multiclass, rounded=True).to_section(),
            "fitted_on": "validation",
            "n": n,
            "chosen_by": (
                f"fallback: {n_units} {unit}(s) are too few for cross-validation; "
                f"{fallback} fitted on all data"
            ),
            "cv_nll": None,
        }
    folds = cv_folds(y, groups=g, n_folds=n_folds, seed=seed)
    k = int(folds.max()) + 1
    cv_nll: dict[str, float] = {}
    for method in candidates:
        losses = np.empty(n)
        for fold in range(k):
            test = folds == fold
            train = ~test
            calibrator = _fit(method, y[train], p[train], multiclass)
            losses[test] = _losses(y[test], calibrator.apply(p[test]), multiclass)
        cv_nll[method] = round(float(losses.mean()), _DECIMALS)
    chosen = min(candidates, key=lambda m: (cv_nll[m], candidates.index(m)))
    kind = "group" if groups is not None else "stratified"
    return {
        **_fit(chosen, y, p, multiclass, rounded=True).to_section(),
        "fitted_on": "validation",
        "n": n,
        "chosen_by": f"{k}-fold {kind} cross-validated negative log-likelihood",
        "cv_nll": cv_nll,
    }


def _task_inputs(
    y_true: ArrayLike, probabilities: ArrayLike
) -> tuple[NDArray[Any], NDArray[np.float64], bool]:
    """Validated ``(labels, probabilities, is_multiclass)``; binary probabilities are 1-D."""
    raw = np.asarray(probabilities)
    if raw.ndim == 2 and raw.shape[1] >= 2:
        prob = check_prob_matrix(raw, "probabilities")
        if (prob < 0).any() or (prob > 1).any():
            raise ValueError("probabilities must lie in [0, 1]")
        sums = prob.sum(axis=1)
        if (np.abs(sums - 1.0) > _ROW_SUM_TOL).any():
            i = int(np.flatnonzero(np.abs(sums - 1.0) > _ROW_SUM_TOL)[0])
            raise ValueError(f"probabilities rows must sum to 1; row {i} sums to {sums[i]!r}")
        if prob.shape[1] > 2:
            y = check_class_labels(y_true, prob.shape[1], "y_true")
            check_same_length(y_true=y, probabilities=prob)
            return y, prob, True
        p = prob[:, 1]
    else:
        if raw.ndim == 2 and raw.shape[1] == 1:
            raw = raw[:, 0]
        p = check_probabilities(raw, "probabilities")
    y = check_binary_labels(y_true)
    check_same_length(y_true=y, probabilities=p)
    if y.all() or not y.any():
        raise ValueError("calibration needs both classes in y_true; got a single class")
    return y, p, False


def _losses(y: NDArray[Any], q: NDArray[np.float64], multiclass: bool) -> NDArray[np.float64]:
    """Per-sample negative log-likelihood of calibrated probabilities ``q``."""
    if multiclass:
        return -np.log(np.clip(q[np.arange(len(y)), y], EPS, 1.0))
    q = np.clip(q, EPS, 1.0 - EPS)
    return -np.where(y, np.log(q), np.log1p(-q))


def _fit(
    method: str,
    y: NDArray[Any],
    p: NDArray[np.float64],
    multiclass: bool,
    *,
    rounded: bool = False,
) -> Calibrator:
    """``method`` fitted on ``(y, p)``; ``rounded`` keeps the card's precision."""
    fitters: dict[str, Callable[[NDArray[Any], NDArray[np.float64]], Calibrator]] = {
        "none": lambda _y, _p: Calibrator(),
        "temperature": _fit_temperature_multiclass if multiclass else _fit_temperature,
        "platt": _fit_platt,
        "isotonic": _fit_isotonic,
    }
    calibrator = fitters[method](y, p)
    return _rounded(calibrator) if rounded else calibrator


def _sig(value: float) -> float:
    """``value`` to :data:`_SIGNIFICANT` significant digits (short, exact in JSON)."""
    return float(f"{value:.{_SIGNIFICANT}g}")


def _rounded(calibrator: Calibrator) -> Calibrator:
    """The calibrator with parameters rounded for the card (knots kept valid)."""
    if calibrator.method == "temperature":
        return Calibrator("temperature", temperature=_sig(calibrator.temperature))
    if calibrator.method == "platt":
        return Calibrator("platt", a=_sig(calibrator.a), b=_sig(calibrator.b))
    if calibrator.method == "isotonic":
        # Rounding is monotone, so y stays non-decreasing; x values that collide are merged.
        x = [_sig(v) for v in calibrator.x]
        y = [_sig(v) for v in calibrator.y]
        keep = [0] + [i for i in range(1, len(x)) if x[i] > x[i - 1]]
        return Calibrator("isotonic", x=tuple(x[i] for i in keep), y=tuple(y[i] for i in keep))
    return calibrator


def _binary_nll(scores: NDArray[np.float64], y: NDArray[np.bool_]) -> float:
    """Mean NLL of ``sigmoid(scores)`` against ``y`` (exact in the tails)."""
    return float(-np.mean(np.where(y, log_expit(scores), log_expit(-scores))))


def _fit_temperature(y: NDArray[np.bool_], p: NDArray[np.float64]) -> Calibrator:
    z = logit(np.clip(p, EPS, 1.0 - EPS))
    # Searching log T makes the objective better scaled and keeps T > 0.
    result = minimize_scalar(
        lambda u: _binary_nll(z * math.exp(-u), y),
        bounds=(math.log(TEMPERATURE_BOUNDS[0]), math.log(TEMPERATURE_BOUNDS[1])),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return Calibrator("temperature", temperature=math.exp(result.x))


def _fit_temperature_multiclass(y: NDArray[np.intp], p: NDArray[np.float64]) -> Calibrator:
    logp = np.log(np.clip(p, EPS, 1.0))
    true = logp[np.arange(len(y)), y]

    def nll(u: float) -> float:
        scale = math.exp(-u)
        return float(np.mean(logsumexp(logp * scale, axis=1) - true * scale))

    result = minimize_scalar(
        nll,
        bounds=(math.log(TEMPERATURE_BOUNDS[0]), math.log(TEMPERATURE_BOUNDS[1])),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return Calibrator("temperature", temperature=math.exp(result.x))


def _fit_platt(y: NDArray[np.bool_], p: NDArray[np.float64]) -> Calibrator:
    z = logit(np.clip(p, EPS, 1.0 - EPS))
    target = y.astype(np.float64)
    lower = np.array([_SLOPE_BOUNDS[0], _INTERCEPT_BOUNDS[0]])
    upper = np.array([_SLOPE_BOUNDS[1], _INTERCEPT_BOUNDS[1]])
    theta = np.array([1.0, 0.0])
    loss = _binary_nll(theta[0] * z + theta[1], y)
    # Damped Newton on two parameters: a few exact steps, far cheaper than a general
    # optimiser. The box keeps the slope positive (an increasing map) and the
    # parameters finite on separable folds.
    for _ in range(_NEWTON_STEPS):
        q = expit(theta[0] * z + theta[1])
        residual, weight = q - target, q * (1.0 - q)
        grad = np.array([np.mean(residual * z), np.mean(residual)])
        hess = np.array(
            [[np.mean(weight * z * z), np.mean(weight * z)], [np.mean(weight * z), np.mean(weight)]]
        )
        step = np.linalg.solve(hess + 1e-9 * np.eye(2), grad)
        for _ in range(30):  # halve until the loss does not increase
            candidate = np.clip(theta - step, lower, upper)
            new_loss = _binary_nll(candidate[0] * z + candidate[1], y)
            if new_loss <= loss:
                break
            step = step / 2.0
        else:
            break
        moved = np.abs(candidate - theta).max()
        theta, loss = candidate, new_loss
        if moved < 1e-9:
            break
    return Calibrator("platt", a=float(theta[0]), b=float(theta[1]))


def _fit_isotonic(y: NDArray[np.bool_], p: NDArray[np.float64]) -> Calibrator:
    # Tied raw probabilities must share one output, so PAV runs on their pooled means.
    values, inverse, counts = np.unique(p, return_inverse=True, return_counts=True)
    means = np.bincount(inverse, weights=y.astype(np.float64)) / counts
    result = isotonic_regression(means, weights=counts.astype(np.float64), increasing=True)
    starts, stops = result.blocks[:-1], result.blocks[1:]
    level = np.clip(result.x[starts], ISOTONIC_EPS, 1.0 - ISOTONIC_EPS)
    # Centred isotonic regression: a knot at each block's mean raw value.
    x = np.array(
        [np.average(values[a:b], weights=counts[a:b]) for a, b in zip(starts, stops, strict=True)]
    )
    # Interior knots on a flat stretch (blocks merged by the clip) change nothing.
    flat = np.zeros(len(x), dtype=bool)
    flat[1:-1] = (level[1:-1] == level[:-2]) & (level[1:-1] == level[2:])
    return Calibrator("isotonic", x=tuple(x[~flat].tolist()), y=tuple(level[~flat].tolist()))


# --------------------------------------------------------------------------- reporting


def calibration_summary(
    y_true: ArrayLike,
    raw: ArrayLike,
    calibrated: ArrayLike,
    *,
    n_bins: int = 10,
) -> dict[str, Any]:
    """Calibration before and after: ECE, Brier, NLL and reliability curves, JSON-ready.

    Binary models are scored on the probability of the positive class; multiclass ones
    on the top-label confidence (ECE and reliability curve, as in
    :func:`zoo.metrics.top_label_ece`), with the multi-class Brier score (sum over
    classes of the squared error, in [0, 2]) and the NLL of the true class.

    Parameters
    ----------
    y_true : array-like, shape (n_samples,)
        Binary 0/1 labels or class indices.
    raw, calibrated : array-like of float in [0, 1]
        Probabilities before and after calibration, of the same shape: (n,), (n, 1),
        (n, 2) (column 1 is positive) or (n, C) with C > 2.
    n_bins : int, default 10
        Equal-width bins of the ECE and reliability curves.

    Returns
    -------
    dict
        ``{"task", "n", "n_bins", "before": {...}, "after": {...}}`` where each side holds
        ``ece``, ``brier``, ``nll`` and ``reliability`` = ``{"mean_predicted",
        "observed_frequency", "count"}`` (lists over the non-empty bins; for multiclass
        the observed frequency is the accuracy of the top label).
    """
    before, after = np.asarray(raw), np.asarray(calibrated)
    if before.shape != after.shape:
        raise ValueError(
            f"raw and calibrated must have the same shape; got {before.shape} and {after.shape}"
        )
    multiclass = before.ndim == 2 and before.shape[1] > 2
    sides = {"before": before, "after": after}
    if multiclass:
        y = check_class_labels(y_true, before.shape[1], "y_true")
        report = {name: _multiclass_report(y, p, n_bins) for name, p in sides.items()}
    else:
        y = check_binary_labels(y_true)
        report = {name: _binary_report(y, _positive(p), n_bins) for name, p in sides.items()}
    return {
        "task": "multiclass" if multiclass else "binary",
        "n": len(y),
        "n_bins": int(n_bins),
        **report,
    }


def _positive(p: NDArray[Any]) -> NDArray[Any]:
    """Positive-class probabilities from (n,), (n, 1) or (n, 2)."""
    if p.ndim == 2 and p.shape[1] in (1, 2):
        return p[:, -1]
    return p


def _curve(
    mean: NDArray[np.float64], observed: NDArray[np.float64], count: NDArray[np.int64]
) -> dict[str, list[Any]]:
    return {
        "mean_predicted": [round(float(v), _CURVE_DECIMALS) for v in mean],
        "observed_frequency": [round(float(v), _CURVE_DECIMALS) for v in observed],
        "count": [int(c) for c in count],
    }


def _binary_report(y: NDArray[np.bool_], p: ArrayLike, n_bins: int) -> dict[str, Any]:
    p = check_probabilities(p, "probabilities")
    check_same_length(y_true=y, probabilities=p)
    return {
        "ece": round(expected_calibration_error(y, p, n_bins=n_bins), _DECIMALS),
        "brier": round(brier_score(y, p), _DECIMALS),
        "nll": round(float(_losses(y, p, False).mean()), _DECIMALS),
        "reliability": _curve(*reliability_curve(y, p, n_bins=n_bins)),
    }


def _multiclass_report(y: NDArray[np.intp], prob: ArrayLike, n_bins: int) -> dict[str, Any]:
    prob = check_prob_matrix(prob, "probabilities")
    check_same_length(y_true=y, probabilities=prob)
    onehot = np.zeros_like(prob)
    onehot[np.arange(len(y)), y] = 1.0
    top = prob.argmax(axis=1)
    conf = prob[np.arange(len(y)), top]
    return {
        "ece": round(top_label_ece(y, prob, n_bins=n_bins), _DECIMALS),
        "brier": round(float(np.mean(np.sum((prob - onehot) ** 2, axis=1))), _DECIMALS),
        "nll": round(float(_losses(y, prob, True).mean()), _DECIMALS),
        "reliability": _curve(*reliability_curve(top == y, conf, n_bins=n_bins)),
    }
