import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from zoo.metrics import (
    UndefinedMetricWarning,
    auc_ci_bootstrap,
    auc_ci_delong,
    bootstrap_ci,
    threshold_metrics,
)
from zoo.metrics.bootstrap import _bootstrap_aucs, _resample_counts


def _expanded_auc(y, s, counts):
    """AUC of the resample in which sample i appears counts[i] times (brute force)."""
    idx = np.repeat(np.arange(len(y)), counts)
    return roc_auc_score(y[idx], s[idx])


class TestBootstrapAucs:
    """The vectorised replicate AUCs equal AUCs of explicitly resampled data."""

    def test_stratified(self, make_binary):
        y, s = make_binary(60, seed=4)
        got = _bootstrap_aucs(y == 1, s, 25, np.random.default_rng(11), True)
        rng = np.random.default_rng(11)
        cases, controls = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
        u = _resample_counts(rng, 25, len(cases))
        w = _resample_counts(rng, 25, len(controls))
        for b in range(25):
            counts = np.zeros(len(y), dtype=int)
            counts[cases] = u[b]
            # controls are weighted in score order inside _bootstrap_aucs
            order = controls[np.argsort(s[controls], kind="stable")]
            counts[order] = w[b]
            assert got[b] == pytest.approx(_expanded_auc(y, s, counts), abs=1e-12)

    def test_unstratified(self, make_binary):
        y, s = make_binary(40, seed=5)
        got = _bootstrap_aucs(y == 1, s, 25, np.random.default_rng(12), False)
        counts = _resample_counts(np.random.default_rng(12), 25, len(y))
        for b in range(25):
            if 0 < counts[b][y == 1].sum() < len(y):
                assert got[b] == pytest.approx(_expanded_auc(y, s, counts[b]), abs=1e-12)


class TestAucCiBootstrap:
    def test_reproducible_and_seed_dependent(self, make_binary):
        y, s = make_binary(200, seed=1)
        first = auc_ci_bootstrap(y, s, n_boot=300, seed=3)
        assert first == auc_ci_bootstrap(y, s, n_boot=300, seed=3)
        assert first != auc_ci_bootstrap(y, s, n_boot=300, seed=4)

    def test_close_to_delong_for_large_samples(self, make_binary):
        y, s = make_binary(2000, seed=2)
        auc, lower, upper = auc_ci_bootstrap(y, s, n_boot=1000)
        d_auc, d_lower, d_upper = auc_ci_delong(y, s)
        assert auc == pytest.approx(d_auc, abs=1e-12)
        assert lower == pytest.approx(d_lower, abs=0.01)
        assert upper == pytest.approx(d_upper, abs=0.01)

    @pytest.mark.parametrize("stratified", [True, False])
    def test_interval_contains_estimate(self, make_binary, stratified):
        y, s = make_binary(150, seed=6)
        auc, lower, upper = auc_ci_bootstrap(y, s, n_boot=500, stratified=stratified)
        assert 0 <= lower < auc < upper <= 1

    def test_narrower_at_lower_confidence(self, make_binary):
        y, s = make_binary(150, seed=6)
        _, lo95, hi95 = auc_ci_bootstrap(y, s, n_boot=500)
        _, lo80, hi80 = auc_ci_bootstrap(y, s, n_boot=500, alpha=0.2)
        assert lo95 <= lo80 < hi80 <= hi95

    def test_unstratified_drops_single_class_replicates_with_warning(self):
        y = np.array([0] * 9 + [1])
        s = np.linspace(0, 1, 10)
        with pytest.warns(UndefinedMetricWarning, match="left out"):
            auc, lower, upper = auc_ci_bootstrap(y, s, n_boot=200, stratified=False)
        assert auc == 1.0 and lower == upper == 1.0

    def test_single_class_warns_and_gives_nan(self):
        with pytest.warns(UndefinedMetricWarning, match="auc_ci_bootstrap is undefined"):
            assert np.isnan(auc_ci_bootstrap([1, 1, 1], [0.1, 0.2, 0.3])).all()

    @pytest.mark.parametrize("n_boot", [0, -5, 2.5, True])
    def test_bad_n_boot_raises(self, n_boot):
        with pytest.raises(ValueError, match="n_boot must be a positive integer"):
            auc_ci_bootstrap([0, 1], [0.1, 0.2], n_boot=n_boot)


class TestBootstrapCi:
    def test_scalar_metric(self, make_binary):
        y, s = make_binary(300, seed=7)

        def sensitivity(yy, ss):
            return threshold_metrics(yy, ss, 0.5)["sensitivity"]

        est, lower, upper = bootstrap_ci(sensitivity, y, s, n_boot=300)
        assert est == pytest.approx(sensitivity(y, s))
        assert lower < est < upper
        assert isinstance(est, float)

    def test_vector_metric(self, make_binary):
        y, s = make_binary(300, seed=7)

        def sens_spec(yy, ss):
            m = threshold_metrics(yy, ss, 0.5)
            return [m["sensitivity"], m["specificity"]]

        est, lower, upper = bootstrap_ci(sens_spec, y, s, n_boot=200, seed=1)
        assert est.shape == lower.shape == upper.shape == (2,)
        assert np.all(lower < est) and np.all(est < upper)

    def test_stratified_keeps_class_counts_of_multiclass_labels(self):
        y = np.array([0] * 5 + [1] * 3 + [2] * 7)
        probs = np.eye(3)[y]

        def counts(yy, pp):
            assert pp.shape == (15, 3)
            return np.bincount(yy, minlength=3)

        _, lower, upper = bootstrap_ci(counts, y, probs, n_boot=50)
        np.testing.assert_array_equal(lower, [5, 3, 7])
        np.testing.assert_array_equal(upper, [5, 3, 7])

    def test_resamples_pairs_together(self):
        y = np.arange(20) % 2
        s = np.arange(20.0)

        def pairs_intact(yy, ss):
            return float(np.all(yy == ss.astype(int) % 2))

        assert bootstrap_ci(pairs_intact, y, s, n_boot=50, stratified=False) == (1.0, 1.0, 1.0)

    def test_nan_replicates_are_left_out_with_warning(self):
        y = np.array([0] * 9 + [1])
        s = np.linspace(0, 1, 10)
        with pytest.warns(UndefinedMetricWarning, match=r"undefined in \d+ of 200"):
            auc, lower, upper = bootstrap_ci(roc_auc_or_nan, y, s, n_boot=200, stratified=False)
        assert auc == lower == upper == 1.0

    def test_length_mismatch_raises(self):
        with pytest.raises(ValueError, match="y_true has 2, y_score has 3"):
            bootstrap_ci(roc_auc_or_nan, [0, 1], [0.1, 0.2, 0.3])


def roc_auc_or_nan(y, s):
    return roc_auc_score(y, s) if 0 < np.sum(y) < len(y) else np.nan
