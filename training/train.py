"""Training: one recipe in, one run folder out.

A run folder (``runs/<id>/``) holds everything export needs and everything that makes
the run reproducible: ``recipe.json`` (as run, after overrides), ``split.csv`` (which
item went where), ``model.keras`` (best validation AUC), ``history.json`` (loss,
accuracy, AUC, precision, recall per epoch, for the dashboard), ``search.json`` when a
hyperparameter search ran, and ``tensorboard/`` logs.

Steps: seeds fixed → data loaded and split by group → inputs decoded and preprocessed
once through ``zoo.preprocess`` (cached) → optional search (Optuna, scored on group
folds of the training split only) → fit with class weights, augmentation, Adam with a
warm-up, ReduceLROnPlateau, early stopping on validation AUC and best-weights restore.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import keras

from training.datasets import prepare
from training.fit import distribution_strategy, fit
from training.recipe import TrainingRecipe

RUNS_DIR = Path("runs")


def train(
    recipe: TrainingRecipe,
    *,
    data_dir: str | Path | None = None,
    epochs: int | None = None,
    smoke: bool = False,
    runs_dir: str | Path = RUNS_DIR,
    search: bool = True,
    verbose: int = 1,
    strategy: str = "default",
    stream_dir: str | Path | None = None,
) -> Path:
    """Train ``recipe`` and return its run folder. ``strategy`` names the
    ``tf.distribute`` strategy (``mirrored``: every GPU of this machine; ``multiworker``:
    the machines of ``TF_CONFIG``); with ``stream_dir`` the inputs are written there as
    shards once and streamed, not held in memory (no search then: its folds re-split the
    training side in memory)."""
    if smoke:
        recipe = smoke_recipe(recipe)
    if epochs is not None:
        recipe = dataclasses.replace(
            recipe, optimisation=dataclasses.replace(recipe.optimisation, epochs=epochs)
        )
    keras.utils.set_random_seed(recipe.seed)
    run_dir = Path(runs_dir) / recipe.id
    run_dir.mkdir(parents=True, exist_ok=True)
    data = prepare(
        recipe,
        data_dir=data_dir,
        smoke=smoke,
        run_dir=run_dir,
        stream_dir=None if stream_dir is None else Path(stream_dir),
    )

    params = dict(recipe.search.get("fixed", {}))
    if search and recipe.search.get("trials") and not smoke and stream_dir is None:
        from training.search import run_search

        best, trials = run_search(recipe, data)
        params.update(best)
        (run_dir / "search.json").write_text(json.dumps({"best": best, "trials": trials}, indent=2))

    init_weights = pretrained_weights(recipe, runs_dir=Path(runs_dir), smoke=smoke, verbose=verbose)
    model, history = fit(
        recipe,
        data,
        params,
        run_dir=run_dir,
        init_weights=init_weights,
        verbose=verbose,
        strategy=distribution_strategy(strategy),
    )
    model.save(run_dir / "model.keras")
    (run_dir / "history.json").write_text(json.dumps(history, indent=2))
    (run_dir / "recipe.json").write_text(json.dumps(recipe_as_run(recipe, params), indent=2))
    return run_dir


def pretrained_weights(
    recipe: TrainingRecipe, *, runs_dir: Path, smoke: bool, verbose: int
) -> Path | None:
    """The ``model.keras`` of the run of ``architecture.init_from`` (a recipe id or path),
    trained first if missing; None when the recipe starts from scratch or in smoke mode."""
    source = recipe.architecture.get("init_from")
    if not source or smoke:
        return None
    from training.recipe import load_recipe

    source_recipe = load_recipe(source)
    path = runs_dir / source_recipe.id / "model.keras"
    if not path.is_file():
        print(f"{recipe.id} starts from {source_recipe.id}, not trained yet: training it first")
        train(source_recipe, runs_dir=runs_dir, verbose=verbose)
    return path


def smoke_recipe(recipe: TrainingRecipe) -> TrainingRecipe:
    """One short epoch on tiny synthetic data at a small input size (pipeline tests)."""
    size = 96 if recipe.architecture["name"] == "inceptionv3" else 64
    options = dict(recipe.architecture.get("options", {}))
    if "dense_units" in options:
        options["dense_units"] = [min(16, u) for u in options["dense_units"]]
    if "width" in options:
        options["width"] = min(8, options["width"])
    options.pop("pool_before_flatten", None)  # a 96 px InceptionV3 has a 1×1 feature map
    preprocessing = dataclasses.replace(recipe.preprocessing, input_size=(size, size))
    return dataclasses.replace(
        recipe,
        id=f"{recipe.id}-smoke",
        data={"source": "synthetic", "kind": recipe.data.get("synthetic_kind", "chest"), "n": 32},
        architecture={**recipe.architecture, "options": options, "weights": None},
        preprocessing=preprocessing,
        optimisation=dataclasses.replace(
            recipe.optimisation, epochs=1, batch_size=8, warmup_epochs=0
        ),
    )


def recipe_as_run(recipe: TrainingRecipe, params: dict[str, Any]) -> dict[str, Any]:
    """The recipe as it ran: JSON, with the chosen hyperparameters."""
    return {
        "id": recipe.id,
        "name": recipe.name,
        "version": recipe.version,
        "seed": recipe.seed,
        "data": recipe.data,
        "split": recipe.split,
        "architecture": recipe.architecture,
        "preprocessing": recipe.preprocessing.to_dict(),
        "labels": list(recipe.labels),
        "positive_label": recipe.positive_label,
        "modality": list(recipe.modality),
        "body_part": recipe.body_part,
        "optimisation": dataclasses.asdict(recipe.optimisation),
        "augmentation": dataclasses.asdict(recipe.augmentation),
        "search": recipe.search,
        "card": recipe.card,
        "chosen_hyperparameters": params,
    }
