"""Group-disjoint, class-stratified, seeded splits, and saving them for later evaluation.

Whole groups (patients, blocks of neighbouring slices, near-duplicate clusters) are
assigned to one side, so no group ever straddles train and validation. Groups are
visited in a seeded random order and each goes to the side that is least full, relative
to its target, in the classes the group holds (ties drawn in proportion to the side
fractions). Every class, rare ones included, thus fills each side at about the same rate,
and a group's size does not bias where it goes (sorting groups largest first balances
counts a little better but leaves multi-image patients all in train).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from training.data.dataset import LabelledSet
from training.data.errors import DataError, listing

SIDES = ("train", "validation", "test")


@dataclass(frozen=True)
class Split:
    """Item indices (sorted int64 arrays) of each side of a split of one :class:`LabelledSet`."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    seed: int | None = None

    def sides(self) -> Iterator[tuple[str, np.ndarray]]:
        """``("train", idx), ("validation", idx), ("test", idx)``."""
        yield from (("train", self.train), ("validation", self.validation), ("test", self.test))

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in SIDES:
            raise KeyError(name)
        return getattr(self, name)

    def sizes(self) -> dict[str, int]:
        return {name: len(idx) for name, idx in self.sides()}

    def assignment(self, n: int) -> np.ndarray:
        """Side name of each of ``n`` items (``""`` for an item on no side)."""
        out = np.full(n, "", dtype=object)
        for name, idx in self.sides():
            out[idx] = name
        return out

    def summary(self, labelled: LabelledSet) -> dict[str, object]:
        """For a model card: method, seed, and items / groups / per-class counts per side."""
        groups = np.asarray(labelled.groups, dtype=object)
        sides = {}
        for name, idx in self.sides():
            if len(idx) == 0:
                continue
            part = labelled.subset(idx)
            sides[name] = {
                "items": len(idx),
                "groups": len(set(groups[idx])),
                "counts": part.counts(),
            }
        return {"method": "group-disjoint stratified", "seed": self.seed, "sides": sides}


def _group_table(labelled: LabelledSet) -> tuple[np.ndarray, np.ndarray]:
    """(group index of each item, (G, K) class counts per group)."""
    if len(labelled) == 0:
        raise DataError("cannot split an empty set")
    _, item_group = np.unique(np.asarray(labelled.groups, dtype=object), return_inverse=True)
    item_group = item_group.reshape(-1)
    classes = labelled.label_indices()
    counts = np.zeros((item_group.max() + 1, len(labelled.class_names)), dtype=np.int64)
    np.add.at(counts, (item_group, classes), 1)
    return item_group, counts


def assign_groups(
    group_counts: np.ndarray, fractions: Sequence[float], seed: int = 0, *, tries: int = 16
) -> np.ndarray:
    """Side index (0..S-1) of each group, given its (G, K) class counts and side fractions.

    Sides with fraction 0 get nothing; every side with a positive fraction gets at least
    one group (raises :class:`DataError` when there are too few groups for that). Of
    ``tries`` seeded random passes, the one closest to the wanted class counts wins.
    """
    counts = np.asarray(group_counts, dtype=np.float64)
    frac = np.asarray(fractions, dtype=np.float64)
    if frac.ndim != 1 or np.any(frac < 0) or not np.isclose(frac.sum(), 1.0):
        raise DataError(f"side fractions must be non-negative and sum to 1, got {list(fractions)}")
    wanted = np.flatnonzero(frac > 0)
    if counts.shape[0] < len(wanted):
        raise DataError(
            f"cannot split {counts.shape[0]} group(s) into {len(wanted)} non-empty sides; "
            "more groups (patients) are needed"
        )
    rng = np.random.default_rng(seed)
    class_total = counts.sum(axis=0)
    target = frac[:, None] * class_total[None, :]
    weight = 1.0 / np.maximum(class_total, 1.0)
    best_cost, best = np.inf, None
    for _ in range(max(1, tries)):
        side_of = _greedy_pass(counts, frac, wanted, target, rng)
        per_side = np.zeros_like(target)
        np.add.at(per_side, side_of, counts)
        cost = ((per_side - target) ** 2) @ weight
        cost = cost.sum() + (((per_side.sum(1) - target.sum(1)) ** 2).sum() / class_total.sum())
        if cost < best_cost - 1e-12:
            best_cost, best = cost, side_of
    assert best is not None
    return best


def _greedy_pass(
    counts: np.ndarray,
    frac: np.ndarray,
    wanted: np.ndarray,
    target: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    n_groups = counts.shape[0]
    current = np.zeros_like(target)
    side_of = np.full(n_groups, -1, dtype=np.int64)
    safe_target = np.where(target > 0, np.maximum(target, 1e-9), 1.0)
    for g in rng.permutation(n_groups):
        c = counts[g]
        present = c > 0
        # how full each side already is in this group's classes (0 = empty, 1 = at target)
        fill = current[np.ix_(wanted, present)] / safe_target[np.ix_(wanted, present)]
        score = fill @ c[present] / c[present].sum()
        best = np.flatnonzero(score <= score.min() + 1e-12)
        if len(best) > 1:  # ties (at the start): draw a side in proportion to its fraction
            weights = frac[wanted[best]]
            choice = best[rng.choice(len(best), p=weights / weights.sum())]
        else:
            choice = best[0]
        side = wanted[choice]
        side_of[g] = side
        current[side] += c
    # a side asked for but left empty takes the smallest group of the fullest side
    for side in wanted:
        if np.any(side_of == side):
            continue
        per_side = np.bincount(side_of, minlength=len(frac))
        donor = int(np.argmax(per_side))
        members = np.flatnonzero(side_of == donor)
        side_of[members[np.argmin(counts[members].sum(axis=1))]] = side
    return side_of


def _check_fraction(name: str, value: float) -> float:
    if not 0 <= value < 1:
        raise DataError(f"{name} must lie in [0, 1), got {value!r}")
    return float(value)


def group_split(
    labelled: LabelledSet,
    *,
    validation_fraction: float = 0.2,
    test_fraction: float = 0.0,
    seed: int = 0,
) -> Split:
    """Split into train / validation / test by whole groups, stratified by class.

    The same set, fractions and seed always give the same split. Fractions are of items,
    met as closely as whole groups allow.
    """
    val = _check_fraction("validation_fraction", validation_fraction)
    test = _check_fraction("test_fraction", test_fraction)
    if val + test >= 1:
        raise DataError(f"validation_fraction + test_fraction must be below 1, got {val} + {test}")
    item_group, counts = _group_table(labelled)
    side_of = assign_groups(counts, [1 - val - test, val, test], seed)
    item_side = side_of[item_group]
    return Split(
        train=np.flatnonzero(item_side == 0),
        validation=np.flatnonzero(item_side == 1),
        test=np.flatnonzero(item_side == 2),
        seed=seed,
    )


def group_kfold(
    labelled: LabelledSet, k: int = 5, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train_idx, val_idx) pairs; every group is in exactly one validation fold."""
    if not isinstance(k, int | np.integer) or k < 2:
        raise DataError(f"k must be an integer of at least 2, got {k!r}")
    item_group, counts = _group_table(labelled)
    side_of = assign_groups(counts, [1 / k] * k, seed)
    fold_of = side_of[item_group]
    return [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(k)]


def save_split(split: Split, labelled: LabelledSet, path: str | os.PathLike[str]) -> Path:
    """Write ``item,group,label,split`` (one row per assigned item) as CSV; returns the path.

    ``item`` is the path relative to the data set's root (see
    :meth:`LabelledSet.item_ids`), so the file still applies after the folder moves.
    """
    out = Path(path)
    ids = labelled.item_ids()
    rows = [
        (ids[i], labelled.groups[i], labelled.labels[i], name)
        for name, idx in split.sides()
        for i in idx
    ]
    frame = pd.DataFrame(rows, columns=["item", "group", "label", "split"])
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    return out


def load_split(path: str | os.PathLike[str], labelled: LabelledSet) -> Split:
    """Read a :func:`save_split` file back as indices into ``labelled``.

    Raises :class:`DataError` when the file names items that ``labelled`` lacks, or when
    an item's label differs (the data set changed since the split was saved).
    """
    source = Path(path)
    if not source.is_file():
        raise DataError(f"split file {str(source)!r} does not exist")
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    needed = ["item", "label", "split"]
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        raise DataError(
            f"split file {str(source)!r} has no column(s) {listing(absent)}; "
            f"its columns are {list(frame.columns)}"
        )
    bad_sides = sorted(set(frame["split"]) - set(SIDES))
    if bad_sides:
        raise DataError(f"split file {str(source)!r} has unknown sides {listing(bad_sides)}")
    position = {item: i for i, item in enumerate(labelled.item_ids())}
    unknown = [item for item in frame["item"] if item not in position]
    if unknown:
        raise DataError(
            f"{len(unknown)} item(s) in {str(source)!r} are not in the data set: {listing(unknown)}"
        )
    index = frame["item"].map(position).to_numpy(dtype=np.int64)
    changed = [
        item
        for item, i, label in zip(frame["item"], index, frame["label"], strict=True)
        if labelled.labels[i] != label
    ]
    if changed:
        raise DataError(
            f"{len(changed)} item(s) in {str(source)!r} now carry another label: {listing(changed)}"
        )
    if len(set(index)) != len(index):
        raise DataError(f"split file {str(source)!r} lists some items twice")
    sides = {name: np.sort(index[frame["split"].to_numpy() == name]) for name in SIDES}
    return Split(**sides)


class SplitTargets:
    """Targets and class weights of a labelled, split set (mixed into the prepared data of
    training; the class provides ``y``, ``split`` and ``class_names``)."""

    y: np.ndarray
    split: Split
    class_names: tuple[str, ...]

    def targets(self, binary: bool) -> np.ndarray:
        if binary:
            return self.y.astype(np.float32)[:, None]
        return np.eye(len(self.class_names), dtype=np.float32)[self.y]

    def class_weights(self, index: np.ndarray | None = None) -> dict[int, float]:
        """Balanced weights n / (k · count) from the training side only."""
        index = self.split.train if index is None else index
        counts = np.bincount(self.y[index], minlength=len(self.class_names)).astype(float)
        weights = len(index) / (len(self.class_names) * np.maximum(counts, 1))
        return {i: float(w) for i, w in enumerate(weights)}
