"""Confidence intervals for proportions (sensitivity, specificity, accuracy...)."""

from __future__ import annotations

import math

from scipy.stats import norm


def wilson_interval(successes: int, total: int, *, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for ``successes / total``; (nan, nan) when ``total`` is 0.

    Preferred to the normal (Wald) interval because it stays inside [0, 1] and keeps
    its coverage near 0 and 1, where sensitivities of good models live.

    >>> tuple(round(v, 4) for v in wilson_interval(45, 50))
    (0.7864, 0.9565)
    """
    if total <= 0:
        return (math.nan, math.nan)
    if not 0 <= successes <= total:
        raise ValueError(f"successes must lie in [0, total={total}], got {successes!r}")
    z = float(norm.ppf(1 - alpha / 2))
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))
