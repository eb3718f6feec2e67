import json

import numpy as np
import pytest
from scipy.special import expit, softmax

from zoo.errors import CardError
from zoo.metrics import brier_score, expected_calibration_error, top_label_ece
from zoo.trust.calibrators import (
    ISOTONIC_EPS,
    Calibrator,
    calibration_summary,
    cv_folds,
    fit_calibration,
)


def overconfident(n, seed, power=3.0):
    """True P(positive) = sigmoid(z); the model reports sigmoid(power * z)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.5, n)
    return (rng.random(n) < expit(z)).astype(int), expit(power * z)


def base_rate_shifted(n, seed):
    """Class-weighted training: the model reports sigmoid(z), the truth is sigmoid(z - 2)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.5, n)
    return (rng.random(n) < expit(z - 2.0)).astype(int), expit(z)


def staircase(n, seed):
    """P(positive) is 0.2 below a raw 0.5 and 0.8 above: no sigmoid map fits a step."""
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    return (rng.random(n) < np.where(p < 0.5, 0.2, 0.8)).astype(int), p


def calibrated(n, seed):
    rng = np.random.default_rng(seed)
    p = expit(rng.normal(0.0, 1.5, n))
    return (rng.random(n) < p).astype(int), p


def multiclass(n, seed, power=2.5, n_classes=4):
    """Labels drawn from softmax(L); the model reports softmax(power * L)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 1.5, (n, n_classes))
    cumulative = softmax(logits, axis=1).cumsum(axis=1)
    y = (rng.random(n)[:, None] > cumulative).sum(axis=1)
    return np.minimum(y, n_classes - 1), softmax(power * logits, axis=1)


SECTIONS = {
    "none": {"method": "none"},
    "temperature": {"method": "temperature", "params": {"temperature": 2.5}},
    "platt": {"method": "platt", "params": {"a": 0.8, "b": -1.5}},
    "isotonic": {
        "method": "isotonic",
        "params": {"x": [0.05, 0.3, 0.31, 0.7, 0.95], "y": [0.01, 0.2, 0.4, 0.4, 0.97]},
    },
}
GRID = np.linspace(0.0, 1.0, 201)


class TestFitBinary:
    def test_overconfident_model_gets_lower_held_out_ece(self):
        y, p = overconfident(2000, seed=0)
        section = fit_calibration(y, p)
        assert section["method"] in ("temperature", "platt")
        assert section["cv_nll"]["none"] > section["cv_nll"][section["method"]] + 0.1
        y_test, p_test = overconfident(5000, seed=1)
        before = expected_calibration_error(y_test, p_test)
        after = expected_calibration_error(y_test, Calibrator.from_section(section).apply(p_test))
        assert before > 0.12
        assert after < 0.25 * before

    def test_temperature_recovers_the_overconfidence_factor(self):
        y, p = overconfident(3000, seed=0)
        section = fit_calibration(y, p, methods=["temperature"])
        assert section["method"] == "temperature"
        assert section["params"]["temperature"] == pytest.approx(3.0, rel=0.1)

    def test_base_rate_shift_chooses_platt(self):
        y, p = base_rate_shifted(1500, seed=2)
        section = fit_calibration(y, p)
        assert section["method"] == "platt"
        cv = section["cv_nll"]
        assert cv["platt"] < cv["temperature"] - 0.1  # a temperature cannot move the base rate
        assert section["params"]["b"] == pytest.approx(-2.0, abs=0.4)
        assert section["params"]["a"] == pytest.approx(1.0, abs=0.2)

    def test_staircase_chooses_isotonic(self):
        y, p = staircase(1500, seed=3)
        section = fit_calibration(y, p)
        assert section["method"] == "isotonic"
        x, knots_y = section["params"]["x"], section["params"]["y"]
        assert 2 <= len(x) <= 60 and len(x) == len(knots_y)
        assert np.all(np.diff(x) > 0) and np.all(np.diff(knots_y) >= 0)
        y_test, p_test = staircase(4000, seed=4)
        after = expected_calibration_error(y_test, Calibrator.from_section(section).apply(p_test))
        assert after < 0.5 * expected_calibration_error(y_test, p_test)

    def test_isotonic_knots_by_hand(self):
        # PAV pools the violating pair (0.2: 1, 0.3: 0) into 0.5 and the two 1s into one
        # block; 0 and 1 are clipped. Centred: one knot at each block's mean raw value.
        section = fit_calibration([0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.5], methods=["isotonic"])
        assert section["params"] == {
            "x": [0.1, 0.25, 0.45],
            "y": [ISOTONIC_EPS, 0.5, 1 - ISOTONIC_EPS],
        }

    def test_isotonic_pools_tied_probabilities(self):
        section = fit_calibration(
            [0, 1, 1, 0, 1, 1], [0.2, 0.2, 0.2, 0.6, 0.6, 0.6], methods=["isotonic"]
        )
        # one block (2/3 then 2/3): its knot sits at the mean raw value
        assert section["params"]["x"] == [0.4]
        np.testing.assert_allclose(section["params"]["y"], [2 / 3], atol=1e-6)

    def test_isotonic_keeps_the_order_of_scores_between_its_knots(self):
        # plain PAV ties whole blocks, which on its own fitting set turns misordered
        # pairs into ties and raises the AUC; the centred map must not
        rng = np.random.default_rng(3)
        p = rng.random(400)
        y = rng.random(400) < p
        calibrator = Calibrator.from_section(fit_calibration(y, p, methods=["isotonic"]))
        inside = (p > calibrator.x[0]) & (p < calibrator.x[-1])
        order = np.argsort(p[inside])
        assert np.all(np.diff(calibrator.apply(p[inside])[order]) > 0)

    @pytest.mark.parametrize("seed", [5, 6])
    def test_calibrated_model_is_left_nearly_unchanged(self, seed):
        y, p = calibrated(1500, seed)
        section = fit_calibration(y, p)
        change = np.abs(Calibrator.from_section(section).apply(GRID[1:-1]) - GRID[1:-1])
        assert change.max() < 0.03, section

    def test_two_columns_fit_like_the_positive_column(self):
        y, p = base_rate_shifted(400, seed=7)
        assert fit_calibration(y, np.column_stack([1 - p, p])) == fit_calibration(y, p)
        assert fit_calibration(y, p[:, None]) == fit_calibration(y, p)

    def test_deterministic_and_seeded(self):
        y, p = overconfident(400, seed=8)
        groups = np.arange(400) // 4
        first = fit_calibration(y, p, groups=groups, seed=3)
        assert fit_calibration(y, p, groups=groups, seed=3) == first
        assert fit_calibration(y, p, groups=groups, seed=4)["cv_nll"] != first["cv_nll"]

    def test_section_is_compact_json(self):
        y, p = staircase(1000, seed=9)
        section = fit_calibration(y, p, groups=np.arange(1000) // 2)
        text = json.dumps(section)
        assert len(text) < 1500
        assert set(section) == {"method", "params", "fitted_on", "n", "chosen_by", "cv_nll"}
        assert section["fitted_on"] == "validation" and section["n"] == 1000
        assert section["chosen_by"] == "5-fold group cross-validated negative log-likelihood"
        assert set(section["cv_nll"]) == {"none", "temperature", "platt", "isotonic"}
        chosen = section["method"]
        assert section["cv_nll"][chosen] == min(section["cv_nll"].values())

    def test_few_groups_use_fewer_folds(self):
        y, p = overconfident(60, seed=10)
        section = fit_calibration(y, p, groups=np.arange(60) % 3)
        assert section["chosen_by"].startswith("3-fold group")

    def test_one_group_falls_back_to_temperature_on_all(self):
        y, p = overconfident(60, seed=11)
        section = fit_calibration(y, p, groups=["patient-1"] * 60)
        assert section["method"] == "temperature" and section["cv_nll"] is None
        assert section["chosen_by"].startswith("fallback")
        assert section["params"] == fit_calibration(y, p, methods=["temperature"])["params"]

    def test_single_class_raises(self):
        with pytest.raises(ValueError, match="both classes"):
            fit_calibration([1, 1, 1], [0.2, 0.5, 0.9])

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"methods": ["beta"]}, "methods must be among"),
            ({"methods": []}, "non-empty"),
            ({"n_folds": 1}, "n_folds must be an integer >= 2"),
            ({"groups": [1, 2]}, "inconsistent numbers of samples"),
        ],
    )
    def test_bad_arguments_raise(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            fit_calibration([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.6], **kwargs)

    def test_bad_probabilities_raise(self):
        with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\]"):
            fit_calibration([0, 1], [0.1, 1.5])
        with pytest.raises(ValueError, match="rows must sum to 1"):
            fit_calibration([0, 2], [[0.5, 0.5, 0.5], [0.1, 0.1, 0.8]])


class TestFitMulticlass:
    def test_temperature_is_recovered_and_argmax_kept(self):
        y, prob = multiclass(1500, seed=0)
        section = fit_calibration(y, prob)
        assert section["method"] == "temperature"
        assert set(section["cv_nll"]) == {"none", "temperature"}
        assert section["params"]["temperature"] == pytest.approx(2.5, rel=0.15)
        out = Calibrator.from_section(section).apply(prob)
        assert out.shape == prob.shape
        np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-12)
        np.testing.assert_array_equal(out.argmax(axis=1), prob.argmax(axis=1))
        y_test, p_test = multiclass(3000, seed=1)
        after = top_label_ece(y_test, Calibrator.from_section(section).apply(p_test))
        assert after < 0.3 * top_label_ece(y_test, p_test)

    def test_binary_only_methods_are_refused(self):
        y, prob = multiclass(50, seed=2)
        with pytest.raises(ValueError, match="'platt'"):
            fit_calibration(y, prob, methods=["none", "platt"])

    def test_labels_out_of_range_raise(self):
        with pytest.raises(ValueError, match="y_true must hold labels in"):
            fit_calibration([0, 3], [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])


class TestFolds:
    def test_groups_never_span_two_folds(self):
        rng = np.random.default_rng(0)
        groups = rng.integers(0, 40, size=500)
        y = rng.integers(0, 2, size=500)
        folds = cv_folds(y, groups=groups, n_folds=5, seed=1)
        for group in np.unique(groups):
            assert len(np.unique(folds[groups == group])) == 1
        counts = np.bincount(folds)
        assert len(counts) == 5 and counts.min() > 0.6 * counts.max()

    def test_string_groups_and_fewer_groups_than_folds(self):
        groups = np.array(["a", "b", "c"] * 4)
        folds = cv_folds(np.zeros(12), groups=groups, n_folds=5)
        assert sorted(np.unique(folds)) == [0, 1, 2]
        assert all(len(set(folds[groups == g])) == 1 for g in "abc")

    def test_seeded(self):
        groups = np.arange(100) // 2
        a = cv_folds(np.zeros(100), groups=groups, seed=0)
        np.testing.assert_array_equal(a, cv_folds(np.zeros(100), groups=groups, seed=0))
        assert not np.array_equal(a, cv_folds(np.zeros(100), groups=groups, seed=1))

    def test_without_groups_folds_are_stratified(self):
        y = np.array([1] * 23 + [0] * 77)
        folds = cv_folds(y, n_folds=5, seed=2)
        positives = np.bincount(folds[y == 1], minlength=5)
        assert positives.max() - positives.min() <= 1
        assert np.bincount(folds).tolist() == [20] * 5

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"groups": [7] * 6}, "at least 2 groups"),
            ({"n_folds": 1}, "n_folds must be an integer >= 2"),
            ({"groups": [1, 2]}, "one entry per sample"),
        ],
    )
    def test_impossible_folds_raise(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            cv_folds(np.zeros(6), **kwargs)


class TestSection:
    @pytest.mark.parametrize(
        "section", [None, {}, {"method": "none"}, {"method": "none", "params": {}}]
    )
    def test_identity(self, section):
        calibrator = Calibrator.from_section(section)
        assert calibrator.is_identity and calibrator.method == "none"
        p = np.array([[0.2, 0.8], [0.6, 0.4]])
        out = calibrator.apply(p)
        np.testing.assert_array_equal(out, p)
        assert out is not p

    @pytest.mark.parametrize("method", sorted(SECTIONS))
    def test_json_round_trip(self, method):
        calibrator = Calibrator.from_section(SECTIONS[method])
        again = Calibrator.from_section(json.loads(json.dumps(calibrator.to_section())))
        assert again == calibrator
        np.testing.assert_array_equal(again.apply(GRID), calibrator.apply(GRID))

    def test_fitted_section_round_trips_through_json(self):
        y, p = staircase(600, seed=12)
        section = fit_calibration(y, p, groups=np.arange(600) // 3)
        a = Calibrator.from_section(section)
        b = Calibrator.from_section(json.loads(json.dumps(section)))
        assert a == b and not a.is_identity
        np.testing.assert_array_equal(b.apply(GRID), a.apply(GRID))

    def test_descriptive_keys_are_allowed(self):
        section = {**SECTIONS["platt"], "ece": {"before": 0.2, "after": 0.03}, "summary": {}}
        assert Calibrator.from_section(section).method == "platt"

    @pytest.mark.parametrize(
        ("section", "field"),
        [
            ("platt", "calibration must be an object"),
            ({"method": "beta"}, "calibration.method"),
            ({"method": None}, "calibration.method"),
            ({"params": {"temperature": 2.0}}, "calibration.method"),
            ({"method": "temperature"}, r"calibration.params.temperature is required"),
            ({"method": "temperature", "params": [2.0]}, "calibration.params must be an object"),
            ({"method": "temperature", "params": {"temperature": -1.0}}, r"params.temperature"),
            ({"method": "temperature", "params": {"temperature": 0}}, r"params.temperature"),
            ({"method": "temperature", "params": {"temperature": float("nan")}}, r"temperature"),
            ({"method": "temperature", "params": {"temperature": float("inf")}}, r"temperature"),
            ({"method": "temperature", "params": {"temperature": "2"}}, r"params.temperature"),
            ({"method": "temperature", "params": {"temperature": True}}, r"params.temperature"),
            ({"method": "temperature", "params": {"temperature": 2, "b": 0}}, "unknown keys"),
            ({"method": "platt", "params": {"a": 1.0}}, r"params.b is required"),
            ({"method": "platt", "params": {"a": 0.0, "b": 0.0}}, r"params.a must be a positive"),
            ({"method": "platt", "params": {"a": 1.0, "b": float("nan")}}, r"params.b"),
            ({"method": "isotonic", "params": {"x": [0.1, 0.5]}}, r"params.y is required"),
            ({"method": "isotonic", "params": {"x": [], "y": []}}, r"params.x must be a non-empty"),
            (
                {"method": "isotonic", "params": {"x": 0.5, "y": 0.5}},
                r"params.x must be a non-empty",
            ),
            ({"method": "isotonic", "params": {"x": [0.1, 0.5], "y": [0.2]}}, "same length"),
            (
                {"method": "isotonic", "params": {"x": [0.5, 0.5], "y": [0.2, 0.3]}},
                "x must be strictly",
            ),
            (
                {"method": "isotonic", "params": {"x": [0.6, 0.5], "y": [0.2, 0.3]}},
                "x must be strictly",
            ),
            (
                {"method": "isotonic", "params": {"x": [0.1, 0.5], "y": [0.3, 0.2]}},
                "y must be non-decreasing",
            ),
            (
                {"method": "isotonic", "params": {"x": [0.1, 0.5], "y": [0.3, 1.2]}},
                r"y\[1\] must lie in",
            ),
            (
                {"method": "isotonic", "params": {"x": [-0.1, 0.5], "y": [0.3, 0.4]}},
                r"x\[0\] must lie in",
            ),
            (
                {"method": "isotonic", "params": {"x": [0.1, "a"], "y": [0.3, 0.4]}},
                r"x\[1\] must be a number",
            ),
            ({"method": "none", "n": 0}, "calibration.n"),
            ({"method": "none", "n": 1.5}, "calibration.n"),
            ({"method": "none", "fitted_on": 3}, "calibration.fitted_on"),
            ({"method": "none", "cv_nll": [0.5]}, "calibration.cv_nll"),
            ({"method": "none", "cv_nll": {"beta": 0.5}}, "unknown method 'beta'"),
            ({"method": "none", "cv_nll": {"none": -1}}, "calibration.cv_nll.none"),
        ],
    )
    def test_malformed_sections_raise_card_error(self, section, field):
        with pytest.raises(CardError, match=field):
            Calibrator.from_section(section)

    def test_direct_construction_is_validated(self):
        with pytest.raises(CardError, match=r"calibration\.params\.temperature"):
            Calibrator("temperature", temperature=-2.0)
        with pytest.raises(CardError, match=r"calibration\.method"):
            Calibrator("beta")


class TestApply:
    @pytest.mark.parametrize("method", sorted(SECTIONS))
    def test_binary_shapes_agree(self, method):
        calibrator = Calibrator.from_section(SECTIONS[method])
        p = GRID.astype(np.float32)
        flat = calibrator.apply(p)
        assert flat.shape == p.shape and flat.dtype == np.float64
        assert np.all((flat >= 0) & (flat <= 1))
        column = calibrator.apply(p[:, None])
        assert column.shape == (len(p), 1)
        np.testing.assert_array_equal(column[:, 0], flat)
        both = calibrator.apply(np.column_stack([1 - GRID, GRID]))
        assert both.shape == (len(p), 2)
        np.testing.assert_allclose(both[:, 1], flat, atol=1e-6)
        np.testing.assert_allclose(both.sum(axis=1), 1.0)

    def test_known_values(self):
        temperature = Calibrator.from_section(SECTIONS["temperature"])
        assert temperature.apply([0.5, expit(2.5)]) == pytest.approx([0.5, expit(1.0)])
        platt = Calibrator.from_section(SECTIONS["platt"])
        assert platt.apply([expit(1.0)]) == pytest.approx([expit(0.8 - 1.5)])
        isotonic = Calibrator.from_section(SECTIONS["isotonic"])
        # flat beyond the end knots, linear between blocks
        assert isotonic.apply([0.0, 0.175, 0.5, 1.0]) == pytest.approx([0.01, 0.105, 0.4, 0.97])
        steep = Calibrator("isotonic", x=(0.2, 0.8), y=(0.0, 1.0))
        # outputs are kept off 0 and 1 so the log-loss stays finite
        assert steep.apply([0.0, 0.5, 1.0]) == pytest.approx([ISOTONIC_EPS, 0.5, 1 - ISOTONIC_EPS])

    def test_temperature_on_two_columns_matches_softmax(self):
        calibrator = Calibrator.from_section(SECTIONS["temperature"])
        p = np.array([[0.9, 0.1], [0.3, 0.7]])
        np.testing.assert_allclose(calibrator.apply(p), softmax(np.log(p) / 2.5, axis=1))

    def test_multiclass_rows_sum_to_one(self):
        _, prob = multiclass(20, seed=3)
        out = Calibrator.from_section(SECTIONS["temperature"]).apply(prob)
        np.testing.assert_allclose(
            out, softmax(np.log(np.clip(prob, 1e-7, 1)) / 2.5, axis=1), rtol=1e-9
        )
        np.testing.assert_array_equal(out.argmax(axis=1), prob.argmax(axis=1))

    @pytest.mark.parametrize("method", ["platt", "isotonic"])
    def test_binary_only_methods_refuse_multiclass(self, method):
        with pytest.raises(CardError, match="binary-only"):
            Calibrator.from_section(SECTIONS[method]).apply(np.full((2, 3), 1 / 3))

    @pytest.mark.parametrize("shape", [(2, 2, 2), (3, 0)])
    def test_bad_shapes_raise(self, shape):
        with pytest.raises(ValueError, match="probabilities must have shape"):
            Calibrator.from_section(SECTIONS["platt"]).apply(np.zeros(shape))


class TestMapThreshold:
    @pytest.mark.parametrize("method", ["none", "temperature", "platt"])
    @pytest.mark.parametrize("t", [0.05, 0.3, 0.5, 0.77])
    def test_decisions_are_unchanged(self, method, t):
        calibrator = Calibrator.from_section(SECTIONS[method])
        raw = np.concatenate([np.random.default_rng(0).random(2000), [t, t - 1e-9, t + 1e-9]])
        mapped = calibrator.map_threshold(t)
        np.testing.assert_array_equal(calibrator.apply(raw) >= mapped, raw >= t)

    def test_fitted_platt_keeps_decisions(self):
        y, p = base_rate_shifted(500, seed=13)
        calibrator = Calibrator.from_section(fit_calibration(y, p, methods=["platt"]))
        t = 0.42
        np.testing.assert_array_equal(calibrator.apply(p) >= calibrator.map_threshold(t), p >= t)

    def test_isotonic_keeps_positives_and_ties_only_inside_a_flat_block(self):
        calibrator = Calibrator.from_section(SECTIONS["isotonic"])
        t = 0.5  # inside the flat block [0.31, 0.7] at 0.4
        mapped = calibrator.map_threshold(t)
        assert mapped == pytest.approx(0.4)
        raw = GRID
        calibrated_positive = calibrator.apply(raw) >= mapped
        assert np.all(calibrated_positive[raw >= t])
        flipped = raw[calibrated_positive & (raw < t)]
        assert flipped.size > 0 and np.all((flipped >= 0.31) & (flipped < t))

    @pytest.mark.parametrize("t", [-0.1, 1.5, float("nan"), "0.5", True])
    def test_bad_threshold_raises(self, t):
        with pytest.raises(ValueError, match="t must"):
            Calibrator.from_section(SECTIONS["platt"]).map_threshold(t)


class TestSummary:
    def test_binary_summary(self):
        y, p = overconfident(1000, seed=14)
        after = Calibrator.from_section(fit_calibration(y, p)).apply(p)
        summary = calibration_summary(y, p, after, n_bins=10)
        assert json.loads(json.dumps(summary)) == summary
        assert summary["task"] == "binary" and summary["n"] == 1000 and summary["n_bins"] == 10
        before = summary["before"]
        assert before["ece"] == pytest.approx(expected_calibration_error(y, p), abs=1e-6)
        assert before["brier"] == pytest.approx(brier_score(y, p), abs=1e-6)
        assert summary["after"]["ece"] < 0.5 * before["ece"]
        assert summary["after"]["nll"] < before["nll"]
        for side in ("before", "after"):
            curve = summary[side]["reliability"]
            assert sum(curve["count"]) == 1000
            assert len(curve["mean_predicted"]) == len(curve["observed_frequency"])
            assert len(curve["count"]) == len(curve["mean_predicted"]) <= 10

    def test_two_column_binary_uses_the_positive_column(self):
        y, p = calibrated(200, seed=15)
        as_columns = calibration_summary(
            y, np.column_stack([1 - p, p]), np.column_stack([1 - p, p])
        )
        assert as_columns == calibration_summary(y, p, p)

    def test_multiclass_summary(self):
        y, prob = multiclass(600, seed=16)
        after = Calibrator.from_section(fit_calibration(y, prob)).apply(prob)
        summary = calibration_summary(y, prob, after)
        assert summary["task"] == "multiclass"
        assert summary["before"]["ece"] == pytest.approx(top_label_ece(y, prob), abs=1e-6)
        assert summary["after"]["ece"] < summary["before"]["ece"]
        assert summary["after"]["nll"] < summary["before"]["nll"]
        onehot = np.eye(4)[y]
        brier = np.mean(np.sum((prob - onehot) ** 2, axis=1))
        assert summary["before"]["brier"] == pytest.approx(brier, abs=1e-6)

    def test_shape_mismatch_raises(self):
        with pytest.raises(ValueError, match="same shape"):
            calibration_summary([0, 1], [0.2, 0.7], [[0.2], [0.7]])
