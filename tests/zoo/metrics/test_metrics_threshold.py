import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from zoo.metrics import (
    METRIC_NAMES,
    ThresholdTable,
    UndefinedMetricWarning,
    confusion_at,
    min_cost_threshold,
    roc_curve,
    threshold_for_sensitivity,
    threshold_for_specificity,
    threshold_metrics,
    youden_threshold,
)

THRESHOLDS = [-np.inf, -1.0, 0.0, 0.3, 0.5, 1.2, np.inf]

samples = st.lists(
    st.tuples(st.booleans(), st.integers(-4, 4).map(lambda v: v / 2)), min_size=1, max_size=50
)


def _split(pairs):
    return (
        np.array([p[0] for p in pairs], dtype=int),
        np.array([p[1] for p in pairs], dtype=float),
    )


def candidates(s):
    return np.concatenate(([np.inf], np.unique(s)[::-1]))


def assert_same_metrics(got, want):
    assert set(got) == set(want) == set(METRIC_NAMES)
    for key in METRIC_NAMES:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=0, err_msg=key)


class TestConfusionAt:
    @pytest.mark.parametrize("threshold", THRESHOLDS)
    def test_matches_sklearn(self, make_binary, threshold):
        y, s = make_binary(200, seed=1)
        tn, fp, fn, tp = skm.confusion_matrix(y, s >= threshold, labels=[0, 1]).ravel()
        assert confusion_at(y, s, threshold) == (tp, fp, tn, fn)

    def test_score_equal_to_threshold_is_positive(self):
        assert confusion_at([0, 1], [0.5, 0.5], 0.5) == (1, 1, 0, 0)

    def test_returns_named_ints(self):
        counts = confusion_at([0, 1, 1], [0.2, 0.7, 0.4], 0.5)
        assert (counts.tp, counts.fp, counts.tn, counts.fn) == (1, 0, 1, 1)
        assert all(type(c) is int for c in counts)

    def test_nan_threshold_raises(self):
        with pytest.raises(ValueError, match="threshold must not be NaN; got nan"):
            confusion_at([0, 1], [0.2, 0.7], float("nan"))


class TestThresholdMetrics:
    @pytest.mark.parametrize("threshold", [-0.5, 0.0, 0.4, 1.0])
    def test_matches_sklearn(self, make_binary, threshold):
        y, s = make_binary(300, seed=2)
        pred = s >= threshold
        got = threshold_metrics(y, s, threshold)
        assert got["sensitivity"] == pytest.approx(skm.recall_score(y, pred))
        assert got["specificity"] == pytest.approx(skm.recall_score(1 - y, ~pred))
        assert got["ppv"] == pytest.approx(skm.precision_score(y, pred))
        assert got["npv"] == pytest.approx(skm.precision_score(1 - y, ~pred))
        assert got["f1"] == pytest.approx(skm.f1_score(y, pred))
        assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
        assert got["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
        assert got["threshold"] == threshold

    def test_prevalence_reweights_ppv_and_npv_by_bayes(self):
        y = [1] * 10 + [0] * 10
        s = [1] * 8 + [0] * 2 + [1] * 3 + [0] * 7  # sens 0.8, spec 0.7
        got = threshold_metrics(y, s, 0.5, prevalence=0.1)
        assert got["ppv"] == pytest.approx(0.8 * 0.1 / (0.8 * 0.1 + 0.3 * 0.9))
        assert got["npv"] == pytest.approx(0.7 * 0.9 / (0.7 * 0.9 + 0.2 * 0.1))
        assert got["sensitivity"] == pytest.approx(0.8)
        assert got["f1"] == pytest.approx(16 / 21)  # from the sample counts

    def test_sample_prevalence_reproduces_count_based_values(self, make_binary):
        y, s = make_binary(300, seed=3)
        plain = threshold_metrics(y, s, 0.4)
        weighted = threshold_metrics(y, s, 0.4, prevalence=y.mean())
        assert weighted["ppv"] == pytest.approx(plain["ppv"], rel=1e-12)
        assert weighted["npv"] == pytest.approx(plain["npv"], rel=1e-12)

    def test_nothing_predicted_positive_warns_about_ppv(self):
        with pytest.warns(UndefinedMetricWarning, match=r"ppv undefined at threshold inf"):
            got = threshold_metrics([0, 1], [0.2, 0.7], np.inf)
        assert np.isnan(got["ppv"]) and got["sensitivity"] == 0.0 and got["f1"] == 0.0

    def test_single_class_warns_about_specificity(self):
        with pytest.warns(UndefinedMetricWarning, match="specificity"):
            got = threshold_metrics([1, 1], [0.2, 0.7], 0.5)
        assert np.isnan(got["specificity"]) and got["sensitivity"] == 0.5

    @pytest.mark.parametrize("prevalence", [0, 1, -0.2, 2])
    def test_bad_prevalence_raises(self, prevalence):
        with pytest.raises(ValueError, match=rf"prevalence must lie in \(0, 1\); got {prevalence}"):
            threshold_metrics([0, 1], [0.2, 0.7], 0.5, prevalence=prevalence)

    def test_types(self):
        got = threshold_metrics([0, 1, 1], [0.2, 0.7, 0.4], 0.5)
        assert all(type(got[k]) is int for k in ("tp", "fp", "tn", "fn"))
        assert type(got["ppv"]) is float


class TestThresholdTable:
    @settings(max_examples=50, deadline=None)
    @given(samples, st.integers(-6, 6).map(lambda v: v / 4), st.none() | st.floats(0.05, 0.95))
    def test_at_agrees_with_threshold_metrics(self, pairs, threshold, prevalence):
        y, s = _split(pairs)
        with _ignore_undefined():
            want = threshold_metrics(y, s, threshold, prevalence=prevalence)
        assert_same_metrics(ThresholdTable(y, s).at(threshold, prevalence=prevalence), want)

    def test_vector_of_thresholds(self, make_binary):
        y, s = make_binary(400, seed=4)
        table = ThresholdTable(y, s)
        got = table.at(np.array(THRESHOLDS))
        for i, t in enumerate(THRESHOLDS):
            with _ignore_undefined():
                want = threshold_metrics(y, s, t)
            assert_same_metrics({k: v[i] for k, v in got.items()}, want)

    def test_curve_matches_roc_curve(self, make_binary):
        y, s = make_binary(400, seed=5)
        curve = ThresholdTable(y, s).curve()
        fpr, tpr, thresholds = roc_curve(y, s)
        np.testing.assert_array_equal(curve["threshold"], thresholds)
        np.testing.assert_allclose(curve["sensitivity"], tpr, atol=1e-15)
        np.testing.assert_allclose(1 - curve["specificity"], fpr, atol=1e-15)

    def test_curve_matches_at(self, make_binary):
        y, s = make_binary(200, seed=6)
        table = ThresholdTable(y, s)
        curve = table.curve(prevalence=0.2)
        at = table.at(curve["threshold"], prevalence=0.2)
        for key in METRIC_NAMES:
            np.testing.assert_array_equal(curve[key], at[key], err_msg=key)

    def test_scalar_at_gives_python_numbers(self):
        got = ThresholdTable([0, 1, 1], [0.2, 0.7, 0.4]).at(0.5)
        assert type(got["tp"]) is int and type(got["sensitivity"]) is float

    def test_does_not_warn(self, recwarn):
        table = ThresholdTable([1, 1], [0.2, 0.7])
        assert np.isnan(table.at(0.5)["specificity"])
        assert np.isnan(table.curve()["ppv"][0])
        assert len(recwarn) == 0


class TestYoudenThreshold:
    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_matches_brute_force(self, make_binary, seed):
        y, s = make_binary(150, seed=seed)
        j = [
            skm.recall_score(y, s >= t) + skm.recall_score(1 - y, s < t) - 1
            for t in np.unique(s)[::-1]
        ]
        assert youden_threshold(y, s) == np.unique(s)[::-1][int(np.argmax(j))]

    def test_ties_go_to_the_highest_threshold(self):
        # thresholds 0.8 and 0.3 both give J = 0.5
        assert youden_threshold([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.3]) == 0.8

    def test_single_class_warns_and_gives_nan(self):
        with pytest.warns(UndefinedMetricWarning, match="youden_threshold is undefined"):
            assert np.isnan(youden_threshold([0, 0], [0.1, 0.2]))


class TestThresholdForSensitivity:
    @pytest.mark.parametrize("target", [0.0, 0.25, 0.5, 0.9, 0.95, 1.0])
    def test_is_highest_threshold_reaching_target(self, make_binary, target):
        y, s = make_binary(120, seed=3)
        got = threshold_for_sensitivity(y, s, target)
        ok = [t for t in candidates(s) if confusion_at(y, s, t).tp / y.sum() >= target]
        assert got == max(ok)

    def test_exact_fraction_counts_as_reached(self):
        y = [1] * 10 + [0] * 5
        s = list(range(10)) + [0] * 5
        assert threshold_for_sensitivity(y, s, 0.9) == 1.0

    def test_zero_target_gives_inf(self):
        assert threshold_for_sensitivity([0, 1], [0.2, 0.7], 0.0) == np.inf

    def test_no_positives_warn(self):
        with pytest.warns(UndefinedMetricWarning, match="no positive samples"):
            assert np.isnan(threshold_for_sensitivity([0, 0], [0.2, 0.7], 0.9))

    @pytest.mark.parametrize("target", [-0.1, 1.1, float("nan")])
    def test_bad_target_raises(self, target):
        with pytest.raises(ValueError, match=r"target sensitivity must lie in \[0, 1\]"):
            threshold_for_sensitivity([0, 1], [0.2, 0.7], target)


class TestThresholdForSpecificity:
    @pytest.mark.parametrize("target", [0.0, 0.25, 0.5, 0.9, 0.95, 1.0])
    def test_is_lowest_threshold_reaching_target(self, make_binary, target):
        y, s = make_binary(120, seed=4)
        got = threshold_for_specificity(y, s, target)
        n_neg = len(y) - y.sum()
        ok = [t for t in candidates(s) if confusion_at(y, s, t).tn / n_neg >= target]
        assert got == min(ok)

    def test_inf_when_top_score_is_a_negative(self):
        assert threshold_for_specificity([1, 0], [0.2, 0.7], 1.0) == np.inf

    def test_no_negatives_warn(self):
        with pytest.warns(UndefinedMetricWarning, match="no negative samples"):
            assert np.isnan(threshold_for_specificity([1, 1], [0.2, 0.7], 0.9))


class TestMinCostThreshold:
    @pytest.mark.parametrize("ratio", [0.2, 1.0, 5.0])
    @pytest.mark.parametrize("prevalence", [None, 0.05])
    def test_matches_brute_force(self, make_binary, ratio, prevalence):
        y, s = make_binary(150, seed=5)
        prev = y.mean() if prevalence is None else prevalence
        costs = []
        for t in candidates(s):
            tp, fp, tn, fn = confusion_at(y, s, t)
            costs.append(ratio * prev * fn / (tp + fn) + (1 - prev) * fp / (fp + tn))
        want = candidates(s)[int(np.argmin(costs))]
        got = min_cost_threshold(y, s, cost_fn_fp_ratio=ratio, prevalence=prevalence)
        assert got == want

    def test_costlier_misses_lower_the_threshold(self, make_binary):
        y, s = make_binary(300, seed=6)
        ts = [min_cost_threshold(y, s, cost_fn_fp_ratio=r) for r in (0.1, 1, 10, 100)]
        assert ts == sorted(ts, reverse=True)

    @pytest.mark.parametrize("ratio", [0, -1, float("inf"), float("nan")])
    def test_bad_ratio_raises(self, ratio):
        with pytest.raises(ValueError, match="cost_fn_fp_ratio must be a positive finite"):
            min_cost_threshold([0, 1], [0.2, 0.7], cost_fn_fp_ratio=ratio)


@contextmanager
def _ignore_undefined():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        yield
