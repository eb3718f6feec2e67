"""Ordering models by how much a scan resembles their training inputs (no model run)."""

import math
from pathlib import Path

import numpy as np
import pytest

from zoo.imaging import load_scan
from zoo.registry import Registry
from zoo.trust.resemblance import by_resemblance, input_ratios

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT / "zoo" / "samples"
#: The shipped models trained on each kind of sample (by file-name prefix).
OWN_KIND = {
    "ct_lung": {"customcnn-lung-ct", "resnet-lung-ct"},
    "cxr_nih": {"customcnn-cxr-mass", "multiclass-cxr"},
    # grey-level statistics tell chest films from CT and MRI, not children from adults: a
    # pediatric film resembles all three chest models' inputs (its own model's embedding
    # check, once it has run, is what flags adult films)
    "cxr_pediatric": {"pediatric-cxr", "multiclass-cxr", "customcnn-cxr-mass"},
    "cxr_tb": {"customcnn-cxr-mass", "multiclass-cxr"},
    "mri_brain": {"multiclass-brain-mri"},
}


class TestByResemblance:
    def test_lowest_ratio_first_and_unknown_last_in_their_order(self):
        ratios = {"a": 2.0, "b": math.nan, "c": 0.5, "d": 1.0}
        assert by_resemblance(ratios, ["a", "b", "c", "d", "e"]) == ["c", "d", "a", "b", "e"]

    def test_no_ratios_keeps_the_order(self):
        assert by_resemblance({}, ["x", "y"]) == ["x", "y"]


class TestInputRatios:
    @pytest.fixture(scope="class")
    def shipped(self):
        return Registry(ROOT / "zoo" / "models")

    @pytest.mark.parametrize(
        "sample", sorted(p.name for p in SAMPLES.glob("*.jpg")), ids=lambda name: name[:-4]
    )
    def test_a_sample_puts_the_models_of_its_kind_first(self, shipped, sample):
        own = next(ids for prefix, ids in OWN_KIND.items() if sample.startswith(prefix))
        ratios = input_ratios(load_scan(SAMPLES / sample), [e.card for e in shipped.entries()])
        assert set(ratios) == set(shipped.ids())
        first = by_resemblance(ratios, shipped.ids())[: len(own)]
        assert set(first) == own, ratios

    def test_a_card_without_an_ood_summary_gets_nan(self, shipped, tmp_path, model_writer):
        model_writer(tmp_path, "plain")
        card = Registry(tmp_path).card("plain")
        assert card.ood is None
        scan = load_scan(SAMPLES / "ct_lung_normal.jpg")
        assert math.isnan(input_ratios(scan, [card])["plain"])
        assert np.isfinite(input_ratios(scan, [shipped.card("resnet-lung-ct")])["resnet-lung-ct"])
