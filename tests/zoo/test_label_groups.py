"""A question asked of finer labels: pneumonia of a model that tells bacterial from viral."""

import numpy as np
import pytest

from zoo.label_groups import LabelGroup, group_report, sliced_reports

LABELS = ("normal", "bacterial_pneumonia", "viral_pneumonia")
PNEUMONIA = LabelGroup("pneumonia", ("bacterial_pneumonia", "viral_pneumonia"))


def test_the_score_adds_the_groups_probabilities():
    p = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    assert PNEUMONIA.score(p, LABELS) == pytest.approx([0.5, 0.9])
    # the call is the most probable label, not the summed score against 0.5
    assert PNEUMONIA.called(p, LABELS).tolist() == [False, True]


def test_cases_of_labels_the_question_does_not_name_are_left_out():
    group = LabelGroup("pneumonia", ("pneumonia",), controls=("normal",))
    kept, positive = group.truth(["normal", "pneumonia", "tuberculosis", "pneumonia"])
    assert kept.tolist() == [True, True, False, True]
    assert positive.tolist() == [False, True, True]


def test_another_sets_labels_are_mapped_by_cases_and_controls():
    on_adults = LabelGroup(PNEUMONIA.name, PNEUMONIA.positive, ("pneumonia",), ("no_finding",))
    kept, positive = on_adults.truth(["no_finding", "pneumonia", "mass"])
    assert kept.tolist() == [True, True, False] and positive.tolist() == [False, True]


def test_report_has_auc_with_ci_and_the_calls_sensitivity_and_specificity():
    names = ["normal"] * 4 + ["bacterial_pneumonia"] * 3 + ["viral_pneumonia"]
    normals = [[0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.3, 0.6, 0.1]]
    pneumonias = [[0.2, 0.7, 0.1], [0.1, 0.5, 0.4], [0.7, 0.2, 0.1], [0.2, 0.1, 0.7]]
    p = np.array([*normals, *pneumonias])
    report = group_report(PNEUMONIA, names, p, LABELS)
    assert report["n"] == 8 and report["positives"] == 4
    # scores: normals 0.1 0.2 0.4 0.7, pneumonias 0.8 0.9 0.3 0.8: 14 of 16 pairs ordered
    assert report["auc"]["value"] == pytest.approx(14 / 16)
    low, high = report["auc"]["ci"]
    assert low < 14 / 16 < high
    assert report["sensitivity"]["value"] == pytest.approx(3 / 4)
    assert report["specificity"]["value"] == pytest.approx(3 / 4)


def test_one_class_only_has_no_auc():
    report = group_report(PNEUMONIA, ["normal", "normal"], np.full((2, 3), 1 / 3), LABELS)
    assert "auc" not in report and report["positives"] == 0
    assert "sensitivity" not in report and report["specificity"]["value"] in (0.0, 1.0)


def test_slices_come_largest_first_each_with_its_own_figures():
    names = ["normal", "bacterial_pneumonia", "normal", "viral_pneumonia", "normal"]
    p = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7], [1, 0, 0]])
    rows = sliced_reports(PNEUMONIA, names, p, LABELS, ["a", "b", "b", "b", "a"])
    assert [(r["value"], r["n"]) for r in rows] == [("b", 3), ("a", 2)]
    assert rows[0]["auc"]["value"] == 1.0 and "auc" not in rows[1]


def test_an_unknown_label_is_named():
    with pytest.raises(ValueError, match="no label 'mass'"):
        LabelGroup("mass", ("mass",)).score(np.ones((1, 3)), LABELS)


def test_an_undefined_ci_bound_is_none_not_nan():
    names = ["normal", "bacterial_pneumonia", "normal"]
    p = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1]])
    report = group_report(PNEUMONIA, names, p, LABELS)
    assert report["auc"]["value"] == 1.0 and report["auc"]["ci"] == [None, None]


def test_a_sum_past_one_by_rounding_stays_a_probability():
    p = np.array([[0.0, 0.6, 0.40000004]], dtype=np.float32)
    assert PNEUMONIA.score(p, LABELS).max() <= 1.0
