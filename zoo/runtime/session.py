"""ONNX Runtime sessions, verified against their cards and shared by every caller.

A session is created once per model file and reused by all Streamlit sessions and
threads (``InferenceSession.run`` is thread-safe). Before a file is loaded its
SHA-256 is compared with the card; the bytes hashed are the bytes loaded, so a file
swapped between the check and the load cannot slip through. Each lookup stats the
file: one removed or rewritten while the app runs is dropped from the cache and
verified afresh, so a corrupted model is refused while the others keep working.

Model runs take turns (:data:`MAX_CONCURRENT_RUNS`, ``$MEDZOO_MAX_CONCURRENT_RUNS``): each
run already uses every core, so running two at once only adds the second run's buffers to
memory. With eight users analysing at once on two cores, the server peaked at 856 MB
(Streamlit Cloud gives about 1 GB) with every run at once.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from zoo.card import ModelCard
from zoo.errors import CardError, ModelIntegrityError, ModelRuntimeError
from zoo.registry import ModelEntry
from zoo.runtime.memory import release_free_heap, rss_mb
from zoo.runtime.providers import available_cpus, select_providers

MAX_CACHED_SESSIONS = 8


def _env_number(name: str, default: float, *, least: float, kind: type = float) -> float:
    """``$name`` as a ``kind`` of at least ``least``; ``default`` when unset or not a number."""
    try:
        return max(kind(least), kind(os.environ.get(name, default)))
    except ValueError:
        return kind(default)


#: Memory the cached sessions may hold together (``$MEDZOO_SESSION_BUDGET_MB``): before a
#: load and past it the least recently used are dropped (the one just used always stays).
#: Streamlit Cloud gives ~1 GB; the six shipped sessions hold ~160 MB together, the server
#: ~250 MB without them.
SESSION_BUDGET_MB = _env_number("MEDZOO_SESSION_BUDGET_MB", 400, least=0)

#: Fold int8 weights to float32 at load (``$MEDZOO_FOLD_INT8_WEIGHTS=1``) for files whose card
#: allows it. Off by default: InceptionV3's folded kernels take 171 MB resident and ~310 MB
#: while loading, against 62 / 110 MB dequantized per run, which costs ~1.5x its run time.
FOLD_INT8_WEIGHTS = os.environ.get("MEDZOO_FOLD_INT8_WEIGHTS", "") == "1"


DEQUANTIZE_AT_LOAD_OPTION = "session.disable_quant_qdq"

#: Runs of more than one image hand the arena memory they grew back when they end, so
#: a batch (the eight test-time views, the Batch page) costs its buffers only while it
#: runs; single-image runs keep theirs for the next one.
_RELEASE_ARENA = ort.RunOptions()
_RELEASE_ARENA.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")


def session_options(*, fold_weights: bool = False) -> ort.SessionOptions:
    """The options of every zoo session (export and benchmarks build theirs here too).

    ``fold_weights`` for files with int8 weights and float arithmetic (cards whose file says
    ``dequantize_weights_at_load``).
    """
    options = ort.SessionOptions()
    # one thread per process where a scoring engine runs a process per core
    options.intra_op_num_threads = int(
        _env_number("MEDZOO_INTRA_OP_THREADS", available_cpus(), least=1, kind=int)
    )
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # ORT's warnings are not for end users
    if fold_weights:
        # constant folding then turns each int8 weight + DequantizeLinear into a float32
        # kernel once, instead of dequantizing ~40 M weights on every run
        options.add_session_config_entry(DEQUANTIZE_AT_LOAD_OPTION, "1")
        # prepacking would copy the folded kernels once more while loading: InceptionV3's
        # load peak drops ~70 MB without it, for ~3% of its speed (interleaved runs)
        options.add_session_config_entry("session.disable_prepacking", "1")
    return options


#: Model runs allowed at the same time in this process.
MAX_CONCURRENT_RUNS = _env_number("MEDZOO_MAX_CONCURRENT_RUNS", 1, least=1, kind=int)
_run_slots = threading.BoundedSemaphore(MAX_CONCURRENT_RUNS)


@dataclass
class ModelSession:
    card: ModelCard
    session: ort.InferenceSession
    input_name: str
    output_names: list[str]
    providers: list[str]
    #: What loading it added to the process (RSS growth, at least the file's size).
    resident_mb: float = 0.0

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Run one batch; returns every exported output by name."""
        options = _RELEASE_ARENA if np.ndim(batch) and len(batch) > 1 else None
        try:
            with _run_slots:
                values = self.session.run(self.output_names, {self.input_name: batch}, options)
        except Exception as exc:  # ORT raises its own exception types for shape/type errors
            raise ModelRuntimeError(f"model {self.card.id!r} failed to run: {exc}") from exc
        return dict(zip(self.output_names, values, strict=True))


_cache: OrderedDict[tuple, ModelSession] = OrderedDict()
#: What each model file took when last loaded, so the next load of it can make room first.
_expected_mb: dict[str, float] = {}
_lock = threading.Lock()
_load_lock = threading.Lock()


def get_session(entry: ModelEntry) -> ModelSession:
    """The cached, verified session of a registry entry (loaded on first use)."""
    key, where = _cache_key(entry)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    with _load_lock:  # one load at a time: concurrent first users share one session
        with _lock:
            if key in _cache:
                return _cache[key]
        with _lock:
            _drop(where)
            # make room first: the load's own peak then lands on memory already freed
            _evict(reserve_mb=_expected_mb.get(where, entry.card.file.bytes / 2**20))
        release_free_heap()
        before = rss_mb()
        session = _load(entry)
        release_free_heap()  # the parse and optimisation buffers, now garbage
        session.resident_mb = max(rss_mb() - before, entry.card.file.bytes / 2**20)
        _expected_mb[where] = session.resident_mb
        with _lock:
            _cache[key] = session
            _evict()
    return session


def _cache_key(entry: ModelEntry) -> tuple[tuple, str]:
    """(cache key, what the key's first part names): a file's path, size and mtime, so one
    rewritten while the app runs is verified afresh; an in-memory model's id and hash."""
    if entry.in_memory:  # ids are per browser session: two sessions may reuse one
        where = f"memory:{entry.id}:{entry.card.file.sha256}"
        return (where, entry.card.file.sha256, 0, entry.card.file.bytes), where
    path = entry.model_path
    try:
        stat = path.stat()
    except OSError as exc:
        with _lock:
            _drop(str(path))
        raise ModelIntegrityError(
            f"model {entry.id!r}: file {path.name} is missing ({exc.strerror}); "
            "reinstall the model or remove its folder"
        ) from exc
    return (str(path), entry.card.file.sha256, stat.st_mtime_ns, stat.st_size), str(path)


def _evict(*, reserve_mb: float = 0.0) -> None:
    """Drop least recently used sessions past the count and memory bounds, keeping
    ``reserve_mb`` free for a session about to load; the caller holds ``_lock``. The newest
    session stays unless room is being made for another."""
    keep = 0 if reserve_mb else 1
    while len(_cache) > keep and (
        len(_cache) + bool(reserve_mb) > MAX_CACHED_SESSIONS
        or cached_session_mb() + reserve_mb > SESSION_BUDGET_MB
    ):
        _cache.popitem(last=False)


def cached_session_mb() -> float:
    """What the cached sessions hold together, as measured when each was loaded."""
    return sum(session.resident_mb for session in list(_cache.values()))


def clear_sessions() -> None:
    with _lock:
        _cache.clear()


def cached_session_count() -> int:
    return len(_cache)


def _drop(where: str) -> None:
    """Forget every cached session of ``where`` (a path or an in-memory model); the caller
    holds ``_lock``."""
    for key in [k for k in _cache if k[0] == where]:
        del _cache[key]


def _load(entry: ModelEntry) -> ModelSession:
    card = entry.card
    try:
        data = entry.read(card.file.name)
    except CardError as exc:
        raise ModelIntegrityError(str(exc)) from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != card.file.sha256:
        raise ModelIntegrityError(
            f"model {card.id!r} refused: {card.file.name} has SHA-256 {digest[:12]}…, its card "
            f"says {card.file.sha256[:12]}…; the file is corrupt or was replaced"
        )
    options = session_options(
        fold_weights=card.file.dequantize_weights_at_load and FOLD_INT8_WEIGHTS
    )
    providers = select_providers()
    try:
        session = ort.InferenceSession(data, sess_options=options, providers=providers)
    except Exception as exc:  # ORT raises its own exception types for invalid graphs
        raise ModelIntegrityError(f"model {card.id!r}: ONNX Runtime cannot load it: {exc}") from exc
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ModelIntegrityError(f"model {card.id!r} must have one input, has {len(inputs)}")
    output_names = [o.name for o in session.get_outputs()]
    declared = [
        n for n in (card.outputs.probabilities, card.outputs.cam, card.outputs.embedding) if n
    ]
    missing = [n for n in declared if n not in output_names]
    if missing:
        raise ModelIntegrityError(
            f"model {card.id!r}: outputs {missing} named in its card are not in the graph "
            f"(it has {output_names})"
        )
    return ModelSession(
        card=card,
        session=session,
        input_name=inputs[0].name,
        output_names=output_names,
        providers=session.get_providers(),
    )
