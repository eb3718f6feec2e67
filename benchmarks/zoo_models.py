"""Benchmark of the shipped zoo: size, single-image latency and memory of every model.

Run ``python -m benchmarks.zoo_models [--json docs/data/zoo_models.json]`` from the
repository root; it prints a Markdown table (``python -m benchmarks.docs`` tables the JSON in
``docs/performance.md``). Each model runs through ``zoo.runtime.predict``
(preprocessing, ONNX Runtime, heatmap and embedding outputs) on the sample scan of its own
modality, one image at a time, after a warm-up; times are medians and 90th percentiles.
The process's VmRSS is read after importing the zoo, after loading all models, and after
running them; the budget is 650 MB with all seven loaded (Streamlit Community Cloud gives
about 1 GB).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.memory_walk import machine
from benchmarks.records import write_json
from zoo.imaging import load_scan
from zoo.registry import Registry
from zoo.runtime import predict
from zoo.runtime.providers import available_cpus
from zoo.runtime.session import get_session

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "zoo" / "samples"
# The sample each model is timed on: one of its own modality and body part.
SAMPLE_FOR = {
    "customcnn-lung-ct": "ct_lung_malignant.jpg",
    "resnet-lung-ct": "ct_lung_malignant.jpg",
    "customcnn-cxr-mass": "cxr_nih_mass.jpg",
    "mobilenetv3-synthetic": "cxr_nih_mass.jpg",
    "multiclass-cxr": "cxr_tb_tuberculosis.jpg",
    "multiclass-brain-mri": "mri_brain_glioma.jpg",
    "pediatric-cxr": "cxr_pediatric_pneumonia.jpg",
}
RSS_BUDGET_MB = 650.0


def rss_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MiB."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def measure(repeats: int) -> dict:
    """Every model's size and ``predict`` latency, and the process's memory, as JSON data."""
    registry = Registry()
    baseline, _ = rss_mb()
    for entry in registry.entries():
        get_session(entry)
    loaded, _ = rss_mb()
    rows = []
    for entry in registry.entries():
        sample = SAMPLES / SAMPLE_FOR.get(entry.id, "cxr_nih_mass.jpg")
        scan = load_scan(sample.read_bytes(), filename=sample.name)
        predict(entry.id, [scan], registry=registry)  # warm-up
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            predict(entry.id, [scan], registry=registry)
            times.append((time.perf_counter() - started) * 1000)
        rows.append(
            {
                "model": entry.id,
                "variant": entry.card.raw.get("export", {}).get("shipped_variant", "float32"),
                "mb": entry.card.file.bytes / 1e6,
                "median_ms": statistics.median(times),
                "p90_ms": float(np.percentile(times, 90)),
                "card_ms": entry.card.latency_ms,
            }
        )
    after, peak = rss_mb()
    return {
        "threads": available_cpus(),
        "repeats": repeats,
        "machine": machine(),
        "rows": rows,
        "memory_mb": {"imports": baseline, "loaded": loaded, "after": after, "peak": peak},
    }


def table(payload: dict) -> list[str]:
    """The Markdown tables of :func:`measure`'s data."""
    rows = payload["rows"]
    lines = [
        "| model | variant | MB | predict ms (median) | p90 ms | card ms (ONNX only, at export) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['variant']} | {r['mb']:.1f} | {r['median_ms']:.1f} "
            f"| {r['p90_ms']:.1f} | {r['card_ms']} |"
        )
    lines += [f"| **all** | | **{sum(r['mb'] for r in rows):.1f}** | | | |", ""]
    memory = payload["memory_mb"]
    lines += [
        "| memory (MiB) | value | budget |",
        "|---|---:|---:|",
        f"| RSS after imports | {memory['imports']:.0f} | |",
        f"| RSS with all models loaded | {memory['loaded']:.0f} | {RSS_BUDGET_MB:.0f} |",
        f"| RSS after running all | {memory['after']:.0f} | {RSS_BUDGET_MB:.0f} |",
        f"| peak RSS (VmHWM) | {memory['peak']:.0f} | {RSS_BUDGET_MB:.0f} |",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()
    payload = measure(args.repeats)
    print(f"{len(payload['rows'])} models, {payload['threads']} CPU threads, "
          f"{args.repeats} runs each\n")  # fmt: skip
    print("\n".join(table(payload)))
    if args.json:
        write_json(args.json, payload)


if __name__ == "__main__":
    main()
