"""Out-of-distribution score on a model's penultimate embedding.

A model card carries a compact Gaussian summary of the model's *training* embeddings and
a threshold chosen on *validation* embeddings; at serving, a scan whose embedding scores
above the threshold is flagged as looking unlike the training data.

Model
-----
The training embeddings get a covariance of probabilistic-PCA form (Tipping & Bishop
1999), ``S = W diag(lam) W^T + sigma2 (I - W W^T)``: the ``k`` leading principal directions
``W`` (orthonormal columns) keep their own variances ``lam`` and every other direction
shares ``sigma2``, the mean of the remaining eigenvalues (the leftover trace over ``D - k``,
so it is defined when ``n < D``). The squared Mahalanobis distance is

    m2(x) = sum_i z_i**2 / lam_i + ||r||**2 / sigma2,  z = W^T u,  r = u - W z,  u = x - mu,

and the reported score is the root-mean-square per dimension, ``sqrt(m2 / D)``. Under the
fitted Gaussian ``E[m2] = D``, so a typical in-distribution embedding scores about 1 (held-out
images a little more, since the fit has seen the training images); 2 means twice as far as
typical. ``k <= max_components``, ``k <= n - 2`` and ``k < D``; directions whose variance
is below a floor of ``1e-6`` times the mean per-dimension variance are left to the residual,
and ``sigma2`` is floored the same way, so constant or dead dimensions cannot make the score
blow up.

Features are *not* standardised per dimension. Dead (post-ReLU, always 0) and almost dead
units have (near) zero variance, so standardising has to floor their scale, and then a rare
activation of such a unit counts many "standard deviations" and noise in a few units
decides the score. On synthetic post-ReLU embeddings (dead units, per-unit scales spread
over two orders of magnitude, n = 300 < D) shifts were separated as well or better without
standardisation, and with it worse the harder it amplified low-variance units; the
high-variance units are the ones the ``k`` principal directions model exactly anyway. A
dead unit that fires at serving still adds ``value**2 / sigma2`` to ``m2``.

The threshold is the smallest value such that at most ``flag_rate`` of the validation
scores lie strictly above it (flagged = ``score > threshold``); validation scores are
computed from the float32 parameters that the card stores, so they are the numbers the
served detector reproduces.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike, NDArray

from zoo.errors import CardError, ModelRuntimeError

__all__ = ["METHOD", "OODDetector", "fit_ood", "flag_rate"]

METHOD = "ppca-mahalanobis"
N_QUANTILES = 101  # 0th..100th percentile of the validation scores

# Floor on every variance, relative to the mean per-dimension variance (see module docstring).
_VARIANCE_FLOOR = 1e-6
_ARRAY_FIELDS = frozenset({"mean", "basis", "variances", "residual_variance"})
# The stored basis is float32; rows orthonormal to this tolerance are accepted.
_ORTHONORMAL_TOL = 1e-3


# --- serialisation ------------------------------------------------------------------------


def _encode(array: NDArray[np.floating]) -> dict[str, Any]:
    """``array`` as base64 of little-endian float32, with its shape."""
    data = np.ascontiguousarray(array, dtype="<f4")
    return {
        "dtype": "float32",
        "shape": [int(n) for n in data.shape],
        "b64": base64.b64encode(data.tobytes()).decode("ascii"),
    }


def _decode(entry: object, field: str, shape: tuple[int, ...]) -> NDArray[np.float64]:
    """Inverse of :func:`_encode`, checking dtype, shape and that every value is finite."""
    if not isinstance(entry, Mapping):
        raise CardError(f"OOD section field {field!r} must be an object with dtype, shape, b64")
    if entry.get("dtype") != "float32":
        raise CardError(f"OOD section field {field!r}: dtype must be 'float32'")
    got = entry.get("shape")
    if not isinstance(got, list) or [int(n) for n in shape] != got:
        raise CardError(f"OOD section field {field!r}: shape {got!r} must be {list(shape)}")
    text = entry.get("b64")
    if not isinstance(text, str):
        raise CardError(f"OOD section field {field!r}: b64 must be a string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise CardError(f"OOD section field {field!r}: b64 is not valid base64") from exc
    size = math.prod(shape)
    if len(raw) != 4 * size:
        raise CardError(
            f"OOD section field {field!r}: b64 holds {len(raw)} bytes; "
            f"shape {list(shape)} needs {4 * size}"
        )
    values = np.frombuffer(raw, dtype="<f4").astype(np.float64).reshape(shape)
    if not np.isfinite(values).all():
        raise CardError(f"OOD section field {field!r} holds NaN or infinite values")
    return values


def _f32(array: NDArray[np.floating]) -> NDArray[np.float64]:
    """``array`` rounded to float32, as stored on the card, back in float64."""
    return np.asarray(array, dtype=np.float32).astype(np.float64)


# --- checks -------------------------------------------------------------------------------


def _as_embeddings(values: ArrayLike, name: str) -> NDArray[np.float64]:
    """Finite, non-empty 2-D float64 array; ValueError naming ``name`` otherwise."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty (n, D) array; got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return arr


def _int_field(section: Mapping[str, Any], field: str, low: int) -> int:
    value = section.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise CardError(f"OOD section field {field!r} must be an integer >= {low}; got {value!r}")
    return value


def _float_field(value: object, field: str, *, positive: bool = False) -> float:
    """A finite (and if asked, positive) real number from a card field."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CardError(f"OOD section field {field!r} must be a finite number; got {value!r}")
    if positive and value <= 0:
        raise CardError(f"OOD section field {field!r} must be positive; got {value!r}")
    return float(value)


def _rate_field(value: object, field: str) -> float:
    rate = _float_field(value, field)
    if not 0.0 <= rate <= 1.0:
        raise CardError(f"OOD section field {field!r} must lie in [0, 1]; got {value!r}")
    return rate


# --- detector -----------------------------------------------------------------------------


class OODDetector:
    """Scores embeddings by their distance from the training embeddings.

    Build one with :meth:`from_section` from the card section that :func:`fit_ood` writes.

    Attributes
    ----------
    dim : int
        Embedding size ``D``.
    components : int
        Number ``k`` of principal directions with their own variance.
    threshold : float
        Scores strictly above it are flagged.
    """

    def __init__(
        self,
        *,
        mean: NDArray[np.float64],
        basis: NDArray[np.float64],
        variances: NDArray[np.float64],
        residual_variance: float,
        threshold: float,
        quantiles: NDArray[np.float64],
    ) -> None:
        self.dim = int(mean.shape[0])
        self.components = int(basis.shape[0])
        self.threshold = float(threshold)
        self._mean = np.ascontiguousarray(mean, dtype=np.float64)
        self._basis = np.ascontiguousarray(basis, dtype=np.float64)
        self._inv_var = 1.0 / np.asarray(variances, dtype=np.float64)
        self._inv_residual = 1.0 / float(residual_variance)
        self._quantiles = np.asarray(quantiles, dtype=np.float64)

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> OODDetector:
        """Detector from an OOD card section, checking every field.

        Parameters
        ----------
        section : mapping
            The section :func:`fit_ood` returns (possibly after a JSON round trip).

        Returns
        -------
        OODDetector

        Raises
        ------
        CardError
            A field is missing or malformed; the message names it.
        """
        if not isinstance(section, Mapping):
            raise CardError(f"OOD section must be an object; got {type(section).__name__}")
        if section.get("method") != METHOD:
            raise CardError(
                f"OOD section field 'method' must be {METHOD!r}; got {section.get('method')!r}"
            )
        dim = _int_field(section, "dim", 1)
        k = _int_field(section, "components", 0)
        if k >= dim:
            raise CardError(f"OOD section field 'components' ({k}) must be below dim ({dim})")
        if not isinstance(section.get("fitted_on"), str):
            raise CardError("OOD section field 'fitted_on' must be a string")
        threshold = _float_field(section.get("threshold"), "threshold")
        _rate_field(section.get("flag_rate_target"), "flag_rate_target")
        _rate_field(section.get("validation_flag_rate"), "validation_flag_rate")

        quantiles = section.get("validation_quantiles")
        if not isinstance(quantiles, list) or len(quantiles) != N_QUANTILES:
            raise CardError(
                f"OOD section field 'validation_quantiles' must be a list of {N_QUANTILES} numbers"
            )
        q = np.array([_float_field(v, "validation_quantiles") for v in quantiles])
        if np.any(np.diff(q) < 0):
            raise CardError("OOD section field 'validation_quantiles' must be non-decreasing")

        arrays = section.get("arrays")
        if not isinstance(arrays, Mapping):
            raise CardError("OOD section field 'arrays' must be an object")
        # An array this version does not know (say a per-dimension scale) would change the
        # score; ignoring it would give silently wrong numbers.
        unknown = sorted(set(arrays) - _ARRAY_FIELDS)
        if unknown:
            raise CardError(f"OOD section field 'arrays' has unknown entries {unknown}")
        mean = _decode(arrays.get("mean"), "arrays.mean", (dim,))
        basis = _decode(arrays.get("basis"), "arrays.basis", (k, dim))
        variances = _decode(arrays.get("variances"), "arrays.variances", (k,))
        if np.any(variances <= 0):
            raise CardError("OOD section field 'arrays.variances' must be positive")
        residual = _float_field(
            arrays.get("residual_variance"), "arrays.residual_variance", positive=True
        )
        # The residual formula assumes orthonormal directions; a wrong basis would be silent.
        if k and np.abs(basis @ basis.T - np.eye(k)).max() > _ORTHONORMAL_TOL:
            raise CardError("OOD section field 'arrays.basis' must have orthonormal rows")
        return cls(
            mean=mean,
            basis=basis,
            variances=variances,
            residual_variance=residual,
            threshold=threshold,
            quantiles=q,
        )

    def score(self, embeddings: ArrayLike) -> NDArray[np.float64]:
        """Distance of each embedding from the training embeddings.

        Parameters
        ----------
        embeddings : array-like, shape (D,) or (n, D)
            One embedding or a batch.

        Returns
        -------
        float64, shape () (a NumPy scalar) or (n,)
            ``sqrt(m2 / D)`` with ``m2`` the squared PPCA-Mahalanobis distance; about 1 for
            typical training-like embeddings, larger is further away.

        Raises
        ------
        ModelRuntimeError
            The embedding size differs from ``dim``, or a value is NaN or infinite.
        """
        x = np.asarray(embeddings, dtype=np.float64)
        if x.ndim not in (1, 2) or x.shape[-1] != self.dim:
            raise ModelRuntimeError(
                f"OOD detector expects embeddings of size {self.dim}; got shape {x.shape}"
            )
        if not np.isfinite(x).all():
            raise ModelRuntimeError("the model's embedding holds NaN or infinite values")
        u = x - self._mean
        z = u @ self._basis.T
        r = u - z @ self._basis  # explicit residual: the float32 basis is only ~orthonormal
        m2 = (z * z) @ self._inv_var + np.einsum("...d,...d->...", r, r) * self._inv_residual
        return np.sqrt(m2 / self.dim)

    def flags(self, embeddings: ArrayLike) -> NDArray[np.bool_]:
        """Whether each embedding scores strictly above :attr:`threshold`.

        Parameters
        ----------
        embeddings : array-like, shape (D,) or (n, D)

        Returns
        -------
        bool, shape () (a NumPy scalar) or (n,)
        """
        return self.score(embeddings) > self.threshold

    def percentile(self, score: float) -> float:
        """Share of validation images (in %) scoring lower than ``score``.

        Interpolates linearly between the stored 0th..100th percentiles of the validation
        scores; 0 at or below the lowest, 100 above the highest. Where several stored
        percentiles are equal, a score equal to them gets the first (the share strictly
        lower), so the result is non-decreasing in ``score``.

        Parameters
        ----------
        score : float
            A score from :meth:`score`.

        Returns
        -------
        float
            In [0, 100], for messages like "further than 97% of validation images".
        """
        s = float(score)
        if math.isnan(s):
            raise ValueError("score must not be NaN")
        q = self._quantiles
        i = int(np.searchsorted(q, s, side="left"))
        if i == 0:
            return 0.0
        if i == len(q):
            return 100.0
        if s == q[i]:
            return float(i)
        return float(i - 1 + (s - q[i - 1]) / (q[i] - q[i - 1]))


def flag_rate(detector: OODDetector, embeddings: ArrayLike) -> float:
    """Share of ``embeddings`` that ``detector`` flags.

    Parameters
    ----------
    detector : OODDetector
    embeddings : array-like, shape (n, D)
        At least one embedding.

    Returns
    -------
    float
        In [0, 1].
    """
    flagged = np.atleast_1d(detector.flags(embeddings))
    if flagged.size == 0:
        raise ValueError("embeddings is empty")
    return float(flagged.mean())


# --- fitting ------------------------------------------------------------------------------


def _top_directions(
    u: NDArray[np.float64], k: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Leading ``k`` eigenpairs of the sample covariance of centred rows ``u``.

    Returns variances (descending) and directions as rows. Works on the smaller of the
    D x D covariance and the n x n Gram matrix, so ``n < D`` stays cheap.
    """
    n, d = u.shape
    if k == 0:
        return np.zeros(0), np.zeros((0, d))
    if n >= d:
        vals, vecs = scipy.linalg.eigh(u.T @ u / (n - 1), subset_by_index=[d - k, d - 1])
        dirs = vecs.T
    else:
        vals, vecs = scipy.linalg.eigh(u @ u.T / (n - 1), subset_by_index=[n - k, n - 1])
        dirs = (u.T @ vecs).T  # Gram eigenvector -> covariance eigenvector (unnormalised)
        dirs /= np.maximum(np.linalg.norm(dirs, axis=1, keepdims=True), np.finfo(float).tiny)
    order = np.argsort(vals)[::-1]
    return np.maximum(vals[order], 0.0), dirs[order]


def _threshold(scores: NDArray[np.float64], rate: float) -> float:
    """Smallest value with at most ``rate`` of ``scores`` strictly above it."""
    ordered = np.sort(scores)
    allowed = math.floor(rate * len(ordered) + 1e-9)  # 1e-9: 0.29 * 100 is 28.999...
    return float(ordered[len(ordered) - 1 - min(allowed, len(ordered) - 1)])


def fit_ood(
    train_embeddings: ArrayLike,
    validation_embeddings: ArrayLike,
    *,
    max_components: int = 32,
    flag_rate: float = 0.05,
) -> dict[str, Any]:
    """Fit the OOD summary of a model's training embeddings and its validation threshold.

    Parameters
    ----------
    train_embeddings : array-like, shape (n, D)
        Penultimate embeddings of the training images; ``n >= 3``.
    validation_embeddings : array-like, shape (m, D)
        Embeddings of held-out validation images, used only for the threshold and the
        stored percentiles.
    max_components : int, default 32
        Most principal directions kept with their own variance.
    flag_rate : float in [0, 1), default 0.05
        Largest share of validation images that may be flagged.

    Returns
    -------
    dict
        JSON-serialisable card section; load it with :meth:`OODDetector.from_section`.
        Arrays are base64 of little-endian float32 with their shape.
    """
    train = _as_embeddings(train_embeddings, "train_embeddings")
    val = _as_embeddings(validation_embeddings, "validation_embeddings")
    n, d = train.shape
    if val.shape[1] != d:
        raise ValueError(
            f"validation_embeddings have size {val.shape[1]}; train_embeddings have {d}"
        )
    if n < 3:
        raise ValueError(f"train_embeddings need at least 3 rows; got {n}")
    if isinstance(max_components, bool) or not isinstance(max_components, (int, np.integer)):
        raise ValueError(f"max_components must be an integer; got {max_components!r}")
    if max_components < 0:
        raise ValueError(f"max_components must be >= 0; got {max_components!r}")
    if not 0.0 <= flag_rate < 1.0:
        raise ValueError(f"flag_rate must lie in [0, 1); got {flag_rate!r}")

    mean = _f32(train.mean(axis=0))  # centre on the stored mean, as serving will
    centred = train - mean
    total = float(np.einsum("ij,ij->", centred, centred)) / (n - 1)  # trace of the covariance
    if not total > 0:
        raise ValueError("train_embeddings are all identical; there is no spread to model")
    floor = _VARIANCE_FLOOR * total / d
    k = min(int(max_components), n - 2, d - 1)
    lam, dirs = _top_directions(centred, k)
    keep = lam > floor  # a direction no wider than the floor is noise: leave it to sigma2
    lam, dirs = lam[keep], dirs[keep]
    k = len(lam)
    residual = max((total - float(lam.sum())) / (d - k), floor)

    arrays: dict[str, Any] = {
        "mean": _encode(mean),
        "basis": _encode(dirs),
        "variances": _encode(lam),
        "residual_variance": float(np.float32(residual)),
    }
    detector = OODDetector(
        mean=_f32(mean),
        basis=_f32(dirs),
        variances=_f32(lam),
        residual_variance=arrays["residual_variance"],
        threshold=math.inf,
        quantiles=np.zeros(N_QUANTILES),
    )
    scores = detector.score(val)
    threshold = _threshold(scores, flag_rate)
    return {
        "method": METHOD,
        "dim": d,
        "components": k,
        "fitted_on": f"training embeddings (n={n})",
        "threshold": threshold,
        "flag_rate_target": float(flag_rate),
        "validation_flag_rate": float(np.mean(scores > threshold)),
        "validation_quantiles": [
            float(v) for v in np.percentile(scores, np.linspace(0, 100, N_QUANTILES))
        ],
        "arrays": arrays,
    }
