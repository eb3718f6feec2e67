import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import zoo.metrics
from zoo.metrics import UndefinedMetricWarning, roc_auc
from zoo.metrics._validation import (
    check_binary_inputs,
    check_binary_labels,
    check_class_labels,
    check_probabilities,
    check_scores,
)


class TestUndefinedMetricWarning:
    def test_is_a_user_warning(self):
        assert issubclass(UndefinedMetricWarning, UserWarning)

    def test_single_class_warns_and_gives_nan(self):
        with pytest.warns(UndefinedMetricWarning, match=r"single class \(3 positive"):
            assert np.isnan(roc_auc([1, 1, 1], [0.1, 0.2, 0.3]))


class TestCheckBinaryLabels:
    @pytest.mark.parametrize(
        "labels", [[0, 1, 1], [False, True, True], [0.0, 1.0, 1.0], np.array([0, 1, 1], np.uint8)]
    )
    def test_accepts_zero_one_and_bool(self, labels):
        np.testing.assert_array_equal(check_binary_labels(labels), [False, True, True])

    def test_rejects_other_numbers_echoing_them(self):
        with pytest.raises(ValueError, match=r"only 0 and 1; found \[2, 3\]"):
            check_binary_labels([0, 1, 2, 3, 2])

    def test_rejects_strings(self):
        with pytest.raises(ValueError, match=r"'Poor'"):
            check_binary_labels(["Good", "Poor"])

    def test_rejects_nan_labels(self):
        with pytest.raises(ValueError, match="nan"):
            check_binary_labels([0.0, np.nan, 1.0])

    def test_rejects_2d(self):
        with pytest.raises(ValueError, match=r"1-D; got an array of shape \(2, 2\)"):
            check_binary_labels([[0, 1], [1, 0]])

    def test_rejects_empty(self):
        with pytest.raises(ValueError, match="y_true is empty"):
            check_binary_labels([])


class TestCheckScores:
    def test_returns_float64(self):
        assert check_scores([1, 2, 3]).dtype == np.float64

    @pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
    def test_rejects_non_finite_echoing_value_and_index(self, bad):
        with pytest.raises(ValueError, match=rf"finite; found {bad!r} at index 1"):
            check_scores([0.1, bad, 0.3])

    def test_rejects_non_numeric(self):
        with pytest.raises(ValueError, match="numeric"):
            check_scores(["a", "b"])


class TestCheckBinaryInputs:
    def test_length_mismatch_names_both_lengths(self):
        with pytest.raises(ValueError, match="y_true has 3, y_score has 2"):
            check_binary_inputs([0, 1, 1], [0.1, 0.2])


class TestCheckProbabilities:
    def test_rejects_out_of_range(self):
        with pytest.raises(ValueError, match=r"\[0, 1\]; found 1.5 at index 2"):
            check_probabilities([0.0, 1.0, 1.5])


class TestCheckClassLabels:
    def test_rejects_out_of_range_echoing_labels(self):
        with pytest.raises(ValueError, match=r"\[0, 3\) for n_classes=3; found \[-1, 3\]"):
            check_class_labels([0, 3, -1, 2], 3)

    def test_rejects_fractional(self):
        with pytest.raises(ValueError, match=r"integer class labels; found \[0.5\]"):
            check_class_labels([0.0, 0.5], 2)

    def test_accepts_integral_floats(self):
        np.testing.assert_array_equal(check_class_labels([0.0, 2.0], 3), [0, 2])


class TestPackage:
    def test_all_names_exist(self):
        for name in zoo.metrics.__all__:
            assert hasattr(zoo.metrics, name), name

    def test_imports_neither_sklearn_nor_tensorflow(self):
        code = (
            "import sys, zoo.metrics; "
            "print(sorted(m for m in ('sklearn', 'tensorflow') if m in sys.modules))"
        )
        root = Path(zoo.metrics.__file__).resolve().parents[2]
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
        )
        assert done.stdout.strip() == "[]"
