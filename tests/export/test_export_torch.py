"""PyTorch models through ``python -m zoo import``: a TorchScript file, and TorchXRayVision's
DenseNet-121 as a state dict (random weights: its trained ones cannot be downloaded here, so
the real loading code runs on an untrained instance), served as a multi-label model of its
18 findings."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch import needs requirements-train.txt")

import torch
from PIL import Image

from export.torch_architectures import XRV_PATHOLOGIES, DenseNet, densenet121_xrv
from zoo.imaging import load_scan
from zoo.registry import Registry
from zoo.runtime import predict

ROOT = Path(__file__).resolve().parents[2]


def run_import(path: Path, models: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "zoo", "import", str(path), "--models-dir", str(models)]
    return subprocess.run([*command, *extra], capture_output=True, text=True, cwd=ROOT, timeout=600)


def scan():
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (240, 260), dtype=np.uint8)).save(buffer, "PNG")
    return load_scan(buffer.getvalue(), filename="x.png")


def test_a_torchscript_model_imports_and_scores_as_pytorch_does(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(), torch.nn.Linear(4, 2),
    ).eval()  # fmt: skip
    path = tmp_path / "tiny.pt"
    torch.jit.script(net).save(str(path))
    done = run_import(
        path, tmp_path / "models", "--id", "tiny-torch", "--labels", "normal,abnormal",
        "--input-size", "64", "--scale", "1", "--activation", "softmax",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    registry = Registry(tmp_path / "models")
    card = registry.card("tiny-torch")
    assert card.preprocessing.layout == "NCHW" and card.preprocessing.input_size == (64, 64)
    (result,) = predict("tiny-torch", [scan()], registry=registry, keep_preprocessed=True)
    with torch.no_grad():
        expected = torch.softmax(net(torch.from_numpy(result.preprocessed.input)), 1)[0]
    assert [result.probabilities[k] for k in card.labels] == pytest.approx(
        expected.tolist(), abs=1e-5
    )


def test_torchxrayvision_densenet_state_dict_imports_its_18_findings(tmp_path):
    torch.manual_seed(0)
    net = densenet121_xrv().eval()
    path = tmp_path / "densenet121-res224-all.pt"
    torch.save(net.state_dict(), path)
    done = run_import(
        path, tmp_path / "models", "--architecture", "densenet121-xrv", "--id", "xrv-all",
        "--labels", ",".join(XRV_PATHOLOGIES), "--multilabel", "--modality", "CR,DX",
        "--input-size", "224", "--scale", "2048", "--mean", "1024", "--std", "1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    registry = Registry(tmp_path / "models")
    card = registry.card("xrv-all")
    assert card.task == "multilabel" and card.labels == tuple(XRV_PATHOLOGIES)
    assert card.raw["provenance"]["format"] == "torch"
    assert card.label_thresholds == dict.fromkeys(XRV_PATHOLOGIES, 0.5)
    (result,) = predict("xrv-all", [scan()], registry=registry, keep_preprocessed=True)
    model_input = result.preprocessed.input
    assert model_input.min() >= -1024 and model_input.max() <= 1024  # TorchXRayVision's range
    with torch.no_grad():
        expected = torch.sigmoid(net(torch.from_numpy(model_input)))[0]
    assert [result.probabilities[k] for k in XRV_PATHOLOGIES] == pytest.approx(
        expected.tolist(), abs=1e-5
    )
    pneumonia = result.finding("Pneumonia")
    assert pneumonia.labels == ("no_Pneumonia", "Pneumonia")
    assert pneumonia.score == result.probabilities["Pneumonia"] and pneumonia.threshold == 0.5


def test_a_state_dict_of_another_architecture_is_refused_naming_what_differs(tmp_path):
    path = tmp_path / "other.pt"
    torch.save(DenseNet(blocks=(2, 2), classes=3).state_dict(), path)
    done = run_import(
        path, tmp_path / "models", "--architecture", "densenet121-xrv", "--id", "other",
        "--labels", "a,b,c", "--scale", "1",
    )  # fmt: skip
    assert done.returncode == 2 and "does not fit densenet121-xrv" in done.stderr


def test_a_pickle_that_is_more_than_weights_is_not_run(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = tmp_path / "evil.pt"
    torch.save({"weights": Payload()}, path)
    done = run_import(
        path, tmp_path / "models", "--architecture", "densenet121-xrv", "--id", "evil",
        "--labels", "a,b", "--scale", "1",
    )  # fmt: skip
    assert done.returncode == 2 and "not a plain state dict" in done.stderr
    assert not marker.exists()
