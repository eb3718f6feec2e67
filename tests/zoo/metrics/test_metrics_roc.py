import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata
from sklearn import metrics as skm

from zoo.metrics import (
    UndefinedMetricWarning,
    average_precision,
    precision_recall_curve,
    roc_auc,
    roc_curve,
)

SEEDS = [0, 1, 2, 3]

# small samples with many ties: labels and integer-valued or real scores
samples = st.lists(
    st.tuples(st.booleans(), st.integers(-4, 4) | st.floats(-1e3, 1e3, allow_nan=False)),
    min_size=2,
    max_size=60,
)


def _split(pairs):
    y = np.array([p[0] for p in pairs], dtype=int)
    s = np.array([p[1] for p in pairs], dtype=float)
    return y, s


class TestRocCurve:
    @pytest.mark.parametrize("seed", SEEDS)
    @pytest.mark.parametrize("ties", [True, False])
    def test_matches_sklearn(self, make_binary, seed, ties):
        y, s = make_binary(300, seed=seed, ties=ties)
        expected = skm.roc_curve(y, s, drop_intermediate=False)
        for got, want in zip(roc_curve(y, s), expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)

    def test_starts_at_inf_and_ends_at_one(self):
        fpr, tpr, thr = roc_curve([0, 1, 0, 1], [0.1, 0.9, 0.4, 0.4])
        assert thr[0] == np.inf
        np.testing.assert_array_equal(thr[1:], [0.9, 0.4, 0.1])
        assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
        assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)

    def test_no_negatives_warns_and_gives_nan_fpr(self):
        with pytest.warns(UndefinedMetricWarning, match="no negative samples"):
            fpr, tpr, _ = roc_curve([1, 1], [0.2, 0.8])
        assert np.isnan(fpr).all()
        np.testing.assert_array_equal(tpr, [0, 0.5, 1])

    def test_nan_score_raises(self):
        with pytest.raises(ValueError, match="y_score must be finite; found nan"):
            roc_curve([0, 1], [0.3, np.nan])


class TestPrecisionRecallCurve:
    @pytest.mark.parametrize("seed", SEEDS)
    @pytest.mark.parametrize("ties", [True, False])
    def test_matches_sklearn(self, make_binary, seed, ties):
        y, s = make_binary(300, seed=seed, ties=ties)
        expected = skm.precision_recall_curve(y, s)
        for got, want in zip(precision_recall_curve(y, s), expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)

    def test_no_positives_warns(self):
        with pytest.warns(UndefinedMetricWarning, match="no positive samples"):
            _, recall, _ = precision_recall_curve([0, 0], [0.2, 0.8])
        assert np.isnan(recall[:-1]).all()


class TestRocAuc:
    @pytest.mark.parametrize("seed", SEEDS)
    @pytest.mark.parametrize("ties", [True, False])
    def test_matches_sklearn(self, make_binary, seed, ties):
        y, s = make_binary(500, seed=seed, ties=ties)
        assert roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)

    def test_ties_count_half(self):
        assert roc_auc([0, 1], [0.5, 0.5]) == 0.5
        assert roc_auc([0, 0, 1], [0.2, 0.5, 0.5]) == 0.75

    def test_matches_trapezoid_under_roc_curve(self, make_binary):
        y, s = make_binary(200, seed=7)
        fpr, tpr, _ = roc_curve(y, s)
        assert roc_auc(y, s) == pytest.approx(np.trapezoid(tpr, fpr), abs=1e-12)

    def test_single_class_warns_and_gives_nan(self):
        with pytest.warns(UndefinedMetricWarning, match="roc_auc is undefined"):
            assert np.isnan(roc_auc([0, 0, 0], [0.1, 0.2, 0.3]))

    def test_labels_other_than_zero_one_raise(self):
        with pytest.raises(ValueError, match=r"found \[2\]"):
            roc_auc([0, 1, 2], [0.1, 0.2, 0.3])

    @settings(max_examples=50, deadline=None)
    @given(samples)
    def test_in_unit_interval_and_complementary(self, pairs):
        y, s = _split(pairs)
        assume(0 < y.sum() < len(y))
        auc = roc_auc(y, s)
        assert 0.0 <= auc <= 1.0
        assert auc + roc_auc(y, -s) == pytest.approx(1.0, abs=1e-12)
        assert auc == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)

    @settings(max_examples=30, deadline=None)
    @given(samples)
    def test_invariant_to_monotone_transform(self, pairs):
        y, s = _split(pairs)
        assume(0 < y.sum() < len(y))
        dense_ranks = rankdata(s, method="dense")  # strictly increasing, even for subnormals
        assert roc_auc(y, np.sqrt(dense_ranks)) == pytest.approx(roc_auc(y, s), abs=1e-12)


class TestAveragePrecision:
    @pytest.mark.parametrize("seed", SEEDS)
    @pytest.mark.parametrize("ties", [True, False])
    def test_matches_sklearn(self, make_binary, seed, ties):
        y, s = make_binary(300, seed=seed, ties=ties)
        expected = skm.average_precision_score(y, s)
        assert average_precision(y, s) == pytest.approx(expected, abs=1e-12)

    def test_all_positive_is_one(self):
        assert average_precision([1, 1, 1], [0.1, 0.5, 0.2]) == 1.0

    def test_no_positives_warns_and_gives_nan(self):
        with pytest.warns(UndefinedMetricWarning, match="without positive samples"):
            assert np.isnan(average_precision([0, 0], [0.1, 0.2]))

    @settings(max_examples=30, deadline=None)
    @given(samples)
    def test_matches_sklearn_on_small_samples(self, pairs):
        y, s = _split(pairs)
        assume(y.sum() > 0)
        expected = skm.average_precision_score(y, s)
        assert average_precision(y, s) == pytest.approx(expected, abs=1e-12)
