"""From search to stored results, on a real Orthanc on loopback.

Run ``python -m benchmarks.pacs_bench [--repeats 5] [--json docs/data/pacs_bench.json]``
(needs Debian's ``orthanc`` and ``orthanc-dicomweb``). A chest CR study from pydicom-data
(one 1955 x 1841 film) is stored into a fresh Orthanc; then, for each model, ``repeats``
times: QIDO search for the study, listing its images, WADO retrieve, the model with its
heatmap, the three result objects (SR, Secondary Capture, Encapsulated PDF) and one
STOW-RS request storing them: ``zoo.pacs.analyze.analyze_study(store=True)`` after a QIDO
search, the path ``python -m zoo pacs analyze --store`` takes. Target: 2 s for a MobileNet-
or custom-CNN-sized model. ``python -m benchmarks.docs`` tables the JSON in
``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from benchmarks import orthanc
from benchmarks.memory_walk import machine
from benchmarks.records import write_json
from zoo.pacs import PacsClient, PacsSettings
from zoo.pacs.analyze import analyze_study
from zoo.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 2.0
#: The custom CNN (the target's size), MobileNetV3 and the mass model.
MODELS = ("multiclass-cxr", "mobilenetv3-synthetic", "customcnn-cxr-mass")


def measure(repeats: int) -> list[dict]:
    registry = Registry(ROOT / "zoo" / "models")
    film = pydicom.dcmread(get_testdata_file("RG1_UNCI.dcm"))
    rows = []
    with tempfile.TemporaryDirectory() as folder, orthanc.running(Path(folder)) as server:
        client = PacsClient(
            PacsSettings(server.dicomweb, user=server.user, password=server.password)
        )
        for model_id in MODELS:
            totals, steps = [], []
            for _ in range(repeats + 1):  # the first run loads the model: left out
                study = copy.deepcopy(film)
                study.StudyInstanceUID, study.SOPInstanceUID = generate_uid(), generate_uid()
                study.file_meta.MediaStorageSOPInstanceUID = study.SOPInstanceUID
                client.store([study])
                began = time.perf_counter()
                (found,) = [
                    s for s in client.search(modality="CR") if s.study_uid == study.StudyInstanceUID
                ]
                analysis = analyze_study(client, found.study_uid, model_id, registry, store=True)
                totals.append(time.perf_counter() - began)
                steps.append(analysis.seconds)
            totals, steps = totals[1:], steps[1:]
            rows.append(
                {
                    "model": model_id,
                    "runs": repeats,
                    "total_s": statistics.median(totals),
                    "max_s": max(totals),
                    **{
                        f"{step}_s": statistics.median(s.get(step, 0.0) for s in steps)
                        for step in ("retrieve", "analyze", "store")
                    },
                    "objects": len(analysis.stored),
                }
            )
    return rows


def tables(payload: dict) -> list[str]:
    lines = [
        "| model | runs | search to stored, median (s) | slowest (s) | retrieve (s) "
        "| model, heatmap and objects (s) | store (s) | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in payload["rows"]:
        verdict = "met" if row["total_s"] <= payload["target_s"] else "over"
        lines.append(
            f"| {row['model']} | {row['runs']} | {row['total_s']:.2f} | {row['max_s']:.2f} "
            f"| {row['retrieve_s']:.2f} | {row['analyze_s']:.2f} | {row['store_s']:.2f} "
            f"| {payload['target_s']:.0f} s: {verdict} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()
    if not orthanc.installed():
        raise SystemExit("needs Debian's orthanc and orthanc-dicomweb")
    payload = {"machine": machine(), "target_s": TARGET_S, "rows": measure(args.repeats)}
    print("\n".join(tables(payload)))
    if args.json:
        write_json(args.json, payload)


if __name__ == "__main__":
    main()
