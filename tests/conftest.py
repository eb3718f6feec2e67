"""Fixtures: tiny but real ONNX models with cards, written into a temporary zoo.

The models are linear class-activation models built with ``onnx.helper``: a
per-pixel linear map gives one activation map per class, its spatial mean the
logits, and softmax (or a sigmoid for one-output binary models) the
probabilities. Their outputs are known in closed form, so tests can check what
ONNX Runtime returns.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from zoo.card import file_entry

OPSET = 17


def linear_cam_model(weights: np.ndarray, bias: np.ndarray, *, sigmoid: bool) -> onnx.ModelProto:
    """Input (N, H, W, C) → cam (N, H, W, K), embedding (N, C), probabilities (N, K)."""
    channels, classes = weights.shape
    nodes = [
        helper.make_node("MatMul", ["input", "W"], ["cam_raw"]),
        helper.make_node("Add", ["cam_raw", "b"], ["cam"]),
        helper.make_node("ReduceMean", ["cam"], ["logits"], axes=[1, 2], keepdims=0),
        helper.make_node("ReduceMean", ["input"], ["embedding"], axes=[1, 2], keepdims=0),
        helper.make_node("Sigmoid", ["logits"], ["probabilities"])
        if sigmoid
        else helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "linear_cam",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", None, None, channels])],
        [
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", classes]),
            helper.make_tensor_value_info("cam", TensorProto.FLOAT, ["N", None, None, classes]),
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", channels]),
        ],
        initializer=[
            numpy_helper.from_array(weights.astype(np.float32), "W"),
            numpy_helper.from_array(bias.astype(np.float32), "b"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def write_model_dir(
    root: Path,
    model_id: str,
    *,
    labels: tuple[str, ...] = ("normal", "abnormal"),
    sigmoid: bool = True,
    channels: int = 1,
    input_size: tuple[int, int] = (32, 32),
    weight: float = 8.0,
    modality: str | list[str] = "CR",
    n_validation: int = 40,
    card_overrides: dict[str, Any] | None = None,
) -> Path:
    """Write ``root/model_id`` with model.onnx, card.json and validation.csv."""
    folder = root / model_id
    folder.mkdir(parents=True)
    n_out = 1 if sigmoid else len(labels)
    weights = np.zeros((channels, n_out), dtype=np.float32)
    # brighter images push the last class up, so outputs depend on the scan
    weights[:, -1] = weight
    if n_out > 1:
        weights[:, 0] = -weight
    bias = np.full(n_out, -weight / 2, dtype=np.float32)
    data = linear_cam_model(weights, bias, sigmoid=sigmoid).SerializeToString()
    (folder / "model.onnx").write_bytes(data)
    rng = np.random.default_rng(0)
    y = rng.integers(0, len(labels), n_validation)
    with (folder / "validation.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "label", *[f"p_{k}" for k in labels], "view"])
        for i, truth in enumerate(y):
            raw = rng.random(len(labels)) + np.eye(len(labels))[truth]
            probs = raw / raw.sum()
            writer.writerow([f"case{i}", labels[truth], *probs.round(6), "PA" if i % 2 else "AP"])
    card = {
        "schema_version": 1,
        "id": model_id,
        "name": f"Test model {model_id}",
        "version": "1.0.0",
        "changelog": [{"version": "1.0.0", "changes": "first version"}],
        "task": "binary" if len(labels) == 2 else "multiclass",
        "labels": list(labels),
        "positive_label": labels[-1] if len(labels) == 2 else None,
        "modality": modality,
        "body_part": "chest",
        "preprocessing": {
            "input_size": list(input_size),
            "channels": channels,
            "aspect": "pad",
        },
        "outputs": {"probabilities": "probabilities", "cam": "cam", "embedding": "embedding"},
        "architecture": {"name": "linear CAM (test)", "parameters": int(weights.size + bias.size)},
        "training_data": {
            "source": "none (test fixture)",
            "licence": "CC0",
            "citation": "n/a",
            "split": {"method": "none"},
            "counts": {},
        },
        "metrics": {"validation": {}},
        "thresholds": {"default": 0.5, "operating_points": {"youden": 0.4}},
        "calibration": {"method": "none"},
        "intended_use": "Tests only.",
        "limitations": ["Not a real model."],
        "file": file_entry(data, opset=OPSET),
        "validation_predictions": "validation.csv",
        "latency_ms": 1.0,
    }
    card.update(card_overrides or {})
    (folder / "card.json").write_text(json.dumps(card, indent=2))
    return folder


@pytest.fixture
def model_writer() -> Callable[..., Path]:
    """:func:`write_model_dir`, for tests that build a zoo of their own."""
    return write_model_dir


@pytest.fixture
def zoo_dir(tmp_path: Path) -> Path:
    """A zoo with a binary sigmoid model and a three-class softmax model."""
    root = tmp_path / "models"
    write_model_dir(root, "binary-test")
    write_model_dir(
        root,
        "multi-test",
        labels=("normal", "pneumonia", "tuberculosis"),
        sigmoid=False,
        channels=3,
        modality=["CR", "DX"],
    )
    return root


@pytest.fixture(autouse=True)
def _fresh_sessions():
    from zoo.runtime import clear_sessions

    clear_sessions()
    yield
    clear_sessions()


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory):
    """A real Orthanc with DICOMweb on loopback (authentication on), one per test session."""
    from benchmarks import orthanc as orthanc_server

    if not orthanc_server.installed():
        pytest.skip(
            "Orthanc with its DICOMweb plugin is not installed (Debian packages orthanc and "
            "orthanc-dicomweb; .ci/run installs them)"
        )
    with orthanc_server.running(tmp_path_factory.mktemp("orthanc")) as server:
        yield server


# -- CI: nothing may be skipped for want of a package, a browser or ../shared ----------------

#: Set by .ci/run: every skip fails the run, because there the README's command has installed
#: everything and ../shared lies beside the clone, so a skip can only mean a missing install.
REQUIRE_EVERYTHING = "MEDZOO_REQUIRE_EVERYTHING"
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        _skipped.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import os

    if os.environ.get(REQUIRE_EVERYTHING) == "1" and _skipped:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"{REQUIRE_EVERYTHING}=1 and {len(_skipped)} tests skipped (a missing install?):",
                red=True,
            )
            for line in _skipped[:50]:
                reporter.write_line(f"  {line}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
