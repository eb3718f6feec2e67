"""The CAM computed inside the exported graph equals Grad-CAM from tf.GradientTape."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow", reason="training tests need requirements-train.txt")

from export.cam import explainer, gradient_tape_cam  # noqa: E402
from export.onnx_export import cam_agreement  # noqa: E402
from training.architectures import build  # noqa: E402

CASES = [
    ("custom_cnn", (64, 64, 3), 2, {}),
    ("custom_cnn", (64, 64, 3), 4, {}),
    ("mobilenetv3_small", (64, 64, 3), 3, {"dense_units": (16,)}),
    ("resnet", (64, 64, 3), 3, {"width": 8, "dense_units": (16, 8)}),
    ("inceptionv3", (96, 96, 3), 2, {"dense_units": (16,)}),
]


@pytest.mark.parametrize(("name", "shape", "n_classes", "options"), CASES, ids=lambda v: str(v))
def test_graph_cam_matches_gradient_tape(name, shape, n_classes, options):
    model = build(name, shape, n_classes, **options)
    images = np.random.default_rng(0).random((3, *shape)).astype(np.float32) * 2 - 0.5
    outputs = explainer(model)(images, training=False)
    reference = gradient_tape_cam(model, images)
    cam = np.asarray(outputs["cam"])
    assert cam.shape == reference.shape
    np.testing.assert_allclose(cam, reference, rtol=1e-4, atol=1e-5)
    assert cam_agreement(cam, reference) >= 0.99
    np.testing.assert_allclose(
        np.asarray(outputs["probabilities"]), np.asarray(model(images)), atol=1e-6
    )


def test_cam_agreement_counts_a_flat_map_against_a_varying_one_as_disagreement():
    varying = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    flat = np.zeros_like(varying)
    assert cam_agreement(flat, flat) == 1.0  # ReLU removed all evidence in both
    assert cam_agreement(varying, varying) == pytest.approx(1.0)
    assert cam_agreement(flat, varying) == 0.0
    assert cam_agreement(np.concatenate([-varying, flat]), np.concatenate([varying, varying])) < 0
