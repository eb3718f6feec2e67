"""Training recipes: one small JSON file per zoo model that fully determines a run.

A recipe names the data (and how to split it), the architecture, the input size and
the preprocessing recipe (copied verbatim into the model card, so serving preprocesses
exactly as training did), the optimisation settings, the augmentation, the
hyperparameter search space, and the card's descriptive text. See
``training/recipes/*.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.preprocess import Recipe

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"


@dataclass(frozen=True)
class Augmentation:
    """Random geometric and intensity changes applied to training batches only.

    Fractions as Keras' random layers take them: ``rotation`` of a full turn,
    ``shift``/``zoom``/``shear`` of the image size.
    """

    rotation: float = 0.03
    shift: float = 0.05
    shear: float = 0.0
    zoom: float = 0.1
    flip: bool = False
    contrast: float = 0.0
    brightness: float = 0.0


@dataclass(frozen=True)
class Optimisation:
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 1e-3
    warmup_epochs: int = 2
    patience: int = 6
    reduce_lr_patience: int = 3
    class_weights: bool = True


@dataclass(frozen=True)
class TrainingRecipe:
    id: str
    name: str
    version: str
    seed: int
    data: dict[str, Any]
    split: dict[str, Any]
    architecture: dict[str, Any]
    preprocessing: Recipe
    labels: tuple[str, ...]
    positive_label: str | None
    modality: tuple[str, ...]
    body_part: str
    optimisation: Optimisation
    augmentation: Augmentation
    search: dict[str, Any] = field(default_factory=dict)
    card: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def input_shape(self) -> tuple[int, int, int]:
        height, width = self.preprocessing.input_size
        return (height, width, self.preprocessing.channels)

    @property
    def ships(self) -> bool:
        """False for helper recipes (e.g. pretraining) that build-zoo trains but never exports."""
        return bool(self.card.get("ship", True))

    @property
    def task(self) -> str:
        return "binary" if len(self.labels) == 2 else "multiclass"


def load_recipe(path_or_id: str | Path) -> TrainingRecipe:
    """Read a recipe by path, or by zoo id from ``training/recipes/<id>.json``."""
    path = Path(path_or_id)
    if not path.suffix:
        path = RECIPES_DIR / f"{path_or_id}.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        known = sorted(p.stem for p in RECIPES_DIR.glob("*.json"))
        raise ValueError(f"no recipe {path_or_id!r}; shipped recipes: {known}") from None
    return parse_recipe(data, path)


def parse_recipe(data: dict[str, Any], path: Path | None = None) -> TrainingRecipe:
    labels = tuple(data["labels"])
    modality = data["modality"]
    return TrainingRecipe(
        id=data["id"],
        name=data["name"],
        version=data.get("version", "1.0.0"),
        seed=int(data.get("seed", 0)),
        data=dict(data["data"]),
        split=dict(data.get("split", {})),
        architecture=dict(data["architecture"]),
        preprocessing=Recipe.from_dict(data["preprocessing"]),
        labels=labels,
        positive_label=data.get("positive_label", labels[-1] if len(labels) == 2 else None),
        modality=(modality,) if isinstance(modality, str) else tuple(modality),
        body_part=data.get("body_part", "unknown"),
        optimisation=Optimisation(**data.get("optimisation", {})),
        augmentation=Augmentation(**data.get("augmentation", {})),
        search=dict(data.get("search", {})),
        card=dict(data.get("card", {})),
        path=path,
    )


def all_recipes(*, shipped_only: bool = False) -> list[TrainingRecipe]:
    recipes = [load_recipe(path) for path in sorted(RECIPES_DIR.glob("*.json"))]
    return [r for r in recipes if r.ships or not shipped_only]
