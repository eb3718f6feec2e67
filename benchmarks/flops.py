"""FLOPs of an ONNX graph and a rough peak for this CPU, for the export benchmark.

FLOPs are counted as 2 × multiply-adds of the ``Conv``, ``MatMul`` and ``Gemm`` nodes
(biases, activations, pooling and normalisation are left out: they are a few percent at
most in these networks). Shapes come from ``onnx.shape_inference`` after fixing the
batch axis to 1; any tensor it leaves unknown is measured by running the graph once in
ONNX Runtime with that tensor exposed as an extra output.

The peak is cores × clock × FLOPs per cycle per core, with the clock from
``/proc/cpuinfo`` ("cpu MHz": in a VM the nominal clock, not the turbo or AVX-512
clock) and the vector width from its flags.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import shape_inference

COUNTED_OPS = ("Conv", "MatMul", "Gemm")


@dataclass(frozen=True)
class FlopCount:
    total: int
    by_op: dict[str, int]
    measured_shapes: int  # tensors whose shape shape inference left open


def onnx_flops(path: str | Path, input_name: str = "input") -> FlopCount:
    """FLOPs (2 × multiply-adds) of one image through the graph at ``path``."""
    model = onnx.load(str(path))
    for value in (*model.graph.input, *model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_value = 1
    del model.graph.value_info[:]
    inferred = shape_inference.infer_shapes(model, data_prop=True)
    shapes = {t.name: tuple(t.dims) for t in inferred.graph.initializer}
    for value in (*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            shapes[value.name] = tuple(d.dim_value for d in dims)

    nodes = [n for n in inferred.graph.node if n.op_type in COUNTED_OPS]
    wanted = {name for n in nodes for name in (*n.input[:2], n.output[0])}
    unknown = sorted(name for name in wanted if name and name not in shapes)
    if unknown:
        shapes.update(_run_for_shapes(model, unknown, input_name))

    by_op: Counter[str] = Counter()
    for node in nodes:
        by_op[node.op_type] += _node_flops(node, shapes)
    return FlopCount(sum(by_op.values()), dict(by_op), len(unknown))


def _node_flops(node: onnx.NodeProto, shapes: dict[str, tuple[int, ...]]) -> int:
    out = shapes[node.output[0]]
    if node.op_type == "Conv":  # weight (M, C/group, kh, kw): each output sums C/group·kh·kw
        return 2 * math.prod(out) * math.prod(shapes[node.input[1]][1:])
    a = shapes[node.input[0]]
    if node.op_type == "Gemm":
        trans_a = next((attr.i for attr in node.attribute if attr.name == "transA"), 0)
        return 2 * math.prod(out) * (a[0] if trans_a else a[-1])
    return 2 * math.prod(out) * (a[-1] if len(a) > 1 else a[0])  # MatMul (numpy semantics)


def _run_for_shapes(
    model: onnx.ModelProto, names: list[str], input_name: str
) -> dict[str, tuple[int, ...]]:
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    existing = {o.name for o in probe.graph.output}
    probe.graph.output.extend(onnx.ValueInfoProto(name=n) for n in names if n not in existing)
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    spec = next(i for i in session.get_inputs() if i.name == input_name)
    shape = [d if isinstance(d, int) else 1 for d in spec.shape]
    values = session.run(names, {input_name: np.zeros(shape, np.float32)})
    return {name: tuple(v.shape) for name, v in zip(names, values, strict=True)}


@dataclass(frozen=True)
class Peak:
    gflops: float
    cores: int
    mhz: float
    flops_per_cycle: int
    assumption: str


def cpu_peak(cores: int | None = None) -> Peak:
    """Theoretical fp32 peak from /proc/cpuinfo (Linux x86); 0 where it cannot be read."""
    cores = cores or len(os.sched_getaffinity(0))
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return Peak(0.0, cores, 0.0, 0, "/proc/cpuinfo unreadable: peak unknown")
    mhz, flags = 0.0, set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "cpu MHz" and not mhz:
            mhz = float(value)
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    if "avx512f" in flags:
        per_cycle = 64
        vector = (
            "AVX-512 (16 fp32 lanes × 2 FLOPs per FMA × 2 FMA units per core, as on "
            "Xeon Gold/Platinum; with one FMA unit the peak halves and the shares double)"
        )
    elif "avx2" in flags and "fma" in flags:
        per_cycle = 32
        vector = "AVX2 + FMA (8 fp32 lanes × 2 FLOPs per FMA × 2 FMA units per core)"
    else:
        per_cycle = 8
        vector = "SSE (4 fp32 lanes × 2 ports, no FMA)"
    gflops = cores * mhz / 1000 * per_cycle
    assumption = (
        f"peak = {cores} cores × {mhz / 1000:.2f} GHz ('cpu MHz' in /proc/cpuinfo) × "
        f"{per_cycle} FLOPs/cycle = {gflops:.0f} GFLOP/s; {vector}"
    )
    return Peak(gflops, cores, mhz, per_cycle, assumption)


def sgemm_gflops(n: int = 2048, repeats: int = 10) -> float:
    """Best float32 GEMM rate NumPy's BLAS reaches here: a measured, achievable ceiling."""
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = a.T.copy()
    a @ b
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


class OtherLoad:
    """CPU time other processes used while this one ran (from /proc/stat, Linux only)."""

    def __init__(self) -> None:
        self._start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        try:
            fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        except (OSError, IndexError):
            return None
        ticks = [int(v) for v in fields]
        busy = sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait
        usage = os.times()
        own = usage.user + usage.system + usage.children_user + usage.children_system
        return busy / os.sysconf("SC_CLK_TCK"), own, time.monotonic()

    def share(self) -> float | None:
        """Other processes' CPU time as a share of all CPUs' time since construction."""
        end = self._sample()
        if self._start is None or end is None:
            return None
        busy, own, wall = (e - s for e, s in zip(end, self._start, strict=True))
        return max(0.0, busy - own) / (wall * (os.cpu_count() or 1))
