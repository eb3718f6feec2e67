"""A temporary zoo of tiny real ONNX models, for benchmarks run before any model ships.

The models are linear class-activation models (the same construction as the test fixtures
in tests/conftest.py, rebuilt here because benchmarks never import tests): a per-pixel
linear map gives one activation map per class, its spatial mean the logits, then a sigmoid
or a softmax. They run in microseconds, so what a benchmark measures is the app around them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from zoo.card import file_entry
from zoo.registry import Registry, models_dir

OPSET = 17
#: (id, labels, channels, modalities): one binary sigmoid model, one softmax model.
TINY_MODELS = (
    ("tiny-binary", ("normal", "abnormal"), 1, ["CR", "DX"]),
    ("tiny-multiclass", ("normal", "pneumonia", "tuberculosis"), 3, ["CR", "DX", "MR", "CT"]),
)


def _model_bytes(channels: int, classes: int, sigmoid: bool, weight: float = 8.0) -> bytes:
    from onnx import TensorProto, helper, numpy_helper

    n_out = 1 if sigmoid else classes
    weights = np.zeros((channels, n_out), dtype=np.float32)
    weights[:, -1] = weight  # brighter scans push the last class up
    if n_out > 1:
        weights[:, 0] = -weight
    bias = np.full(n_out, -weight / 2, dtype=np.float32)
    head = "Sigmoid" if sigmoid else "Softmax"
    nodes = [
        helper.make_node("MatMul", ["input", "W"], ["cam_raw"]),
        helper.make_node("Add", ["cam_raw", "b"], ["cam"]),
        helper.make_node("ReduceMean", ["cam"], ["logits"], axes=[1, 2], keepdims=0),
        helper.make_node("ReduceMean", ["input"], ["embedding"], axes=[1, 2], keepdims=0),
        helper.make_node(head, ["logits"], ["probabilities"], **({} if sigmoid else {"axis": -1})),
    ]
    graph = helper.make_graph(
        nodes,
        "linear_cam",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", None, None, channels])],
        [
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", n_out]),
            helper.make_tensor_value_info("cam", TensorProto.FLOAT, ["N", None, None, n_out]),
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", channels]),
        ],
        initializer=[numpy_helper.from_array(weights, "W"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 9
    return model.SerializeToString()


def write_tiny_model(
    root: Path, model_id: str, labels: tuple[str, ...], channels: int, modalities: list[str]
) -> Path:
    """``root/model_id`` with model.onnx, a card that parses, and validation.csv."""
    folder = root / model_id
    folder.mkdir(parents=True)
    data = _model_bytes(channels, len(labels), sigmoid=len(labels) == 2)
    (folder / "model.onnx").write_bytes(data)
    rng = np.random.default_rng(0)
    with (folder / "validation.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "label", *[f"p_{k}" for k in labels]])
        for i, truth in enumerate(rng.integers(0, len(labels), 200)):
            raw = rng.random(len(labels)) + np.eye(len(labels))[truth]
            writer.writerow([f"case{i}", labels[truth], *(raw / raw.sum()).round(6)])
    card = {
        "schema_version": 1,
        "id": model_id,
        "name": f"Tiny {model_id}",
        "version": "1.0.0",
        "changelog": [{"version": "1.0.0", "changes": "benchmark fixture"}],
        "task": "binary" if len(labels) == 2 else "multiclass",
        "labels": list(labels),
        "positive_label": labels[-1] if len(labels) == 2 else None,
        "modality": modalities,
        "body_part": "chest",
        "preprocessing": {"input_size": [64, 64], "channels": channels, "aspect": "pad"},
        "outputs": {"probabilities": "probabilities", "cam": "cam", "embedding": "embedding"},
        "architecture": {"name": "linear CAM (benchmark)", "parameters": channels * 4},
        "training_data": {
            "source": "none (benchmark fixture)",
            "licence": "CC0",
            "citation": "n/a",
            "split": {"method": "none"},
            "counts": {},
        },
        "metrics": {"validation": {}},
        "thresholds": {"default": 0.5, "operating_points": {"youden": 0.4}},
        "calibration": {"method": "none"},
        "intended_use": "Benchmarks only.",
        "limitations": ["Not a real model."],
        "file": file_entry(data, opset=OPSET),
        "validation_predictions": "validation.csv",
        "latency_ms": 0.1,
    }
    (folder / "card.json").write_text(json.dumps(card, indent=2))
    return folder


def zoo_or_tiny(requested: Path | None, scratch: Path) -> tuple[Path, str]:
    """The models folder to benchmark, and a note saying which it is.

    ``requested`` (or ``$MEDZOO_MODELS_DIR`` / ``zoo/models``) when it holds a usable model;
    otherwise a tiny zoo written under ``scratch``.
    """
    root = requested or models_dir()
    registry = Registry(root)
    if len(registry):
        return root, f"models: {', '.join(registry.ids())} (from {root})"
    tiny = scratch / "tiny-models"
    for spec in TINY_MODELS:
        write_tiny_model(tiny, *spec)
    return tiny, (
        f"models: none usable in {root}, so a temporary zoo of tiny linear ONNX models "
        f"({', '.join(s[0] for s in TINY_MODELS)}) was built; it measures the app, not real models"
    )
