"""Architectures: the anatomy the exporter relies on, and local weight files."""

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="training tests need requirements-train.txt")

import keras

from training.architectures import ARCHITECTURES, build, mobilenetv3_small

SMALL = {
    "mobilenetv3_small": ((64, 64, 3), {"dense_units": (8,)}),
    "inceptionv3": ((96, 96, 3), {"dense_units": (8,)}),
    "resnet": ((64, 64, 3), {"width": 8}),
    "custom_cnn": ((64, 64, 3), {"width": 8}),
}


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
@pytest.mark.parametrize("n_classes", [2, 4])
def test_anatomy(name, n_classes):
    shape, options = SMALL[name]
    model = build(name, shape, n_classes, **options)
    for layer in ("features", "pool", "logits", "probabilities"):
        model.get_layer(layer)
    assert model.get_layer("logits").units == (1 if n_classes == 2 else n_classes)
    out = model(np.zeros((2, *shape), dtype=np.float32))
    assert out.shape == (2, 1 if n_classes == 2 else n_classes)


def test_local_weights_file_is_loaded(tmp_path):
    source = keras.applications.MobileNetV3Small(
        input_shape=(64, 64, 3), include_top=False, weights=None, include_preprocessing=True
    )
    for variable in source.weights:
        variable.assign(np.full(variable.shape, 0.01, dtype="float32"))
    path = tmp_path / "notop.weights.h5"
    source.save_weights(path)
    model = mobilenetv3_small((64, 64, 3), 2, weights=path, dense_units=(8,))
    backbone = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    assert np.allclose(backbone.weights[0].numpy(), 0.01)


def test_missing_weights_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="no-top"):
        mobilenetv3_small((64, 64, 3), 2, weights=tmp_path / "absent.h5")


def test_unknown_architecture():
    with pytest.raises(ValueError, match="known"):
        build("vgg", (64, 64, 3), 2)
