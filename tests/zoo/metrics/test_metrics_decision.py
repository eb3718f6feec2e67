import numpy as np
import pytest

from zoo.metrics import net_benefit, net_benefit_treat_all, net_benefit_treat_none

PT = np.array([0.0, 0.05, 0.1, 0.2, 0.5, 0.8, 0.99])


def risks(n, seed):
    rng = np.random.default_rng(seed)
    p = rng.beta(1.5, 4, size=n)
    return (rng.random(n) < p).astype(int), p


class TestNetBenefit:
    def test_hand_computed(self):
        y = [1, 1, 0, 0, 0]
        p = [0.9, 0.3, 0.6, 0.2, 0.1]
        # at 0.25: treated {0.9, 0.3, 0.6} -> TP 2, FP 1
        assert net_benefit(y, p, [0.25])[0] == pytest.approx(2 / 5 - 1 / 5 * 0.25 / 0.75)

    def test_matches_definition(self):
        y, p = risks(400, 0)
        got = net_benefit(y, p, PT)
        for k, t in enumerate(PT):
            treated = p >= t
            tp = np.sum(treated & (y == 1))
            fp = np.sum(treated & (y == 0))
            assert got[k] == pytest.approx(tp / len(y) - fp / len(y) * t / (1 - t))

    def test_constant_risk_one_equals_treat_all(self):
        y, _ = risks(100, 1)
        np.testing.assert_allclose(
            net_benefit(y, np.ones(len(y)), PT), net_benefit_treat_all(y, PT), atol=1e-15
        )

    def test_perfect_model_gets_prevalence(self):
        y = np.array([0, 1, 0, 1, 1])
        np.testing.assert_allclose(net_benefit(y, y.astype(float), PT[1:]), 0.6)

    def test_single_class_is_fine(self, recwarn):
        np.testing.assert_allclose(net_benefit([0, 0], [0.1, 0.9], [0.5]), [-1.0 / 2])
        assert len(recwarn) == 0

    @pytest.mark.parametrize("bad", [1.0, -0.1, float("nan")])
    def test_threshold_outside_range_raises(self, bad):
        with pytest.raises(ValueError, match=r"thresholds must lie in \[0, 1\); found"):
            net_benefit([0, 1], [0.2, 0.7], [0.1, bad])

    def test_scalar_threshold_gives_length_one(self):
        assert net_benefit([0, 1], [0.2, 0.7], 0.5).shape == (1,)


class TestNetBenefitTreatAll:
    def test_formula(self):
        y = [1, 0, 0, 0]
        np.testing.assert_allclose(
            net_benefit_treat_all(y, [0.0, 0.25, 0.5]), [0.25, 0.25 - 0.75 / 3, -0.5]
        )

    def test_bad_labels_raise(self):
        with pytest.raises(ValueError, match=r"only 0 and 1; found \[2\]"):
            net_benefit_treat_all([0, 2], [0.1])


class TestNetBenefitTreatNone:
    def test_zero(self):
        np.testing.assert_array_equal(net_benefit_treat_none(PT), np.zeros(len(PT)))

    def test_bad_threshold_raises(self):
        with pytest.raises(ValueError, match="thresholds must lie in"):
            net_benefit_treat_none([1.5])
