"""Hyperparameter search: seeded, validation split untouched, every trial recorded."""

import dataclasses

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="training tests need requirements-train.txt")
pytest.importorskip("optuna", reason="the search needs optuna (requirements-train.txt)")

from training.datasets import prepare
from training.recipe import load_recipe
from training.search import _training_folds, run_search
from training.train import smoke_recipe


@pytest.fixture
def prepared(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipe = smoke_recipe(load_recipe("mobilenetv3-synthetic"))
    # a tiny CNN keeps each trial's fits to seconds; the search logic is what is tested
    recipe = dataclasses.replace(
        recipe,
        data={**recipe.data, "n": 48},
        architecture={"name": "custom_cnn", "options": {"width": 8, "dense_units": [8]}},
    )
    return recipe, prepare(recipe, smoke=True, run_dir=tmp_path / "run")


def test_folds_come_from_the_training_side_only(prepared):
    recipe, data = prepared
    validation = set(data.split.validation)
    groups = np.asarray(data.labelled.groups)
    for train_index, fold_index in _training_folds(recipe, data, 3):
        assert not validation & set(train_index) and not validation & set(fold_index)
        assert not set(groups[train_index]) & set(groups[fold_index])


def test_search_records_trials_and_returns_params_from_the_space(prepared):
    recipe, data = prepared
    search = {
        "method": "random",
        "trials": 2,
        "folds": 2,
        "epochs": 1,
        "steps": 2,
        "space": {"learning_rate": [0.0005, 0.002, "log"], "dropout": {"choices": [0.2, 0.4]}},
    }
    recipe = dataclasses.replace(recipe, search=search)
    best, trials = run_search(recipe, data)
    assert set(best) == {"learning_rate", "dropout"}
    assert 0.0005 <= best["learning_rate"] <= 0.002 and best["dropout"] in (0.2, 0.4)
    assert len(trials) == 2 and all("mean_fold_val_auc" in t for t in trials)


def test_grid_covers_choices_and_ranges():
    import optuna

    from training.search import _sampler

    space = {"learning_rate": [0.001, 0.1, "log"], "dense_units": {"choices": [[8], [16]]}}
    sampler = _sampler({"method": "grid", "steps": 3}, space, seed=0)
    assert isinstance(sampler, optuna.samplers.GridSampler)
    grid = sampler._search_space
    assert grid["learning_rate"] == pytest.approx([0.001, 0.01, 0.1])
    assert grid["dense_units"] == [(8,), (16,)]


def test_unknown_method_raises():
    from training.search import _sampler

    with pytest.raises(ValueError, match=r"search\.method must be"):
        _sampler({"method": "bayes"}, {}, seed=0)
