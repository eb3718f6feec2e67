"""Benchmark of the dashboard: upload-to-report, the threshold slider, cold start and RSS.

Run ``python -m benchmarks.app_bench [--repeats N] [--models-dir DIR] [--skip-browser]``
from the repository root; it prints one Markdown table (measurement, value, target,
value / target) and footnotes. The targets are issue 5's ("Performance" and "Streamlit
Community Cloud").

Models: the folder of ``--models-dir`` (default ``$MEDZOO_MODELS_DIR`` or ``zoo/models``)
when it holds a MobileNetV3Small, an InceptionV3 and a third model; otherwise a temporary
zoo of full-size models with random weights is built in a child process (TensorFlow is
imported there only): MobileNetV3Small at 224 px (float32), InceptionV3 at 256 px with
``pool_before_flatten=2`` shipped as int8 (calibrated on a few real chest X-rays) and the
custom CNN at 224 px (float32), each with its recipe's preprocessing, a card validated by
``zoo.card.parse_card`` and 10,000 synthetic validation predictions. Latency does not
depend on training.

Measurements:

- upload-to-report, server side: the work of the Analyze page for one new upload of a real
  chest X-ray (``../shared/data``, else a synthetic one): bytes → ``load_scan`` →
  ``predict(keep_preprocessed=True)`` → display image and heatmap overlay → operating
  points, statistics at the threshold, risk level, confidence and recommendations. Each
  upload carries a different JPEG comment, so its SHA-256 (the cache key) is new and
  nothing is served from a cache, while the pixels are the same;
- the same through the app: ``streamlit.testing.v1.AppTest`` runs the router, switches to
  the Analyze page and times ``at.run()`` after each new upload (the whole script: widgets,
  image encoding, charts; not the websocket nor the browser);
- the threshold slider: AppTest on the Thresholds page of the model with the most
  validation predictions, one new slider value per timed ``at.run()``; for comparison the
  statistics alone, the page's four figures with their JSON serialisation, and the
  ``gc.collect(2)`` a server runs after every script run (AppTest does not);
- cold start: ``streamlit run`` in a child process, the time to ``/_stcore/health`` and to
  the Home page (title and zoo table) rendered in headless Chromium (Playwright, a fresh
  browser context each time); three starts, the first reported apart ("imports cold");
- RSS: on the last server, one browser session visits every page (Analyze runs all three
  models on an upload); the server's VmRSS after each step and its VmHWM (peak) from
  ``/proc/<pid>/status``;
- then, in the same session, end to end in Chromium: upload-to-report for the first two
  models, from ``set_input_files`` to the whole report on screen (HTTP upload, script runs,
  websocket, rendering), and threshold-slider moves, from the key press to the new counts;
  with the upload and script-run marks the page's messages give, and the CPU time the
  server and Chromium used.

Times are medians (and 90th percentiles) after two warm-up runs. Other processes' share
of the CPU time is reported per phase (from ``/proc/stat``); phases above 5% are flagged.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gc
import hashlib
import io
import json
import math
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from benchmarks.flops import OtherLoad
from zoo.imaging import load_scan
from zoo.preprocess import Recipe, preprocess
from zoo.registry import ModelEntry, Registry, models_dir
from zoo.runtime import predict
from zoo.runtime.session import get_session

ROOT = Path(__file__).resolve().parents[1]
SHARED_CXR = ROOT.parent / "shared" / "data" / "chest_xray" / "images"
RECIPES = ROOT / "training" / "recipes"
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
N_VALIDATION = 10_000
WARMUP = 2
COLD_STARTS = 3
BROWSER_UPLOADS = 7  # timed uploads per model in Chromium (each about half a second)
BROWSER_MOVES = 10  # timed threshold-slider moves in Chromium
WAIT_S = 120  # every browser or server wait is bounded by this
BUILD_TIMEOUT_S = 900
DISTURBED = 0.05  # other processes' share of the CPU above which a phase is flagged
TARGETS = {
    "chain mobilenetv3_small": 300.0,
    "chain inceptionv3": 600.0,
    "apptest mobilenetv3_small": 300.0,
    "apptest inceptionv3": 600.0,
    "browser mobilenetv3_small": 300.0,
    "browser inceptionv3": 600.0,
    "slider": 50.0,
    "cold cached": 3.0,
    "peak rss": 600.0,
}


@dataclass(frozen=True)
class Spec:
    """A model of the temporary zoo: a shipped recipe, its architecture and shipped variant."""

    recipe: str
    architecture: str
    variant: str
    label: str


SPECS = (
    Spec("mobilenetv3-synthetic.json", "mobilenetv3_small", "float32", "MobileNetV3Small"),
    Spec("inceptionv3-cxr-mass.json", "inceptionv3", "int8", "InceptionV3"),
    Spec("customcnn-lung-ct.json", "custom_cnn", "float32", "custom CNN"),
)
LABELS = {s.architecture: s.label for s in SPECS}


# -- timing and load ------------------------------------------------------------------


@dataclass
class Timing:
    median: float
    p90: float
    runs: int

    @classmethod
    def of(cls, values: list[float]) -> Timing:
        ordered = sorted(v for v in values if not math.isnan(v))
        if not ordered:
            return cls(math.nan, math.nan, 0)
        p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
        return cls(statistics.median(ordered), p90, len(ordered))

    def cell(self, unit: str = "ms", digits: int = 0) -> str:
        return f"{self.median:.{digits}f} {unit} (p90 {self.p90:.{digits}f})"


def timed(fn: Callable[[int], dict[str, float]], repeats: int) -> dict[str, Timing]:
    """Run ``fn(i)`` WARMUP times untimed, then ``repeats`` times; ``fn`` returns ms by part.

    ``fn`` times itself (a dict of parts, ``total`` among them), so that the split of one
    run adds up to that run.
    """
    for i in range(WARMUP):
        fn(i)
    parts: dict[str, list[float]] = {}
    for i in range(WARMUP, WARMUP + repeats):
        for name, value in fn(i).items():
            parts.setdefault(name, []).append(value)
    return {name: Timing.of(values) for name, values in parts.items()}


class TreeLoad(OtherLoad):
    """:class:`benchmarks.flops.OtherLoad`, counting live child processes as this one.

    ``OtherLoad`` counts a child's CPU time only once the child has been waited for; the
    Streamlit server and Chromium run while they are measured, so the CPU time of every live
    descendant (and of the descendants they reaped) is added to this process's own.
    """

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        sample = OtherLoad._sample()
        if sample is None:
            return None
        busy, own, wall = sample
        return busy, own + descendants_cpu_s(), wall


@dataclass(frozen=True)
class Proc:
    name: str
    parent: int
    started: int  # clock ticks after boot: with the pid, names one process
    ticks: int  # utime + stime
    reaped: int  # cutime + cstime: the children it has waited for


def processes() -> dict[int, Proc]:
    """Every live process, from ``/proc/<pid>/stat``."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        table[int(stat.parent.name)] = Proc(
            name=text[text.index("(") + 1 : text.rindex(")")],
            parent=int(fields[1]),
            started=int(fields[19]),
            ticks=int(fields[11]) + int(fields[12]),
            reaped=int(fields[13]) + int(fields[14]),
        )
    return table


def descendants(table: dict[int, Proc]) -> set[int]:
    """The pids of this process's live descendants."""
    me, found = os.getpid(), set()
    for pid, proc in table.items():
        ancestor, depth = proc.parent, 0
        while ancestor and ancestor != me and depth < 64:
            ancestor, depth = table[ancestor].parent if ancestor in table else 0, depth + 1
        if ancestor == me:
            found.add(pid)
    return found


def descendants_cpu_s() -> float:
    """utime + stime + cutime + cstime of every live descendant of this process, in s."""
    table = processes()
    ticks = sum(table[pid].ticks + table[pid].reaped for pid in descendants(table))
    return ticks / os.sysconf("SC_CLK_TCK")


def busiest_others(before: dict[int, Proc], after: dict[int, Proc], n: int = 3) -> str:
    """The processes outside this one's tree that used the most CPU between two tables."""
    ours = descendants(after) | {os.getpid()}
    used = []
    for pid, proc in after.items():
        if pid in ours:
            continue
        old = before.get(pid)
        same = old is not None and old.started == proc.started
        ticks = proc.ticks - (old.ticks if same else 0)
        if pid != 1:  # init reaps orphans, Chromium's among them: not other load
            ticks += proc.reaped - (old.reaped if same else 0)
        used.append((ticks / os.sysconf("SC_CLK_TCK"), pid, proc.name))
    used.sort(reverse=True)
    return ", ".join(f"{name} (pid {pid}) {s:.1f} s" for s, pid, name in used[:n] if s >= 0.5)


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    others: float | None = None
    busiest: str = ""  # the other processes that used the most CPU time
    ended: bool = False


@dataclass
class Phases:
    done: list[Phase] = field(default_factory=list)

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[Callable[[], None]]:
        """Time a phase and the load beside it; yields ``end``, to end it early.

        Chromium's child processes outlive the browser process when it closes and are reaped
        by init, so their CPU time would count as other processes' unless the phase ends
        before the browser closes.
        """
        print(f"[app_bench] {name}", file=sys.stderr, flush=True)
        load, started, phase = TreeLoad(), time.perf_counter(), Phase(name)
        before = processes()

        def end() -> None:
            if not phase.ended:
                phase.seconds, phase.others = time.perf_counter() - started, load.share()
                phase.busiest = busiest_others(before, processes())
                phase.ended = True

        try:
            yield end
        finally:
            end()
            self.done.append(phase)

    def share(self, name: str) -> float | None:
        return next((p.others for p in self.done if p.name == name), None)

    def overall(self) -> float | None:
        """Other processes' share over all phases, weighted by their length."""
        known = [p for p in self.done if p.others is not None]
        total = sum(p.seconds for p in known)
        return sum(p.others * p.seconds for p in known) / total if total else None


# -- scans ----------------------------------------------------------------------------


def chest_xrays(n: int) -> list[tuple[str, bytes]]:
    """``n`` chest X-ray JPEGs: real NIH images from ../shared when present, else synthetic."""
    paths = sorted(SHARED_CXR.glob("*.jpg"))[:n] if SHARED_CXR.is_dir() else []
    found = [(p.name, p.read_bytes()) for p in paths if p.read_bytes()[:2] == b"\xff\xd8"]
    if len(found) == n:
        return found
    from training.synthetic import chest_radiograph

    rng = np.random.default_rng(0)
    scans = []
    for i in range(n):
        image = chest_radiograph(rng, size=1024).image
        buffer = io.BytesIO()
        Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)).save(
            buffer, format="JPEG", quality=92
        )
        scans.append((f"synthetic-chest-{i}.jpg", buffer.getvalue()))
    return scans


def new_upload(jpeg: bytes, i: int) -> bytes:
    """The same JPEG with a comment segment naming ``i``: same pixels, a new SHA-256."""
    text = f"medzoo app_bench upload {i}".encode()
    return jpeg[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + jpeg[2:]


# -- the temporary zoo (child process: TensorFlow stays out of the timed process) ---------


def synthetic_validation(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """10,000 cases, 30% positive, the same truth for every model; scores with AUC ≈ 0.9."""
    truth = np.random.default_rng(0).random(N_VALIDATION) < 0.3
    noise = np.random.default_rng(seed).normal(0.0, 1.0, N_VALIDATION)
    score = 1.0 / (1.0 + np.exp(-(1.8 * truth - 0.9 + noise)))
    return truth.astype(np.int8), score


def build_zoo(root: Path) -> None:
    """Write the three models of SPECS into ``root`` (runs in the child process)."""
    import keras

    from export.onnx_export import OPSET, to_int8, to_onnx
    from export.package import operating_points
    from training.architectures import build
    from zoo.card import file_entry, parse_card
    from zoo.metrics import auc_ci_delong

    xrays = [data for _, data in chest_xrays(8)]
    summary = []
    for seed, spec in enumerate(SPECS, start=1):
        started = time.perf_counter()
        recipe = json.loads((RECIPES / spec.recipe).read_text())
        prep = Recipe.from_dict(recipe["preprocessing"])
        height, width = prep.input_size
        options = recipe["architecture"].get("options", {})
        print(f"[app_bench] building {spec.label} (random weights)", file=sys.stderr, flush=True)
        keras.utils.set_random_seed(seed)
        model = build(spec.architecture, (height, width, prep.channels), 2, **options)
        inputs = np.concatenate([preprocess(load_scan(b), prep).input for b in xrays])
        folder = root / recipe["id"]
        folder.mkdir(parents=True)
        with tempfile.TemporaryDirectory(prefix="medzoo-app-bench-export-") as tmp:
            exported = to_onnx(model, Path(tmp) / "float32.onnx", inputs[:2])
            if spec.variant == "int8":
                to_int8(exported.path, folder / "model.onnx", inputs)
            else:
                shutil.copy(exported.path, folder / "model.onnx")
        data = (folder / "model.onnx").read_bytes()

        labels, positive = recipe["labels"], recipe["positive_label"]
        truth, score = synthetic_validation(seed)
        with (folder / "validation.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["case_id", "label", *[f"p_{k}" for k in labels]])
            pos = labels.index(positive)
            for i, (y, s) in enumerate(zip(truth, score, strict=True)):
                p = [1.0 - s, s] if pos == 1 else [s, 1.0 - s]
                writer.writerow([f"case{i:05d}", labels[pos if y else 1 - pos], *np.round(p, 6)])
        auc, low, high = auc_ci_delong(truth, score)
        points = operating_points(truth, score)
        card = {
            "schema_version": 1,
            "id": recipe["id"],
            "name": f"{recipe['name']} (random weights)",
            "version": recipe.get("version", "1.0.0"),
            "changelog": [{"version": "1.0.0", "changes": "benchmark build, random weights"}],
            "task": "binary",
            "labels": labels,
            "positive_label": positive,
            "modality": recipe["modality"],
            "body_part": recipe.get("body_part", "chest"),
            "preprocessing": recipe["preprocessing"],
            "outputs": {"probabilities": "probabilities", "cam": "cam", "embedding": "embedding"},
            "architecture": {
                "name": spec.architecture,
                "parameters": int(model.count_params()),
                "options": options,
                "weights": None,
            },
            "training_data": {
                "source": f"none: random weights (benchmark build of {spec.recipe})",
                "licence": "MIT (generated by this project)",
                "citation": "MedZoo benchmarks/app_bench.py",
                "split": {"method": "none: 10,000 synthetic validation predictions"},
                "counts": {},
            },
            "metrics": {"validation": {"auc": {"value": auc, "ci": [low, high]}}},
            "thresholds": {
                "default": points.get("youden", 0.5),
                "chosen_by": "Youden J on the synthetic validation predictions",
                "operating_points": points,
            },
            "calibration": {"method": "none"},
            "intended_use": "Benchmarks only: random weights, its scores mean nothing.",
            "limitations": ["Random weights: not a model of anything.", "Benchmarks only."],
            "file": file_entry(data, opset=OPSET),
            "validation_predictions": "validation.csv",
            "export": {"shipped_variant": spec.variant},
        }
        parse_card(card)  # raises CardError naming the field if the card is wrong
        (folder / "card.json").write_text(json.dumps(card, indent=2))
        summary.append(
            {
                "id": recipe["id"],
                "parameters": int(model.count_params()),
                "mb": len(data) / 1e6,
                "seconds": time.perf_counter() - started,
            }
        )
        keras.backend.clear_session()
    print(json.dumps(summary))


def temporary_zoo(root: Path) -> list[dict[str, Any]]:
    """Build the temporary zoo in a child process; returns its summary per model."""
    process = subprocess.run(
        [sys.executable, "-m", "benchmarks.app_bench", "--build-zoo", str(root)],
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        stdout=subprocess.PIPE,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    if process.returncode:
        raise SystemExit(f"building the temporary zoo failed (exit {process.returncode})")
    return json.loads(process.stdout.strip().splitlines()[-1])


def pick_models(registry: Registry) -> list[ModelEntry] | None:
    """MobileNetV3Small, InceptionV3 and a third model of ``registry``, else None."""
    by_arch: dict[str, ModelEntry] = {}
    for entry in registry.entries():
        by_arch.setdefault(str(entry.card.architecture.get("name", "")), entry)
    if "mobilenetv3_small" not in by_arch or "inceptionv3" not in by_arch:
        return None
    chosen = [by_arch["mobilenetv3_small"], by_arch["inceptionv3"]]
    rest = [e for e in registry.entries() if e not in chosen]
    return [*chosen, rest[0]] if rest else None


def arch(entry: ModelEntry) -> str:
    return str(entry.card.architecture.get("name", entry.id))


def describe(entry: ModelEntry) -> str:
    card = entry.card
    size = "×".join(map(str, card.preprocessing.input_size))
    variant = (card.raw.get("export") or {}).get("shipped_variant", "float32")
    return f"{LABELS.get(arch(entry), entry.id)} ({size} px, {variant})"


# -- upload-to-report, server side ----------------------------------------------------


def report_chain(
    entry: ModelEntry, registry: Registry, name: str, jpeg: bytes
) -> Callable[[int], dict[str, float]]:
    """The Analyze page's work for upload ``i``, timed by part (ms)."""
    from ui.heatmap import cam_channel, display_image, overlay
    from ui.report import confidence, operating_points, recommendations, risk_level
    from ui.stats import metrics_at
    from zoo.metrics import ThresholdTable

    card = entry.card
    label = card.positive_label or card.labels[-1]
    size = card.preprocessing.input_size
    # shipped validation data: cached by the app (st.cache_data / st.cache_resource)
    validation = registry.validation_predictions(entry.id) if card.validation_predictions else None
    y = s = table = None
    if validation is not None:
        y, s = validation.is_positive(label), validation.scores_for(label)
        table = ThresholdTable(y, s)

    def run(i: int) -> dict[str, float]:
        data = new_upload(jpeg, i)
        t0 = time.perf_counter()
        hashlib.sha256(data).hexdigest()  # Upload.from_bytes: the cache key
        scan = load_scan(data, filename=name)
        t1 = time.perf_counter()
        (prediction,) = predict(entry.id, [scan], registry=registry, keep_preprocessed=True)
        t2 = time.perf_counter()
        display_image(scan.pixels)
        cam = cam_channel(prediction, label)
        if cam is not None:
            overlay(scan.pixels, cam, prediction.preprocessed, size, alpha=0.45)
        t3 = time.perf_counter()
        points = operating_points(table, card)
        threshold = points.get("Card default", card.default_threshold)
        score = prediction.probabilities[label]
        level = risk_level(score, threshold)
        conf = None
        if table is not None:
            metrics_at(table, threshold)
            conf = confidence(score, threshold, y, s)
            conf.sentence(label)
        recommendations(
            level,
            label,
            confidence_level=conf.level if conf else None,
            modality_matches=scan.modality in card.modalities,
            card=card,
            modality=scan.modality,
        )
        t4 = time.perf_counter()
        ort_ms = prediction.latency_ms
        return {
            "total": (t4 - t0) * 1000,
            "decode": (t1 - t0) * 1000,
            "preprocess": (t2 - t1) * 1000 - ort_ms,
            "onnx runtime": ort_ms,
            "heatmap": (t3 - t2) * 1000,
            "report": (t4 - t3) * 1000,
        }

    return run


def first_use_ms(entry: ModelEntry, registry: Registry, name: str, jpeg: bytes) -> float:
    """One upload on a model not loaded yet: SHA-256 check and ORT session creation included."""
    started = time.perf_counter()
    get_session(entry)
    predict(entry.id, [load_scan(new_upload(jpeg, 10_000), filename=name)], registry=registry)
    return (time.perf_counter() - started) * 1000


# -- the app through AppTest ----------------------------------------------------------


def app_test() -> Any:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=WAIT_S)
    return checked(at.run())


def checked(at: Any) -> Any:
    if at.exception:
        raise RuntimeError(f"the app raised: {[e.value for e in at.exception]}")
    return at


def option_index(widget: Any, model_id: str) -> int:
    return next(i for i, o in enumerate(widget.options) if f"({model_id}," in o)


def analyze_in_app(
    entries: list[ModelEntry], name: str, jpeg: bytes, repeats: int
) -> dict[str, Timing]:
    """``at.run()`` after each new upload on the Analyze page, per model (ms)."""
    at = app_test()
    checked(at.switch_page("pages/analyze.py").run())
    counter = iter(range(20_000, 30_000))

    def upload() -> float:
        at.file_uploader(key="analyze_upload").set_value(
            (name, new_upload(jpeg, next(counter)), "image/jpeg")
        )
        started = time.perf_counter()
        checked(at.run())
        return (time.perf_counter() - started) * 1000

    upload()
    results = {}
    for entry in entries:
        picker = at.selectbox(key="analyze_model")
        checked(picker.select_index(option_index(picker, entry.id)).run())
        if entry.card.name not in "\n".join(str(m.value) for m in at.markdown):
            raise RuntimeError(f"the Analyze page did not report {entry.id}")
        results[entry.id] = timed(lambda _: {"total": upload()}, repeats)["total"]
    return results


@dataclass
class SliderResult:
    app: Timing
    rows: int
    model: str
    statistics: dict[str, Timing]
    gc: Timing


def slider(registry: Registry, repeats: int) -> SliderResult:
    """The Thresholds page rerun after a slider move, and its parts measured apart."""
    import plotly.graph_objects as go
    import plotly.io

    from ui import charts
    from ui.report import operating_points
    from ui.stats import compute_curves, metrics_at
    from zoo.metrics import ThresholdTable

    sizes = {
        e.id: len(registry.validation_predictions(e.id).case_ids)
        for e in registry.entries()
        if e.card.validation_predictions
    }
    model_id = max(sizes, key=sizes.get)
    card = registry.card(model_id)
    label = card.positive_label or card.labels[-1]
    key = f"thr_t_{card.id}_{label}"

    at = app_test()
    checked(at.switch_page("pages/thresholds.py").run())
    picker = at.selectbox(key="thr_model")
    checked(picker.select_index(option_index(picker, model_id)).run())

    def move(i: int) -> dict[str, float]:
        at.slider(key=key).set_value(round(0.2 + (i * 0.037) % 0.6, 3))
        started = time.perf_counter()
        checked(at.run())
        return {"total": (time.perf_counter() - started) * 1000}

    app = timed(move, repeats)["total"]

    def collect(_: int) -> dict[str, float]:
        started = time.perf_counter()
        gc.collect(2)
        return {"total": (time.perf_counter() - started) * 1000}

    # A server runs gc.collect(2) after every script run (runner.postScriptGC, on by
    # default); AppTest's script runner does not. Timed here on this process's heap.
    collected = timed(collect, 5)["total"]

    vp = registry.validation_predictions(model_id)
    y, s = vp.is_positive(label), vp.scores_for(label)
    table = ThresholdTable(y, s)
    curves = compute_curves(y, s)
    negative = next(v for v in card.labels if v != label)

    def build_and_at(i: int) -> dict[str, float]:
        started = time.perf_counter()
        ThresholdTable(y, s).at(0.3 + 0.01 * (i % 20))
        return {"total": (time.perf_counter() - started) * 1000}

    def parts(i: int) -> dict[str, float]:
        t = 0.3 + 0.01 * (i % 20)
        t0 = time.perf_counter()
        operating_points(table, card, cost_ratio=1.0)
        t1 = time.perf_counter()
        at_ = metrics_at(table, t, prevalence=float(y.mean()))
        t2 = time.perf_counter()
        figures = [
            charts.confusion_figure(
                [[at_["tn"], at_["fp"]], [at_["fn"], at_["tp"]]], [negative, label]
            ),
            charts.roc_figure([(card.id, curves)], point=(1 - at_["specificity"], 0.5)),
            charts.histogram_figure(s, y, t, positive=label, negative=negative),
            charts.net_benefit_figure(curves, t, name=card.id),
        ]
        t3 = time.perf_counter()
        for figure in figures:
            plotly.io.to_json(figure, validate=False)  # what st.plotly_chart sends
        t4 = time.perf_counter()
        for _ in figures:  # the common look each figure gets, on an empty figure
            charts._layout(go.Figure(), "title", "x", "y")
        t5 = time.perf_counter()
        return {
            "operating points": (t1 - t0) * 1000,
            "statistics at t": (t2 - t1) * 1000,
            "4 figures built": (t3 - t2) * 1000,
            "4 figures to JSON": (t4 - t3) * 1000,
            "of the build, 4 × ui.charts._layout on empty figures": (t5 - t4) * 1000,
        }

    stats = {"table build + at()": timed(build_and_at, repeats)["total"], **timed(parts, repeats)}
    return SliderResult(app, sizes[model_id], model_id, stats, collected)


# -- cold start and RSS through a real server and Chromium ----------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB (MiB as the kernel counts kB)."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


class Server:
    """``streamlit run streamlit_app.py`` on a free port; always stopped on exit."""

    def __init__(self, zoo: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("w")
        env = {**os.environ, "MEDZOO_MODELS_DIR": str(zoo)}
        env["MEDZOO_SAMPLES_DIR"] = str(zoo / "no-samples")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
                "--server.headless", "true", "--server.port", str(self.port),
            ],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_healthy(self) -> float:
        """Seconds from the start to the first 200 from ``/_stcore/health``."""
        deadline = self.started + WAIT_S
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.process.returncode}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as reply,
            ):
                if reply.status == 200:
                    return time.perf_counter() - self.started
            time.sleep(0.02)
        raise RuntimeError(f"streamlit was not healthy within {WAIT_S} s")

    def memory(self) -> tuple[float, float]:
        return memory_mb(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class BrowserResult:
    health_s: list[float] = field(default_factory=list)
    render_s: list[float] = field(default_factory=list)
    # seconds from Popen to: the HTML, the page's load event, the sidebar, the title, the table
    marks: list[dict[str, float]] = field(default_factory=list)
    steps: list[tuple[str, float, float]] = field(default_factory=list)  # step, VmRSS, VmHWM
    uploads: dict[str, dict[str, Timing]] = field(default_factory=dict)  # model id: parts
    slider: dict[str, Timing] = field(default_factory=dict)  # parts of a slider move (ms)
    error: str | None = None


class Frames:
    """What the browser session exchanges with the server, as Playwright reports it.

    While ``recording``, each ForwardMsg the page receives is decoded and its kind kept
    (``file_urls_response`` grants the upload URL, ``new_session`` starts a script run,
    ``script_finished`` ends one), with the time
    Playwright dispatched it; so are the ends of the HTTP uploads (``PUT .../upload_file``,
    from the browser's resource timing).
    """

    def __init__(self, tab: Any) -> None:
        self.recording = False
        self.events: list[tuple[float, str]] = []
        tab.on("websocket", lambda ws: ws.on("framereceived", self._frame))
        tab.on("requestfinished", self._request)

    def _frame(self, payload: bytes | str) -> None:
        if not self.recording or not isinstance(payload, bytes):
            return
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        with contextlib.suppress(Exception):  # a frame that is not a ForwardMsg
            kind = ForwardMsg.FromString(payload).WhichOneof("type")
            if kind in ("file_urls_response", "new_session", "script_finished"):
                self.events.append((time.perf_counter(), kind))

    def _request(self, request: Any) -> None:
        if self.recording and request.method == "PUT" and "upload_file" in request.url:
            # the browser's own timing (wall clock, ms), moved onto perf_counter's clock
            timing = request.timing
            end_wall = (timing["startTime"] + timing["responseEnd"]) / 1000
            self.events.append((time.perf_counter() - (time.time() - end_wall), "upload"))


#: The Analyze page shows the whole report of upload ``name``: its caption, the three images
#: loaded, the four metrics, the probability chart drawn, the PDF button (the script's last
#: element), and nothing left over (stale) from the previous run.
REPORT_SHOWN = """(name) => {
  const d = document;
  if (!d.body.innerText.includes('Original: ' + name)) return false;
  if (d.querySelector('[data-stale="true"]')) return false;
  if (d.querySelectorAll('[data-testid=stMetric]').length < 4) return false;
  if (!d.querySelector('[data-testid=stPlotlyChart] .main-svg')) return false;
  if (!d.querySelector('[data-testid=stDownloadButton]')) return false;
  const images = [...d.querySelectorAll('[data-testid=stImage] img')];
  return images.length >= 3 && images.every(i => i.complete && i.naturalWidth > 0);
}"""


def settle(tab: Any) -> None:
    """Wait (bounded) until Streamlit has finished running the script."""
    tab.wait_for_timeout(300)
    tab.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=WAIT_S * 1000
    )
    tab.wait_for_timeout(200)


def browser_runs(
    zoo: Path,
    entries: list[ModelEntry],
    xray: Path,
    logs: Path,
    result: BrowserResult,
    before_close: Callable[[], None],
) -> None:
    """Fill ``result`` as the measurements come (an exception leaves what was measured)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=LAUNCH_ARGS, timeout=WAIT_S * 1000
        )
        try:
            for run in range(COLD_STARTS):
                with Server(zoo, logs / f"streamlit-{run}.log") as server:
                    result.health_s.append(server.wait_healthy())
                    context = browser.new_context(viewport={"width": 1400, "height": 1800})
                    try:
                        tab = context.new_page()
                        tab.set_default_timeout(WAIT_S * 1000)
                        frames = Frames(tab)
                        marks: dict[str, float] = {"healthy": result.health_s[-1]}

                        def mark(name: str, server: Server = server, marks: dict = marks) -> None:
                            marks[name] = time.perf_counter() - server.started

                        tab.goto(server.url, wait_until="commit")
                        mark("HTML")
                        tab.wait_for_load_state("load")
                        mark("load event")
                        tab.locator("[data-testid=stSidebar]").wait_for()
                        mark("sidebar")
                        tab.locator("h1", has_text="MedZoo").wait_for()
                        mark("title")
                        tab.locator("[data-testid=stDataFrame]").first.wait_for()
                        mark("zoo table")
                        result.render_s.append(marks["zoo table"])
                        result.marks.append(marks)
                        if run == COLD_STARTS - 1:
                            walk(tab, server, entries, xray, result.steps)
                            result.uploads = browser_uploads(
                                tab, frames, server, entries[:2], xray, logs
                            )
                            result.slider = browser_slider(tab, frames, server)
                    finally:
                        context.close()
        finally:
            before_close()
            browser.close()


def open_page(tab: Any, title: str) -> None:
    """Follow the sidebar link to a page (same session) and wait for its script to finish."""
    tab.locator("[data-testid=stSidebarNav] a", has_text=title).first.click()
    tab.locator("h1", has_text=title).wait_for()
    settle(tab)


def pick_model(tab: Any, entry: ModelEntry) -> None:
    """Choose ``entry`` in the Analyze page's model box (when it is not chosen already)."""
    picker = tab.get_by_role("combobox", name="Model")
    if f"({entry.id}," not in picker.input_value():
        picker.click()
        tab.get_by_role("option", name=re.compile(re.escape(f"({entry.id},"))).click()
        settle(tab)


def cpu_ms(server: Server) -> tuple[float, float]:
    """CPU time used so far (ms) by the server, and by the browser (Chromium, its driver)."""
    table, tick_ms = processes(), 1000 / os.sysconf("SC_CLK_TCK")
    ours = descendants(table)
    server_ms = table[server.process.pid].ticks * tick_ms
    others = [table[p] for p in ours if p != server.process.pid]
    return server_ms, sum(p.ticks + p.reaped for p in others) * tick_ms


def browser_uploads(
    tab: Any,
    frames: Frames,
    server: Server,
    entries: list[ModelEntry],
    xray: Path,
    folder: Path,
) -> dict[str, dict[str, Timing]]:
    """Warm upload-to-report in Chromium, from ``set_input_files`` to :data:`REPORT_SHOWN`.

    Each upload is a new file (new name, new SHA-256) replacing the last one in the
    uploader. Includes the HTTP upload, the script run(s), the websocket and the browser's
    rendering. Parts (ms from the start, as :class:`Frames` saw them): the upload URL
    granted, the HTTP upload done, the last script run started and finished, and the number
    of script runs; and the CPU time the server and the browser used meanwhile.
    """
    open_page(tab, "Analyze a scan")
    jpeg, results = xray.read_bytes(), {}
    uploader = tab.locator("input[type=file]").first
    for n, entry in enumerate(entries):
        parts: dict[str, list[float]] = {}
        for i in range(WARMUP + BROWSER_UPLOADS):
            path = folder / f"warm-{n}-{i}.jpg"
            path.write_bytes(new_upload(jpeg, 40_000 + 100 * n + i))
            frames.events.clear()
            frames.recording = True
            cpu_before = cpu_ms(server)
            started = time.perf_counter()
            uploader.set_input_files(str(path))
            tab.wait_for_function(REPORT_SHOWN, arg=path.name, timeout=WAIT_S * 1000)
            ended = time.perf_counter()
            cpu_after = cpu_ms(server)
            settle(tab)  # the script's last messages, and nothing running before the next
            frames.recording = False
            if i == 0:
                pick_model(tab, entry)
                tab.get_by_text(f"{entry.card.name} v{entry.card.version}").first.wait_for()
            if i < WARMUP:
                continue
            marks = {kind: (at - started) * 1000 for at, kind in frames.events}  # the last
            for name, value in (
                ("total", (ended - started) * 1000),
                ("upload URL granted", marks.get("file_urls_response", math.nan)),
                ("HTTP upload done", marks.get("upload", math.nan)),
                ("last script run started", marks.get("new_session", math.nan)),
                ("last script run finished", marks.get("script_finished", math.nan)),
                ("script runs", sum(k == "new_session" for _, k in frames.events)),
                ("server CPU", cpu_after[0] - cpu_before[0]),
                ("browser CPU", cpu_after[1] - cpu_before[1]),
            ):
                parts.setdefault(name, []).append(value)
        results[entry.id] = {k: Timing.of(v) for k, v in parts.items()}
    return results


#: The Thresholds page shows counts other than ``before`` and nothing stale.
COUNTS_CHANGED = """(before) => {
  const d = document;
  const found = d.body.innerText.match(/TP \\d+ · FP \\d+ · TN \\d+ · FN \\d+/);
  return found !== null && found[0] !== before && !d.querySelector('[data-stale="true"]');
}"""
COUNTS = re.compile(r"TP \d+ · FP \d+ · TN \d+ · FN \d+")


def browser_slider(tab: Any, frames: Frames, server: Server) -> dict[str, Timing]:
    """Threshold-slider moves in Chromium, from the key press to the new counts shown.

    The slider moves by PageUp and PageDown in turn (a large step each). Parts: the script
    run's start and end as the page's messages give them, and the server's CPU time per move
    until the server is idle again (the script run, then Streamlit's post-run ``gc.collect``).
    """
    open_page(tab, "Thresholds")
    thumb = tab.locator("[data-testid=stSlider] input[type=range]").first
    parts: dict[str, list[float]] = {}
    for i in range(WARMUP + BROWSER_MOVES):
        before = COUNTS.search(tab.locator("body").inner_text())
        assert before is not None, "the Thresholds page shows no counts"
        frames.events.clear()
        frames.recording = True
        cpu_before = cpu_ms(server)
        started = time.perf_counter()
        thumb.press("PageUp" if i % 2 == 0 else "PageDown")
        tab.wait_for_function(COUNTS_CHANGED, arg=before.group(0), timeout=WAIT_S * 1000)
        ended = time.perf_counter()
        settle(tab)
        cpu_after = cpu_ms(server)
        frames.recording = False
        if i < WARMUP:
            continue
        marks = {kind: (at - started) * 1000 for at, kind in frames.events}
        for name, value in (
            ("total", (ended - started) * 1000),
            ("script run started", marks.get("new_session", math.nan)),
            ("script run finished", marks.get("script_finished", math.nan)),
            ("server CPU", cpu_after[0] - cpu_before[0]),
            ("browser CPU", cpu_after[1] - cpu_before[1]),
        ):
            parts.setdefault(name, []).append(value)
    return {k: Timing.of(v) for k, v in parts.items()}


def walk(
    tab: Any,
    server: Server,
    entries: list[ModelEntry],
    xray: Path,
    steps: list[tuple[str, float, float]],
) -> None:
    """One session through every page, three models run on Analyze; RSS after each step."""

    def record(step: str) -> None:
        steps.append((step, *server.memory()))

    def no_exception() -> None:
        if tab.locator("[data-testid=stException]").count():
            raise RuntimeError(f"the page showed an exception at step {len(steps)}")

    settle(tab)
    record("Home rendered")
    open_page(tab, "Analyze a scan")
    tab.locator("input[type=file]").first.set_input_files(str(xray))
    settle(tab)
    for entry in entries:
        pick_model(tab, entry)
        tab.get_by_text(f"{entry.card.name} v{entry.card.version}").first.wait_for()
        no_exception()
        record(f"Analyze: {LABELS.get(arch(entry), entry.id)}")
    open_page(tab, "Compare models")
    tab.locator("input[type=file]").first.set_input_files(str(xray))
    settle(tab)
    tab.get_by_text("Latency: this run").wait_for()
    tab.get_by_text("Models on a labelled set").click()
    settle(tab)
    no_exception()
    record("Compare (one scan; labelled set)")
    open_page(tab, "Thresholds")
    tab.get_by_text(re.compile(r"TP \d+ · FP \d+")).wait_for()
    thumb = tab.locator("[data-testid=stSlider] input[type=range]").first
    thumb.focus()
    thumb.press("PageUp")
    settle(tab)
    no_exception()
    record("Thresholds (slider moved)")
    open_page(tab, "Metrics")
    tab.get_by_text("Training curves").first.wait_for()
    no_exception()
    record("Metrics")
    open_page(tab, "Batch")
    tab.get_by_text("Score the batch").first.wait_for()
    record("Batch")
    open_page(tab, "Model zoo")
    tab.get_by_text("Training data (provenance)").first.wait_for()
    no_exception()
    record("Model zoo")


def home_script_s(zoo: Path) -> dict[str, float]:
    """The router and the Home page run by AppTest in a fresh interpreter (s).

    The server side of the first page without the browser: ``import streamlit``, the first
    script run (the page's own imports: pandas, ui, zoo; the zoo read; the table) and a rerun.
    """
    code = (
        "import time\n"
        "t0 = time.perf_counter()\n"
        "from streamlit.testing.v1 import AppTest\n"
        "t1 = time.perf_counter()\n"
        "at = AppTest.from_file('streamlit_app.py', default_timeout=120).run()\n"
        "t2 = time.perf_counter()\n"
        "at.run()\n"
        "t3 = time.perf_counter()\n"
        "assert not at.exception and at.title[0].value == 'MedZoo', at.exception\n"
        "print(t1 - t0, t2 - t1, t3 - t2)\n"
    )
    env = {**os.environ, "MEDZOO_MODELS_DIR": str(zoo), "STREAMLIT_LOGGER_LEVEL": "error"}
    env["MEDZOO_SAMPLES_DIR"] = str(zoo / "no-samples")
    process = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        check=True,
    )
    values = [float(v) for v in process.stdout.split()[-3:]]
    return dict(zip(("import streamlit", "first run", "rerun"), values, strict=True))


# -- the report -----------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 2**20:.0f} GiB RAM"
    from zoo.runtime.providers import available_cpus

    return (
        f"{model}, {os.cpu_count()} logical CPUs ({available_cpus()} usable){memory}; "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def ratio(value: float | None, target_key: str | None) -> tuple[str, str]:
    if target_key == "cold first" and value is not None:  # the target is for cached imports
        return "(≤ 3 s once cached)", f"{value / TARGETS['cold cached']:.2f}"
    target = TARGETS.get(target_key or "")
    if target is None or value is None:
        return "—", "—"
    unit = " s" if "cold" in (target_key or "") else " MB" if "rss" in target_key else " ms"
    shown = f"≤ {target:g}{unit}"
    flag = " ✗" if value > target else ""
    return shown, f"{value / target:.2f}{flag}"


def load_text(share: float | None) -> str:
    if share is None:
        return "unknown"
    flag = " (disturbed)" if share > DISTURBED else ""
    return f"{share:.0%}{flag}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=20, help="timed runs per server-side measurement"
    )
    parser.add_argument(
        "--models-dir", type=Path, default=None, help="the zoo to use (default: zoo/models)"
    )
    parser.add_argument(
        "--skip-browser", action="store_true", help="no cold start nor RSS (no server, Chromium)"
    )
    parser.add_argument("--build-zoo", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_zoo is not None:
        build_zoo(args.build_zoo)
        return

    started = time.perf_counter()
    phases = Phases()
    with tempfile.TemporaryDirectory(prefix="medzoo-app-bench-") as tmp:
        tmp = Path(tmp)
        source = asked = args.models_dir or models_dir()
        entries = pick_models(Registry(source)) if source.is_dir() else None
        built = None
        if entries is None:
            with phases("building a temporary zoo (random weights)"):
                built = temporary_zoo(tmp / "models")
            source = tmp / "models"
            entries = pick_models(Registry(source))
            assert entries is not None
        registry = Registry(source)
        os.environ["MEDZOO_MODELS_DIR"] = str(source)
        os.environ["MEDZOO_SAMPLES_DIR"] = str(tmp / "no-samples")
        (name, jpeg), *_ = chest_xrays(1)
        xray = tmp / name
        xray.write_bytes(jpeg)
        scan = load_scan(jpeg)

        browser, home = None, None
        if args.skip_browser:
            pass
        elif not CHROMIUM.exists():
            browser = BrowserResult(error=f"{CHROMIUM} is absent")
        else:
            browser = BrowserResult()
            with phases("cold start and RSS") as end:
                try:
                    browser_runs(source, entries, xray, tmp, browser, end)
                except Exception as exc:  # report what was measured, and why the rest is not
                    browser.error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
                    logs = sorted(tmp.glob("streamlit-*.log"))
                    if logs:  # the temporary folder goes away: show the server's last words
                        tail = logs[-1].read_text(errors="replace").splitlines()[-20:]
                        print("\n".join(["[app_bench] server log:", *tail]), file=sys.stderr)
            with phases("Home page script in a fresh process"):
                home = home_script_s(source)

        import streamlit.logger  # not before the cold starts: it would warm the file cache

        # AppTest, and cached functions called outside a server, warn about the missing runtime
        streamlit.logger.set_log_level("error")
        with phases("upload-to-report, server side"):
            first = {e.id: first_use_ms(e, registry, name, jpeg) for e in entries}
            chains = {
                e.id: timed(report_chain(e, registry, name, jpeg), args.repeats) for e in entries
            }
        with phases("upload-to-report, AppTest"):
            in_app = analyze_in_app(entries, name, jpeg, args.repeats)
        with phases("threshold slider"):
            slide = slider(registry, args.repeats)

    rows: list[tuple[str, str, float | None, str | None, str]] = []  # name, value, v, key, phase
    for e in entries:
        t = chains[e.id]["total"]
        rows.append(
            (
                f"Upload-to-report, server chain: {describe(e)}",
                t.cell(),
                t.median,
                f"chain {arch(e)}",
                "upload-to-report, server side",
            )
        )
    for e in entries:
        t = in_app[e.id]
        rows.append(
            (
                f"Upload-to-report through the app (AppTest script run): {describe(e)}",
                t.cell(),
                t.median,
                f"apptest {arch(e)}",
                "upload-to-report, AppTest",
            )
        )
    for e in entries:
        if browser is None or e.id not in browser.uploads:
            continue
        t = browser.uploads[e.id]["total"]
        rows.append(
            (
                f"Upload-to-report in Chromium, end to end: {describe(e)}",
                t.cell(),
                t.median,
                f"browser {arch(e)}",
                "cold start and RSS",
            )
        )
    rows.append(
        (
            f"Threshold-slider rerun, AppTest, {slide.rows:,} validation predictions",
            slide.app.cell(digits=1),
            slide.app.median,
            "slider",
            "threshold slider",
        )
    )
    if browser is not None and browser.slider:
        t = browser.slider["total"]
        rows.append(
            (
                "  threshold-slider move in Chromium, end to end (key press to new counts)",
                t.cell(),
                None,
                None,
                "cold start and RSS",
            )
        )
    stats = slide.statistics["table build + at()"]
    rows.append(
        (
            f"  statistics only: ThresholdTable build + at(), {slide.rows:,} predictions",
            stats.cell(digits=2),
            None,
            None,
            "threshold slider",
        )
    )
    if browser is not None and browser.health_s:
        cached = browser.health_s[1:]
        rows.append(
            (
                "Cold start to /_stcore/health, imports cold (1st start)",
                f"{browser.health_s[0]:.2f} s",
                None,
                None,
                "cold start and RSS",
            )
        )
        if cached:
            rows.append(
                (
                    f"Cold start to /_stcore/health, imports cached (median of {len(cached)})",
                    f"{statistics.median(cached):.2f} s",
                    None,
                    None,
                    "cold start and RSS",
                )
            )
    if browser is not None and browser.render_s:
        rendered = browser.render_s[1:]
        rows.append(
            (
                "Cold start to the first rendered page (Chromium), imports cold (1st start)",
                f"{browser.render_s[0]:.2f} s",
                browser.render_s[0],
                "cold first",
                "cold start and RSS",
            )
        )
        if rendered:
            value = statistics.median(rendered)
            rows.append(
                (
                    f"Cold start to the first rendered page, imports cached "
                    f"(median of {len(rendered)}: {', '.join(f'{v:.2f}' for v in rendered)} s)",
                    f"{value:.2f} s",
                    value,
                    "cold cached",
                    "cold start and RSS",
                )
            )
    if browser is not None and browser.steps:
        rows.append(
            (
                "Server RSS after the first page",
                f"{browser.steps[0][1]:.0f} MB",
                None,
                None,
                "cold start and RSS",
            )
        )
        complete = len(browser.steps) >= 9 and browser.error is None
        rows.append(
            (
                "Peak server RSS (VmHWM), every page visited, three models loaded"
                + ("" if complete else " (walk incomplete)"),
                f"{browser.steps[-1][2]:.0f} MB",
                browser.steps[-1][2],
                "peak rss",
                "cold start and RSS",
            )
        )

    print("| measurement | value | target | value / target |")
    print("|---|---:|---:|---:|")
    disturbed = []
    for label, value, number, key, phase in rows:
        target, r = ratio(number, key)
        share = phases.share(phase)
        mark = ""
        if share is not None and share > DISTURBED and key is not None:
            mark = " †"
            disturbed.append(phase)
        print(f"| {label}{mark} | {value} | {target} | {r} |")
    if args.skip_browser:
        print("| Cold start, peak RSS | skipped (--skip-browser) | | |")
    elif browser is not None and browser.error:
        print(f"| Cold start, peak RSS | not measured: {browser.error} | | |")

    print()
    print(
        "Times: median (p90) over "
        f"{args.repeats} runs after {WARMUP} warm-up runs; ✗ marks a missed target. "
        f"Scan: {name} ({scan.pixels.shape[1]}×{scan.pixels.shape[0]} px, "
        f"{len(jpeg) / 1e3:.0f} kB JPEG"
        + (", synthetic)" if name.startswith("synthetic-") else ", NIH ChestX-ray8, ../shared)")
        + "; every upload has a new SHA-256 (a JPEG comment), so no cache serves it."
    )
    if built is not None:
        print(
            "Models: a temporary zoo built for this run with random weights (latency and "
            "memory do not depend on training): "
            + "; ".join(
                f"{describe(e)}: {b['parameters'] / 1e6:.1f} M parameters, {b['mb']:.1f} MB "
                f"file, built in {b['seconds']:.0f} s"
                for e, b in zip(entries, built, strict=True)
            )
            + f"; each with {N_VALIDATION:,} synthetic validation predictions. {asked} holds "
            "no MobileNetV3Small, InceptionV3 and third model to use instead."
        )
    else:
        print(f"Models: from {source}: " + "; ".join(describe(e) for e in entries) + ".")
    for e in entries:
        parts = chains[e.id]
        split = ", ".join(
            f"{k} {parts[k].median:.1f}"
            for k in ("decode", "preprocess", "onnx runtime", "heatmap", "report")
        )
        overhead = in_app[e.id].median - parts["total"].median
        print(
            f"{describe(e)}, server chain split (medians, ms): {split}; the app adds "
            f"{overhead:.0f} ms (script rerun, widgets, image encoding, charts). First upload "
            f"on the model (SHA-256 check and ORT session creation included): "
            f"{first[e.id]:.0f} ms."
        )
    if browser is not None:
        for e in entries:
            if e.id in browser.uploads:
                up = browser.uploads[e.id]
                print(
                    f"{describe(e)} in Chromium ({up['total'].runs} uploads, each replacing the "
                    f"last; medians, ms from set_input_files): upload URL granted "
                    f"{up['upload URL granted'].median:.0f}, HTTP upload done "
                    f"{up['HTTP upload done'].median:.0f}, last script run started "
                    f"{up['last script run started'].median:.0f} and finished "
                    f"{up['last script run finished'].median:.0f}, report shown "
                    f"{up['total'].median:.0f} (caption, 3 images, 4 metrics, chart, PDF button); "
                    f"{up['script runs'].median:.0f} script runs per upload; CPU time meanwhile "
                    f"(10 ms ticks): server {up['server CPU'].median:.0f} ms, Chromium and its "
                    f"driver {up['browser CPU'].median:.0f} ms, on {os.cpu_count()} CPUs."
                )
    parts = slide.statistics
    measured = sum(
        parts[k].median
        for k in ("operating points", "statistics at t", "4 figures built", "4 figures to JSON")
    )
    print(
        f"Threshold slider ({slide.model}), the page's parts measured apart (medians, ms): "
        + ", ".join(f"{k} {v.median:.1f}" for k, v in parts.items() if k != "table build + at()")
        + f"; the rest of the rerun ({slide.app.median - measured:.0f} ms) is Streamlit's script "
        "run: widgets, metrics, markdown and the marshalling of the elements. AppTest times the "
        "script only: a server then runs gc.collect(2) (runner.postScriptGC, on by default), "
        f"{slide.gc.median:.0f} ms on this process's heap, before it can start the next run."
    )
    if browser is not None and browser.slider:
        sl = browser.slider
        print(
            f"Threshold slider in Chromium ({sl['total'].runs} moves by PageUp/PageDown; medians, "
            f"ms from the key press): script run started {sl['script run started'].median:.0f} "
            f"and finished {sl['script run finished'].median:.0f}, new counts shown "
            f"{sl['total'].median:.0f}; CPU time per move until idle (10 ms ticks): server "
            f"{sl['server CPU'].median:.0f} ms (script run, gc.collect, websocket), Chromium "
            f"{sl['browser CPU'].median:.0f} ms."
        )
    if browser is not None and browser.steps:
        print(
            "Server VmRSS after each step of the walk (MB): "
            + ", ".join(f"{step} {rss:.0f}" for step, rss, _ in browser.steps)
            + f"; peak (VmHWM) {browser.steps[-1][2]:.0f}. MB = 2^20 bytes."
        )
    if browser is not None and browser.marks:
        cached = browser.marks[1:] or browser.marks
        names = list(cached[0])
        print(
            f"Cold start split (median of {len(cached)} start(s), s from Popen): "
            + ", ".join(f"{n} {statistics.median(m[n] for m in cached):.2f}" for n in names)
            + "."
        )
    if home is not None:
        print(
            "Server side of the first page, without a browser (AppTest in a fresh interpreter, "
            "after the cold starts; s): " + ", ".join(f"{k} {v:.2f}" for k, v in home.items()) + "."
        )
    if browser is not None and browser.render_s:
        print(
            "Cold start: `python -m streamlit run streamlit_app.py --server.headless true` "
            "(the repository's .streamlit/config.toml) timed from Popen; the Home page counts "
            "as rendered when its title and zoo table are in Chromium's DOM (a new browser "
            "context each start: no browser cache). The 1st start follows the zoo build, so the "
            "OS file cache is as this machine left it, not dropped; PYTHONDONTWRITEBYTECODE="
            f"{os.environ.get('PYTHONDONTWRITEBYTECODE', 'unset')}."
        )
    print(f"Machine: {machine()}.")
    print(
        "Other processes' share of the CPU time per phase (from /proc/stat, this process and "
        "its children, the server and Chromium, excluded): "
        + "; ".join(
            f"{p.name} {load_text(p.others)} ({p.seconds:.0f} s"
            + (f"; busiest: {p.busiest}" if p.busiest else "")
            + ")"
            for p in phases.done
        )
        + (
            f". † phase disturbed (> {DISTURBED:.0%}): rerun on a quiet machine."
            if disturbed
            else "."
        )
    )
    print(
        f"Whole run: {time.perf_counter() - started:.0f} s; other processes used "
        f"{load_text(phases.overall())} of the machine's CPU time over the phases."
    )


if __name__ == "__main__":
    main()
