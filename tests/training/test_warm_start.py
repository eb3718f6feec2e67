"""Warm starts: a recipe's ``init_from`` trains the source recipe first and loads its weights."""

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="training tests need requirements-train.txt")

from training.architectures import build
from training.fit import warm_start
from training.recipe import parse_recipe
from training.train import pretrained_weights


def _recipe(recipe_id: str, **architecture) -> dict:
    return {
        "id": recipe_id,
        "name": recipe_id,
        "seed": 5,
        "data": {"source": "synthetic", "kind": "chest", "n": 16},
        "split": {"validation_fraction": 0.25},
        "architecture": {
            "name": "custom_cnn",
            "options": {"width": 4, "dense_units": [4]},
            **architecture,
        },
        "preprocessing": {"input_size": [32, 32], "channels": 3},
        "labels": ["normal", "abnormal"],
        "modality": "CR",
        "optimisation": {"epochs": 1, "batch_size": 4, "warmup_epochs": 0},
    }


def test_the_source_run_is_trained_first_and_its_weights_are_the_start(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # cache/ is relative to the working folder
    source_path = tmp_path / "source.json"
    source_path.write_text(json.dumps(_recipe("warm-source")))
    target = parse_recipe(_recipe("warm-target", init_from=str(source_path)))

    path = pretrained_weights(target, runs_dir=tmp_path / "runs", smoke=False, verbose=0)
    assert path == tmp_path / "runs" / "warm-source" / "model.keras" and path.is_file()

    import keras

    import training.architectures  # noqa: F401 - registers the custom layers

    source = keras.models.load_model(path)
    model = build("custom_cnn", (32, 32, 3), 2, width=4, dense_units=[4])
    assert warm_start(model, path) == []  # same head: every layer copied
    for got, want in zip(model.get_weights(), source.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_backbone_pretrained_with_another_head_leaves_only_the_logits_fresh(tmp_path):
    import training.architectures  # noqa: F401 - registers the custom layers

    pretrained = build("custom_cnn", (32, 32, 3), 7, width=4, dense_units=[4])
    pretrained.save(tmp_path / "model.keras")
    model = build("custom_cnn", (32, 32, 3), 3, width=4, dense_units=[4])
    before = model.get_layer("logits").get_weights()[0].copy()
    assert warm_start(model, tmp_path / "model.keras") == ["logits"]
    for name in ("stem_conv", "deep3_conv", "hidden0"):
        for got, want in zip(
            model.get_layer(name).get_weights(),
            pretrained.get_layer(name).get_weights(),
            strict=True,
        ):
            np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(model.get_layer("logits").get_weights()[0], before)


def test_weights_of_another_architecture_are_refused(tmp_path):
    build("resnet", (32, 32, 3), 2, depth="resnet18", width=4).save(tmp_path / "model.keras")
    model = build("custom_cnn", (32, 32, 3), 2, width=4, dense_units=[4])
    with pytest.raises(ValueError, match="same architecture"):
        warm_start(model, tmp_path / "model.keras")


def test_smoke_runs_and_cold_recipes_start_from_scratch(tmp_path):
    cold = parse_recipe(_recipe("cold"))
    warm = parse_recipe(_recipe("warm", init_from="missing-recipe"))
    assert pretrained_weights(cold, runs_dir=tmp_path, smoke=False, verbose=0) is None
    assert pretrained_weights(warm, runs_dir=tmp_path, smoke=True, verbose=0) is None
