"""Benchmark of the shipped zoo: size, single-image latency and memory of every model.

Run ``python -m benchmarks.zoo_models`` from the repository root; it prints a Markdown
table. Each model runs through ``zoo.runtime.predict`` (preprocessing, ONNX Runtime,
heatmap and embedding outputs) on the sample scan of its own modality, one image at a
time, after a warm-up; times are medians and 90th percentiles. The process's VmRSS is
read after importing the zoo, after loading all models, and after running them; the
budget is 600 MB with all six loaded (Streamlit Community Cloud gives about 1 GB).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

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
    "inceptionv3-cxr-mass": "cxr_nih_mass.jpg",
    "mobilenetv3-synthetic": "cxr_nih_mass.jpg",
    "multiclass-cxr": "cxr_tb_tuberculosis.jpg",
    "multiclass-brain-mri": "mri_brain_glioma.jpg",
}
RSS_BUDGET_MB = 600.0


def rss_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MiB."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
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
        for _ in range(args.repeats):
            started = time.perf_counter()
            predict(entry.id, [scan], registry=registry)
            times.append((time.perf_counter() - started) * 1000)
        rows.append(
            (
                entry.id,
                entry.card.raw.get("export", {}).get("shipped_variant", "float32"),
                entry.card.file.bytes / 1e6,
                statistics.median(times),
                float(np.percentile(times, 90)),
                entry.card.latency_ms,
            )
        )
    after, peak = rss_mb()
    print(f"{len(rows)} models, {available_cpus()} CPU threads, {args.repeats} runs each\n")
    print("| model | variant | MB | predict ms (median) | p90 ms | card ms (ONNX only) |")
    print("|---|---|---:|---:|---:|---:|")
    for model_id, variant, size, median, p90, card_ms in rows:
        print(f"| {model_id} | {variant} | {size:.1f} | {median:.1f} | {p90:.1f} | {card_ms} |")
    total = sum(r[2] for r in rows)
    print(f"| **all** | | **{total:.1f}** | | | |\n")
    print("| memory (MiB) | value | budget |\n|---|---:|---:|")
    print(f"| RSS after imports | {baseline:.0f} | |")
    print(f"| RSS with all models loaded | {loaded:.0f} | {RSS_BUDGET_MB:.0f} |")
    print(f"| RSS after running all | {after:.0f} | {RSS_BUDGET_MB:.0f} |")
    print(f"| peak RSS (VmHWM) | {peak:.0f} | {RSS_BUDGET_MB:.0f} |")


if __name__ == "__main__":
    main()
