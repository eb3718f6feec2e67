"""Benchmark of the exported models: ONNX Runtime against TensorFlow, and the variants.

Run ``python -m benchmarks.export_bench [--repeats N] [--only NAME ...]`` from the
repository root; it prints one Markdown table (one column per architecture) and footnotes.
Each architecture is built with random weights at its recipe's input size (latency does
not depend on training), exported with :func:`export.onnx_export.to_onnx` (which adds the
Grad-CAM and embedding outputs), then timed on one image (batch 1, float32) with:

- ONNX Runtime, float32, float16 and int8 (static QDQ from :func:`to_int8`, calibrated on
  a few random images in the recipe's input range), with the session options of
  ``zoo.runtime`` (intra-op threads = usable CPUs, sequential, graph optimisation ALL);
- TensorFlow: the same explained Keras model (all three outputs) in a
  ``tf.function(jit_compile=False)`` with a fixed (1, H, W, C) signature, called on a
  ``tf.constant``, and through ``model.predict(x, verbose=0)``.

Times are medians (and 90th percentiles) after two warm-up calls, with fewer runs where one
call is slow (see the "timed runs" row); the runtimes are timed in interleaved rounds, so
that load from other processes disturbs them alike (the last footnote says how much
there was). FLOPs come from the ONNX graph (:mod:`benchmarks.flops`). Compare columns of
one run, not runs on different machines.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

import argparse
import gc
import logging
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import onnx
import onnxruntime as ort
import tensorflow as tf
import tf2onnx

from benchmarks.flops import OtherLoad, Peak, cpu_peak, onnx_flops, sgemm_gflops
from export import tf2onnx_fixes
from export.cam import explainer
from export.onnx_export import OPSET, OUTPUT_NAMES, to_float16, to_int8, to_int8_weights, to_onnx
from training.architectures import build
from zoo.runtime.providers import available_cpus
from zoo.runtime.session import session_options

CALIBRATION_IMAGES = 8
BUDGET_S = 6.0  # wall time per timed case, warm-up excluded; at least MIN_RUNS runs
MIN_RUNS = 5
BLOCKS = 5
PAUSE_S = 0.1  # before each block: lets the previous runtime's spinning threads park
METHODS = ("ort fp32", "tf.function", "predict", "ort fp16", "ort int8", "ort int8w")


@dataclass(frozen=True)
class Case:
    name: str
    label: str
    input_shape: tuple[int, int, int]
    n_classes: int
    low: float  # the recipe's input range after normalization
    high: float
    options: dict = field(default_factory=dict)


CASES = (
    Case(
        "mobilenetv3_small",
        "MobileNetV3Small",
        (224, 224, 3),
        2,
        0.0,
        255.0,  # the backbone rescales [0, 255] itself
        {"dense_units": (128,), "dropout": 0.3, "l2": 1e-4},
    ),
    Case("custom_cnn", "custom CNN", (224, 224, 3), 2, 0.0, 1.0),
    Case("resnet", "ResNet-18", (224, 224, 3), 3, 0.0, 1.0, {"depth": "resnet18"}),
    Case("inceptionv3", "InceptionV3", (256, 256, 3), 2, -1.0, 1.0, {"pool_before_flatten": 2}),
)


@dataclass
class Timing:
    median: float
    p90: float
    runs: int

    def cell(self) -> str:
        return f"{self.median:.1f} ({self.p90:.1f})"


@dataclass
class Result:
    case: Case
    params: int
    gflop: float
    export_s: float
    transposes: int
    transposes_unfixed: str  # count, then what tf2onnx logged, if anything
    sizes_mb: dict[str, float]
    times: dict[str, Timing]  # keys: the runtimes of METHODS, and "unfixed" for MobileNet
    fused: str
    fp16_casts: str


def timed(
    fns: dict[str, Callable[[], object]], repeats: int, budget_s: float = BUDGET_S
) -> dict[str, Timing]:
    """Median and p90 in ms of each function, timed in interleaved blocks.

    Each function gets two warm-up calls (tracing, allocator growth, ORT's arena), then
    at most ``repeats`` timed calls (fewer when a call is slow: about ``budget_s`` each,
    at least MIN_RUNS). The timed calls come in BLOCKS rounds that visit every function in
    turn, so a burst of load from elsewhere hits all runtimes alike rather than one. ORT's
    and TensorFlow's workers spin-wait after a call and slow the next runtime's call (by
    up to 2× for MobileNet, measured), so each visit starts with a pause and an untimed call.
    """
    runs = {}
    for name, fn in fns.items():
        fn()
        start = time.perf_counter()
        fn()
        estimate = time.perf_counter() - start
        runs[name] = max(MIN_RUNS, min(repeats, int(budget_s / max(estimate, 1e-6))))
    times: dict[str, list[float]] = {name: [] for name in fns}
    for block in range(BLOCKS):
        for name, fn in fns.items():
            todo = len(range(block, runs[name], BLOCKS))
            if todo:
                time.sleep(PAUSE_S)
                fn()
            for _ in range(todo):
                start = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - start) * 1000)
    result = {}
    for name, values in times.items():
        values.sort()
        p90 = values[min(len(values) - 1, int(0.9 * len(values)))]
        result[name] = Timing(statistics.median(values), p90, len(values))
    return result


def session(
    path: Path, optimized: Path | None = None, *, fold_weights: bool = False
) -> ort.InferenceSession:
    """A CPU session configured as ``zoo.runtime.session`` configures its sessions."""
    options = session_options(fold_weights=fold_weights)
    if optimized is not None:
        options.optimized_model_filepath = str(optimized)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def ort_runner(path: Path, image: np.ndarray, **options: bool) -> Callable[[], object]:
    run = session(path, **options)
    return lambda: run.run(None, {"input": image})


def op_counts(path: Path) -> Counter[str]:
    return Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def optimized_op_counts(path: Path) -> Counter[str]:
    """Node counts of the graph ORT runs after its optimisations (level ALL)."""
    optimized = path.with_suffix(".optimized.onnx")
    session(path, optimized)
    counts = op_counts(optimized)
    optimized.unlink()
    return counts


def int8_fusion(int8_path: Path, n_convs: int) -> str:
    """How many of the float graph's convolutions ORT runs as QLinearConv after fusing QDQ."""
    ops = optimized_op_counts(int8_path)
    quantized = ops.get("QLinearConv", 0)
    left = {op: n for op, n in ops.items() if op in ("DequantizeLinear", "QuantizeLinear") and n}
    leftover = ", ".join(f"{n} {op}" for op, n in sorted(left.items()))
    return f"{quantized}/{n_convs}" + (f" ({leftover} left)" if leftover else "")


def transposes_without_fix(
    explained: keras.Model, input_shape: tuple[int, ...], target: Path
) -> tuple[str, Path | None]:
    """Convert again with tf2onnx's own transpose handler and count Transpose nodes.

    tf2onnx catches its optimizer's exceptions itself (it logs them and keeps the
    unoptimised graph), so the failure is read from its log, not from an exception.
    """
    spec = (tf.TensorSpec((None, *input_shape), tf.float32, name="input"),)

    @tf.function(input_signature=spec)
    def serve(images):
        outputs = explained(images, training=False)
        return {name: tf.identity(outputs[name], name=name) for name in OUTPUT_NAMES}

    failures: list[str] = []

    class Record(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING and record.exc_info:
                failures.append(f"{record.getMessage()}: {record.exc_info[1]}")

    optimizer_log = logging.getLogger("tf2onnx.optimizer")
    handler, propagate, level = Record(), optimizer_log.propagate, optimizer_log.level
    optimizer_log.addHandler(handler)
    optimizer_log.propagate = False  # keep tf2onnx's traceback out of the output
    optimizer_log.setLevel(logging.WARNING)
    tf2onnx_fixes.remove()
    try:
        model, _ = tf2onnx.convert.from_function(serve, input_signature=spec, opset=OPSET)
    except Exception as exc:  # tf2onnx's optimizer raising through from_function
        return f"conversion failed ({type(exc).__name__}: {exc})", None
    finally:
        tf2onnx_fixes.apply()
        optimizer_log.removeHandler(handler)
        optimizer_log.propagate = propagate
        optimizer_log.setLevel(level)
    onnx.save(model, str(target))
    count = sum(node.op_type == "Transpose" for node in model.graph.node)
    return f"{count}" + (f" (tf2onnx logged: {failures[0]})" if failures else ""), target


def bench(case: Case, repeats: int, workdir: Path) -> Result:
    rng = np.random.default_rng(0)

    def images(n: int) -> np.ndarray:
        shape = (n, *case.input_shape)
        return (case.low + rng.random(shape) * (case.high - case.low)).astype(np.float32)

    keras.utils.set_random_seed(0)
    model = build(case.name, case.input_shape, case.n_classes, **case.options)
    explained = explainer(model)
    image = images(1)

    def say(text: str) -> None:
        print(f"[{case.label}] {text}", file=sys.stderr, flush=True)

    say("exporting")
    fp32 = to_onnx(model, workdir / f"{case.name}.onnx", images(2))
    fp16 = to_float16(fp32.path, workdir / f"{case.name}.fp16.onnx")
    say(f"quantizing (calibration: {CALIBRATION_IMAGES} random images)")
    int8 = to_int8(fp32.path, workdir / f"{case.name}.int8.onnx", images(CALIBRATION_IMAGES))
    int8w = to_int8_weights(fp32.path, workdir / f"{case.name}.int8w.onnx")
    unfixed, unfixed_path = "—", None
    if case.name == "mobilenetv3_small":
        say("converting again without the tf2onnx fix")
        unfixed, unfixed_path = transposes_without_fix(
            explained, case.input_shape, workdir / f"{case.name}.unfixed.onnx"
        )

    fused = int8_fusion(int8, fp32.node_counts.get("Conv", 0))
    casts = f"{op_counts(fp16)['Cast']} → {optimized_op_counts(fp16)['Cast']}"

    signature = (tf.TensorSpec((1, *case.input_shape), tf.float32),)

    @tf.function(jit_compile=False, input_signature=signature)
    def infer(x):
        return explained(x, training=False)

    constant = tf.constant(image)
    runners = {
        "ort fp32": ort_runner(fp32.path, image),
        "tf.function": lambda: {k: v.numpy() for k, v in infer(constant).items()},
        "predict": lambda: explained.predict(image, verbose=0),
        "ort fp16": ort_runner(fp16, image),
        "ort int8": ort_runner(int8, image),
        "ort int8w": ort_runner(int8w, image, fold_weights=True),
    }
    if unfixed_path is not None:
        runners["unfixed"] = ort_runner(unfixed_path, image)
    say("timing ONNX Runtime and TensorFlow, interleaved")
    times = timed(runners, repeats)

    result = Result(
        case=case,
        params=model.count_params(),
        gflop=onnx_flops(fp32.path).total / 1e9,
        export_s=fp32.seconds,
        transposes=fp32.node_counts.get("Transpose", 0),
        transposes_unfixed=unfixed,
        sizes_mb={
            "fp32": fp32.bytes / 1e6,
            "fp16": fp16.stat().st_size / 1e6,
            "int8": int8.stat().st_size / 1e6,
            "int8w": int8w.stat().st_size / 1e6,
        },
        times=times,
        fused=fused,
        fp16_casts=casts,
    )
    keras.backend.clear_session()
    gc.collect()
    return result


def table(results: list[Result], peak: Peak, sgemm: float) -> list[str]:
    def ratio(a: float, b: float) -> str:
        return f"{a / b:.1f}×"

    def achieved(r: Result) -> str:
        rate = r.gflop / (r.times["ort fp32"].median / 1000)
        nominal = f"{rate / peak.gflops:.0%}" if peak.gflops else "?"
        return f"{rate:.0f} ({nominal} / {rate / sgemm:.0%})"

    rows: list[tuple[str, list[str], str]] = [
        (
            "input (H×W×C), parameters",
            [f"{'×'.join(map(str, r.case.input_shape))}, {r.params / 1e6:.2f} M" for r in results],
            "",
        ),
        ("GFLOP per image (2 × multiply-adds)", [f"{r.gflop:.2f}" for r in results], ""),
        ("ORT float32, ms", [r.times["ort fp32"].cell() for r in results], ""),
        ("TF tf.function, ms", [r.times["tf.function"].cell() for r in results], ""),
        ("Keras model.predict, ms", [r.times["predict"].cell() for r in results], ""),
        (
            "speed-up ORT vs tf.function",
            [ratio(r.times["tf.function"].median, r.times["ort fp32"].median) for r in results],
            "≥ 1.3×",
        ),
        (
            "speed-up ORT vs model.predict",
            [ratio(r.times["predict"].median, r.times["ort fp32"].median) for r in results],
            "≥ 10×",
        ),
        ("ORT float16, ms", [r.times["ort fp16"].cell() for r in results], ""),
        ("ORT int8 (static QDQ), ms", [r.times["ort int8"].cell() for r in results], ""),
        (
            "speed-up int8 vs float32",
            [ratio(r.times["ort fp32"].median, r.times["ort int8"].median) for r in results],
            "≥ 2×",
        ),
        (
            "ORT int8 weights, float32 arithmetic (folded at load), ms",
            [r.times["ort int8w"].cell() for r in results],
            "",
        ),
        (
            "float16: Cast nodes in file → after ORT optimisation",
            [r.fp16_casts for r in results],
            "",
        ),
        ("int8: convs run as QLinearConv (ORT, opt. ALL)", [r.fused for r in results], ""),
        (
            "file MB float32 / float16 / int8 / int8 weights",
            [
                " / ".join(f"{r.sizes_mb[k]:.1f}" for k in ("fp32", "fp16", "int8", "int8w"))
                for r in results
            ],
            "",
        ),
        (
            "ORT float32 GFLOP/s (share of nominal peak / of NumPy sgemm)",
            [achieved(r) for r in results],
            "",
        ),
        ("export (to_onnx), s", [f"{r.export_s:.1f}" for r in results], ""),
        (
            "Transpose nodes: with fix / without",
            [
                f"{r.transposes} / {r.transposes_unfixed.split(' (')[0]}"
                + (" (optimizer failed)" if " (" in r.transposes_unfixed else "")
                for r in results
            ],
            "",
        ),
        (
            "timed runs: " + " / ".join(METHODS),
            [" / ".join(str(t.runs) for t in (r.times[m] for m in METHODS)) for r in results],
            "",
        ),
    ]
    lines = [
        "| | " + " | ".join(r.case.label for r in results) + " | target |",
        "|---|" + "---:|" * len(results) + "---|",
    ]
    lines += [f"| {name} | " + " | ".join(cells) + f" | {target} |" for name, cells, target in rows]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="most timed runs per case")
    parser.add_argument(
        "--only", nargs="+", choices=[c.name for c in CASES], help="architectures to run"
    )
    args = parser.parse_args()
    logging.getLogger("tf2onnx").setLevel(logging.ERROR)

    started, others = time.perf_counter(), OtherLoad()
    cases = [c for c in CASES if not args.only or c.name in args.only]
    with tempfile.TemporaryDirectory(prefix="medzoo-export-bench-") as workdir:
        results = [bench(case, args.repeats, Path(workdir)) for case in cases]
    peak, sgemm = cpu_peak(available_cpus()), sgemm_gflops()
    busy = others.share()

    print("\n".join(table(results, peak, sgemm)))
    print()
    print(
        f"Times in ms: median (p90) of one image, batch 1, float32 input, after two warm-up "
        f"calls, on {available_cpus()} CPU threads (ORT intra-op threads = {available_cpus()}, "
        f"TensorFlow {tf.__version__} with its default thread pools); onnxruntime "
        f"{ort.__version__}, tf2onnx {tf2onnx.__version__}, opset {OPSET}. Random weights; "
        "all runtimes compute the same three outputs (probabilities, Grad-CAM, embedding)."
    )
    print(
        f"int8: static QDQ (per-channel int8 weights, uint8 activations), calibrated on "
        f"{CALIBRATION_IMAGES} random images in the recipe's input range, not real scans: "
        "fine for speed, meaningless for accuracy."
    )
    print(
        "FLOPs: Conv/MatMul/Gemm nodes of the float32 ONNX graph, shapes from "
        "onnx.shape_inference with batch fixed to 1 (includes the small Grad-CAM MatMuls)."
    )
    print(
        f"Peak: {peak.assumption}. In a VM 'cpu MHz' is the nominal clock: turbo runs "
        f"higher, so shares of the nominal peak overstate efficiency. Measured ceiling: "
        f"NumPy's float32 GEMM (2048², {available_cpus()} threads) reaches {sgemm:.0f} GFLOP/s."
    )
    print(
        "Transposes without the fix: MobileNetV3 only (the fix targets its hard-swish); "
        "tf2onnx catches its own optimizer error and keeps the unoptimised graph."
    )
    for r in results:
        if " (" in r.transposes_unfixed:
            note = r.transposes_unfixed.split(" (", 1)[1].removesuffix(")")
            print(f"{r.case.label} without the fix: {note}.")
    for r in results:
        if "unfixed" in r.times:
            print(
                f"{r.case.label} exported without the fix runs in "
                f"{r.times['unfixed'].cell()} ms on ORT float32, against "
                f"{r.times['ort fp32'].cell()} ms with it."
            )
    load = (
        "unknown"
        if busy is None
        else f"{busy:.0%} of the machine's CPU time"
        + (" — timings are disturbed, rerun on a quiet machine" if busy > 0.05 else "")
    )
    print(f"Whole run: {time.perf_counter() - started:.0f} s; other processes used {load}.")


if __name__ == "__main__":
    main()
