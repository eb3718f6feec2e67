"""Which models' training images a scan resembles, before any model runs.

An image file carries no modality tag, so nothing in it says which model suits it: a
JPEG of a CT slice used to open on the first model of the zoo. The input side of each
card's out-of-distribution summary (:mod:`zoo.trust.scan_ood`) needs only the scan
preprocessed for that model, not a model run, so it can order the models: the ones whose
training inputs the scan looks like come first. It orders; it does not decide. The
page still warns that the modality is unknown, and the full score (embedding included)
still flags the scan once a model has run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from zoo.card import ModelCard
from zoo.errors import ZooError
from zoo.imaging.scan import Scan
from zoo.preprocess import preprocess


def input_ratios(scan: Scan, cards: Sequence[ModelCard]) -> dict[str, float]:
    """Card id → how far the scan's input descriptor lies from that model's training
    inputs, over the card's own threshold (about 1 at the edge of its validation images).

    NaN for a card without an out-of-distribution summary, or when the scan cannot be
    prepared for that model (the model run will say why).
    """
    ratios: dict[str, float] = {}
    for card in cards:
        if card.ood is None:
            ratios[card.id] = math.nan
            continue
        try:
            model_input = preprocess(scan, card.preprocessing).input
            ratios[card.id] = float(card.ood.input_ratio(model_input)[0])
        except ZooError:
            ratios[card.id] = math.nan
    return ratios


def by_resemblance(ratios: dict[str, float], ids: Sequence[str]) -> list[str]:
    """``ids`` ordered by their ratio, lowest first; ids without one keep their order, last."""
    known = sorted((i for i in ids if math.isfinite(ratios.get(i, math.nan))), key=ratios.get)
    return known + [i for i in ids if i not in known]
