"""Refreshing a shipped card's prose and targets from its recipe changes no figure."""

import json
import shutil
from pathlib import Path

from export.card_text import refresh_card_text
from training.recipe import load_recipe
from zoo.card import parse_card

ROOT = Path(__file__).resolve().parents[2]


def test_prose_and_targets_follow_the_recipe_and_the_figures_stay(tmp_path):
    folder = tmp_path / "multiclass-cxr"
    shutil.copytree(ROOT / "zoo" / "models" / "multiclass-cxr", folder)
    before = json.loads((folder / "card.json").read_text())
    recipe = json.loads(json.dumps(load_recipe("multiclass-cxr").card))
    recipe["tried"] = [*recipe["tried"], "a candidate judged on validation"]
    recipe["quality_targets"] = [{"metric": "auc_pneumonia", "min": 0.99}]

    card = refresh_card_text(folder, recipe)
    parse_card(card)
    assert card["what_was_tried"][-1] == "a candidate judged on validation"
    (target,) = card["metrics"]["quality_targets"]
    test_auc = before["metrics"]["test"]["auc_pneumonia"]["value"]
    assert target["test"] == test_auc and not target["met_on_test"]
    for side in ("validation", "test", "test_scorings"):
        assert card["metrics"][side] == before["metrics"][side]
    assert card["file"] == before["file"]
    assert json.loads((folder / "card.json").read_text()) == card
