"""Where the scoring runs: this process (``local``), or Ray Data (``ray``) on a local or an
existing cluster.

Both take the same items, skip the (file, model) pairs the output holds, and write parts
through :mod:`zoo.scoring.results`. The Ray engine is Ray Data's own pipeline: the items
as a dataset, ``map_batches`` over an actor pool (one ONNX Runtime session per model per
actor, one thread each), its output streamed back as each batch is done and written as a
part by the local engine's writer (Ray's ``write_parquet`` tasks waited for a free CPU,
which the actors hold until the end: an interrupted run would have kept nothing). Actors
are restarted and their batches retried when a worker dies, so a lost worker loses no rows
and, since each scored batch arrives once, duplicates none. No scheduler, queue or pool is
written here.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.registry import Registry
from zoo.scoring.inputs import InputItem
from zoo.scoring.results import done_keys, drop_unreadable_parts, write_part
from zoo.scoring.rows import score_batch

#: Progress: (files done, files to do, images per second).
Progress = Callable[[int, int, float], None]


@dataclass(frozen=True)
class RunSummary:
    """What a run did: files scored now, files the output held already, seconds taken."""

    scored: int
    skipped: int
    seconds: float

    @property
    def images_per_second(self) -> float:
        return self.scored / self.seconds if self.seconds > 0 else 0.0


def pending(items: Sequence[InputItem], model_ids: Sequence[str], out: Path) -> list[InputItem]:
    """The items some model of ``model_ids`` has not scored yet in ``out`` (a part an
    interrupted run left unfinished is removed first: its files are scored again)."""
    drop_unreadable_parts(out)
    done = done_keys(out)
    return [item for item in items if any((item.path, m) not in done for m in model_ids)]


def _report(progress: Progress | None, done: int, total: int, began: float) -> None:
    """Tell ``progress`` how many files are done, and at what rate since ``began``."""
    if progress is not None:
        elapsed = time.perf_counter() - began
        progress(done, total, done / elapsed if elapsed else 0.0)


def score_local(
    items: Sequence[InputItem],
    model_ids: Sequence[str],
    out: Path,
    registry: Registry,
    *,
    batch_size: int = 64,
    embeddings: bool = False,
    progress: Progress | None = None,
) -> RunSummary:
    """Score in this process, one part per batch."""
    todo = pending(items, model_ids, out)
    done = done_keys(out)
    began = time.perf_counter()
    for start in range(0, len(todo), max(1, batch_size)):
        batch = todo[start : start + batch_size]
        rows = score_batch(batch, model_ids, registry, embeddings=embeddings)
        write_part(out, [r for r in rows if (r["path"], r["model"]) not in done])
        _report(progress, start + len(batch), len(todo), began)
    return RunSummary(len(todo), len(items) - len(todo), time.perf_counter() - began)


class ScoreActor:
    """A Ray Data actor: the models' sessions, loaded once, scoring one batch at a time."""

    def __init__(
        self,
        models_dir: str,
        model_ids: Sequence[str],
        embeddings: bool,
        done: set[tuple[str, str]],
        pid_dir: str | None = None,
    ) -> None:
        os.environ.setdefault("MEDZOO_INTRA_OP_THREADS", "1")
        self.registry = Registry(models_dir)
        self.model_ids = list(model_ids)
        self.embeddings = embeddings
        self.done = done
        if pid_dir:  # where tests find the actors' processes (to kill one)
            Path(pid_dir, f"{os.getpid()}.pid").write_text(str(os.getpid()))

    def __call__(self, batch: dict[str, Any]) -> Any:
        import pandas as pd

        frame = pd.DataFrame(batch)
        carried = [c for c in frame.columns if c != "path"]
        items = [
            InputItem(row["path"], {c: row[c] for c in carried})
            for row in frame.to_dict(orient="records")
        ]
        rows = score_batch(items, self.model_ids, self.registry, embeddings=self.embeddings)
        rows = [r for r in rows if (r["path"], r["model"]) not in self.done]
        from zoo.scoring.results import to_table

        return to_table(rows)


def score_ray(
    items: Sequence[InputItem],
    model_ids: Sequence[str],
    out: Path,
    registry: Registry,
    *,
    address: str | None = None,
    workers: int = 2,
    batch_size: int = 64,
    embeddings: bool = False,
    progress: Progress | None = None,
    pid_dir: str | None = None,
) -> RunSummary:
    """Score on Ray Data: a local cluster of ``workers`` CPUs, or the one at ``address``.

    The scored batches stream back to this process, which writes each as a part the moment
    it arrives (as the local engine does): an interrupted run keeps every batch it finished,
    and the progress line counts them."""
    import logging

    import ray

    todo = pending(items, model_ids, out)
    began = time.perf_counter()
    if not todo:
        return RunSummary(0, len(items), 0.0)
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(
            address=address,
            num_cpus=None if address else workers,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    # Ray Data reports every operator's progress at INFO and draws bars: the run's own line
    # says enough (both put back afterwards, for a process that uses Ray for more)
    context, logger = ray.data.DataContext.get_current(), logging.getLogger("ray.data")
    bars, level = context.enable_progress_bars, logger.level
    context.enable_progress_bars = False
    logger.setLevel(logging.WARNING)
    try:
        records = [{"path": item.path, **item.carried} for item in todo]
        # pairs done of the files still to do (a model added to a run): small, usually none
        done = done_keys(out)
        already = {(i.path, m) for i in todo for m in model_ids if (i.path, m) in done}
        dataset = ray.data.from_items(records, override_num_blocks=max(1, len(todo) // batch_size))
        scored = dataset.map_batches(
            ScoreActor,
            fn_constructor_kwargs={
                "models_dir": str(registry.root),
                "model_ids": list(model_ids),
                "embeddings": embeddings,
                "done": already,
                "pid_dir": pid_dir,
            },
            batch_size=batch_size,
            batch_format="pandas",
            # Ray Data restarts a dead actor and retries its batch by default (max_restarts
            # and max_task_retries -1): no row lost or doubled, as the tests check
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=1,
            num_gpus=gpus_per_actor(),
            runtime_env={"env_vars": {"MEDZOO_INTRA_OP_THREADS": "1"}},
        )
        files_done = 0
        batches = iter(scored.iter_batches(batch_size=None, batch_format="pyarrow"))
        try:
            for table in batches:
                if not table.num_rows:  # every pair of the batch was done already
                    continue
                write_part(out, table)
                files_done += len(set(table.column("path").to_pylist()))
                _report(progress, files_done, len(todo), began)
        finally:  # a stopped run stops its actors now, not when the iterator is collected
            close = getattr(batches, "close", None)
            if close is not None:
                close()
    finally:
        context.enable_progress_bars = bars
        logger.setLevel(level)
        if started_here:
            ray.shutdown()
    return RunSummary(len(todo), len(items) - len(todo), time.perf_counter() - began)


def gpus_per_actor() -> float:
    """One GPU per actor where the cluster has GPUs and ONNX Runtime here can use them
    (``onnxruntime-gpu``); none otherwise. Call with Ray initialised."""
    import ray

    from zoo.runtime.providers import select_providers

    has_gpus = ray.cluster_resources().get("GPU", 0) > 0
    return 1.0 if has_gpus and "CUDAExecutionProvider" in select_providers() else 0.0


def print_progress(done: int, total: int, rate: float) -> None:
    """A progress line on a terminal (rewritten in place); elsewhere only the last one."""
    if done < total and not sys.stderr.isatty():
        return
    end = "\n" if done >= total else ""
    print(f"\r  scored {done}/{total} files ({rate:.1f} images/s)", end=end, file=sys.stderr)
