"""What an ONNX classifier says about itself: its input, its output and its last layer.

Read from the graph: the input's layout (NCHW or NHWC), size and channels where the
dimensions are fixed; which output holds the scores and whether the graph already ends in
a softmax or a sigmoid (probabilities) or not (logits); and the features feeding the final
dense layer, which serve as the embedding for the out-of-distribution score. What cannot
be read (a dynamic size, logits that could be softmax or sigmoid) is left as None for the
importer to ask about.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import onnx
import onnx.numpy_helper
from onnx import helper

from zoo.errors import ModelImportError

Activation = Literal["softmax", "sigmoid", "none"]
#: Operators that pass scores through unchanged in meaning.
_PASSTHROUGH = {"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Cast", "Dropout"}
PROBABILITIES = "probabilities"
EMBEDDING = "embedding"


@dataclass(frozen=True)
class Signature:
    input_name: str
    layout: Literal["NHWC", "NCHW"] | None
    input_size: tuple[int, int] | None
    channels: int | None
    output_name: str
    scores: int | None  # the output's last dimension, if fixed
    activation: Activation | None  # "none": the graph ends in probabilities already
    embedding: str | None
    #: "Softmax" or "Sigmoid" when the graph ends in one (a sigmoid over several labels:
    #: a multi-label model)
    final_op: str | None = None


def read_signature(model: onnx.ModelProto, *, output: str | None = None) -> Signature:
    """The signature of ``model``; ``output`` picks the scores output when there are several."""
    graph = model.graph
    initializers = {tensor.name for tensor in graph.initializer}
    inputs = [value for value in graph.input if value.name not in initializers]
    if len(inputs) != 1:
        raise ModelImportError(
            f"an image classifier takes one input; this graph takes {len(inputs)}: "
            f"{[value.name for value in inputs]}"
        )
    (image,) = inputs
    element = image.type.tensor_type.elem_type
    if element != onnx.TensorProto.FLOAT:
        raise ModelImportError(
            f"input {image.name!r} is {onnx.TensorProto.DataType.Name(element)}; MedZoo feeds "
            "float32 images"
        )
    dims = [
        d.dim_value if d.HasField("dim_value") else None for d in image.type.tensor_type.shape.dim
    ]
    if len(dims) != 4:
        raise ModelImportError(
            f"input {image.name!r} has rank {len(dims)}; an image classifier takes "
            "(batch, height, width, channels) or (batch, channels, height, width)"
        )
    layout, size, channels = _layout(dims[1:])
    scores = _scores_output(graph, output)
    shape = scores.type.tensor_type.shape.dim
    last = shape[-1].dim_value if shape and shape[-1].HasField("dim_value") else None
    producers = {name: node for node in graph.node for name in node.output}
    activation, logits, final_op = _activation(producers, scores.name)
    return Signature(
        input_name=image.name,
        layout=layout,
        input_size=size,
        channels=channels,
        output_name=scores.name,
        scores=last,
        activation=activation,
        embedding=_features(producers, logits, initializers),
        final_op=final_op,
    )


def _layout(dims: list[int | None]) -> tuple:
    """(layout, (h, w), channels) from the three non-batch dimensions; None where unsure."""
    first, middle, last = dims
    colour = (1, 3)
    if first in colour and last not in colour:
        size = (middle, last) if middle and last else None
        return "NCHW", size, first
    if last in colour and first not in colour:
        size = (first, middle) if first and middle else None
        return "NHWC", size, last
    return None, None, None


def _scores_output(graph: onnx.GraphProto, name: str | None) -> onnx.ValueInfoProto:
    outputs = list(graph.output)
    if name is not None:
        for value in outputs:
            if value.name == name:
                return value
        raise ModelImportError(
            f"no output {name!r}; the graph's outputs: {[v.name for v in outputs]}"
        )
    if len(outputs) == 1:
        return outputs[0]
    two_d = [v for v in outputs if len(v.type.tensor_type.shape.dim) == 2]
    if len(two_d) == 1:
        return two_d[0]
    raise ModelImportError(
        f"the graph has {len(outputs)} outputs {[v.name for v in outputs]}: name the one "
        "holding the class scores (--output NAME)"
    )


def _activation(
    producers: dict[str, onnx.NodeProto], name: str
) -> tuple[Activation | None, str, str | None]:
    """Whether ``name`` is already probabilities, the logits tensor before any activation,
    and the activation the graph ends in."""
    node = producers.get(name)
    while node is not None and node.op_type in _PASSTHROUGH:
        name = node.input[0]
        node = producers.get(name)
    if node is None:
        return None, name, None
    if node.op_type == "Softmax" or node.op_type == "Sigmoid":
        return "none", node.input[0], node.op_type
    return None, name, None  # logits (LogSoftmax included: a softmax gives probabilities)


def _features(
    producers: dict[str, onnx.NodeProto], logits: str, initializers: set[str]
) -> str | None:
    """The tensor entering the last dense layer (Gemm, or MatMul plus a bias), if any."""
    node = producers.get(logits)
    while node is not None and node.op_type in _PASSTHROUGH | {"Add"}:
        if node.op_type == "Add":
            data = [i for i in node.input if i not in initializers]
            if len(data) != 1:
                return None
            node = producers.get(data[0])
        else:
            node = producers.get(node.input[0])
    if (
        node is not None
        and node.op_type in ("Gemm", "MatMul")
        and node.input[0] not in initializers
    ):
        return node.input[0]
    return None


def with_serving_outputs(
    model: onnx.ModelProto,
    signature: Signature,
    activation: Activation,
    select: int | None = None,
) -> onnx.ModelProto:
    """``model``, changed in place (a copy would hold the weights twice), so that its
    outputs are ``probabilities`` (after ``activation`` when the graph ends in logits; only
    column ``select`` of a multi-label model, shape (N, 1)) and, when found, ``embedding``;
    other outputs are dropped."""
    served = model
    graph = served.graph
    renamed = {name: f"{name}_imported" for name in (PROBABILITIES, EMBEDDING)}
    _rename(graph, renamed)  # the names the card gives the served outputs must be free
    signature = replace(
        signature,
        output_name=renamed.get(signature.output_name, signature.output_name),
        embedding=renamed.get(signature.embedding, signature.embedding)
        if signature.embedding
        else None,
    )
    del graph.output[:]
    if select is not None:
        index = "selected_label_index"
        graph.initializer.append(onnx.numpy_helper.from_array(np.array([select], np.int64), index))
        graph.node.append(
            helper.make_node("Gather", [signature.output_name, index], ["selected"], axis=-1)
        )
        signature = replace(signature, output_name="selected")
    if activation == "none":
        graph.node.append(helper.make_node("Identity", [signature.output_name], [PROBABILITIES]))
    elif activation == "softmax":
        graph.node.append(
            helper.make_node("Softmax", [signature.output_name], [PROBABILITIES], axis=-1)
        )
    else:
        graph.node.append(helper.make_node("Sigmoid", [signature.output_name], [PROBABILITIES]))
    graph.output.append(helper.make_tensor_value_info(PROBABILITIES, onnx.TensorProto.FLOAT, None))
    if signature.embedding:
        graph.node.append(helper.make_node("Identity", [signature.embedding], [EMBEDDING]))
        graph.output.append(helper.make_tensor_value_info(EMBEDDING, onnx.TensorProto.FLOAT, None))
    if not any(opset.domain in ("", "ai.onnx") for opset in served.opset_import):
        served.opset_import.append(helper.make_opsetid("", 13))
    return served


def _rename(graph: onnx.GraphProto, names: dict[str, str]) -> None:
    """Rename tensors throughout ``graph`` and its subgraphs."""
    for node in graph.node:
        node.input[:] = [names.get(n, n) for n in node.input]
        node.output[:] = [names.get(n, n) for n in node.output]
        for attribute in node.attribute:
            if attribute.HasField("g"):
                _rename(attribute.g, names)
            for sub in attribute.graphs:
                _rename(sub, names)
    for values in (graph.input, graph.output, graph.value_info):
        for value in values:
            value.name = names.get(value.name, value.name)
    for tensor in graph.initializer:
        tensor.name = names.get(tensor.name, tensor.name)


def opset_of(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
