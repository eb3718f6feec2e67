"""Decode and preprocess once: load_arrays and its cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from data_fixtures import write_dicom, write_image

import zoo.imaging
from training.data import DataError, cache_key, load_arrays, load_class_folders, preprocess_file
from zoo.imaging import load_scan
from zoo.preprocess import Recipe, preprocess

RECIPE = {"input_size": [16, 16], "channels": 3, "normalization": {"mean": [0.5], "std": [0.25]}}


@pytest.fixture
def counted(monkeypatch):
    """Count load_scan calls (the real one still runs)."""
    calls: list[str] = []

    def counting(source, *args, **kwargs):
        calls.append(str(source))
        return load_scan(source, *args, **kwargs)

    monkeypatch.setattr(zoo.imaging, "load_scan", counting)
    return calls


@pytest.fixture
def mixed(tmp_path: Path):
    root = tmp_path / "data"
    write_image(root / "normal" / "a.png", 40)
    write_image(root / "normal" / "b.jpg", 90)
    write_dicom(root / "pneumonia" / "IM0001", 500)  # no extension
    write_image(root / "pneumonia" / "c.png", 220, size=48)
    return load_class_folders(root)


def test_arrays_match_the_serving_path(mixed, tmp_path: Path):
    x = load_arrays(mixed, RECIPE, cache_dir=tmp_path / "cache")
    assert x.shape == (4, 16, 16, 3) and x.dtype == np.float32
    for row, path in zip(x, mixed.paths, strict=True):
        expected = preprocess(load_scan(path), Recipe.from_dict(RECIPE)).input[0]
        assert np.array_equal(row, expected)  # bit-exact, the cache stores float32


def test_second_call_reads_the_cache(mixed, tmp_path: Path, counted):
    cache = tmp_path / "cache"
    first = load_arrays(mixed, RECIPE, cache_dir=cache)
    assert len(counted) == 4
    second = load_arrays(mixed, Recipe.from_dict(RECIPE), cache_dir=cache)
    assert len(counted) == 4  # nothing decoded again
    assert np.array_equal(first, second)
    assert len(list(cache.glob("*.npz"))) == 1


def test_recipe_or_file_change_invalidates(mixed, tmp_path: Path, counted):
    cache = tmp_path / "cache"
    key = cache_key(mixed, RECIPE)
    load_arrays(mixed, RECIPE, cache_dir=cache)
    other = {**RECIPE, "aspect": "stretch"}
    assert cache_key(mixed, other) != key
    load_arrays(mixed, other, cache_dir=cache)
    assert len(counted) == 8
    write_image(mixed.paths[0], 41)  # same name, new content
    assert cache_key(mixed, RECIPE) != key
    x = load_arrays(mixed, RECIPE, cache_dir=cache)
    assert len(counted) == 12
    assert np.array_equal(x[0], preprocess_file(mixed.paths[0], RECIPE))
    assert cache_key(mixed.subset([1, 0]), RECIPE) != cache_key(mixed.subset([0, 1]), RECIPE)


def test_corrupt_cache_is_rebuilt(mixed, tmp_path: Path, counted):
    cache = tmp_path / "cache"
    load_arrays(mixed, RECIPE, cache_dir=cache)
    (entry,) = cache.glob("*.npz")
    entry.write_bytes(b"truncated")
    x = load_arrays(mixed, RECIPE, cache_dir=cache)
    assert len(counted) == 8 and x.shape[0] == 4


def test_no_cache_dir_decodes_every_time(mixed, counted):
    load_arrays(mixed.subset([0]), RECIPE, cache_dir=None)
    load_arrays(mixed.subset([0]), RECIPE, cache_dir=None)
    assert len(counted) == 2


def test_workers_give_the_same_arrays(mixed, tmp_path: Path):
    serial = load_arrays(mixed, RECIPE, cache_dir=None)
    parallel = load_arrays(mixed, RECIPE, cache_dir=None, workers=2)
    assert np.array_equal(serial, parallel)


def test_unreadable_scan_is_named(mixed, tmp_path: Path):
    bad = mixed.paths[1]
    bad.write_bytes(b"\xff\xd8\xff not really a jpeg")
    with pytest.raises(DataError, match=r"1 of 4 scans could not be read: .*b\.jpg"):
        load_arrays(mixed, RECIPE, cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*.npz"))
    bad.unlink()
    with pytest.raises(DataError, match=r"do not exist: .*b\.jpg"):
        load_arrays(mixed, RECIPE, cache_dir=tmp_path / "cache")
    with pytest.raises(DataError, match="empty"):
        load_arrays(mixed.subset([]), RECIPE, cache_dir=None)
