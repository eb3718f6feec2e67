"""DeLong placements, variances, CIs and tests, checked against R's pROC and brute force."""

from dataclasses import FrozenInstanceError

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from zoo.metrics import (
    UndefinedMetricWarning,
    auc_ci_delong,
    delong_covariance,
    delong_placements,
    delong_test_paired,
    delong_test_unpaired,
    delong_variance,
)

TOL = 1e-6  # pROC values are given to 15 significant digits; the task asks for 1e-6
PLACEMENT_TOL = 1e-10
MARKERS = ("wfns", "s100b", "ndka")
PAIRS = ("wfns_vs_s100b", "wfns_vs_ndka", "ndka_vs_s100b", "s100b_vs_wfns")


def brute_placements(y, s):
    """O(m n) placements straight from the definition."""
    y = np.asarray(y, dtype=bool)
    cases, controls = s[y], s[~y]
    h = (cases[:, None] > controls[None, :]) + 0.5 * (cases[:, None] == controls[None, :])
    return h.mean(axis=1), h.mean(axis=0)


def pair_scores(proc, pair):
    a, b = pair.split("_vs_")
    return proc["scores"][a], proc["scores"][b]


samples = st.lists(
    st.tuples(st.booleans(), st.integers(-3, 3), st.integers(-3, 3)), min_size=4, max_size=40
)


class TestDelongPlacements:
    @pytest.mark.shared
    @pytest.mark.parametrize("marker", MARKERS)
    def test_matches_proc_forward(self, proc, marker):
        expected = proc["placements"][marker]["forward"]
        got = delong_placements(proc["y"], proc["scores"][marker])
        assert got.auc == pytest.approx(expected["theta"], abs=PLACEMENT_TOL)
        np.testing.assert_allclose(got.cases, expected["X"], rtol=0, atol=PLACEMENT_TOL)
        np.testing.assert_allclose(got.controls, expected["Y"], rtol=0, atol=PLACEMENT_TOL)

    @pytest.mark.shared
    @pytest.mark.parametrize("marker", MARKERS)
    def test_matches_proc_reverse_levels(self, proc, marker):
        # pROC's "reverse": levels swapped, so Good patients are the cases
        expected = proc["placements"][marker]["reverse"]
        got = delong_placements(1 - proc["y"], proc["scores"][marker])
        assert got.auc == pytest.approx(expected["theta"], abs=PLACEMENT_TOL)
        np.testing.assert_allclose(got.cases, expected["X"], rtol=0, atol=PLACEMENT_TOL)
        np.testing.assert_allclose(got.controls, expected["Y"], rtol=0, atol=PLACEMENT_TOL)

    @pytest.mark.shared
    @pytest.mark.parametrize("marker", MARKERS)
    def test_auc_matches_proc(self, proc, marker):
        got = delong_placements(proc["y"], proc["scores"][marker]).auc
        assert got == pytest.approx(proc["expected"]["auc"][marker], abs=TOL)

    @settings(max_examples=50, deadline=None)
    @given(samples)
    def test_matches_brute_force(self, rows):
        y = np.array([r[0] for r in rows])
        s = np.array([r[1] for r in rows], dtype=float)
        assume(0 < y.sum() < len(y))
        got = delong_placements(y, s)
        cases, controls = brute_placements(y, s)
        np.testing.assert_allclose(got.cases, cases, atol=1e-12)
        np.testing.assert_allclose(got.controls, controls, atol=1e-12)
        assert got.auc == pytest.approx(cases.mean(), abs=1e-12)
        assert got.auc == pytest.approx(controls.mean(), abs=1e-12)

    def test_single_class_warns_and_gives_nan(self):
        with pytest.warns(UndefinedMetricWarning, match="delong_placements is undefined"):
            got = delong_placements([1, 1], [0.3, 0.4])
        assert np.isnan(got.auc) and got.cases.size == 0 and got.controls.size == 0

    def test_is_frozen(self):
        got = delong_placements([0, 1], [0.3, 0.4])
        with pytest.raises(FrozenInstanceError):
            got.auc = 0.0


class TestDelongVariance:
    @pytest.mark.shared
    @pytest.mark.parametrize("marker", MARKERS)
    def test_matches_proc(self, proc, marker):
        got = delong_variance(proc["y"], proc["scores"][marker])
        assert got == pytest.approx(proc["expected"]["var_delong"][marker], abs=TOL, rel=1e-9)

    def test_matches_placement_formula(self, make_binary):
        y, s = make_binary(300, seed=5)
        cases, controls = brute_placements(y, s)
        expected = cases.var(ddof=1) / len(cases) + controls.var(ddof=1) / len(controls)
        assert delong_variance(y, s) == pytest.approx(expected, rel=1e-12)

    def test_single_case_warns_and_gives_nan(self):
        with pytest.warns(UndefinedMetricWarning, match="at least 2 cases and 2 controls"):
            assert np.isnan(delong_variance([0, 0, 1], [0.1, 0.2, 0.3]))


class TestDelongCovariance:
    @pytest.mark.shared
    def test_matches_proc(self, proc):
        names = list(MARKERS)
        aucs, cov = delong_covariance(proc["y"], [proc["scores"][k] for k in names])
        expected = proc["expected"]
        for key, value in expected["cov_delong"].items():
            i, j = (names.index(k) for k in key.split("_"))
            assert cov[i, j] == pytest.approx(value, abs=TOL, rel=1e-9)
            assert cov[j, i] == cov[i, j]
        for i, k in enumerate(names):
            assert cov[i, i] == pytest.approx(expected["var_delong"][k], abs=TOL, rel=1e-9)
            assert aucs[i] == pytest.approx(expected["auc"][k], abs=TOL)

    def test_accepts_2d_array_and_single_score(self, make_binary):
        y, s = make_binary(100, seed=1)
        aucs, cov = delong_covariance(y, s[np.newaxis, :])
        assert aucs.shape == (1,) and cov.shape == (1, 1)
        assert cov[0, 0] == pytest.approx(delong_variance(y, s), rel=1e-12)

    def test_rejects_1d_array(self):
        with pytest.raises(ValueError, match=r"2-D \(n_scores, n_samples\); got shape \(3,\)"):
            delong_covariance([0, 1, 1], np.array([0.1, 0.2, 0.3]))

    def test_rejects_scores_of_different_lengths(self):
        with pytest.raises(ValueError, match=r"scores\[0\] has 3, scores\[1\] has 2"):
            delong_covariance([0, 1, 1], [[0.1, 0.2, 0.3], [0.1, 0.2]])

    def test_single_class_gives_nan(self):
        with pytest.warns(UndefinedMetricWarning):
            aucs, cov = delong_covariance([0, 0], [[0.1, 0.2], [0.3, 0.1]])
        assert np.isnan(aucs).all() and np.isnan(cov).all()


class TestAucCiDelong:
    @pytest.mark.shared
    def test_matches_proc(self, proc):
        expected = proc["expected"]["ci_delong"]["ndka"]
        auc, lower, upper = auc_ci_delong(proc["y"], proc["scores"]["ndka"])
        assert auc == pytest.approx(expected["auc"], abs=TOL)
        assert lower == pytest.approx(expected["lower"], abs=TOL)
        assert upper == pytest.approx(expected["upper"], abs=TOL)

    @pytest.mark.shared
    def test_matches_proc_on_female_subset(self, proc):
        expected = proc["expected"]["ci_delong"]["ndka_female"]
        female = proc["female"]
        auc, lower, upper = auc_ci_delong(proc["y"][female], proc["scores"]["ndka"][female])
        assert auc == pytest.approx(expected["auc"], abs=TOL)
        assert lower == pytest.approx(expected["lower"], abs=TOL)
        assert upper == pytest.approx(expected["upper"], abs=TOL)

    def test_is_normal_interval(self, make_binary):
        y, s = make_binary(200, seed=2)
        auc, lower, upper = auc_ci_delong(y, s, alpha=0.1)
        half = norm.ppf(0.95) * np.sqrt(delong_variance(y, s))
        assert (lower, upper) == pytest.approx((auc - half, auc + half), abs=1e-12)
        assert auc == pytest.approx(roc_auc_score(y, s), abs=1e-12)

    def test_clipped_to_unit_interval(self):
        y = np.array([0, 0, 0, 1, 1, 1])
        auc, lower, upper = auc_ci_delong(y, [0.1, 0.2, 0.6, 0.5, 0.8, 0.9])
        assert auc == pytest.approx(8 / 9)
        assert upper == 1.0 and 0.0 <= lower < auc

    def test_perfect_separation_has_zero_width(self):
        assert auc_ci_delong([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == (1.0, 1.0, 1.0)

    @pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5])
    def test_bad_alpha_raises(self, alpha):
        with pytest.raises(ValueError, match=rf"alpha must lie in \(0, 1\); got {alpha}"):
            auc_ci_delong([0, 1], [0.1, 0.2], alpha=alpha)

    def test_single_class_warns_and_gives_nan(self):
        with pytest.warns(UndefinedMetricWarning, match="auc_ci_delong is undefined"):
            assert np.isnan(auc_ci_delong([0, 0], [0.1, 0.2])).all()


class TestDelongTestPaired:
    @pytest.mark.shared
    @pytest.mark.parametrize("pair", PAIRS)
    def test_matches_proc(self, proc, pair):
        expected = proc["expected"]["roc_test_delong"]["paired"][pair]
        got = delong_test_paired(proc["y"], *pair_scores(proc, pair))
        assert got.z == pytest.approx(expected["Z"], abs=TOL)
        assert got.p_value == pytest.approx(expected["p"], abs=TOL)
        if "ci_lower" in expected:
            assert got.ci_low == pytest.approx(expected["ci_lower"], abs=TOL)
            assert got.ci_high == pytest.approx(expected["ci_upper"], abs=TOL)

    @pytest.mark.shared
    def test_one_sided_matches_proc(self, proc):
        expected = proc["expected"]["roc_test_delong"]["paired_one_sided"]["wfns_vs_s100b"]
        args = (proc["y"], *pair_scores(proc, "wfns_vs_s100b"))
        greater = delong_test_paired(*args, alternative="greater")
        less = delong_test_paired(*args, alternative="less")
        assert greater.p_value == pytest.approx(expected["p_greater"], abs=TOL)
        assert less.p_value == pytest.approx(expected["p_less"], abs=TOL)

    def test_fields_agree(self, make_binary):
        y, a = make_binary(400, seed=3)
        b = a + np.random.default_rng(3).normal(size=len(a))
        got = delong_test_paired(y, a, b, alpha=0.01)
        aucs, cov = delong_covariance(y, [a, b])
        se = np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
        assert (got.auc_a, got.auc_b) == pytest.approx(tuple(aucs), abs=1e-15)
        assert got.difference == pytest.approx(aucs[0] - aucs[1], abs=1e-15)
        assert got.z == pytest.approx(got.difference / se, rel=1e-12)
        assert got.ci_high - got.ci_low == pytest.approx(2 * norm.ppf(0.995) * se, rel=1e-12)

    def test_identical_scores_warn_and_give_nan(self):
        s = [0.1, 0.4, 0.35, 0.8]
        with pytest.warns(UndefinedMetricWarning, match="zero variance and zero difference"):
            got = delong_test_paired([0, 0, 1, 1], s, s)
        assert np.isnan(got.z) and np.isnan(got.p_value) and got.difference == 0

    def test_bad_alternative_raises(self):
        with pytest.raises(ValueError, match=r"alternative must be one of .*; got 'two\.sided'"):
            delong_test_paired([0, 1], [0.1, 0.2], [0.2, 0.1], alternative="two.sided")

    def test_length_mismatch_raises(self):
        with pytest.raises(ValueError, match="score_a has 2, score_b has 3"):
            delong_test_paired([0, 1], [0.1, 0.2], [0.2, 0.1, 0.3])

    def test_single_class_warns_and_gives_nan(self):
        with pytest.warns(UndefinedMetricWarning):
            got = delong_test_paired([1, 1], [0.1, 0.2], [0.2, 0.1])
        assert np.isnan(got.p_value)


class TestDelongTestUnpaired:
    @pytest.mark.shared
    @pytest.mark.parametrize("pair", PAIRS[:3])
    def test_matches_proc(self, proc, pair):
        expected = proc["expected"]["roc_test_delong"]["unpaired"][pair]
        a, b = pair_scores(proc, pair)
        got = delong_test_unpaired(proc["y"], a, proc["y"], b)
        assert got.d == pytest.approx(expected["D"], abs=TOL)
        assert got.p_value == pytest.approx(expected["p"], abs=TOL)

    @pytest.mark.shared
    def test_one_sided_matches_proc(self, proc):
        expected = proc["expected"]["roc_test_delong"]["unpaired_one_sided"]["wfns_vs_s100b"]
        y = proc["y"]
        a, b = pair_scores(proc, "wfns_vs_s100b")
        greater = delong_test_unpaired(y, a, y, b, alternative="greater")
        less = delong_test_unpaired(y, a, y, b, alternative="less")
        assert greater.p_value == pytest.approx(expected["p_greater"], abs=TOL)
        assert less.p_value == pytest.approx(expected["p_less"], abs=TOL)

    def test_independent_samples_of_different_sizes(self, make_binary):
        ya, sa = make_binary(150, seed=8)
        yb, sb = make_binary(90, seed=9)
        got = delong_test_unpaired(ya, sa, yb, sb, alpha=0.1)
        va, vb = delong_variance(ya, sa), delong_variance(yb, sb)
        df = (va + vb) ** 2 / (va**2 / 149 + vb**2 / 89)
        assert got.df == pytest.approx(df, rel=1e-12)
        assert got.d == pytest.approx(got.difference / np.sqrt(va + vb), rel=1e-12)
        assert got.ci_low < got.difference < got.ci_high

    def test_too_few_cases_warn_and_give_nan(self):
        with pytest.warns(UndefinedMetricWarning, match=r"sample a\): DeLong variance needs"):
            got = delong_test_unpaired([0, 1], [0.1, 0.2], [0, 0, 1, 1], [0.1, 0.3, 0.2, 0.4])
        assert np.isnan(got.d) and np.isnan(got.p_value) and np.isnan(got.ci_low)
