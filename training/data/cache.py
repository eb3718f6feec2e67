"""Decode and preprocess a data set once, then reuse the arrays from a disk cache.

Scans are decoded with :func:`zoo.imaging.load_scan` and turned into model inputs with
:func:`zoo.preprocess.preprocess`, the same code the app serves with. The result for
one data set and one recipe is stored exactly (float32, compressed ``.npz``) under a key
that hashes every file's bytes (SHA-1), the items' order, the recipe (JSON with sorted
keys) and the decode options, so editing a file or the recipe computes a new entry.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from training.data.dataset import LabelledSet
from training.data.errors import DataError, listing

CACHE_VERSION = 1
_CHUNK = 1 << 20


def file_sha1(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _recipe_dict(recipe: Any) -> dict[str, Any]:
    from zoo.preprocess import Recipe

    if not isinstance(recipe, Recipe):
        recipe = Recipe.from_dict(recipe)
    return recipe.to_dict()


def cache_key(
    labelled: LabelledSet | Sequence[str | os.PathLike[str]],
    recipe: Any,
    *,
    window: Any = None,
    frame: int | None = None,
) -> str:
    """The hex key of a data set's arrays: file contents, their order, recipe, decode options."""
    paths = labelled.paths if isinstance(labelled, LabelledSet) else [Path(p) for p in labelled]
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise DataError(f"{len(missing)} image file(s) do not exist: {listing(missing)}")
    digest = hashlib.sha1()
    header = {
        "version": CACHE_VERSION,
        "recipe": _recipe_dict(recipe),
        "window": None if window is None else repr(window),
        "frame": frame,
    }
    digest.update(json.dumps(header, sort_keys=True, default=repr).encode())
    for path in paths:
        digest.update(file_sha1(path).encode())
    return digest.hexdigest()


def preprocess_file(
    path: str | os.PathLike[str],
    recipe: Any,
    *,
    window: Any = None,
    frame: int | None = None,
) -> np.ndarray:
    """One file's model input, without the batch axis: ``preprocess(load_scan(path)).input[0]``."""
    from zoo import errors, imaging, preprocess

    kwargs: dict[str, Any] = {}
    if window is not None:
        kwargs["window"] = window
    try:
        scan = imaging.load_scan(Path(path), frame=frame, **kwargs)
    except errors.ScanError as exc:
        raise DataError(f"{str(path)!r}: {exc}") from exc
    return preprocess.preprocess(scan, recipe).input[0]


def _decode_chunk(
    paths: Sequence[str], recipe: Mapping[str, Any], window: Any, frame: int | None
) -> list[np.ndarray | str]:
    """Worker: arrays, or an error message in place of each file that failed."""
    out: list[np.ndarray | str] = []
    for path in paths:
        try:
            out.append(preprocess_file(path, recipe, window=window, frame=frame))
        except DataError as exc:
            out.append(str(exc))
    return out


def _decode_all(
    paths: Sequence[Path], recipe: dict[str, Any], window: Any, frame: int | None, workers: int
) -> np.ndarray:
    names = [str(p) for p in paths]
    if workers <= 1 or len(names) < 2 * workers:
        results = _decode_chunk(names, recipe, window, frame)
    else:
        size = max(1, -(-len(names) // (workers * 4)))
        chunks = [names[i : i + size] for i in range(0, len(names), size)]
        # spawn, not fork: the parent may be running TensorFlow's threads
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            parts = pool.map(
                _decode_chunk,
                chunks,
                [recipe] * len(chunks),
                [window] * len(chunks),
                [frame] * len(chunks),
            )
            results = [item for part in parts for item in part]
    failures = [r for r in results if isinstance(r, str)]
    if failures:
        raise DataError(
            f"{len(failures)} of {len(names)} scans could not be read: {listing(failures, limit=3)}"
        )
    arrays: list[np.ndarray] = results  # type: ignore[assignment]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise DataError(f"preprocessed inputs differ in shape: {sorted(shapes)}")
    return np.stack(arrays).astype(np.float32, copy=False)


def _read_cache(path: Path, n_items: int) -> np.ndarray | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = data["inputs"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    if arrays.dtype != np.float32 or arrays.shape[:1] != (n_items,):
        return None
    return arrays


def _write_cache(path: Path, arrays: np.ndarray, key: str, recipe: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez_compressed(
                handle,
                inputs=arrays,
                key=np.array(key),
                recipe=np.array(json.dumps(recipe, sort_keys=True)),
            )
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cache_path(cache_dir: str | os.PathLike[str], key: str) -> Path:
    return Path(cache_dir) / f"inputs-{key[:32]}.npz"


def load_arrays(
    labelled: LabelledSet,
    recipe: Any,
    *,
    cache_dir: str | os.PathLike[str] | None,
    workers: int = 1,
    window: Any = None,
    frame: int | None = None,
) -> np.ndarray:
    """Model inputs of every item, shape (N, H, W, C) (or (N, C, H, W)), float32.

    Parameters
    ----------
    labelled : LabelledSet
        The items, in the order the rows come back.
    recipe : Recipe or mapping
        The model card's ``preprocessing`` recipe.
    cache_dir : path or None
        Where ``inputs-<key>.npz`` files live; None decodes every time.
    workers : int
        Processes that decode in parallel (1: in this process; ``0``: ``os.cpu_count()``).
    window, frame
        Passed to :func:`zoo.imaging.load_scan` for DICOM (VOI window preset, frame).

    A second call with the same files and recipe reads the cache and decodes nothing.
    Unreadable scans raise :class:`DataError` naming them.
    """
    if len(labelled) == 0:
        raise DataError("the set is empty: nothing to load")
    recipe_dict = _recipe_dict(recipe)
    if workers == 0:
        workers = os.cpu_count() or 1
    if cache_dir is None:
        return _decode_all(labelled.paths, recipe_dict, window, frame, workers)
    key = cache_key(labelled, recipe_dict, window=window, frame=frame)
    path = cache_path(cache_dir, key)
    if path.is_file():
        cached = _read_cache(path, len(labelled))
        if cached is not None:
            return cached
    arrays = _decode_all(labelled.paths, recipe_dict, window, frame, workers)
    _write_cache(path, arrays, key, recipe_dict)
    return arrays
