"""Recipe → smoke training → ONNX export → zoo.runtime, end to end on synthetic scans."""

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="training tests need requirements-train.txt")

from export.package import export_run, focus_group
from export.test_ledger import LEDGER
from training.recipe import all_recipes
from training.train import train
from zoo.card import parse_card
from zoo.imaging import load_scan
from zoo.preprocess import preprocess
from zoo.registry import Registry
from zoo.runtime import predict

RECIPES = all_recipes(shipped_only=True)


@pytest.mark.parametrize("recipe", RECIPES, ids=[r.id for r in RECIPES])
def test_recipe_trains_exports_and_serves(recipe, tmp_path, monkeypatch):
    import keras

    monkeypatch.chdir(tmp_path)  # runs/ and cache/ are relative to the working folder
    run_dir = train(recipe, smoke=True, verbose=0)
    history = json.loads((run_dir / "history.json").read_text())
    assert {"loss", "auc", "val_auc", "precision", "recall"} <= set(history)
    assert (run_dir / "split.csv").is_file()

    models = tmp_path / "models"
    if recipe.id == "customcnn-lung-ct":  # once: a candidate's test side stays unscored
        candidate = tmp_path / "candidate"
        card = export_run(run_dir, candidate, ship=False)["card"]
        assert "test" not in card["metrics"] and "test_scorings" not in card["metrics"]
        assert not (candidate / "test.csv").exists() and not (candidate / LEDGER).exists()
    summary = export_run(run_dir, models / run_dir.name)
    if recipe.id == "customcnn-lung-ct":  # a candidate never overwrites a shipped model
        with pytest.raises(ValueError, match="holds a shipped model"):
            export_run(run_dir, models / run_dir.name, ship=False)
    card = parse_card(summary["card"])
    # the shipped file is the first model scored on this test side
    assert card.metrics["test_scorings"]["models_scored"] == 1
    assert summary["export"].max_probability_error <= 1e-4
    assert summary["export"].cam_correlation >= 0.99
    # thresholds come from validation; the held-out test side is scored and reported apart
    assert {"validation", "test"} <= set(card.metrics)
    sides = [line.rsplit(",", 1)[-1] for line in (run_dir / "split.csv").read_text().split()]
    assert card.metrics["test"]["n"] == sides.count("test") > 0
    assert (models / run_dir.name / "test.csv").is_file()
    focus = focus_group(recipe.card)
    if focus:
        assert {"validation", "test", "threshold"} <= set(card.metrics[f"{focus.name}_vs_rest"])

    registry = Registry(models)
    assert registry.problems == {}
    image_path = next((run_dir / "synthetic").rglob("*.png"))
    scan = load_scan(image_path.read_bytes(), filename=image_path.name)
    (served,) = predict(card.id, [scan], registry=registry)
    assert set(served.probabilities) == set(card.labels)
    assert served.cam is not None and served.embedding is not None

    # serving and training build identical inputs, and ONNX agrees with Keras on them
    model = keras.models.load_model(run_dir / "model.keras")
    x = preprocess(scan, card.preprocessing).input
    keras_probs = np.asarray(model(x, training=False))[0]
    onnx_positive = served.probabilities[card.labels[-1]] if card.is_binary else None
    if card.is_binary:
        assert onnx_positive == pytest.approx(float(keras_probs[0]), abs=1e-4)
    else:
        got = np.array([served.probabilities[label] for label in card.labels])
        np.testing.assert_allclose(got, keras_probs, atol=1e-4)


def test_training_inputs_equal_serving_inputs(tmp_path):
    from training.data import load_arrays, load_csv
    from training.synthetic import write_dataset

    csv_path = write_dataset(tmp_path / "set", "ct", 6, seed=3, size=64)
    labelled = load_csv(csv_path, group_column="group")
    recipe = {"input_size": [48, 48], "clahe": {"clip_limit": 2.0, "tile_grid": 4}}
    cached = load_arrays(labelled, recipe, cache_dir=tmp_path / "cache")
    served = np.concatenate(
        [preprocess(load_scan(p.read_bytes()), recipe).input for p in labelled.paths]
    )
    np.testing.assert_array_equal(cached, served)
