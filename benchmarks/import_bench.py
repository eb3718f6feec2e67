"""Importing outside models: time to import and evaluate, and occlusion vs Grad-CAM.

Run ``python -m benchmarks.import_bench [--json docs/data/import_bench.json]`` from the
repository root with ``../shared/data`` beside it. Two measurements:

1. **Import plus evaluation**: the shipped ``multiclass-brain-mri`` ONNX file imported as if
   it came from elsewhere (``python -m zoo import``'s code: safety checks, signature, card)
   and evaluated on 500 brain MRI scans of ``../shared/data/brain_mri`` (read, preprocessed
   and scored a batch at a time, card sections written). Target: 60 s on a 2-core machine.
2. **Occlusion sensitivity against Grad-CAM**: for every shipped model with an activation
   output, the model-agnostic occlusion map and the model's own Grad-CAM on 12 validation
   scans of its own kind, compared by Pearson correlation at the model's input size and by
   whether both put their peak in the same ninth of the image.

``python -m benchmarks.docs`` tables the JSON in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.memory_walk import machine
from benchmarks.records import write_json
from zoo.imaging import load_scan
from zoo.importing import evaluate_import, prepare_import
from zoo.importing.importer import request_like
from zoo.importing.labelled import labelled_items
from zoo.registry import Registry
from zoo.runtime import get_session, predict
from zoo.runtime.occlusion import occlusion_map

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
IMPORT_TARGET_S = 60.0
#: Where each model's validation scans lie (their case ids are relative to it).
CASE_FOLDERS = {
    "customcnn-lung-ct": "lung_ct",
    "resnet-lung-ct": "lung_ct",
    "customcnn-cxr-mass": "chest_xray",
    "multiclass-cxr": "",
    "multiclass-brain-mri": "brain_mri",
    "mobilenetv3-synthetic": "chest_xray",
}


def import_and_evaluate(cases: int, scratch: Path) -> dict:
    """Seconds to import the brain model as foreign and evaluate it on ``cases`` scans."""
    shipped = Registry(ROOT / "zoo" / "models").get("multiclass-brain-mri")
    rows = list(csv.DictReader((SHARED / "brain_mri" / "labels.csv").open()))
    rows = rows[:: max(1, len(rows) // cases)][:cases]
    listing = scratch / "labels.csv"
    with listing.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "group"])
        for row in rows:
            writer.writerow([SHARED / "brain_mri" / row["image"], row["label"], row["group"]])
    started = time.perf_counter()
    prepared = prepare_import(shipped.read("model.onnx"), request_like(shipped.card, "foreign"))
    imported_s = time.perf_counter() - started
    prepared = evaluate_import(prepared, labelled_items(listing))
    total = time.perf_counter() - started
    return {
        "model": "multiclass-brain-mri (as foreign)",
        "cases": len(rows),
        "import_s": imported_s,
        "total_s": total,
        "target_s": IMPORT_TARGET_S,
        "macro_auc": prepared.card["metrics"]["validation"]["macro_auc"],
    }


def agreement(model_id: str, images: int) -> dict | None:
    """Occlusion against the model's Grad-CAM on ``images`` validation scans."""
    registry = Registry(ROOT / "zoo" / "models")
    entry = registry.get(model_id)
    if not entry.card.outputs.cam or model_id not in CASE_FOLDERS:
        return None
    rows = list(csv.DictReader((entry.directory / "validation.csv").open()))
    folder = SHARED / CASE_FOLDERS[model_id]
    step = max(1, len(rows) // images)
    correlations, same_peak, seconds = [], [], []
    for row in rows[::step][:images]:
        path = folder / row["case_id"]
        if not path.is_file():
            continue
        scan = load_scan(path.read_bytes(), filename=path.name)
        (result,) = predict(model_id, [scan], registry=registry, keep_preprocessed=True)
        label = result.label
        cam = _channel(result, label)
        if cam is None:
            continue
        found = occlusion_map(
            get_session(entry), entry.card, result.preprocessed.input, label, time_budget_s=120
        )
        height, width = found.heat.shape
        cam = cv2.resize(cam.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
        if cam.std() < 1e-9 or found.heat.std() < 1e-9:
            continue
        correlations.append(float(np.corrcoef(cam.ravel(), found.heat.ravel())[0, 1]))
        same_peak.append(_ninth(cam) == _ninth(found.heat))
        seconds.append(found.seconds)
    if not correlations:
        return None
    return {
        "model": model_id,
        "images": len(correlations),
        "median_correlation": statistics.median(correlations),
        "low_correlation": min(correlations),
        "same_peak_ninth": sum(same_peak) / len(same_peak),
        "median_seconds": statistics.median(seconds),
    }


def _channel(result, label: str) -> np.ndarray | None:
    cam = result.cam
    if cam is None or cam.ndim != 3:
        return None
    return cam[..., result.labels.index(label)] if cam.shape[2] > 1 else cam[..., 0]


def _ninth(heat: np.ndarray) -> tuple[int, int]:
    row, column = np.unravel_index(int(np.argmax(heat)), heat.shape)
    return int(3 * row / heat.shape[0]), int(3 * column / heat.shape[1])


def tables(payload: dict) -> list[str]:
    timing = payload["import"]
    verdict = "within" if timing["total_s"] <= timing["target_s"] else "OVER"
    lines = [
        "| model | cases | import (s) | import + evaluation (s) | target (s) | macro AUC |",
        "|---|---:|---:|---:|---:|---:|",
        f"| {timing['model']} | {timing['cases']} | {timing['import_s']:.1f} "
        f"| {timing['total_s']:.1f} | {timing['target_s']:.0f} ({verdict}) "
        f"| {timing['macro_auc']:.3f} |",
        "",
        "| model | images | occlusion vs Grad-CAM: median r | lowest r | same peak ninth "
        "| occlusion s (median) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in payload["agreement"]:
        lines.append(
            f"| {row['model']} | {row['images']} | {row['median_correlation']:.2f} "
            f"| {row['low_correlation']:.2f} | {row['same_peak_ninth']:.0%} "
            f"| {row['median_seconds']:.1f} |"
        )
    return lines


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()
    if not (SHARED / "brain_mri" / "labels.csv").is_file():
        raise SystemExit(f"needs the real scans at {SHARED} (../shared/data)")
    with tempfile.TemporaryDirectory() as scratch:
        timing = import_and_evaluate(args.cases, Path(scratch))
    rows = [agreement(model_id, args.images) for model_id in sorted(CASE_FOLDERS)]
    payload = {
        "machine": machine(),
        "import": timing,
        "agreement": [row for row in rows if row],
    }
    print("\n".join(tables(payload)))
    if args.json:
        write_json(args.json, payload)


if __name__ == "__main__":
    main()
