"""ui.threshold_model: the Thresholds page as pure functions of a validation set."""

import dataclasses

import numpy as np
import pytest

from ui.report import operating_points
from ui.stats import ScoredSet
from ui.threshold_model import CUSTOM, threshold_model
from zoo.metrics import ThresholdTable
from zoo.registry import Registry


def scored(zoo_dir, model_id: str) -> ScoredSet:
    registry = Registry(zoo_dir)
    card = registry.card(model_id)
    return ScoredSet.from_validation(card, registry.validation_predictions(model_id))


def test_figures_at_a_threshold_are_the_counts_of_the_validation_scores(zoo_dir):
    model = threshold_model(scored(zoo_dir, "binary-test"), "abnormal")
    assert model.defined and model.negative == "normal"
    for threshold in (0.0, 0.3, 0.5, 0.77, 1.0):
        at = model.at(threshold)
        called = model.scores >= threshold
        assert at["tp"] == int(np.sum(called & (model.y == 1)))
        assert at["fp"] == int(np.sum(called & (model.y == 0)))
        assert at["tp"] + at["fp"] + at["tn"] + at["fn"] == model.n_cases
    assert model.validation_prevalence == pytest.approx(np.mean(model.y))


def test_ppv_follows_the_prevalence_the_user_sets(zoo_dir):
    model = threshold_model(scored(zoo_dir, "binary-test"), "abnormal")
    # calling every case positive: PPV is the prevalence itself
    rare, common = model.at(0.0, prevalence=0.01), model.at(0.0, prevalence=0.9)
    assert rare["sensitivity"] == common["sensitivity"] == 1.0
    assert (rare["ppv"], common["ppv"]) == pytest.approx((0.01, 0.9))


def test_offered_points_are_the_reachable_ones_and_the_page_opens_on_the_cards(zoo_dir):
    validation = scored(zoo_dir, "binary-test")
    model = threshold_model(validation, "abnormal")
    offered = model.operating_points(cost_ratio=1.0)
    table = ThresholdTable(*validation.binary("abnormal"))
    assert offered.points == operating_points(table, validation.card, cost_ratio=1.0)
    assert offered.start == "Card default"
    assert offered.choices[0] == CUSTOM and set(offered.choices[1:]) == set(offered.points)
    assert not set(offered.unreachable) & set(offered.points)
    assert offered.caption("Card default") == f"Card default ({offered.points['Card default']:.3f})"


def test_a_multiclass_label_is_called_against_the_rest_and_opens_on_youden(zoo_dir):
    model = threshold_model(scored(zoo_dir, "multi-test"), "pneumonia")
    assert model.negative == "not pneumonia"
    offered = model.operating_points(cost_ratio=1.0)
    assert "Card default" not in offered.points
    assert offered.start == "Youden"


def test_a_single_class_label_is_undefined_and_has_no_figures(zoo_dir):
    validation = scored(zoo_dir, "binary-test")
    only_negatives = dataclasses.replace(validation, y_true=np.zeros_like(validation.y_true))
    model = threshold_model(only_negatives, "abnormal")
    assert not model.defined and model.curves is None
    assert model.operating_points(cost_ratio=1.0).unreachable == []  # the card's, unchecked
    with pytest.raises(ValueError, match="one class only"):
        model.at(0.5)
