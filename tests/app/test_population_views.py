"""Population checks, collections, targets and test-side looks, shown from the card."""

import json
from pathlib import Path

import pytest
from app_helpers import ok, texts

from ui.figures import with_ci
from ui.population import (
    collection_rows,
    comparison_rows,
    scorings_sentence,
    shift_rows,
    target_rows,
)
from zoo.card import parse_card

AUC = {"value": 0.91, "ci": [0.85, 0.97], "method": "DeLong"}
SHIFTED = {"value": 0.58, "ci": [0.52, 0.64], "method": "DeLong"}
SENSITIVITY = {"value": 0.5, "ci": [0.4, 0.6], "method": "Wilson"}
SECTIONS = {
    "population_shift": {
        "question": "pneumonia against normal",
        "own_test": {"n": 120, "positives": 40, "auc": AUC, "sensitivity": SENSITIVITY},
        "populations": [
            {
                "population": "children",
                "data": "a folder",
                "n": 300,
                "positives": 200,
                "auc": SHIFTED,
            },
        ],
    },
    "by_collection": {
        "question": "pneumonia against normal",
        "column": "source",
        "side": "test",
        "rows": [
            {"value": "collection A", "n": 80, "positives": 30, "auc": AUC},
            {"value": "collection B", "n": 40, "positives": 0},
        ],
    },
}


def _with_sections(zoo_dir: Path, model_id: str = "multi-test") -> dict:
    path = zoo_dir / model_id / "card.json"
    card = json.loads(path.read_text())
    card.update(SECTIONS)
    card["metrics"]["quality_targets"] = [
        {
            "metric": "accuracy",
            "min": 0.8,
            "validation": 0.82,
            "met_on_validation": True,
            "test": 0.78,
            "met_on_test": False,
        },
        {
            "metric": "pointing_gain_mass",
            "min": 0.01,
            "validation": -0.154,
            "met_on_validation": False,
            "test": 0.077,
            "met_on_test": True,
        },
    ]
    card["metrics"]["test_scorings"] = {
        "models_scored": 2,
        "cases": 120,
        "history": [
            {"version": "0.9.0", "sha256": "0" * 64, "date": "2026-11-01", "shared_cases": 120},
            {
                "version": card["version"],
                "sha256": card["file"]["sha256"],
                "date": "2026-12-01",
                "shared_cases": 120,
            },
        ],
    }
    path.write_text(json.dumps(card))
    return card


def test_rows_carry_the_cards_figures(zoo_dir):
    card = parse_card(_with_sections(zoo_dir))
    own, children = shift_rows(card)
    assert own["population"] == "own test side" and own["AUC (95% CI)"] == with_ci(AUC)
    assert children["AUC (95% CI)"] == with_ci(SHIFTED) and children["films"] == "300"
    assert own["sensitivity"] == "50.0% (40.0%–60.0%)"
    a, b = collection_rows(card)
    assert a["AUC (95% CI)"] == with_ci(AUC) and b["AUC (95% CI)"] == "undefined"
    target, pointing = target_rows(card)
    assert (target["test"], target["on test"]) == ("0.780", "missed")
    assert pointing["metric"] == "pointing game, mass: model's hit rate − centre prior's"
    assert (pointing["validation"], pointing["test"]) == ("-0.154", "0.077")
    assert "2 models" in scorings_sentence(card) and "v0.9.0 (120 shared)" in scorings_sentence(
        card
    )
    assert [r["model"] for r in comparison_rows([card])] == [f"multi-test v{card.version}"] * 2


def test_a_card_without_the_sections_shows_nothing(zoo_dir):
    card = parse_card(json.loads((zoo_dir / "multi-test" / "card.json").read_text()))
    assert shift_rows(card) == collection_rows(card) == target_rows(card) == []
    assert scorings_sentence(card) is None


@pytest.mark.parametrize("page", ["metrics", "compare"])
def test_pages_show_the_population_table(open_page, zoo_dir, page):
    _with_sections(zoo_dir)
    at = open_page(page)
    if page == "metrics":
        at.selectbox(key="metrics_model").select_index(1)
    else:
        at.radio(key="compare_mode").set_value("Models on a labelled set")
    ok(at.run())
    assert "What a change of population does" in texts(at)
    tables = [t.value for t in at.table]
    shift = next(t for t in tables if "AUC (95% CI)" in t.columns)
    assert list(shift["AUC (95% CI)"]) == [with_ci(AUC), with_ci(SHIFTED)]
    if page == "metrics":
        collections = next(t for t in tables if t.index.name == "collection")
        assert list(collections.index) == ["collection A", "collection B"]
