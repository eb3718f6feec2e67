"""From a recipe's ``data`` section to preprocessed, split arrays.

Sources (``recipe.data["source"]``):

- ``synthetic``: :mod:`training.synthetic` scans of ``kind`` written as PNGs into the
  run folder, so they take exactly the path real files take;
- ``shared``: a set of ``../shared/data`` (``set``: chest_xray with ``task``, lung_ct
  with ``classes``, brain_mri, tb_xray, multiclass_cxr, pediatric_cxr), optionally only the items of
  the ``sources`` collections named;
- ``class_folders``, ``split_folders``, ``csv``, ``nih``, ``dicom_folder``: the layouts
  users bring, at ``path`` (or ``--data``).

``label_map`` renames the source's labels to the recipe's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training import data as loaders
from training.data import LabelledSet, Split, group_split, load_arrays, save_split
from training.data.shards import StreamedData, stream
from training.data.splits import SplitTargets
from training.recipe import TrainingRecipe
from training.synthetic import LABELS as SYNTHETIC_LABELS
from training.synthetic import write_dataset

CACHE_DIR = Path("cache")


@dataclass
class PreparedData(SplitTargets):
    labelled: LabelledSet
    inputs: np.ndarray
    y: np.ndarray
    split: Split
    class_names: tuple[str, ...]

    def datasets(
        self,
        recipe: TrainingRecipe,
        batch_size: int,
        train_index: np.ndarray | None = None,
        validation_index: np.ndarray | None = None,
        *,
        replicas: int = 1,
    ) -> tuple[Any, Any]:
        """The training and validation ``tf.data`` pipelines (the split's, unless given)."""
        from training.fit import array_dataset

        train_index = self.split.train if train_index is None else train_index
        validation_index = self.split.validation if validation_index is None else validation_index
        targets = self.targets(recipe.task == "binary")
        return (
            array_dataset(
                self.inputs[train_index], targets[train_index], batch_size, recipe, training=True
            ),
            array_dataset(
                self.inputs[validation_index],
                targets[validation_index],
                batch_size,
                recipe,
                training=False,
                replicas=replicas,
            ),
        )


def prepare(
    recipe: TrainingRecipe,
    *,
    data_dir: str | Path | None = None,
    smoke: bool = False,
    run_dir: Path,
    stream_dir: Path | None = None,
) -> PreparedData | StreamedData:
    """The recipe's data, split by group: inputs in memory (the cache), or with
    ``stream_dir`` written there as shards and streamed (:mod:`training.data.shards`)."""
    labelled, split = recipe_split(recipe, data_dir=data_dir, smoke=smoke, run_dir=run_dir)
    save_split(split, labelled, run_dir / "split.csv")
    index = {label: i for i, label in enumerate(recipe.labels)}
    y = np.array([index[label] for label in labelled.labels], dtype=np.int64)
    if stream_dir is not None:
        return stream(labelled, y, split, recipe, Path(stream_dir) / recipe.id)
    inputs = load_arrays(labelled, recipe.preprocessing, cache_dir=CACHE_DIR)
    return PreparedData(labelled, inputs, y, split, recipe.labels)


def recipe_split(
    recipe: TrainingRecipe,
    *,
    data_dir: str | Path | None = None,
    smoke: bool = False,
    run_dir: Path,
) -> tuple[LabelledSet, Split]:
    """The recipe's labelled set and its group-disjoint split (seeded: the same every run)."""
    if recipe.data["source"] == "split_folders" and not smoke:
        return _user_split(recipe, data_dir)
    labelled = load_labelled(recipe, data_dir=data_dir, run_dir=run_dir, smoke=smoke)
    split_options = {"validation_fraction": 0.2, "test_fraction": 0.0, **recipe.split}
    split_options.setdefault("seed", recipe.seed)
    return labelled, group_split(labelled, **split_options)


def _user_split(recipe: TrainingRecipe, data_dir: str | Path | None) -> tuple[LabelledSet, Split]:
    """A ``train/ validation/ test/`` layout keeps the user's own split."""
    parts = loaders.load_split_folders(Path(data_dir or recipe.data.get("path", "")))
    names = [name for name in ("train", "validation", "test") if name in parts]
    if "validation" not in parts:
        raise loaders.DataError("a split-folder layout needs a validation/ (or val/) folder")
    sizes = [len(parts[name].paths) for name in names]
    bounds = np.cumsum([0, *sizes])
    sides = {name: np.arange(bounds[i], bounds[i + 1]) for i, name in enumerate(names)}
    labelled = LabelledSet.concat([parts[name] for name in names])
    label_map = recipe.data.get("label_map")
    if label_map:
        labelled = labelled.relabel(label_map)
    return labelled, Split(sides["train"], sides["validation"], sides.get("test", np.zeros(0, int)))


def load_labelled(
    recipe: TrainingRecipe,
    *,
    data_dir: str | Path | None = None,
    run_dir: Path,
    smoke: bool = False,
) -> LabelledSet:
    spec: dict[str, Any] = dict(recipe.data)
    source = spec["source"]
    if source == "synthetic":
        labelled = _synthetic(spec, recipe, run_dir, smoke)
    elif source == "shared":
        labelled = _keep_sources(shared_set(spec, data_dir), spec.get("sources"))
    else:
        labelled = _user(spec, data_dir)
    label_map = spec.get("label_map")
    if label_map:
        labelled = labelled.relabel(label_map)
    unknown = sorted(set(labelled.labels) - set(recipe.labels))
    if unknown:
        raise loaders.DataError(
            f"data labels {unknown} are not among the recipe's {list(recipe.labels)}; "
            "add a label_map to the recipe's data section"
        )
    return labelled


def _synthetic(
    spec: dict[str, Any], recipe: TrainingRecipe, run_dir: Path, smoke: bool
) -> LabelledSet:
    kind = spec.get("kind", "chest")
    size = max(recipe.preprocessing.input_size)
    folder = run_dir / "synthetic"
    csv_path = write_dataset(
        folder,
        kind,
        int(spec.get("n", 1000)),
        recipe.seed,
        size=size,
        positive_fraction=spec.get("positive_fraction"),
    )
    labelled = loaders.load_csv(csv_path, group_column="group")
    if smoke:  # pipeline tests: give the synthetic images the recipe's labels, cyclically
        source_labels = SYNTHETIC_LABELS[kind]
        mapping = {s: recipe.labels[i % len(recipe.labels)] for i, s in enumerate(source_labels)}
        labelled = labelled.relabel(mapping)
    return labelled


def _keep_sources(labelled: LabelledSet, sources: list[str] | None) -> LabelledSet:
    """Keep the items of the named ``source`` collections only.

    Used where the positives all come from one collection: negatives from another
    collection would let the model learn the collection instead of the finding.
    """
    if not sources:
        return labelled
    if "source" not in labelled.metadata.columns:
        raise loaders.DataError("the recipe names data sources but this set has no source column")
    return labelled.subset(labelled.metadata["source"].isin(list(sources)).to_numpy())


def shared_set(spec: dict[str, Any], data_dir: str | Path | None) -> LabelledSet:
    """The ``../shared/data`` set a recipe's (or a population check's) ``data`` names."""
    root = Path(data_dir) if data_dir else loaders.shared_data_root()
    if root is None or not Path(root).is_dir():
        raise loaders.DataError(
            "this recipe trains on ../shared/data, which is not here; pass --data DIR "
            "(see README: 'Data for the recipes')"
        )
    name = spec["set"]
    if name == "chest_xray":
        return loaders.load_shared_chest_xray(root, task=spec.get("task", "mass"))
    if name == "lung_ct":
        return loaders.load_shared_lung_ct(root, classes=tuple(spec["classes"]))
    if name == "brain_mri":
        return loaders.load_shared_brain_mri(root)
    if name == "tb_xray":
        return loaders.load_shared_tb_xray(root)
    if name == "multiclass_cxr":
        return loaders.load_multiclass_cxr(root)
    if name == "pediatric_cxr":
        return loaders.load_shared_pediatric_cxr(root)
    if name == "chest_pretraining":
        return held_out_removed(
            loaders.load_chest_pretraining(root), spec.get("exclude_held_out_of", []), root
        )
    raise loaders.DataError(f"unknown shared set {name!r}")


def split_paths(recipe_id: str, data_dir: str | Path | None, sides: tuple[str, ...]) -> list[Path]:
    """The files (resolved) on ``sides`` (``validation``, ``test``) of recipe
    ``recipe_id``'s split, as its training makes it."""
    from training.recipe import load_recipe

    other, split = recipe_split(load_recipe(recipe_id), data_dir=data_dir, run_dir=Path("."))
    index = np.concatenate([getattr(split, side) for side in sides])
    return [Path(other.paths[i]).resolve() for i in index]


def held_out_removed(
    labelled: LabelledSet, recipe_ids: list[str], data_dir: str | Path
) -> LabelledSet:
    """``labelled`` without the validation and test films of the recipes named, nor any
    other film of their patients (groups): a backbone pretrained on what is left has never
    seen what those models are chosen and judged on."""
    group_of = {
        path.resolve(): group for path, group in zip(labelled.paths, labelled.groups, strict=True)
    }
    held_groups: set[str] = set()
    for recipe_id in recipe_ids:
        for path in split_paths(recipe_id, data_dir, ("validation", "test")):
            if path not in group_of:
                raise loaders.DataError(
                    f"{path} (held out by {recipe_id}) is not among the films to pretrain on: "
                    "the two loaders disagree"
                )
            held_groups.add(group_of[path])
    return labelled.subset(np.array([group not in held_groups for group in labelled.groups]))


def _user(spec: dict[str, Any], data_dir: str | Path | None) -> LabelledSet:
    path = Path(data_dir or spec.get("path", ""))
    source = spec["source"]
    if source == "class_folders":
        return loaders.load_class_folders(path)
    if source == "split_folders":
        parts = loaders.load_split_folders(path)
        return LabelledSet.concat(list(parts.values()))
    if source == "csv":
        return loaders.load_csv(path, group_column=spec.get("group_column"))
    if source == "nih":
        return loaders.load_nih_data_entry(
            loaders.nih_data_entry(path),
            path,
            positive_finding=spec.get("finding", "Mass"),
            missing="drop",
        )
    if source == "dicom_folder":
        return loaders.load_dicom_folder(path)
    raise loaders.DataError(f"unknown data source {source!r}")
