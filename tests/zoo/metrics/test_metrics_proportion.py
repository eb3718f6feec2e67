import math

import pytest
from scipy.stats import binomtest

from zoo.metrics import wilson_interval


class TestWilsonInterval:
    @pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (45, 50), (50, 50), (500, 1000)])
    def test_matches_scipy(self, k, n):
        expected = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        low, high = wilson_interval(k, n)
        assert low == pytest.approx(expected.low, abs=1e-12)
        assert high == pytest.approx(expected.high, abs=1e-12)

    def test_empty_gives_nan(self):
        assert all(math.isnan(v) for v in wilson_interval(0, 0))

    def test_bad_count_raises(self):
        with pytest.raises(ValueError, match="successes must lie in"):
            wilson_interval(11, 10)
