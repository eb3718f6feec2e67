import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from zoo.metrics import brier_score, expected_calibration_error, reliability_curve, top_label_ece


def probabilities(n, seed, *, grid=False):
    """Outcomes drawn from slightly miscalibrated probabilities; ``grid`` rounds to 0.05."""
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 3, size=n)
    y = (rng.random(n) < p**1.3).astype(int)
    if grid:
        p = np.round(p * 20) / 20  # many values exactly on the bin edges
    return y, p


class TestReliabilityCurve:
    @pytest.mark.parametrize("seed", [0, 1])
    @pytest.mark.parametrize("grid", [False, True])
    @pytest.mark.parametrize("strategy", ["uniform", "quantile"])
    @pytest.mark.parametrize("n_bins", [5, 10])
    def test_matches_sklearn(self, seed, grid, strategy, n_bins):
        y, p = probabilities(500, seed, grid=grid)
        frac, mean = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
        got_mean, got_frac, counts = reliability_curve(y, p, n_bins=n_bins, strategy=strategy)
        np.testing.assert_allclose(got_mean, mean, atol=1e-12)
        np.testing.assert_allclose(got_frac, frac, atol=1e-12)
        assert counts.sum() == len(y) and np.all(counts > 0)

    def test_bins_are_closed_on_the_right(self):
        _, _, counts = reliability_curve([0, 1, 1, 0], [0.0, 0.1, 0.15, 1.0], n_bins=10)
        np.testing.assert_array_equal(counts, [2, 1, 1])  # [0, 0.1], (0.1, 0.2], (0.9, 1]

    def test_empty_bins_are_dropped(self):
        mean, frac, counts = reliability_curve([0, 1, 1], [0.05, 0.96, 0.92], n_bins=10)
        np.testing.assert_allclose(mean, [0.05, 0.94])
        np.testing.assert_allclose(frac, [0.0, 1.0])
        np.testing.assert_array_equal(counts, [1, 2])

    def test_probability_outside_unit_interval_raises(self):
        with pytest.raises(ValueError, match=r"y_prob must lie in \[0, 1\]; found 1.2"):
            reliability_curve([0, 1], [0.5, 1.2])

    def test_bad_strategy_raises(self):
        with pytest.raises(ValueError, match="strategy must be one of 'uniform', 'quantile'"):
            reliability_curve([0, 1], [0.5, 0.7], strategy="kmeans")

    @pytest.mark.parametrize("n_bins", [0, -1, 2.5])
    def test_bad_n_bins_raises(self, n_bins):
        with pytest.raises(ValueError, match="n_bins must be a positive integer"):
            reliability_curve([0, 1], [0.5, 0.7], n_bins=n_bins)


class TestExpectedCalibrationError:
    def test_weighted_by_bin_counts(self):
        y = [0, 0, 1, 1, 1, 0]
        p = [0.1, 0.1, 0.8, 0.8, 0.8, 0.8]
        # bins: {0.1, 0.1} with frac 0 (gap 0.1); {0.8 x4} with frac 0.75 (gap 0.05)
        expected = 2 / 6 * 0.1 + 4 / 6 * 0.05
        assert expected_calibration_error(y, p) == pytest.approx(expected)

    def test_matches_reliability_curve(self):
        y, p = probabilities(800, 3)
        mean, frac, counts = reliability_curve(y, p, n_bins=15, strategy="quantile")
        expected = np.sum(counts * np.abs(frac - mean)) / len(y)
        got = expected_calibration_error(y, p, n_bins=15, strategy="quantile")
        assert got == pytest.approx(expected)

    def test_zero_for_perfect_calibration(self):
        p = np.repeat([0.25, 0.5], 4)
        y = [1, 0, 0, 0, 1, 1, 0, 0]
        assert expected_calibration_error(y, p) == pytest.approx(0.0, abs=1e-15)


class TestBrierScore:
    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_matches_sklearn(self, seed):
        y, p = probabilities(300, seed)
        assert brier_score(y, p) == pytest.approx(brier_score_loss(y, p), abs=1e-15)

    def test_bounds(self):
        assert brier_score([0, 1], [0.0, 1.0]) == 0.0
        assert brier_score([0, 1], [1.0, 0.0]) == 1.0

    def test_length_mismatch_raises(self):
        with pytest.raises(ValueError, match="y_true has 2, y_prob has 1"):
            brier_score([0, 1], [0.5])


class TestTopLabelEce:
    def test_hand_computed(self):
        probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.05, 0.05, 0.9], [0.3, 0.3, 0.4]])
        y = [0, 2, 2, 1]
        # confidences 0.9 (right), 0.7 (wrong), 0.9 (right), 0.4 (wrong)
        expected = (2 * abs(1 - 0.9) + abs(0 - 0.7) + abs(0 - 0.4)) / 4
        assert top_label_ece(y, probs) == pytest.approx(expected)

    def test_matches_binary_ece_of_correctness(self):
        rng = np.random.default_rng(0)
        logits = rng.normal(size=(300, 4))
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        y = rng.integers(0, 4, 300)
        correct = (probs.argmax(axis=1) == y).astype(int)
        expected = expected_calibration_error(correct, probs.max(axis=1), n_bins=15)
        assert top_label_ece(y, probs, n_bins=15) == pytest.approx(expected)

    def test_label_out_of_range_raises(self):
        with pytest.raises(ValueError, match=r"y_true_int must hold labels in \[0, 2\).*\[5\]"):
            top_label_ece([0, 5], [[0.5, 0.5], [0.2, 0.8]])

    def test_negative_probability_raises(self):
        with pytest.raises(ValueError, match=r"must lie in \[0, 1\]; found -0.1 at \[1, 0\]"):
            top_label_ece([0, 1], [[0.5, 0.5], [-0.1, 0.8]])

    def test_one_column_raises(self):
        with pytest.raises(ValueError, match="at least 2 columns"):
            top_label_ece([0, 0], [[1.0], [1.0]])
