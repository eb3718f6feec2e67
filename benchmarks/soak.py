"""Soak: many consecutive analyses in one process; memory, caches and open files stay flat.

Run ``python -m benchmarks.soak [--analyses 500] [--ort-runs 2000] [--models-dir DIR]``
from the repository root. It prints two Markdown tables and exits with status 1 when a
budget is broken.

1. ONNX Runtime alone, in a fresh child process: one ``InferenceSession`` of the largest
   model run ``--ort-runs`` times after a warm-up, VmRSS before and after, for the session
   as the app builds it (``zoo.runtime.session``) with one input shape, the same with batch
   sizes 1–8 in turn (a new input shape each run), and with the CPU memory arena and memory
   patterns off (the usual workaround for per-run growth reported against ONNX Runtime).
2. The app: ``streamlit.testing.v1.AppTest`` runs the router and the Analyze page and
   uploads a new scan for every analysis (sample JPEGs with a comment naming the analysis,
   and every fifth one the sample DICOM with a new ImageComments, so each has a new SHA-256
   and nothing is served from a cache), the models taken in turn. After the warm-up and
   then at intervals of whole cycles (models × scan kinds, so every sample is taken with
   the caches holding the same mix of scans): VmRSS as it is, and again after
   ``gc.collect()`` and glibc's ``malloc_trim(0)`` (freed heap the allocator kept is
   handed back; what remains is memory in use), ONNX Runtime sessions cached, the entries
   of every ``st.cache_data`` and ``st.cache_resource`` function, session-state keys and
   open file descriptors.

Budgets: growth of the trimmed RSS after warm-up ≤ 50 MB (the median of the last three
samples against the median of the first three: a leak raises every later sample, while
one sample can land on a transient peak), no cache over its ``max_entries`` and sessions
≤ ``MAX_CACHED_SESSIONS``, no more open descriptors at the end than after warm-up, and
ONNX Runtime growth ≤ 1 kB per run over the second half of the runs (growth in the first
half can be the arena reaching its size for the shapes seen) as the app builds sessions.
The untrimmed RSS is printed beside it: it swings by a few hundred MB with what glibc keeps
cached, which is noise for a leak check but real memory for a 1 GB host.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gc
import io
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.tiny_zoo import zoo_or_tiny
from zoo.registry import ModelEntry, Registry
from zoo.runtime.memory import release_free_heap

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "zoo" / "samples"
GROWTH_BUDGET_MB = 50.0
ORT_BUDGET_KB_PER_RUN = 1.0
ORT_WARMUP = 200
WAIT_S = 120


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc")


def trimmed_rss_mb() -> float:
    """VmRSS after glibc hands freed heap back to the system (``malloc_trim(0)``; elsewhere
    the plain RSS is all there is)."""
    release_free_heap()
    return rss_mb()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


# -- ONNX Runtime alone (child process) ---------------------------------------------------

ORT_VARIANTS = {
    "as served, batch 1": "served",
    "as served, batch 1–8 in turn": "served-shapes",
    "arena and memory patterns off, batch 1–8": "no-arena-shapes",
}


def ort_growth(root: str, model_id: str, variant: str, runs: int) -> dict[str, float]:
    """In a fresh process: RSS before and after ``runs`` runs of one session (MB)."""
    import onnxruntime as ort

    from zoo.runtime.session import get_session, session_options

    entry = Registry(root).get(model_id)
    served = get_session(entry)
    if variant.startswith("no-arena"):
        options = session_options(fold_weights=entry.card.file.dequantize_weights_at_load)
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        session = ort.InferenceSession(
            entry.model_path.read_bytes(), sess_options=options, providers=served.providers
        )

        def run_batch(batch: np.ndarray) -> object:
            return session.run(None, {served.input_name: batch})

    else:
        run_batch = served.run  # as the app runs it: multi-image runs shrink the arena after

    prep = entry.card.preprocessing
    height, width = prep.input_size
    rng = np.random.default_rng(0)
    inputs = {
        b: rng.random((b, height, width, prep.channels), dtype=np.float32) for b in range(1, 9)
    }
    shapes = variant.endswith("shapes")

    def run(i: int) -> None:
        run_batch(inputs[1 + i % 8 if shapes else 1])

    for i in range(ORT_WARMUP):
        run(i)
    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    for i in range(runs // 2):
        run(i)
    gc.collect()
    half = rss_mb()  # growth after this point is what keeps going; before it may plateau
    for i in range(runs // 2, runs):
        run(i)
    elapsed = time.perf_counter() - started
    gc.collect()
    return {"before": before, "half": half, "after": rss_mb(), "ms_per_run": elapsed * 1000 / runs}


def measure_ort(root: Path, entry: ModelEntry, runs: int) -> dict[str, dict[str, float]]:
    results = {}
    spawn = multiprocessing.get_context("spawn")
    for label, variant in ORT_VARIANTS.items():
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as pool:
            results[label] = pool.submit(ort_growth, str(root), entry.id, variant, runs).result()
    return results


# -- the app through AppTest ------------------------------------------------------------


def jpeg_with_comment(jpeg: bytes, text: str) -> bytes:
    """The same JPEG with a comment segment: same pixels, a new SHA-256."""
    data = text.encode()
    return jpeg[:2] + b"\xff\xfe" + (len(data) + 2).to_bytes(2, "big") + data + jpeg[2:]


def dicom_with_comment(dicom: bytes, text: str) -> bytes:
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(dicom))
    ds.ImageComments = text
    buffer = io.BytesIO()
    ds.save_as(buffer)
    return buffer.getvalue()


def scans() -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    """Sample JPEGs and DICOMs (zoo/samples), or one generated JPEG when there are none."""
    jpegs = [(p.name, p.read_bytes()) for p in sorted(SAMPLES.glob("*.jpg"))]
    dicoms = [(p.name, p.read_bytes()) for p in sorted(SAMPLES.glob("*.dcm"))]
    if not jpegs:
        from PIL import Image

        y, x = np.mgrid[0:256, 0:224]
        image = (120 + 80 * np.sin(x / 20) * np.cos(y / 30)).clip(0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG")
        jpegs = [("generated.jpg", buffer.getvalue())]
    return jpegs, dicoms


def streamlit_caches() -> dict[str, tuple[int, float]]:
    """Entries and max_entries of every st.cache_data / st.cache_resource function."""
    from streamlit.runtime.caching import cache_data_api, cache_resource_api

    found: dict[str, tuple[int, float]] = {}
    for kind, caches in (
        ("data", cache_data_api._data_caches),
        ("resource", cache_resource_api._resource_caches),
    ):
        for scoped in list(caches._function_caches.values()):
            for cache in list(scoped.values()):
                store = getattr(cache, "_mem_cache", None)
                if store is None:  # st.cache_data keeps its entries in its storage
                    store = getattr(cache.storage, "_mem_cache", {})
                name = f"{kind}: {cache.display_name.rsplit('.', 1)[-1]}"
                limit = getattr(cache, "max_entries", None) or getattr(store, "maxsize", None)
                found[name] = (len(store), float(limit or "inf"))
    return found


@dataclass
class Sample:
    analyses: int
    rss: float  # after gc.collect() and malloc_trim(0)
    raw_rss: float  # as the system saw it before
    sessions: int
    caches: dict[str, tuple[int, float]]
    state_keys: int
    fds: int


def sample(at: Any, analyses: int) -> Sample:
    from zoo.runtime.session import cached_session_count

    raw = rss_mb()
    gc.collect()
    return Sample(
        analyses,
        trimmed_rss_mb(),
        raw,
        cached_session_count(),
        streamlit_caches(),
        state_keys(at),
        open_fds(),
    )


def state_keys(at: Any) -> int:
    """Keys in the session's state, widgets included (AppTest internals; -1 if they moved)."""
    try:
        return len(at._session_state._state)
    except (AttributeError, TypeError):
        return -1


def checked(at: Any) -> Any:
    if at.exception:
        raise RuntimeError(f"the app raised: {[e.value for e in at.exception]}")
    return at


def soak_app(entries: list[ModelEntry], analyses: int, warmup: int) -> list[Sample]:
    from streamlit.testing.v1 import AppTest

    jpegs, dicoms = scans()
    at = checked(AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=WAIT_S).run())
    checked(at.switch_page("pages/analyze.py").run())
    # sample after whole cycles of (model, scan kind), so the caches hold the same mix
    cycle = math.lcm(len(entries), 5) if dicoms else len(entries)
    every = max(cycle, (analyses - warmup) // 8 // cycle * cycle)
    samples = []
    for i in range(analyses):
        entry = entries[i % len(entries)]
        text = f"medzoo soak analysis {i}"
        if dicoms and i % 5 == 4:
            name, data = dicoms[i % len(dicoms)]
            data = dicom_with_comment(data, text)
        else:
            name, data = jpegs[i % len(jpegs)]
            data = jpeg_with_comment(data, text)
        at.file_uploader(key="analyze_upload").set_value((name, data, "application/octet-stream"))
        checked(at.run())
        picker = at.selectbox(key="analyze_model")
        if f"({entry.id}," not in str(picker.value and picker.format_func(picker.value)):
            index = next(k for k, o in enumerate(picker.options) if f"({entry.id}," in o)
            checked(picker.select_index(index).run())
        shown = "\n".join(str(m.value) for m in at.markdown)
        if f"{entry.card.name} v{entry.card.version}" not in shown or at.error:
            raise RuntimeError(f"analysis {i}: no report of {entry.id} ({at.error})")
        done = i + 1
        if done == warmup or (done > warmup and ((done - warmup) % every == 0)):
            samples.append(sample(at, done))
            print(
                f"  {done} analyses: {samples[-1].raw_rss:.0f} MB, trimmed "
                f"{samples[-1].rss:.0f} MB",
                file=sys.stderr,
            )
    if samples[-1].analyses != analyses:
        samples.append(sample(at, analyses))
    return samples


# -- report -----------------------------------------------------------------------------


def ort_table(results: dict[str, dict[str, float]], runs: int, model: str) -> list[str]:
    import onnxruntime as ort

    lines = [
        f"**ONNX Runtime {ort.__version__} alone**: {model}, {runs} runs after {ORT_WARMUP} "
        "warm-up runs, in a fresh process",
        "",
        "| session | RSS before (MB) | after half (MB) | after all (MB) | growth (MB) "
        "| 2nd half per run (kB) | ms/run |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, r in results.items():
        lines.append(
            f"| {label} | {r['before']:.1f} | {r['half']:.1f} | {r['after']:.1f} | "
            f"{r['after'] - r['before']:+.1f} | {per_run_kb(r, runs):+.2f} | "
            f"{r['ms_per_run']:.2f} |"
        )
    return lines


def per_run_kb(result: dict[str, float], runs: int) -> float:
    """RSS growth per run over the second half of the runs (kB): a leak, not a plateau."""
    return (result["after"] - result["half"]) * 1024 / (runs - runs // 2)


def app_table(samples: list[Sample]) -> list[str]:
    names = sorted({n for s in samples for n in s.caches})
    head = [
        "analyses",
        "RSS (MB)",
        "RSS trimmed (MB)",
        "ORT sessions",
        *names,
        "state keys",
        "open fds",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in samples:
        cells = [str(s.analyses), f"{s.raw_rss:.1f}", f"{s.rss:.1f}", str(s.sessions)]
        cells += [f"{s.caches[n][0]}/{s.caches[n][1]:g}" if n in s.caches else "–" for n in names]
        cells += [str(s.state_keys), str(s.fds)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def budgets(samples: list[Sample], ort_results: dict[str, dict[str, float]], runs: int) -> list:
    from zoo.runtime.session import MAX_CACHED_SESSIONS

    warm, end = samples[0], samples[-1]
    first = statistics.median(s.rss for s in samples[:3])
    last = statistics.median(s.rss for s in samples[-3:])
    served = max(per_run_kb(r, runs) for k, r in ort_results.items() if k.startswith("as served"))
    over = [(name, n, limit) for s in samples for name, (n, limit) in s.caches.items() if n > limit]
    return [
        (
            "RSS growth after warm-up (trimmed; median of last 3 − median of first 3)",
            f"{last - first:+.1f} MB",
            f"≤ {GROWTH_BUDGET_MB:.0f} MB",
            last - first <= GROWTH_BUDGET_MB,
        ),
        (
            "untrimmed RSS, lowest to highest sample (reported, no budget)",
            f"{min(s.raw_rss for s in samples):.0f}–{max(s.raw_rss for s in samples):.0f} MB",
            "—",
            True,
        ),
        (
            "Streamlit caches within max_entries",
            "yes" if not over else f"no: {over[0]}",
            "all",
            not over,
        ),
        (
            "ONNX Runtime sessions cached",
            str(max(s.sessions for s in samples)),
            f"≤ {MAX_CACHED_SESSIONS}",
            max(s.sessions for s in samples) <= MAX_CACHED_SESSIONS,
        ),
        ("open file descriptors", f"{warm.fds} → {end.fds}", "no growth", end.fds <= warm.fds),
        (
            "ONNX Runtime growth per run as served (2nd half, worst)",
            f"{served:+.2f} kB",
            f"≤ {ORT_BUDGET_KB_PER_RUN:g} kB",
            served <= ORT_BUDGET_KB_PER_RUN,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--analyses", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=None, help="default: min(50, analyses/4)")
    parser.add_argument("--ort-runs", type=int, default=2000)
    parser.add_argument("--models-dir", type=Path, default=None)
    args = parser.parse_args()
    warmup = args.warmup if args.warmup is not None else min(50, max(1, args.analyses // 4))
    if not 0 < warmup < args.analyses:
        parser.error("--warmup must be between 1 and --analyses - 1")

    with tempfile.TemporaryDirectory(prefix="medzoo-soak-") as scratch:
        root, note = zoo_or_tiny(args.models_dir, Path(scratch))
        os.environ["MEDZOO_MODELS_DIR"] = str(root)
        os.environ["MEDZOO_SAMPLES_DIR"] = str(Path(scratch) / "no-samples")  # upload only
        entries = Registry(root).entries()
        largest = max(entries, key=lambda e: e.model_path.stat().st_size)
        print(f"ONNX Runtime alone: {largest.id}, {args.ort_runs} runs x 3…", file=sys.stderr)
        ort_results = measure_ort(root, largest, args.ort_runs)
        print(f"App: {args.analyses} analyses…", file=sys.stderr)
        started = time.perf_counter()
        samples = soak_app(entries, args.analyses, warmup)
        elapsed = time.perf_counter() - started

    checks = budgets(samples, ort_results, args.ort_runs)
    print(
        f"**Soak**: {args.analyses} analyses on the Analyze page (AppTest, one process, "
        f"{elapsed:.0f} s, {elapsed * 1000 / args.analyses:.0f} ms per analysis); {note}."
    )
    print(f"The first row is after the {warmup}-analysis warm-up; cache cells: entries/max.")
    print()
    print("\n".join(app_table(samples)))
    print()
    print("\n".join(ort_table(ort_results, args.ort_runs, largest.id)))
    print()
    print("| budget | measured | target | ok |")
    print("|---|---|---|---|")
    for name, value, target, good in checks:
        print(f"| {name} | {value} | {target} | {'yes' if good else '**no**'} |")
    sys.exit(0 if all(c[3] for c in checks) else 1)


if __name__ == "__main__":
    main()
