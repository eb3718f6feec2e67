"""Reading an ONNX file from someone else, before ONNX Runtime ever sees it.

An ONNX file is a protobuf that can point outside itself: initializers may live in
"external data" files named by a relative (or crafted) path, which ONNX Runtime would read
from the server's disk, and nodes may name operators of custom domains, which would need a
shared library. Both are refused here, as are files past the limits on size, node count and
declared tensor sizes (a tensor may declare 10¹² elements while holding none). What passes
is checked by ``onnx.checker`` and only then handed to ONNX Runtime, from memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import onnx
from google.protobuf.message import DecodeError

from zoo.errors import ModelImportError

#: Operator domains ONNX Runtime implements itself: the standard ones and its contrib ops.
ALLOWED_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "com.microsoft"})


@dataclass(frozen=True)
class Limits:
    """What an imported file may hold."""

    max_bytes: int = 200 * 2**20
    max_nodes: int = 20_000
    max_tensor_elements: int = 2**28  # 1 GiB of float32 in one tensor
    max_total_elements: int = 2**29
    max_input_side: int = 4096


def load_untrusted(data: bytes, limits: Limits = Limits()) -> onnx.ModelProto:
    """The model in ``data``, or :class:`ModelImportError` saying why it is refused."""
    if len(data) > limits.max_bytes:
        raise ModelImportError(
            f"the file is {len(data) / 2**20:.1f} MB; the limit is "
            f"{limits.max_bytes / 2**20:.0f} MB"
        )
    if not data:
        raise ModelImportError("the file is empty")
    try:
        model = onnx.ModelProto.FromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise ModelImportError(
            f"not a readable ONNX file (truncated or another format): {exc}"
        ) from exc
    if not model.graph.node or not model.graph.output:
        raise ModelImportError("not an ONNX model: the file holds no graph (truncated?)")
    _check_domains(model)
    _check_tensors(model, limits)
    _check_inputs(model, limits)
    try:
        onnx.checker.check_model(data)  # the bytes as given: no second serialised copy
    except (onnx.checker.ValidationError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelImportError(f"the ONNX checker refuses the file: {first}") from exc
    return model


def graphs(model: onnx.ModelProto) -> Iterator[onnx.GraphProto]:
    """The main graph and every subgraph (If, Loop, Scan bodies), local functions' included."""
    stack = [model.graph, *(g for function in model.functions for g in _subgraphs(function.node))]
    while stack:
        graph = stack.pop()
        yield graph
        stack.extend(_subgraphs(graph.node))


def _subgraphs(nodes) -> Iterator[onnx.GraphProto]:
    for node in nodes:
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield attribute.g
            yield from attribute.graphs


def _nodes(model: onnx.ModelProto) -> Iterator[onnx.NodeProto]:
    for graph in graphs(model):
        yield from graph.node
    for function in model.functions:
        yield from function.node


def _tensors(model: onnx.ModelProto) -> Iterator[onnx.TensorProto]:
    for graph in graphs(model):
        yield from graph.initializer
        for sparse in graph.sparse_initializer:
            yield sparse.values
            yield sparse.indices
    for node in _nodes(model):
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("sparse_tensor"):
                yield attribute.sparse_tensor.values
                yield attribute.sparse_tensor.indices


def _check_domains(model: onnx.ModelProto) -> None:
    local = {function.domain for function in model.functions}
    declared = {opset.domain for opset in model.opset_import}
    used = {node.domain for node in _nodes(model)}
    unknown = sorted((declared | used) - ALLOWED_DOMAINS - local)
    if unknown:
        raise ModelImportError(
            f"custom operator domains {unknown} are refused: only ONNX's own operators and "
            "ONNX Runtime's built-in ones can be served"
        )


def _check_tensors(model: onnx.ModelProto, limits: Limits) -> None:
    total = 0
    for tensor in _tensors(model):
        if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data):
            where = next((e.value for e in tensor.external_data if e.key == "location"), "?")
            raise ModelImportError(
                f"tensor {tensor.name!r} keeps its data in an external file ({where!r}): "
                "external data is refused; save the model as one self-contained file"
            )
        elements = math.prod(tensor.dims) if tensor.dims else 1
        if any(d < 0 for d in tensor.dims) or elements > limits.max_tensor_elements:
            raise ModelImportError(
                f"tensor {tensor.name!r} declares {list(tensor.dims)} "
                f"({elements:,} elements); the limit is {limits.max_tensor_elements:,}"
            )
        held = _held_elements(tensor)
        if held is not None and held != elements:
            raise ModelImportError(
                f"tensor {tensor.name!r} declares {elements:,} elements but holds {held:,}"
            )
        total += elements
    if total > limits.max_total_elements:
        raise ModelImportError(
            f"the tensors hold {total:,} elements together; the limit is "
            f"{limits.max_total_elements:,}"
        )
    nodes = sum(1 for _ in _nodes(model))
    if nodes > limits.max_nodes:
        raise ModelImportError(f"the graph has {nodes:,} nodes; the limit is {limits.max_nodes:,}")


def _held_elements(tensor: onnx.TensorProto) -> int | None:
    """How many elements the tensor's data holds (None where that cannot be told cheaply)."""
    if tensor.HasField("raw_data"):
        size = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
        return len(tensor.raw_data) // size if size else None
    for name in ("float_data", "int32_data", "int64_data", "double_data", "uint64_data"):
        values = getattr(tensor, name)
        if len(values):
            return len(values)
    if len(tensor.string_data):
        return len(tensor.string_data)
    return 0


def _check_inputs(model: onnx.ModelProto, limits: Limits) -> None:
    initializers = {tensor.name for tensor in model.graph.initializer}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        dims = value.type.tensor_type.shape.dim
        sides = [d.dim_value for d in dims if d.HasField("dim_value")]
        if any(side > limits.max_input_side for side in sides):
            raise ModelImportError(
                f"input {value.name!r} declares {sides}: sides above "
                f"{limits.max_input_side} are refused"
            )
