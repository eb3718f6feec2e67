"""The one in-memory form of a labelled image set: :class:`LabelledSet`."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from training.data.errors import DataError, listing


@dataclass
class LabelledSet:
    """Image files with one label and one split group each.

    Attributes
    ----------
    paths : list of Path
        One image file per item.
    labels : list of str
        The class of each item; every label is one of ``class_names``.
    groups : list of str
        What must stay together when splitting (patient, block of slices, near-duplicates).
        Items with the same group never straddle train and validation.
    metadata : DataFrame
        One row per item (index 0..N-1) with extra columns: view, source, boxes,
        collection...; empty columns are fine.
    class_names : tuple of str
        The classes in model-output order; for two classes the positive one comes last.
        Left empty, the sorted distinct labels.
    root : Path or None
        The folder the data set lives in; item identifiers (see :meth:`item_ids`) are the
        paths relative to it, so a saved split still applies after the folder moves.
    """

    paths: list[Path]
    labels: list[str]
    groups: list[str]
    metadata: pd.DataFrame = field(default_factory=pd.DataFrame)
    class_names: tuple[str, ...] = ()
    root: Path | None = None

    def __post_init__(self) -> None:
        self.paths = [Path(p) for p in self.paths]
        self.labels = [str(label) for label in self.labels]
        self.groups = [str(group) for group in self.groups]
        n = len(self.paths)
        if len(self.labels) != n or len(self.groups) != n:
            raise DataError(
                f"paths, labels and groups must have one entry per item, got {n} paths, "
                f"{len(self.labels)} labels and {len(self.groups)} groups"
            )
        if self.metadata is None or (self.metadata.empty and len(self.metadata.columns) == 0):
            self.metadata = pd.DataFrame(index=range(n))
        if len(self.metadata) != n:
            raise DataError(f"metadata has {len(self.metadata)} rows for {n} items")
        self.metadata = self.metadata.reset_index(drop=True)
        if not self.class_names:
            self.class_names = tuple(sorted(set(self.labels)))
        self.class_names = tuple(str(name) for name in self.class_names)
        if len(set(self.class_names)) != len(self.class_names):
            raise DataError(f"class_names has duplicates: {self.class_names}")
        unknown = sorted(set(self.labels) - set(self.class_names))
        if unknown:
            raise DataError(
                f"labels {listing(unknown)} are not among class_names {list(self.class_names)}"
            )
        if self.root is not None:
            self.root = Path(self.root)

    def __len__(self) -> int:
        return len(self.paths)

    def label_indices(self) -> np.ndarray:
        """Each item's class as an index into ``class_names`` (int64, shape (N,))."""
        lookup = {name: i for i, name in enumerate(self.class_names)}
        return np.array([lookup[label] for label in self.labels], dtype=np.int64)

    def one_hot(self) -> np.ndarray:
        """Labels as a one-hot float32 matrix of shape (N, K)."""
        return np.eye(len(self.class_names), dtype=np.float32)[self.label_indices()]

    def counts(self) -> dict[str, int]:
        """Items per class, in ``class_names`` order (classes without items count 0)."""
        counts = dict.fromkeys(self.class_names, 0)
        for label in self.labels:
            counts[label] += 1
        return counts

    def group_count(self) -> int:
        return len(set(self.groups))

    def subset(self, indices: Iterable[int] | np.ndarray) -> LabelledSet:
        """The items at ``indices`` (in that order), keeping ``class_names`` and ``root``."""
        idx = np.asarray(list(indices) if not isinstance(indices, np.ndarray) else indices)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise DataError(f"a boolean mask needs {len(self)} entries, got {idx.shape}")
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64, copy=False).reshape(-1)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise DataError(f"indices out of range for a set of {len(self)} items")
        return LabelledSet(
            paths=[self.paths[i] for i in idx],
            labels=[self.labels[i] for i in idx],
            groups=[self.groups[i] for i in idx],
            metadata=self.metadata.iloc[idx].reset_index(drop=True),
            class_names=self.class_names,
            root=self.root,
        )

    def relabel(
        self, mapping: Mapping[str, str | None], class_names: Sequence[str] | None = None
    ) -> LabelledSet:
        """Rename classes; a label mapped to None drops its items. Unmapped labels stay."""
        keep = [i for i, label in enumerate(self.labels) if mapping.get(label, label) is not None]
        new_labels = [str(mapping.get(self.labels[i], self.labels[i])) for i in keep]
        if class_names is None:
            renamed = [mapping.get(name, name) for name in self.class_names]
            class_names = tuple(dict.fromkeys(n for n in renamed if n is not None))
        return LabelledSet(
            paths=[self.paths[i] for i in keep],
            labels=new_labels,
            groups=[self.groups[i] for i in keep],
            metadata=self.metadata.iloc[keep].reset_index(drop=True),
            class_names=tuple(class_names),
            root=self.root,
        )

    def item_ids(self) -> list[str]:
        """Stable identifiers: POSIX paths relative to ``root`` (or to the common folder)."""
        if not self.paths:
            return []
        base = self.root
        if base is None:
            base = Path(os.path.commonpath([str(p.parent) for p in self.paths]))
        ids = []
        for path in self.paths:
            try:
                ids.append(path.relative_to(base).as_posix())
            except ValueError:
                ids.append(path.as_posix())
        return ids

    def to_frame(self) -> pd.DataFrame:
        """One row per item: item, path, label, group and the metadata columns."""
        frame = pd.DataFrame(
            {
                "item": self.item_ids(),
                "path": [str(p) for p in self.paths],
                "label": self.labels,
                "group": self.groups,
            }
        )
        extra = self.metadata.drop(columns=[c for c in frame.columns if c in self.metadata])
        return pd.concat([frame, extra], axis=1)

    def describe(self) -> str:
        """``'1211 items, 943 groups: no_finding 1146, mass 65'``."""
        per_class = ", ".join(f"{name} {n}" for name, n in self.counts().items())
        return f"{len(self)} items, {self.group_count()} groups: {per_class}"

    @staticmethod
    def concat(
        parts: Sequence[LabelledSet], class_names: Sequence[str] | None = None
    ) -> LabelledSet:
        """Join sets; groups are kept as they are (prefix them first if they might collide)."""
        if not parts:
            raise DataError("nothing to concatenate")
        if class_names is None:
            class_names = tuple(dict.fromkeys(n for part in parts for n in part.class_names))
        roots = [part.root for part in parts]
        root = None
        if all(r is not None for r in roots):
            root = Path(os.path.commonpath([str(r) for r in roots]))
        return LabelledSet(
            paths=[p for part in parts for p in part.paths],
            labels=[label for part in parts for label in part.labels],
            groups=[group for part in parts for group in part.groups],
            metadata=pd.concat([part.metadata for part in parts], ignore_index=True),
            class_names=tuple(class_names),
            root=root,
        )


def check_not_empty(labelled: LabelledSet, where: str) -> LabelledSet:
    if len(labelled) == 0:
        raise DataError(f"no images found in {where}")
    return labelled


def check_paths_exist(paths: Sequence[Path], where: str) -> None:
    """Raise :class:`DataError` naming a few of the image files that do not exist."""
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise DataError(
            f"{len(missing)} of {len(paths)} image files listed in {where} do not exist: "
            f"{listing(missing)}"
        )
