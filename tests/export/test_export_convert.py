"""Keras models (a .keras file and a SavedModel folder) imported with ``python -m zoo
import``: converted in a child process, checked against Keras, and served by ONNX Runtime."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="Keras conversion needs requirements-train.txt")

import keras
from PIL import Image

from zoo.imaging import load_scan
from zoo.registry import Registry
from zoo.runtime import predict

ROOT = Path(__file__).resolve().parents[2]


def tiny_keras(size: int = 32) -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((size, size, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def png(value: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((40, 40), value, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def import_model(path: Path, models: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "zoo", "import", str(path), "--id", "tiny-keras"]
    command += ["--labels", "a,b,c", "--scale", "1", "--models-dir", str(models)]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.mark.parametrize("form", ["keras", "savedmodel"])
def test_a_keras_model_imports_and_scores_as_keras_does(tmp_path, form):
    model = tiny_keras()
    if form == "keras":
        path = tmp_path / "tiny.keras"
        model.save(path)
    else:
        path = tmp_path / "tiny_savedmodel"
        model.export(path, verbose=False)
    done = import_model(path, tmp_path / "models")
    assert done.returncode == 0, done.stderr
    registry = Registry(tmp_path / "models")
    card = registry.card("tiny-keras")
    assert card.raw["provenance"]["output_transform"] == "none"  # the softmax is kept
    assert card.raw["provenance"]["format"] == "keras"
    assert card.preprocessing.layout == "NHWC" and card.preprocessing.input_size == (32, 32)
    scan = load_scan(png(180), filename="x.png")
    (result,) = predict("tiny-keras", [scan], registry=registry, keep_preprocessed=True)
    expected = np.asarray(model(result.preprocessed.input, training=False))[0]
    assert [result.probabilities[k] for k in "abc"] == pytest.approx(expected, abs=1e-5)


def test_a_file_keras_cannot_read_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "broken.keras"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    done = import_model(path, tmp_path / "models")
    assert done.returncode == 2
    assert "could not convert broken.keras" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "models" / "tiny-keras").exists()
