import base64
import copy
import json
import time

import numpy as np
import pytest

from zoo.errors import CardError, ModelRuntimeError
from zoo.trust.ood import OODDetector, _threshold, _top_directions, fit_ood, flag_rate


class Mixture:
    """Gaussian mixture with low-rank cluster covariances plus isotropic noise.

    Means sit away from 0 (embeddings of real models are mostly positive), so the all-zero
    embedding is far from every cluster.
    """

    def __init__(self, dim, seed, *, clusters=3, rank=6):
        rng = np.random.default_rng(seed)
        self.means = rng.normal(2.0, 1.0, (clusters, dim))
        self.loadings = rng.normal(0.0, 1.5 / np.sqrt(rank), (clusters, rank, dim))

    def sample(self, n, seed):
        rng = np.random.default_rng(seed)
        lab = rng.integers(0, len(self.means), n)
        z = rng.standard_normal((n, self.loadings.shape[1]))
        noise = 0.5 * rng.standard_normal((n, self.means.shape[1]))
        return self.means[lab] + np.einsum("nr,nrd->nd", z, self.loadings[lab]) + noise


class PostReLU:
    """ReLU of a low-rank latent model, with 40% of the units dead (exactly 0) in training."""

    def __init__(self, dim, seed, *, latent=16):
        rng = np.random.default_rng(seed)
        self.weights = rng.normal(0.0, 1.0 / np.sqrt(latent), (latent, dim))
        self.bias = rng.normal(0.5, 1.0, dim)
        self.dead = rng.random(dim) < 0.4
        self.bias[self.dead] = -50.0  # never crosses 0, so the unit is exactly 0
        self.gain = np.exp(rng.uniform(np.log(0.1), np.log(5.0), dim))  # uneven unit scales

    def sample(self, n, seed):
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((n, self.weights.shape[0]))
        pre = z @ self.weights + self.bias + 0.3 * rng.standard_normal((n, len(self.bias)))
        return (np.maximum(pre, 0.0) * self.gain).astype(np.float32)


@pytest.fixture(scope="module")
def mixture():
    return Mixture(64, seed=0)


@pytest.fixture(scope="module")
def fitted(mixture):
    section = fit_ood(mixture.sample(600, seed=1), mixture.sample(400, seed=2))
    return section, OODDetector.from_section(section)


@pytest.fixture(scope="module")
def relu():
    """n = 300 training images for D = 1024: fewer images than dimensions."""
    model = PostReLU(1024, seed=3)
    train, val = model.sample(300, seed=4), model.sample(300, seed=5)
    section = fit_ood(train, val)
    return model, train, section, OODDetector.from_section(section)


@pytest.fixture(scope="module")
def small_section():
    model = Mixture(16, seed=6)
    return fit_ood(model.sample(200, seed=7), model.sample(100, seed=8), max_components=4)


class TestFlagRates:
    def test_validation_rate_is_at_most_the_target(self, fitted, mixture):
        section, det = fitted
        val = mixture.sample(400, seed=2)
        assert section["flag_rate_target"] == 0.05
        assert 0.04 <= section["validation_flag_rate"] <= 0.05
        assert flag_rate(det, val) == section["validation_flag_rate"]

    def test_fresh_in_distribution_sample_is_flagged_at_about_the_target(self, fitted, mixture):
        _, det = fitted
        assert 0.01 <= flag_rate(det, mixture.sample(3000, seed=9)) <= 0.12

    def test_typical_scores_are_about_one(self, fitted, mixture):
        _, det = fitted
        assert 0.8 < np.median(det.score(mixture.sample(500, seed=9))) < 1.5

    def test_other_modality_is_flagged(self, fitted):
        other = Mixture(64, seed=10)  # other means and covariances, same overall scale
        assert flag_rate(fitted[1], other.sample(500, seed=11)) >= 0.95

    def test_mild_shift_is_flagged_more_often(self, fitted, mixture):
        # Half a noise sd along every dimension: much subtler than another modality.
        _, det = fitted
        shifted = mixture.sample(1000, seed=12) + 0.5 * np.sign(np.arange(64) % 2 - 0.5)
        assert flag_rate(det, shifted) >= 0.5

    def test_zeros_and_large_noise_are_flagged(self, fitted):
        _, det = fitted
        assert det.flags(np.zeros(64))
        noise = np.random.default_rng(13).normal(0.0, 10.0, (100, 64))
        assert det.flags(noise).all()

    @pytest.mark.parametrize("rate", [0.0, 0.01, 0.1, 0.29])
    def test_threshold_is_the_smallest_with_at_most_rate_above(self, mixture, rate):
        # 203 validation images: no rate here is a whole number of them.
        train, val = mixture.sample(300, seed=14), mixture.sample(203, seed=15)
        section = fit_ood(train, val, flag_rate=rate)
        scores = OODDetector.from_section(section).score(val)
        assert np.mean(scores > section["threshold"]) <= rate
        assert np.mean(scores >= section["threshold"]) > rate  # any lower value flags more
        assert section["validation_flag_rate"] == np.mean(scores > section["threshold"])
        assert rate == 0.0 or section["validation_flag_rate"] < rate


class TestThresholdHelper:
    def test_counts_strictly_above(self):
        assert _threshold(np.arange(1.0, 21.0), 0.05) == 19.0  # only 20 is above
        assert _threshold(np.arange(1.0, 21.0), 0.0) == 20.0

    def test_ties_are_never_split(self):
        assert _threshold(np.array([1.0, 2.0, 3.0, 3.0, 3.0]), 0.4) == 3.0

    def test_float_rounding_of_the_allowed_count(self):
        # 0.29 * 100 is 28.999999999999996 in floating point; 29 may still be flagged.
        assert _threshold(np.arange(100.0), 0.29) == 70.0


class TestModel:
    @pytest.mark.parametrize(
        ("n", "dim", "max_components"), [(150, 12, 0), (150, 12, 3), (150, 12, 8), (25, 40, 8)]
    )
    def test_score_is_the_mahalanobis_distance_of_the_ppca_covariance(self, n, dim, max_components):
        # (25, 40): fewer images than dimensions, so most remaining eigenvalues are 0.
        model = Mixture(dim, seed=16, rank=3)
        train = model.sample(n, seed=17)
        section = fit_ood(train, model.sample(50, seed=18), max_components=max_components)
        det = OODDetector.from_section(section)
        arrays = section["arrays"]
        mean = np.frombuffer(base64.b64decode(arrays["mean"]["b64"]), "<f4").astype(float)
        basis = np.frombuffer(base64.b64decode(arrays["basis"]["b64"]), "<f4").astype(float)
        basis = basis.reshape(section["components"], dim)
        lam = np.frombuffer(base64.b64decode(arrays["variances"]["b64"]), "<f4").astype(float)
        sigma2 = arrays["residual_variance"]
        # Reference: the training covariance's top eigenpairs and the mean of the rest.
        cov = np.cov(train, rowvar=False)
        eig = np.sort(np.linalg.eigvalsh(cov))[::-1]
        assert section["components"] == max_components
        np.testing.assert_allclose(lam, eig[:max_components], rtol=1e-5)
        np.testing.assert_allclose(sigma2, eig[max_components:].mean(), rtol=1e-5, atol=0)
        sigma = basis.T @ np.diag(lam) @ basis + sigma2 * (np.eye(dim) - basis.T @ basis)
        x = model.sample(20, seed=19) + np.random.default_rng(20).normal(0, 1, (20, dim))
        d = x - mean
        m2 = np.einsum("nd,nd->n", d, np.linalg.solve(sigma, d.T).T)
        np.testing.assert_allclose(det.score(x), np.sqrt(m2 / dim), rtol=1e-5)

    def test_gram_and_covariance_eigenpairs_agree(self):
        u = np.random.default_rng(21).normal(size=(30, 80)) * np.linspace(0.1, 3.0, 80)
        u -= u.mean(axis=0)
        lam, dirs = _top_directions(u, 5)  # n < D: goes through the 30 x 30 Gram matrix
        vals, vecs = np.linalg.eigh(np.cov(u, rowvar=False))
        np.testing.assert_allclose(lam, vals[::-1][:5], rtol=1e-8)
        np.testing.assert_allclose(np.abs(dirs @ vecs[:, ::-1][:, :5]), np.eye(5), atol=1e-6)

    def test_components_stay_below_n_minus_one_and_dim(self):
        model = Mixture(8, seed=22)
        assert fit_ood(model.sample(5, seed=23), model.sample(10, seed=24))["components"] == 3
        assert fit_ood(model.sample(200, seed=25), model.sample(10, seed=26))["components"] == 7

    def test_flat_data_keeps_only_real_directions_and_stays_finite(self):
        rng = np.random.default_rng(27)
        plane = rng.normal(size=(2, 10))
        train = rng.normal(size=(100, 2)) @ plane + 5.0  # rank 2 in 10 dimensions
        val = rng.normal(size=(50, 2)) @ plane + 5.0
        section = fit_ood(train, val)
        det = OODDetector.from_section(section)
        assert section["components"] == 2
        assert np.isfinite(det.score(val)).all()
        off_plane = val[0] + 0.1 * np.linalg.svd(plane)[2][-1]  # a step out of the plane
        assert det.flags(off_plane)


class TestPostReLU:
    def test_dead_units_and_fewer_images_than_dimensions(self, relu):
        model, train, section, det = relu
        assert train.shape == (300, 1024)
        assert (train[:, model.dead] == 0).all() and model.dead.sum() > 300
        assert section["components"] == 32
        val_scores = det.score(model.sample(300, seed=5))
        assert np.isfinite(val_scores).all() and np.isfinite(section["threshold"])
        assert section["validation_flag_rate"] <= 0.05
        assert flag_rate(det, model.sample(1000, seed=28)) <= 0.12

    def test_waking_dead_units_is_flagged(self, relu):
        model, _, _, det = relu
        x = model.sample(200, seed=29)
        x[:, model.dead] = np.median(x[x > 0])  # units that never fired in training fire
        assert flag_rate(det, x) == 1.0
        assert det.flags(np.zeros(1024))

    def test_section_for_1024_dims_is_compact(self, relu):
        _, _, section, _ = relu
        text = json.dumps(section, allow_nan=False)
        assert len(text.encode()) < 250_000
        assert section["arrays"]["basis"]["shape"] == [32, 1024]


class TestSection:
    def test_layout(self, fitted):
        section, det = fitted
        assert section["method"] == "ppca-mahalanobis"
        assert section["dim"] == det.dim == 64 and section["components"] == det.components == 32
        assert section["fitted_on"] == "training embeddings (n=600)"
        assert section["threshold"] == det.threshold
        assert set(section["arrays"]) == {"mean", "basis", "variances", "residual_variance"}
        assert section["arrays"]["mean"]["dtype"] == "float32"
        q = section["validation_quantiles"]
        assert len(q) == 101 and q == sorted(q)

    def test_quantiles_span_the_validation_scores(self, fitted, mixture):
        section, det = fitted
        scores = det.score(mixture.sample(400, seed=2))
        assert section["validation_quantiles"][0] == scores.min()
        assert section["validation_quantiles"][-1] == scores.max()

    def test_json_round_trip_gives_identical_scores(self, fitted, mixture):
        section, det = fitted
        loaded = OODDetector.from_section(json.loads(json.dumps(section, allow_nan=False)))
        x = mixture.sample(50, seed=30)
        np.testing.assert_array_equal(loaded.score(x), det.score(x))
        assert loaded.threshold == det.threshold
        assert flag_rate(loaded, mixture.sample(400, seed=2)) == section["validation_flag_rate"]

    def test_float32_embeddings_score_like_float64(self, fitted, mixture):
        _, det = fitted
        x = mixture.sample(50, seed=31).astype(np.float32)
        np.testing.assert_allclose(det.score(x), det.score(x.astype(np.float64)), rtol=1e-12)


def _mutate(path, value):
    """A function setting ``section[path...] = value`` (``...`` = delete the key)."""

    def apply(section):
        *parents, last = path
        node = section
        for key in parents:
            node = node[key]
        if value is ...:
            del node[last]
        else:
            node[last] = value

    return apply


def _b64(values):
    return base64.b64encode(np.asarray(values, dtype="<f4").tobytes()).decode()


MALFORMED = [
    ("method", ("method",), "pca"),
    ("method", ("method",), ...),
    ("dim", ("dim",), "16"),
    ("dim", ("dim",), True),
    ("dim", ("dim",), 0),
    ("dim", ("dim",), ...),
    ("arrays.mean", ("dim",), 17),
    ("components", ("components",), 16),
    ("components", ("components",), -1),
    ("components", ("components",), 4.0),
    ("arrays.basis", ("components",), 3),
    ("fitted_on", ("fitted_on",), 300),
    ("threshold", ("threshold",), float("nan")),
    ("threshold", ("threshold",), float("inf")),
    ("threshold", ("threshold",), "1.2"),
    ("threshold", ("threshold",), ...),
    ("flag_rate_target", ("flag_rate_target",), 1.5),
    ("flag_rate_target", ("flag_rate_target",), ...),
    ("validation_flag_rate", ("validation_flag_rate",), -0.1),
    ("validation_quantiles", ("validation_quantiles",), [1.0] * 100),
    ("validation_quantiles", ("validation_quantiles",), list(range(101, 0, -1))),
    ("validation_quantiles", ("validation_quantiles",), [float("nan")] * 101),
    ("validation_quantiles", ("validation_quantiles",), ["1"] * 101),
    ("validation_quantiles", ("validation_quantiles",), "0..100"),
    ("arrays", ("arrays",), ...),
    ("arrays", ("arrays",), []),
    ("arrays", ("arrays", "scale"), {"dtype": "float32", "shape": [16], "b64": _b64([1] * 16)}),
    ("arrays.mean", ("arrays", "mean"), ...),
    ("arrays.mean", ("arrays", "mean"), [0.0] * 16),
    ("arrays.mean", ("arrays", "mean", "dtype"), "float64"),
    ("arrays.mean", ("arrays", "mean", "shape"), [1, 16]),
    ("arrays.mean", ("arrays", "mean", "b64"), "not base64!"),
    ("arrays.mean", ("arrays", "mean", "b64"), _b64([0.0] * 15)),
    ("arrays.mean", ("arrays", "mean", "b64"), _b64([0.0] * 15 + [np.nan])),
    ("arrays.mean", ("arrays", "mean", "b64"), 12),
    ("arrays.basis", ("arrays", "basis", "shape"), [16, 4]),
    ("arrays.basis", ("arrays", "basis", "b64"), _b64(2.0 * np.eye(4, 16))),
    ("arrays.variances", ("arrays", "variances", "b64"), _b64([1.0, 1.0, 1.0, 0.0])),
    ("arrays.variances", ("arrays", "variances", "b64"), _b64([1.0, 1.0, 1.0, -2.0])),
    ("arrays.variances", ("arrays", "variances", "b64"), _b64([1.0, 1.0, 1.0, np.inf])),
    ("arrays.residual_variance", ("arrays", "residual_variance"), 0.0),
    ("arrays.residual_variance", ("arrays", "residual_variance"), -1.0),
    ("arrays.residual_variance", ("arrays", "residual_variance"), float("nan")),
    ("arrays.residual_variance", ("arrays", "residual_variance"), "1.0"),
    ("arrays.residual_variance", ("arrays", "residual_variance"), ...),
]


class TestFromSection:
    def test_valid_section_loads(self, small_section):
        det = OODDetector.from_section(small_section)
        assert (det.dim, det.components) == (16, 4)

    @pytest.mark.parametrize(("field", "path", "value"), MALFORMED)
    def test_malformed_field_raises_card_error_naming_it(self, small_section, field, path, value):
        section = copy.deepcopy(small_section)
        _mutate(path, value)(section)
        with pytest.raises(CardError, match=f"'{field}'"):
            OODDetector.from_section(section)

    def test_section_must_be_an_object(self):
        with pytest.raises(CardError, match="OOD section"):
            OODDetector.from_section([])


class TestScoring:
    def test_one_embedding_scores_like_a_row_of_a_batch(self, fitted, mixture):
        _, det = fitted
        x = mixture.sample(5, seed=32)
        one = det.score(x[2])
        assert np.shape(one) == ()
        np.testing.assert_allclose(one, det.score(x)[2], rtol=1e-12)
        assert det.score(np.empty((0, 64))).shape == (0,)

    @pytest.mark.parametrize("shape", [(63,), (3, 65), (2, 3, 64), ()])
    def test_wrong_embedding_size_raises_model_runtime_error(self, fitted, shape):
        with pytest.raises(ModelRuntimeError, match="64"):
            fitted[1].score(np.ones(shape))

    def test_nan_embedding_raises_model_runtime_error(self, fitted):
        x = np.ones(64)
        x[3] = np.nan
        with pytest.raises(ModelRuntimeError, match="NaN"):
            fitted[1].flags(x)

    def test_percentile_is_monotone_from_0_to_100(self, fitted):
        section, det = fitted
        q = section["validation_quantiles"]
        grid = np.linspace(q[0] - 1.0, q[-1] + 1.0, 2000)
        p = np.array([det.percentile(s) for s in grid])
        assert np.all(np.diff(p) >= 0)
        assert p[0] == 0.0 and p[-1] == 100.0
        assert det.percentile(q[50]) == pytest.approx(50.0)
        assert 90.0 <= det.percentile(det.threshold) <= 96.0

    def test_percentile_with_tied_quantiles_is_monotone(self, small_section):
        section = copy.deepcopy(small_section)
        section["validation_quantiles"] = [0.0] * 10 + [1.0] * 80 + list(np.linspace(1, 2, 11))
        det = OODDetector.from_section(section)
        grid = np.linspace(-0.5, 2.5, 301)
        assert np.all(np.diff([det.percentile(s) for s in grid]) >= 0)
        assert det.percentile(1.0) == 10.0  # 10% of validation scored below 1
        with pytest.raises(ValueError, match="NaN"):
            det.percentile(float("nan"))

    def test_one_embedding_takes_well_under_a_millisecond(self, relu):
        _, _, _, det = relu
        x = np.random.default_rng(33).random(1024).astype(np.float32)
        det.score(x)
        timings = []
        for _ in range(200):
            start = time.perf_counter()
            det.score(x)
            timings.append(time.perf_counter() - start)
        assert np.median(timings) < 1e-3


class TestFitErrors:
    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"flag_rate": 1.0}, "flag_rate"),
            ({"flag_rate": -0.1}, "flag_rate"),
            ({"max_components": -1}, "max_components"),
            ({"max_components": 2.5}, "max_components"),
        ],
    )
    def test_bad_options(self, mixture, kwargs, match):
        with pytest.raises(ValueError, match=match):
            fit_ood(mixture.sample(20, seed=34), mixture.sample(20, seed=35), **kwargs)

    def test_bad_embeddings(self, mixture):
        train = mixture.sample(20, seed=36)
        with pytest.raises(ValueError, match="validation_embeddings have size 63"):
            fit_ood(train, train[:, :63])
        with pytest.raises(ValueError, match="at least 3"):
            fit_ood(train[:2], train)
        with pytest.raises(ValueError, match="NaN"):
            fit_ood(np.where(train > 3, np.nan, train), train)
        with pytest.raises(ValueError, match="shape"):
            fit_ood(train[0], train)
        with pytest.raises(ValueError, match="identical"):
            fit_ood(np.ones((10, 64)), train)

    def test_flag_rate_of_nothing_is_an_error(self, fitted):
        with pytest.raises(ValueError, match="empty"):
            flag_rate(fitted[1], np.empty((0, 64)))
