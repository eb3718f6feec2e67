import numpy as np
import pytest
from sklearn import metrics as skm

from zoo.metrics import (
    UndefinedMetricWarning,
    accuracy,
    confusion_matrix,
    macro_auc,
    one_vs_rest_auc,
    per_class_metrics,
)


def multiclass(n, k, seed, *, ties=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    y[:k] = np.arange(k)
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[y]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    if ties:
        probs = np.round(probs, 1)
    return y, probs


class TestConfusionMatrix:
    @pytest.mark.parametrize("seed", [0, 1])
    def test_matches_sklearn(self, seed):
        y, probs = multiclass(300, 4, seed)
        pred = probs.argmax(axis=1)
        expected = skm.confusion_matrix(y, pred, labels=range(4))
        np.testing.assert_array_equal(confusion_matrix(y, pred, 4), expected)

    def test_keeps_absent_classes(self):
        got = confusion_matrix([0, 0, 1], [0, 1, 1], 3)
        np.testing.assert_array_equal(got, [[1, 1, 0], [0, 1, 0], [0, 0, 0]])
        assert got.dtype == np.int64

    def test_label_out_of_range_raises(self):
        with pytest.raises(ValueError, match=r"y_pred_int must hold labels in \[0, 3\).*\[7\]"):
            confusion_matrix([0, 1], [0, 7], 3)

    @pytest.mark.parametrize("n_classes", [0, 2.0, True])
    def test_bad_n_classes_raises(self, n_classes):
        with pytest.raises(ValueError, match="n_classes must be"):
            confusion_matrix([0, 1], [0, 1], n_classes)


class TestPerClassMetrics:
    @pytest.mark.parametrize("seed", [0, 1])
    def test_matches_sklearn(self, seed):
        y, probs = multiclass(300, 4, seed)
        pred = probs.argmax(axis=1)
        precision, recall, f1, support = skm.precision_recall_fscore_support(
            y, pred, labels=range(4), zero_division=np.nan
        )
        got = per_class_metrics(y, pred, 4)
        np.testing.assert_allclose(got["precision"], precision)
        np.testing.assert_allclose(got["recall"], recall)
        np.testing.assert_allclose(got["f1"], f1)
        np.testing.assert_array_equal(got["support"], support)

    def test_never_predicted_class_warns_and_gives_nan_precision(self):
        with pytest.warns(
            UndefinedMetricWarning, match=r"precision undefined for class\(es\) \[2\]"
        ):
            got = per_class_metrics([0, 1, 2], [0, 1, 1], 3)
        assert np.isnan(got["precision"][2])
        np.testing.assert_allclose(got["recall"], [1, 1, 0])
        np.testing.assert_allclose(got["f1"], [1, 2 / 3, 0])


class TestAccuracy:
    def test_matches_sklearn(self):
        y, probs = multiclass(200, 3, 2)
        pred = probs.argmax(axis=1)
        assert accuracy(y, pred) == pytest.approx(skm.accuracy_score(y, pred))

    def test_negative_label_raises(self):
        with pytest.raises(ValueError, match=r"non-negative labels; found \[-1\]"):
            accuracy([0, -1], [0, 1])

    def test_length_mismatch_raises(self):
        with pytest.raises(ValueError, match="y_true_int has 2, y_pred_int has 3"):
            accuracy([0, 1], [0, 1, 1])


class TestOneVsRestAuc:
    @pytest.mark.parametrize("ties", [False, True])
    def test_matches_sklearn(self, ties):
        y, probs = multiclass(300, 4, 3, ties=ties)
        expected = [skm.roc_auc_score(y == k, probs[:, k]) for k in range(4)]
        np.testing.assert_allclose(one_vs_rest_auc(y, probs), expected, atol=1e-12)

    def test_absent_class_warns_and_gives_nan(self):
        y = np.array([0, 1, 0, 1])
        probs = np.array([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.5, 0.4, 0.1], [0.4, 0.5, 0.1]])
        with pytest.warns(UndefinedMetricWarning, match=r"class\(es\) \[2\]"):
            got = one_vs_rest_auc(y, probs)
        np.testing.assert_allclose(got[:2], [1.0, 1.0])
        assert np.isnan(got[2])

    def test_nan_probability_raises(self):
        with pytest.raises(ValueError, match=r"prob_matrix must be finite; found nan at \[1, 0\]"):
            one_vs_rest_auc([0, 1], [[0.5, 0.5], [np.nan, 0.5]])


class TestMacroAuc:
    @pytest.mark.parametrize("ties", [False, True])
    def test_matches_sklearn(self, ties):
        y, probs = multiclass(300, 3, 4, ties=ties)
        probs = probs / probs.sum(axis=1, keepdims=True)
        expected = skm.roc_auc_score(y, probs, multi_class="ovr", average="macro")
        assert macro_auc(y, probs) == pytest.approx(expected, abs=1e-12)

    def test_absent_class_is_left_out_with_warning(self):
        y = np.array([0, 1, 0, 1])
        probs = np.array([[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.6, 0.3, 0.1], [0.65, 0.25, 0.1]])
        with pytest.warns(UndefinedMetricWarning, match=r"\[2\] .* averaging over 2 of 3"):
            got = macro_auc(y, probs)
        assert got == pytest.approx(0.75)  # both defined AUCs are 3/4

    def test_single_class_gives_nan(self):
        with pytest.warns(UndefinedMetricWarning):
            assert np.isnan(macro_auc([0, 0], [[0.6, 0.4], [0.7, 0.3]]))
