"""Keras → ONNX export with tf2onnx, a parity check, and float16 / int8 variants.

The exported graph has one input ``input`` (N, H, W, C) with a dynamic batch axis and
three outputs: ``probabilities``, ``cam`` (see :mod:`export.cam`) and ``embedding``.
Conversion goes through ``tf2onnx.convert.from_function`` (``from_keras`` fails on
Sequential models under Keras 3) at a pinned opset, and the result must match Keras to
``PARITY_ATOL`` on real inputs or the export fails.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime as ort
import tensorflow as tf
import tf2onnx

from export import tf2onnx_fixes
from export.cam import explainer
from zoo.runtime.session import session_options

OPSET = 17
PARITY_ATOL = 1e-4
OUTPUT_NAMES = ("probabilities", "cam", "embedding")


class ExportError(RuntimeError):
    """The exported model does not reproduce the Keras model."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    bytes: int
    opset: int
    node_counts: dict[str, int]
    max_probability_error: float
    cam_correlation: float
    seconds: float


def to_onnx(
    model: keras.Model, path: str | Path, sample_inputs: np.ndarray, *, opset: int = OPSET
) -> ExportResult:
    """Export ``model`` with explanation outputs to ``path`` and check it on ``sample_inputs``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    explained = explainer(model)
    spec = (tf.TensorSpec((None, *model.input.shape[1:]), tf.float32, name="input"),)

    @tf.function(input_signature=spec)
    def serve(images):
        outputs = explained(images, training=False)
        return {name: tf.identity(outputs[name], name=name) for name in OUTPUT_NAMES}

    started = time.perf_counter()
    tf2onnx_fixes.apply()
    onnx_model, _ = tf2onnx.convert.from_function(serve, input_signature=spec, opset=opset)
    _rename_outputs(onnx_model)
    _deduplicate_initializers(onnx_model)
    onnx.checker.check_model(onnx_model)
    onnx.save(onnx_model, str(path))
    seconds = time.perf_counter() - started

    error, correlation = parity(explained, path, sample_inputs)
    if error > PARITY_ATOL:
        raise ExportError(
            f"ONNX probabilities differ from Keras by {error:.2e} > {PARITY_ATOL:.0e}; "
            f"the export of {model.name} is not faithful"
        )
    return ExportResult(
        path=path,
        bytes=path.stat().st_size,
        opset=opset,
        node_counts=dict(Counter(node.op_type for node in onnx_model.graph.node)),
        max_probability_error=error,
        cam_correlation=correlation,
        seconds=seconds,
    )


def parity(explained: keras.Model, path: Path, inputs: np.ndarray) -> tuple[float, float]:
    """Max |ONNX − Keras| on probabilities and the worst per-image CAM correlation."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    onnx_out = dict(
        zip(OUTPUT_NAMES, session.run(list(OUTPUT_NAMES), {"input": inputs}), strict=True)
    )
    keras_out = explained(inputs, training=False)
    error = float(
        np.max(np.abs(onnx_out["probabilities"] - np.asarray(keras_out["probabilities"])))
    )
    return error, cam_agreement(onnx_out["cam"], np.asarray(keras_out["cam"]))


def cam_agreement(cam_a: np.ndarray, cam_b: np.ndarray) -> float:
    """Lowest Pearson correlation over images and maps.

    Two flat maps agree (1.0); one flat and one not do not (0.0): ``np.corrcoef`` gives NaN
    there, which ``min`` would pass over.
    """
    worst = 1.0
    for a, b in zip(
        np.moveaxis(cam_a, -1, 1).reshape(-1, *cam_a.shape[1:3]),
        np.moveaxis(cam_b, -1, 1).reshape(-1, *cam_b.shape[1:3]),
        strict=True,
    ):
        a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
        flat_a, flat_b = a.std() < 1e-12, b.std() < 1e-12
        if flat_a and flat_b:
            continue
        agreement = 0.0 if flat_a or flat_b else float(np.corrcoef(a, b)[0, 1])
        worst = min(worst, agreement)
    return worst


def _rename_outputs(model: onnx.ModelProto) -> None:
    """tf2onnx names outputs after the function's dict keys, sometimes with suffixes."""
    for output in model.graph.output:
        for name in OUTPUT_NAMES:
            if output.name != name and output.name.split(":")[0] == name:
                old = output.name
                for node in model.graph.node:
                    node.output[:] = [name if o == old else o for o in node.output]
                output.name = name


def _deduplicate_initializers(model: onnx.ModelProto) -> None:
    """The CAM reuses the head's kernels; tf2onnx stores each use as its own copy."""
    import hashlib

    keep: dict[tuple, str] = {}
    rename: dict[str, str] = {}
    unique = []
    for tensor in model.graph.initializer:
        values = onnx.numpy_helper.to_array(tensor)
        key = (tensor.data_type, tuple(tensor.dims), hashlib.sha1(values.tobytes()).hexdigest())
        if key in keep:
            rename[tensor.name] = keep[key]
        else:
            keep[key] = tensor.name
            unique.append(tensor)
    if not rename:
        return
    del model.graph.initializer[:]
    model.graph.initializer.extend(unique)
    for node in model.graph.node:
        node.input[:] = [rename.get(name, name) for name in node.input]


def to_float16(source: str | Path, target: str | Path) -> Path:
    """Float16 weights and compute, float32 inputs and outputs."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True)
    _sort_topologically(model.graph)  # the converter appends its input Casts at the end
    onnx.checker.check_model(model)
    onnx.save(model, str(target))
    return Path(target)


def _sort_topologically(graph: onnx.GraphProto) -> None:
    known = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        ready = [n for n in pending if all(name in known for name in n.input)]
        if not ready:
            raise ExportError("the float16 graph has a cycle or an undefined input")
        for node in ready:
            ordered.append(node)
            known.update(node.output)
        pending = [n for n in pending if n not in ready]
    del graph.node[:]
    graph.node.extend(ordered)


def to_int8(source: str | Path, target: str | Path, calibration: np.ndarray) -> Path:
    """Static QDQ int8 quantization, calibrated on training images (never validation).

    Weights use 7 bits (``reduce_range``): x86 CPUs without VNNI (AVX2, AVX-512F) multiply
    uint8 activations by int8 weights with ``vpmaddubsw``, which saturates the int16 sum of
    each pair of products when both are large; with |weight| ≤ 64 a pair sums to at most
    255·64·2 = 32,640 < 32,767, so every CPU computes the same integers. With 8-bit
    weights the shipped InceptionV3 scored the same validation films up to 0.93 apart on
    an AVX2 machine and on the AVX-512 VNNI machine that exported it.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches: Iterator[np.ndarray] = iter(
                calibration[i : i + 1] for i in range(len(calibration))
            )

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self._batches, None)
            return None if batch is None else {"input": batch.astype(np.float32)}

    prepared = Path(target).with_suffix(".pre.onnx")
    quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    quantize_static(
        str(prepared),
        str(target),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        reduce_range=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=_tail_nodes(onnx.load(str(prepared))),
    )
    prepared.unlink(missing_ok=True)
    return Path(target)


WEIGHT_ONLY_MIN_VALUES = 4096  # biases and small kernels stay float: they hardly weigh


def to_int8_weights(source: str | Path, target: str | Path, *, float_stem: int = 0) -> Path:
    """int8 weights, float32 arithmetic: a quarter of the file, close to float32's outputs.

    Every Conv / MatMul / Gemm kernel with at least ``WEIGHT_ONLY_MIN_VALUES`` values is
    stored as symmetric per-output-channel int8 behind a ``DequantizeLinear``; activations
    stay float. ONNX Runtime folds those nodes back into float32 kernels when the session
    is created with ``session.disable_quant_qdq`` (``zoo.runtime`` does so for cards whose
    file says ``dequantize_weights_at_load``), so the model runs at float32 speed and
    memory. Static int8 shifts activations through ~100 layers; this keeps heatmaps close
    to Grad-CAM and gives the same outputs on every CPU. The first ``float_stem``
    convolutions keep float32 kernels: their rounding travels through every later layer.
    """
    model = onnx.load(str(source))
    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    stem = [n.input[1] for n in graph.node if n.op_type == "Conv"][:float_stem]
    axes: dict[str, int] = {}
    for node in graph.node:
        if node.op_type not in ("Conv", "MatMul", "Gemm") or node.input[1] in stem:
            continue
        # the kernel is input 1; the CAM's MatMuls also take a constant as input 0
        for position, name in enumerate(node.input[:2]):
            tensor = initializers.get(name)
            if tensor is None or tensor.data_type != onnx.TensorProto.FLOAT:
                continue
            if int(np.prod(tensor.dims)) < WEIGHT_ONLY_MIN_VALUES or len(tensor.dims) < 2:
                continue
            transposed = any(a.name == f"trans{'AB'[position]}" and a.i for a in node.attribute)
            # one scale per output channel: a Conv's filters, B's columns, A's rows
            axis = 0 if node.op_type == "Conv" or (position == 0) != transposed else 1
            if axes.setdefault(name, axis) != axis:
                axes[name] = -1  # used with two layouts: one scale for the whole tensor
    dequantize = []
    for name, axis in axes.items():
        weights = onnx.numpy_helper.to_array(initializers[name]).astype(np.float32)
        quantized, scale = quantize_symmetric(weights, axis)
        graph.initializer.remove(initializers[name])
        graph.initializer.extend(
            [
                onnx.numpy_helper.from_array(quantized, f"{name}_int8"),
                onnx.numpy_helper.from_array(scale, f"{name}_scale"),
                onnx.numpy_helper.from_array(np.zeros(scale.shape, np.int8), f"{name}_zero"),
            ]
        )
        attributes = {"axis": axis} if axis >= 0 else {}
        dequantize.append(
            onnx.helper.make_node(
                "DequantizeLinear",
                [f"{name}_int8", f"{name}_scale", f"{name}_zero"],
                [name],
                name=f"{name}_dequantize",
                **attributes,
            )
        )
    nodes = dequantize + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(target))
    return Path(target)


def quantize_symmetric(weights: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """int8 values and float32 scales, one per slice along ``axis`` (one in all for -1).

    The scale maps each slice's largest |weight| to 127. (Clipping at the ratio with the
    least squared error was tried on InceptionV3: its heatmaps moved further from
    Grad-CAM, min r 0.969 against 0.988.)
    """
    if axis < 0:
        scale = np.array(np.abs(weights).max() / 127.0, dtype=np.float32)
        shaped = scale
    else:
        reduce = tuple(i for i in range(weights.ndim) if i != axis)
        scale = (np.abs(weights).max(axis=reduce) / 127.0).astype(np.float32)
        shaped = scale.reshape([-1 if i == axis else 1 for i in range(weights.ndim)])
    scale[...] = np.where(scale > 0, scale, 1.0)  # an all-zero slice stays zero
    quantized = np.clip(np.rint(weights / shaped), -127, 127).astype(np.int8)
    return quantized, scale


def _tail_nodes(model: onnx.ModelProto, *, large: int = 1_000_000) -> list[str]:
    """Nodes after the feature map (head, CAM arithmetic, outputs) to keep in float.

    They are cheap, and quantizing them costs heatmap fidelity. The exception is a
    MatMul whose weight has more than ``large`` values, such as InceptionV3's
    Flatten → Dense(1024) head (19 M weights): kept in float it would dominate the file
    size and the int8 latency, so it is quantized like the convolutions.
    """
    producers = {out: node for node in model.graph.node for out in node.output}
    sizes = {t.name: int(np.prod(t.dims)) for t in model.graph.initializer}
    tail: set[str] = set()
    frontier = [o.name for o in model.graph.output]
    while frontier:
        node = producers.get(frontier.pop())
        if node is None or node.name in tail or node.op_type == "Conv":
            continue
        tail.add(node.name)
        frontier.extend(node.input)
    heavy = {
        node.name
        for node in model.graph.node
        if node.op_type in ("MatMul", "Gemm") and any(sizes.get(i, 0) > large for i in node.input)
    }
    return sorted(tail - heavy)


def has_weight_only_int8(path: str | Path) -> bool:
    """True for files written by :func:`to_int8_weights` (dequantized, never quantized)."""
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    return "DequantizeLinear" in ops and "QuantizeLinear" not in ops


def cpu_session(
    path: str | Path, *, fold_weights: bool | None = None, threads: int | None = None
) -> ort.InferenceSession:
    """A CPU session as the zoo runtime builds it (int8 weights folded into float32).

    ``fold_weights`` None reads the file to decide (:func:`has_weight_only_int8`); callers
    that know the variant say so and spare a parse of the file.
    """
    if fold_weights is None:
        fold_weights = has_weight_only_int8(path)
    options = session_options(fold_weights=fold_weights)
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def latency_ms(
    path: str | Path,
    inputs: np.ndarray,
    *,
    repeats: int = 20,
    threads: int | None = None,
    fold_weights: bool | None = None,
) -> float:
    """Median single-image CPU latency of an ONNX file."""
    session = cpu_session(path, fold_weights=fold_weights, threads=threads)
    one = inputs[:1].astype(np.float32)
    session.run(None, {"input": one})
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, {"input": one})
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))
