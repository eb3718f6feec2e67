"""Group-disjoint, stratified, seeded splits; k-fold; saving and reloading a split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from training.data import (
    DataError,
    LabelledSet,
    Split,
    group_kfold,
    group_split,
    load_split,
    save_split,
)


def synthetic(labels, groups, root: Path = Path("/data")) -> LabelledSet:
    return LabelledSet(
        paths=[root / f"img{i:05d}.png" for i in range(len(labels))],
        labels=[str(x) for x in labels],
        groups=[f"g{g}" for g in groups],
        root=root,
    )


def big_set(seed: int = 0) -> LabelledSet:
    """2000 items of 3 imbalanced classes in ~900 patient groups of 1-6 images."""
    rng = np.random.default_rng(seed)
    labels, groups = [], []
    for g in range(900):
        size = int(rng.integers(1, 7)) if rng.random() < 0.4 else 1
        cls = rng.choice(["normal", "pneumonia", "tb"], p=[0.7, 0.22, 0.08])
        for _ in range(size):
            # most patients keep one class; some change
            labels.append(cls if rng.random() < 0.9 else "normal")
            groups.append(g)
    return synthetic(labels, groups)


def sides_of(split: Split, n: int) -> np.ndarray:
    return split.assignment(n)


def assert_group_disjoint(data: LabelledSet, idx_a, idx_b):
    groups = np.asarray(data.groups, dtype=object)
    assert not set(groups[idx_a]) & set(groups[idx_b])


def test_split_is_group_disjoint_stratified_and_seeded():
    data = big_set()
    split = group_split(data, validation_fraction=0.2, test_fraction=0.1, seed=3)
    n = len(data)
    assert sorted(np.concatenate([split.train, split.validation, split.test]).tolist()) == list(
        range(n)
    )
    for a, b in (("train", "validation"), ("train", "test"), ("validation", "test")):
        assert_group_disjoint(data, split[a], split[b])
    overall = np.bincount(data.label_indices(), minlength=3) / n
    for name, idx, want in (
        ("train", split.train, 0.7),
        ("validation", split.validation, 0.2),
        ("test", split.test, 0.1),
    ):
        assert abs(len(idx) / n - want) < 0.02, name
        share = np.bincount(data.label_indices()[idx], minlength=3) / len(idx)
        np.testing.assert_allclose(share, overall, atol=0.02, err_msg=name)
    again = group_split(data, validation_fraction=0.2, test_fraction=0.1, seed=3)
    assert np.array_equal(again.validation, split.validation)
    other = group_split(data, validation_fraction=0.2, test_fraction=0.1, seed=4)
    assert not np.array_equal(other.validation, split.validation)


def test_split_does_not_push_big_groups_into_train():
    data = big_set(1)
    groups = np.asarray(data.groups, dtype=object)
    split = group_split(data, validation_fraction=0.25, seed=0)
    mean_size = {}
    for name in ("train", "validation"):
        _, sizes = np.unique(groups[split[name]], return_counts=True)
        mean_size[name] = sizes.mean()
    assert mean_size["validation"] == pytest.approx(mean_size["train"], rel=0.25)


def test_rare_class_reaches_validation():
    labels = ["normal"] * 190 + ["mass"] * 10
    data = synthetic(labels, range(200))
    split = group_split(data, validation_fraction=0.2, seed=0)
    assert data.subset(split.validation).counts()["mass"] == 2


def test_split_errors():
    data = synthetic(["a", "b"], [0, 0])
    with pytest.raises(DataError, match="cannot split 1 group"):
        group_split(data)
    with pytest.raises(DataError, match="validation_fraction must lie in"):
        group_split(data, validation_fraction=1.5)
    with pytest.raises(DataError, match="must be below 1"):
        group_split(data, validation_fraction=0.6, test_fraction=0.5)
    with pytest.raises(DataError, match="empty"):
        group_split(synthetic([], []))
    with pytest.raises(DataError, match="k must be an integer of at least 2"):
        group_kfold(data, 1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(0, 12), st.sampled_from("abc")), min_size=1, max_size=60),
    st.floats(0.0, 0.6),
    st.floats(0.0, 0.35),
    st.integers(0, 2**32 - 1),
)
def test_property_no_group_straddles_and_every_item_once(items, val, test, seed):
    data = synthetic([label for _, label in items], [g for g, _ in items])
    n_groups = data.group_count()
    wanted = 1 + (val > 0) + (test > 0)
    if n_groups < wanted:
        with pytest.raises(DataError, match="cannot split"):
            group_split(data, validation_fraction=val, test_fraction=test, seed=seed)
        return
    split = group_split(data, validation_fraction=val, test_fraction=test, seed=seed)
    everything = np.concatenate([split.train, split.validation, split.test])
    assert sorted(everything.tolist()) == list(range(len(data)))  # each item exactly once
    side_of_group: dict[str, str] = {}
    for i, side in enumerate(split.assignment(len(data))):
        assert side_of_group.setdefault(data.groups[i], side) == side  # no group straddles
    assert len(split.train) > 0
    assert (len(split.validation) > 0) == (val > 0)
    assert (len(split.test) > 0) == (test > 0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 20), st.sampled_from("ab")), min_size=1, max_size=60),
    st.integers(2, 6),
    st.integers(0, 1000),
)
def test_property_kfold_validates_each_group_once(items, k, seed):
    data = synthetic([label for _, label in items], [g for g, _ in items])
    if data.group_count() < k:
        with pytest.raises(DataError, match="cannot split"):
            group_kfold(data, k, seed)
        return
    folds = group_kfold(data, k, seed)
    assert len(folds) == k
    seen = np.concatenate([val for _, val in folds])
    assert sorted(seen.tolist()) == list(range(len(data)))
    for train, val in folds:
        assert len(val) > 0
        assert sorted(np.concatenate([train, val]).tolist()) == list(range(len(data)))
        assert_group_disjoint(data, train, val)


def test_kfold_is_stratified():
    data = big_set(2)
    overall = np.bincount(data.label_indices(), minlength=3) / len(data)
    folds = group_kfold(data, k=5, seed=0)
    for _, val in folds:
        share = np.bincount(data.label_indices()[val], minlength=3) / len(val)
        np.testing.assert_allclose(share, overall, atol=0.02)
        assert abs(len(val) - len(data) / 5) < 0.03 * len(data)


def test_save_and_load_split_round_trip(tmp_path: Path):
    data = big_set()
    split = group_split(data, validation_fraction=0.2, test_fraction=0.1, seed=1)
    path = save_split(split, data, tmp_path / "splits" / "split.csv")
    header = path.read_text().splitlines()[0]
    assert header == "item,group,label,split"
    assert "/data" not in path.read_text()  # items are relative to the data set root
    moved = synthetic(data.labels, [int(g[1:]) for g in data.groups], root=Path("/elsewhere"))
    loaded = load_split(path, moved)
    for name, idx in split.sides():
        assert np.array_equal(loaded[name], idx), name
    summary = split.summary(data)
    assert summary["sides"]["validation"]["items"] == len(split.validation)


def test_load_split_errors(tmp_path: Path):
    data = synthetic(["a", "b", "a", "b"], [0, 1, 2, 3])
    split = group_split(data, validation_fraction=0.5, seed=0)
    path = save_split(split, data, tmp_path / "split.csv")
    with pytest.raises(DataError, match=r"1 item\(s\) .* not in the data set: 'img00003.png'"):
        load_split(path, data.subset([0, 1, 2]))
    relabelled = synthetic(["a", "b", "a", "a"], [0, 1, 2, 3])
    with pytest.raises(DataError, match=r"now carry another label: 'img00003.png'"):
        load_split(path, relabelled)
    with pytest.raises(DataError, match="does not exist"):
        load_split(tmp_path / "nope.csv", data)
    (tmp_path / "bad.csv").write_text("file,split\n")
    with pytest.raises(DataError, match=r"no column\(s\) 'item', 'label'"):
        load_split(tmp_path / "bad.csv", data)
