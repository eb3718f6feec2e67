"""Hyperparameter search with Optuna, scored on group folds of the training split only.

The validation split never takes part: each trial trains ``folds`` short runs, each
validated on a group-disjoint fold of the *training* side, and scores the mean of their
best validation AUCs. The recipe's ``search`` section declares everything:

.. code-block:: json

    "search": {"method": "random", "trials": 8, "folds": 3, "epochs": 4,
               "space": {"learning_rate": [0.0001, 0.003, "log"],
                         "dropout": [0.2, 0.5],
                         "dense_units": {"choices": [[64], [128], [256]]}}}

``method`` is ``random`` (seeded random sampling), ``grid`` (every combination of the
``choices`` given; numeric ranges need ``"steps"``) or ``tpe``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import optuna

from training.data import group_kfold
from training.datasets import PreparedData
from training.recipe import TrainingRecipe


def run_search(recipe: TrainingRecipe, data: PreparedData) -> tuple[dict[str, Any], list[dict]]:
    """Best hyperparameters and every trial's parameters and score."""
    spec = recipe.search
    space: dict[str, Any] = spec.get("space", {})
    folds = _training_folds(recipe, data, int(spec.get("folds", 3)))
    epochs = int(spec.get("epochs", max(2, recipe.optimisation.epochs // 3)))
    short = dataclasses.replace(
        recipe, optimisation=dataclasses.replace(recipe.optimisation, epochs=epochs)
    )

    def objective(trial: optuna.Trial) -> float:
        from training.fit import fit

        params = {name: _suggest(trial, name, bounds) for name, bounds in space.items()}
        scores = []
        for train_index, validation_index in folds:
            _, history = fit(
                short,
                data,
                params,
                train_index=train_index,
                validation_index=validation_index,
                verbose=0,
            )
            scores.append(max(history.get("val_auc", [float("nan")])))
        return float(np.nanmean(scores))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=_sampler(spec, space, recipe.seed))
    study.optimize(objective, n_trials=int(spec.get("trials", 8)))
    trials = [
        {"number": t.number, "params": _jsonable(t.params), "mean_fold_val_auc": t.value}
        for t in study.trials
    ]
    return _jsonable(study.best_params), trials


def _training_folds(
    recipe: TrainingRecipe, data: PreparedData, k: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    train_side = data.split.train
    inner = group_kfold(data.labelled.subset(train_side), k=k, seed=recipe.seed)
    return [(train_side[a], train_side[b]) for a, b in inner]


def _suggest(trial: optuna.Trial, name: str, bounds: Any) -> Any:
    if isinstance(bounds, dict):
        choices = [tuple(c) if isinstance(c, list) else c for c in bounds["choices"]]
        value = trial.suggest_categorical(name, choices)
        return list(value) if isinstance(value, tuple) else value
    low, high, *scale = bounds
    if isinstance(low, int) and isinstance(high, int):
        return trial.suggest_int(name, low, high, log="log" in scale)
    return trial.suggest_float(name, float(low), float(high), log="log" in scale)


def _sampler(spec: dict[str, Any], space: dict[str, Any], seed: int) -> optuna.samplers.BaseSampler:
    method = spec.get("method", "random")
    if method == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if method == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if method == "grid":
        grid = {}
        for name, bounds in space.items():
            if isinstance(bounds, dict):
                grid[name] = [tuple(c) if isinstance(c, list) else c for c in bounds["choices"]]
            else:
                low, high, *rest = bounds
                steps = int(spec.get("steps", 3))
                values = (
                    np.geomspace(low, high, steps)
                    if "log" in rest
                    else np.linspace(low, high, steps)
                )
                grid[name] = [float(v) for v in values]
        return optuna.samplers.GridSampler(grid, seed=seed)
    raise ValueError(f"search.method must be 'random', 'grid' or 'tpe', got {method!r}")


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
