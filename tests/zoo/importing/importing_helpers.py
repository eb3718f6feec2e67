"""Small ONNX image classifiers built with onnx.helper, and PNGs, for the importer's tests."""

from __future__ import annotations

import io

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image


def classifier(
    *,
    layout: str = "NCHW",
    channels: int = 1,
    size: int | None = 32,
    classes: int = 2,
    head: str = "logits",
    seed: int = 0,
) -> onnx.ModelProto:
    """Mean brightness per channel → a dense layer → logits (or softmax / sigmoid).

    The brighter an image, the higher the last class's logit: a model whose scores the
    tests can predict.
    """
    rng = np.random.default_rng(seed)
    side = size if size is not None else "side"
    shape = ["N", channels, side, side] if layout == "NCHW" else ["N", side, side, channels]
    axes = [2, 3] if layout == "NCHW" else [1, 2]
    weights = rng.normal(0, 0.1, (channels, classes)).astype(np.float32)
    weights[:, -1] = 4.0
    bias = np.linspace(-1, 1, classes).astype(np.float32)
    nodes = [
        helper.make_node("ReduceMean", ["image", "axes"], ["pooled"], keepdims=0),
        helper.make_node("MatMul", ["pooled", "W"], ["dense"]),
        helper.make_node("Add", ["dense", "B"], ["logits"]),
    ]
    output = "logits"
    if head == "softmax":
        nodes.append(helper.make_node("Softmax", ["logits"], ["scores"], axis=-1))
        output = "scores"
    elif head == "sigmoid":
        nodes.append(helper.make_node("Sigmoid", ["logits"], ["scores"]))
        output = "scores"
    graph = helper.make_graph(
        nodes,
        "classifier",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["N", classes])],
        [
            numpy_helper.from_array(np.array(axes, np.int64), "axes"),
            numpy_helper.from_array(weights, "W"),
            numpy_helper.from_array(bias, "B"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def png(brightness: int, size: int = 40) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((size, size), brightness, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()
