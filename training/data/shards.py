"""Preprocessed inputs streamed from disk in TFRecord shards, instead of held in memory.

The in-memory cache suits a few thousand images; ChestX-ray14's 112,120 films at 224 px
would take 67 GB as float32. Here each image is read and preprocessed once, through the
zoo's one preprocessing path, and written as float16 (half the bytes; the models'
inputs are normalised, so float16's 3 significant digits lose nothing they use) into shards
of ``per_shard`` examples; training reads the shards with ``tf.data``: interleaved,
shuffled in a buffer, batched, prefetched. Shards may live wherever TensorFlow's file
systems reach (a local disk, ``gs://``...). One image is in memory at a time while
writing.

A folder of shards carries ``shards.json``: the preprocessing recipe and the files each
split holds, so a later run reuses them only when they were made the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.data.cache import preprocess_file
from training.data.dataset import LabelledSet
from training.data.splits import Split, SplitTargets

MANIFEST = "shards.json"
#: Examples per shard: ~100 MB of 224 x 224 x 3 float16 inputs.
PER_SHARD = 1024
SHUFFLE_BUFFER = 2048


def write_shards(
    examples: Iterable[tuple[np.ndarray, np.ndarray]],
    folder: Path,
    name: str,
    *,
    per_shard: int = PER_SHARD,
) -> list[Path]:
    """``examples`` (model input, target) into ``folder/name-00000.tfrecord``..."""
    import tensorflow as tf

    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    writer = None
    for count, (model_input, target) in enumerate(examples):
        if count % per_shard == 0:
            if writer is not None:
                writer.close()
            files.append(folder / f"{name}-{len(files):05d}.tfrecord")
            writer = tf.io.TFRecordWriter(str(files[-1]))
        assert writer is not None
        writer.write(_example(model_input, target))
    if writer is not None:
        writer.close()
    return files


def _example(model_input: np.ndarray, target: np.ndarray) -> bytes:
    import tensorflow as tf

    feature = {
        "input": tf.train.Feature(
            bytes_list=tf.train.BytesList(value=[model_input.astype(np.float16).tobytes()])
        ),
        "target": tf.train.Feature(
            float_list=tf.train.FloatList(value=np.asarray(target, np.float32).ravel())
        ),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def shard_dataset(
    files: Sequence[str | Path],
    input_shape: tuple[int, int, int],
    n_targets: int,
    batch_size: int,
    *,
    training: bool,
    seed: int = 0,
    count: int | None = None,
    replicas: int = 1,
) -> Any:
    """A ``tf.data`` pipeline over ``files``: examples decoded back to float32 inputs, in
    batches (for evaluation, ``count`` examples split over ``replicas``: see
    :func:`training.fit.evaluation_batches`)."""
    import tensorflow as tf

    spec = {
        "input": tf.io.FixedLenFeature([], tf.string),
        "target": tf.io.FixedLenFeature([n_targets], tf.float32),
    }

    def parse(record: Any) -> tuple[Any, Any]:
        parsed = tf.io.parse_single_example(record, spec)
        model_input = tf.io.decode_raw(parsed["input"], tf.float16)
        return tf.cast(tf.reshape(model_input, input_shape), tf.float32), parsed["target"]

    names = tf.data.Dataset.from_tensor_slices([str(f) for f in files])
    if training:
        names = names.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    # training reads several shards at once, mixed; evaluation reads them in order
    dataset = names.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(4, len(files)) if training else 1,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=not training,
    ).map(parse, num_parallel_calls=tf.data.AUTOTUNE)
    if not training:
        from training.fit import evaluation_batches

        total = count if count is not None else sum(1 for _ in dataset)
        return evaluation_batches(dataset, total, batch_size, replicas=replicas)
    dataset = dataset.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size, drop_remainder=True)


@dataclass(frozen=True)
class StreamedData(SplitTargets):
    """A labelled set split by group, its inputs in shards on disk (one list per side)."""

    labelled: LabelledSet
    y: np.ndarray
    split: Split
    class_names: tuple[str, ...]
    shards: dict[str, list[str]]

    def datasets(
        self,
        recipe: Any,
        batch_size: int,
        train_index: np.ndarray | None = None,
        validation_index: np.ndarray | None = None,
        *,
        replicas: int = 1,
    ) -> tuple[Any, Any]:
        """The split's training and validation pipelines (streamed data cannot be re-split:
        a search's folds need the in-memory path)."""
        import tensorflow as tf

        from training.fit import augmented

        if train_index is not None or validation_index is not None:
            raise ValueError("streamed data train on their split only (no search folds)")
        n_targets = 1 if recipe.task == "binary" else len(self.class_names)
        shape = tuple(recipe.input_shape)
        train = shard_dataset(
            self.shards["train"], shape, n_targets, batch_size, training=True, seed=recipe.seed
        )
        validation = shard_dataset(
            self.shards["validation"],
            shape,
            n_targets,
            batch_size,
            training=False,
            count=len(self.split.validation),
            replicas=replicas,
        )
        return augmented(train, recipe).prefetch(tf.data.AUTOTUNE), validation.prefetch(
            tf.data.AUTOTUNE
        )


def stream(
    labelled: LabelledSet,
    y: np.ndarray,
    split: Split,
    recipe: Any,
    folder: Path,
    *,
    per_shard: int = PER_SHARD,
) -> StreamedData:
    """The training and validation sides of ``split`` as shards in ``folder`` (written
    unless ``shards.json`` says they were made from the same recipe and split)."""
    made = {
        "preprocessing": recipe.preprocessing.to_dict(),
        "sides": {
            side: [str(labelled.paths[i]) for i in getattr(split, side)]
            for side in ("train", "validation")
        },
    }
    manifest = folder / MANIFEST
    if manifest.is_file():
        known = json.loads(manifest.read_text())
        if {k: known.get(k) for k in made} == made:
            return StreamedData(labelled, y, split, recipe.labels, known["shards"])
    targets = StreamedData(labelled, y, split, recipe.labels, {}).targets(recipe.task == "binary")
    shards: dict[str, list[str]] = {}
    for side in ("train", "validation"):
        index = getattr(split, side)
        examples = (
            (preprocess_file(labelled.paths[i], recipe.preprocessing), targets[i]) for i in index
        )
        shards[side] = [str(f) for f in write_shards(examples, folder, side, per_shard=per_shard)]
    manifest.write_text(json.dumps({**made, "shards": shards}))
    return StreamedData(labelled, y, split, recipe.labels, shards)
