"""Quality targets in a card: judged per side, missing values never count as met."""

import math

from export.targets import quality_targets

METRICS = {
    "validation": {"auc": {"value": 0.83, "ci": [0.7, 0.9]}, "accuracy": {"value": 0.88}},
    "test": {"auc": {"value": 0.78, "ci": [0.6, 0.9]}, "accuracy": {"value": math.nan}},
}


def test_a_target_met_on_validation_can_be_missed_on_test():
    (row,) = quality_targets([{"metric": "auc", "min": 0.80}], METRICS)
    assert row == {
        "metric": "auc",
        "min": 0.80,
        "validation": 0.83,
        "met_on_validation": True,
        "test": 0.78,
        "met_on_test": False,
    }


def test_undefined_or_absent_metrics_are_not_met():
    accuracy, brier = quality_targets(
        [{"metric": "accuracy", "min": 0.9}, {"metric": "brier", "min": 0.0}], METRICS
    )
    assert accuracy["test"] is None and not accuracy["met_on_test"]
    assert brier["validation"] is None and not brier["met_on_validation"]


def test_class_recall_and_focus_metrics_are_read_where_the_card_keeps_them():
    metrics = {
        "per_class": {"meningioma": {"recall": 0.93}},
        "test_per_class": {"meningioma": {"recall": 0.88}},
        "pneumonia_vs_rest": {"validation": {"auc": {"value": 0.98}}, "test": {}},
    }
    recall, auc = quality_targets(
        [
            {"metric": "recall_meningioma", "min": 0.9},
            {"metric": "pneumonia_vs_rest.auc", "min": 0.97},
        ],
        metrics,
    )
    assert (recall["validation"], recall["met_on_validation"]) == (0.93, True)
    assert (recall["test"], recall["met_on_test"]) == (0.88, False)
    assert auc["validation"] == 0.98 and auc["test"] is None and not auc["met_on_test"]


def test_the_pointing_gain_is_the_model_hit_rate_over_the_centre_priors():
    def side(model: int, prior: int) -> dict:  # hits on 13 films; rates as the card rounds them
        return {
            "n": 13,
            "model": {"pointing_hits": model, "pointing_hit_rate": round(model / 13, 4)},
            "centre_prior": {"pointing_hits": prior, "pointing_hit_rate": round(prior / 13, 4)},
        }

    localization = {"findings": {"mass": {"validation": side(1, 3), "test": side(2, 1)}}}
    gain, absent = quality_targets(
        [
            {"metric": "pointing_gain_mass", "min": 0.01},
            {"metric": "pointing_gain_nodule", "min": 0.01},
        ],
        METRICS,
        localization,
    )
    assert gain["validation"] == -2 / 13 and not gain["met_on_validation"]
    assert gain["test"] == 1 / 13 and gain["met_on_test"]
    assert absent["test"] is None and not absent["met_on_test"]  # no boxes of that finding
    (no_section,) = quality_targets([{"metric": "pointing_gain_mass", "min": 0.01}], METRICS)
    assert no_section["validation"] is None and not no_section["met_on_validation"]
