"""Trust captions: the heatmap caveat says what the card measured, and why when it knows."""

import json

import pytest

from ui.trust import heatmap_caveat
from zoo.card import parse_card


def card_with(model_writer, tmp_path, check, variant):
    folder = model_writer(
        tmp_path / "models",
        "caveat-test",
        card_overrides={"heatmap_check": check, "export": {"shipped_variant": variant}},
    )
    return parse_card(json.loads((folder / "card.json").read_text()))


CHECK = {"images": 165, "side": "validation", "median": 0.995, "min": 0.68}


def test_no_caveat_when_every_map_matched(model_writer, tmp_path):
    card = card_with(model_writer, tmp_path, {**CHECK, "met": True}, "float32")
    assert heatmap_caveat(card) is None


@pytest.mark.parametrize(
    ("variant", "blames_int8_arithmetic"), [("int8", True), ("int8-weights", False)]
)
def test_caveat_gives_the_figures_and_blames_int8_only_for_int8_arithmetic(
    model_writer, tmp_path, variant, blames_int8_arithmetic
):
    check = {**CHECK, "met": False, "share_at_least_0.99": 0.68}
    text = heatmap_caveat(card_with(model_writer, tmp_path, check, variant))
    assert "on 165 validation images" in text and "median r = 0.995" in text
    assert "68% of them" in text and "the lowest 0.68" in text
    assert ("int8 arithmetic" in text) is blames_int8_arithmetic
