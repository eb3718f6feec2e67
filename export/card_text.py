"""``python -m pipeline card-text``: a shipped card's prose and targets, refreshed from its
recipe without retraining or scoring anything.

What a card says in words (intended use, limitations, what was tried, the population)
and which quality targets it is held to can change after a model ships: a candidate
tried later and not shipped belongs in its ``what_was_tried``. The figures stay as
export measured them; each target is judged again on those same figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from export.targets import quality_targets
from zoo.card import parse_card


def refresh_card_text(model_dir: str | Path, recipe_card: dict[str, Any]) -> dict[str, Any]:
    """Rewrite the prose fields and quality targets of ``model_dir``'s card from the
    recipe's ``card`` section; returns the card."""
    path = Path(model_dir) / "card.json"
    card = json.loads(path.read_text())
    for field in ("intended_use", "limitations"):
        if recipe_card.get(field):
            card[field] = recipe_card[field]
    if recipe_card.get("tried"):
        card["what_was_tried"] = list(recipe_card["tried"])
    if recipe_card.get("population"):
        card["training_data"]["population"] = recipe_card["population"]
    if recipe_card.get("quality_targets"):
        card["metrics"]["quality_targets"] = quality_targets(
            recipe_card["quality_targets"], card["metrics"], card.get("localization")
        )
    parse_card(card)
    path.write_text(json.dumps(card, indent=2))
    return card
