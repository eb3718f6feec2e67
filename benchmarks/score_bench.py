"""Scoring an archive: the local engine against Ray Data with one and two workers.

Run ``python -m benchmarks.score_bench [--images 400] [--json docs/data/score_bench.json]``
with ``../shared/data`` beside the repository. NIH chest films (1024 x 1024 JPEG) through
``multiclass-cxr`` (a 224-px custom CNN), every engine on the same files into a fresh
output: the local engine with one ONNX Runtime thread (the Ray workers' setting) and with
all cores; Ray Data on a local cluster with one and with two actors, one thread each.
Every engine is timed from the call to the last part written (cluster start left out:
it is paid once per cluster, not per archive, and reported apart), and again from the
moment every worker has written a part to the last part: the rate once the workers are
up, which is what an archive of 10⁵ files sees. Memory per worker:
each actor's peak RSS, sampled every 0.2 s. From these, a projection for ChestX-ray14
(112,120 films). ``python -m benchmarks.docs`` tables the JSON in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.memory_walk import machine
from benchmarks.records import write_json
from zoo.registry import Registry
from zoo.scoring.engines import score_local, score_ray
from zoo.scoring.inputs import InputItem

ROOT = Path(__file__).resolve().parents[1]
CHEST = ROOT.parent / "shared" / "data" / "chest_xray"
MODEL = "multiclass-cxr"
CHESTXRAY14 = 112_120


def films(count: int) -> list[InputItem]:
    rows = list(csv.DictReader((CHEST / "labels.csv").open()))[:count]
    return [InputItem(str(CHEST / row["image"]), {"label": row["findings"]}) for row in rows]


class PeakRss:
    """The largest RSS of the actor processes whose pid files appear in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.peaks, self._stop = folder, {}, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.is_set():
            for pid_file in self.folder.glob("*.pid"):
                try:
                    status = Path(f"/proc/{pid_file.stem}/status").read_text()
                except OSError:
                    continue
                lines = [x for x in status.splitlines() if x.startswith("VmRSS")]
                if lines:  # a process that is ending has none
                    rss = int(lines[0].split()[1]) / 1024
                    self.peaks[pid_file.stem] = max(self.peaks.get(pid_file.stem, 0), rss)
            time.sleep(0.2)


class Clock:
    """The progress calls of one run, timed: when the first batch was written, and the rate
    once every worker has delivered a batch, to the last (what an archive of 10⁵ files sees
    once the workers are up; a worker's first batch, computed before that, is left out)."""

    def __init__(self, workers: int = 1) -> None:
        self.began, self.calls, self.workers = time.perf_counter(), [], workers

    def __call__(self, done: int, total: int, rate: float) -> None:
        self.calls.append((time.perf_counter(), done))

    def measures(self, files: int) -> dict:
        if not self.calls:
            raise ValueError("no batch was written: nothing to time")
        (first_at, _), (last_at, last) = self.calls[0], self.calls[-1]
        up_at, up = self.calls[min(self.workers, len(self.calls)) - 1]
        seconds = last_at - self.began
        steady = (last - up) / (last_at - up_at) if last_at > up_at else files / seconds
        return {"seconds": seconds, "images_per_s": files / seconds,
                "first_batch_s": first_at - self.began, "steady_per_s": steady}  # fmt: skip


def run(images: int, batch_size: int) -> dict:
    import ray

    items = films(images)
    for item in items:  # every engine reads from the page cache, the first one too
        Path(item.path).read_bytes()
    registry = Registry(ROOT / "zoo" / "models")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        for threads in ("1", str(os.cpu_count() or 1)):
            os.environ["MEDZOO_INTRA_OP_THREADS"] = threads
            import zoo.runtime.session as session

            session.clear_sessions()
            clock = Clock()
            score_local(items, [MODEL], scratch / f"local-{threads}", registry,
                        batch_size=batch_size, progress=clock)  # fmt: skip
            rows.append({"engine": f"local, {threads} thread(s)", "workers": 1,
                         **clock.measures(len(items)), "worker_mb": None,
                         "startup_s": 0.0})  # fmt: skip
        os.environ.pop("MEDZOO_INTRA_OP_THREADS", None)
        for workers in (1, 2):
            began = time.perf_counter()
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)  # fmt: skip
            startup = time.perf_counter() - began
            pids = scratch / f"pids-{workers}"
            pids.mkdir()
            with PeakRss(pids) as memory:
                clock = Clock(workers)
                score_ray(items, [MODEL], scratch / f"ray-{workers}", registry,
                          workers=workers, batch_size=batch_size, progress=clock,
                          pid_dir=str(pids))  # fmt: skip
            ray.shutdown()
            rows.append({"engine": f"Ray Data, {workers} actor(s)", "workers": workers,
                         **clock.measures(len(items)),
                         "worker_mb": max(memory.peaks.values(), default=None),
                         "startup_s": startup})  # fmt: skip
    return {"machine": machine(), "images": len(items), "model": MODEL,
            "batch_size": batch_size, "rows": rows}  # fmt: skip


def tables(payload: dict) -> list[str]:
    rows = {row["engine"]: row for row in payload["rows"]}
    one = next(r for r in payload["rows"] if r["engine"].startswith("Ray") and r["workers"] == 1)
    two = next(r for r in payload["rows"] if r["engine"].startswith("Ray") and r["workers"] == 2)
    local = rows["local, 1 thread(s)"]
    lines = [
        "| engine | images/s, whole run | seconds | first batch written after (s) "
        "| images/s once every worker is up | cluster start (s) | peak RSS per worker (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in payload["rows"]:
        memory = "—" if row["worker_mb"] is None else f"{row['worker_mb']:.0f}"
        lines.append(
            f"| {row['engine']} | {row['images_per_s']:.1f} | {row['seconds']:.1f} "
            f"| {row['first_batch_s']:.1f} | {row['steady_per_s']:.1f} "
            f"| {row['startup_s']:.1f} | {memory} |"
        )
    speedup = two["steady_per_s"] / one["steady_per_s"]
    whole_speedup = two["images_per_s"] / one["images_per_s"]
    overhead = local["steady_per_s"] / one["steady_per_s"] - 1
    whole_overhead = local["images_per_s"] / one["images_per_s"] - 1
    rate = two["steady_per_s"] / 2  # per core, one thread each
    start = two["first_batch_s"] + two["startup_s"]
    lines += [
        "",
        "Targets are judged on the rate once every worker has written a batch (what an "
        "archive of 10⁵ files sees); the whole-run figures, which carry the workers' start "
        f"(about {one['first_batch_s']:.0f} s before the first batch is written), are beside them.",
        "",
        "| measure | once every worker is up | whole run | target |",
        "|---|---:|---:|---|",
        f"| Ray, 2 actors / 1 actor | {speedup:.2f}x (efficiency {speedup / 2:.0%}) "
        f"| {whole_speedup:.2f}x | ≥ 1.7x: {'met' if speedup >= 1.7 else 'missed'} |",
        f"| Ray, 1 actor: time per image over the local engine (1 thread) | {overhead:+.0%} "
        f"| {whole_overhead:+.0%} | ≤ 15%: {'met' if overhead <= 0.15 else 'missed'} |",
        "",
        f"Projection for ChestX-ray14 ({CHESTXRAY14:,} films), assuming throughput grows with "
        f"cores at the two-actor rate measured here ({rate:.1f} images/s per core), "
        f"{start:.0f} s to start the cluster and its workers, and files read as fast as here "
        "(local disk, page cache; object storage adds its own latency):",
        "",
        "| cluster | cores | hours |",
        "|---|---:|---:|",
    ]
    for nodes, cores in ((1, 2), (4, 16), (16, 64)):
        hours = (start + CHESTXRAY14 / (rate * cores)) / 3600
        lines.append(f"| {nodes} node(s) of {cores // nodes} cores | {cores} | {hours:.2f} |")
    lines.append(
        "| GPUs | — | not measured here (no GPU); with `onnxruntime-gpu` the actors would "
        "ask Ray for one GPU each, and decoding the JPEGs on the CPU would then bound it |"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()
    payload = run(args.images, args.batch_size)
    print("\n".join(tables(payload)))
    if args.json:
        write_json(args.json, payload)


if __name__ == "__main__":
    main()
