"""Fitting one model: Keras under a ``tf.distribute`` strategy, fed by ``tf.data``.

The data come as arrays held in memory (:class:`training.datasets.PreparedData`, a few
thousand images) or streamed from TFRecord shards of preprocessed inputs
(:class:`training.data.shards.StreamedData`, sized for ChestX-ray14's 112,120 films). The
strategy (:func:`distribution_strategy`): the default (one device), ``mirrored`` (every
GPU of one machine, or several logical CPUs) or ``multiworker`` (machines listed in
``TF_CONFIG``); the model is built and compiled in its scope.
"""

from __future__ import annotations

from typing import Any, Protocol

import keras
import numpy as np
import tensorflow as tf

from training.architectures import build
from training.recipe import Augmentation, TrainingRecipe

STRATEGIES = ("default", "mirrored", "multiworker")


class TrainingData(Protocol):
    """What fitting needs of the data, in memory or streamed."""

    def datasets(
        self,
        recipe: TrainingRecipe,
        batch_size: int,
        train_index: np.ndarray | None,
        validation_index: np.ndarray | None,
        *,
        replicas: int = 1,
    ) -> tuple[tf.data.Dataset, tf.data.Dataset]: ...

    def class_weights(self, index: np.ndarray | None = None) -> dict[int, float]: ...


def distribution_strategy(name: str = "default") -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy called ``name`` (one of :data:`STRATEGIES`)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"strategy must be one of {STRATEGIES}, got {name!r}")


def fit(
    recipe: TrainingRecipe,
    data: TrainingData,
    params: dict[str, Any],
    *,
    run_dir: Any = None,
    train_index: np.ndarray | None = None,
    validation_index: np.ndarray | None = None,
    init_weights: Any = None,
    verbose: int = 1,
    strategy: tf.distribute.Strategy | None = None,
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Fit one model; ``params`` override architecture options and the learning rate.

    ``init_weights`` (a ``model.keras`` of the same architecture) warm starts the model
    instead of a random initialisation (see :func:`warm_start`). Under ``strategy`` each global
    batch of ``batch_size`` is split across its replicas.
    """
    keras.utils.set_random_seed(recipe.seed)
    strategy = strategy or tf.distribute.get_strategy()
    options = dict(recipe.architecture.get("options", {}))
    options.update({k: v for k, v in params.items() if k != "learning_rate"})
    if recipe.architecture.get("weights") is not None:
        options["weights"] = recipe.architecture["weights"]
    opt = recipe.optimisation
    learning_rate = float(params.get("learning_rate", opt.learning_rate))
    binary = recipe.task == "binary"
    with strategy.scope():
        model = build(
            recipe.architecture["name"], recipe.input_shape, len(recipe.labels), **options
        )
        if init_weights is not None:
            warm_start(model, init_weights)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss="binary_crossentropy" if binary else "categorical_crossentropy",
            metrics=[
                keras.metrics.BinaryAccuracy(name="accuracy")
                if binary
                else keras.metrics.CategoricalAccuracy(name="accuracy"),
                keras.metrics.AUC(name="auc"),
                keras.metrics.Precision(name="precision"),
                keras.metrics.Recall(name="recall"),
            ],
        )
    train_ds, validation_ds = data.datasets(
        recipe,
        opt.batch_size,
        train_index,
        validation_index,
        replicas=strategy.num_replicas_in_sync,
    )
    callbacks = [
        keras.callbacks.LearningRateScheduler(_warmup(learning_rate, opt.warmup_epochs)),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_auc", mode="max", factor=0.5, patience=opt.reduce_lr_patience, min_lr=1e-6
        ),
        keras.callbacks.EarlyStopping(
            monitor="val_auc", mode="max", patience=opt.patience, restore_best_weights=True
        ),
    ]
    if run_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard")))
    class_weight = data.class_weights(train_index) if opt.class_weights else None
    result = model.fit(
        train_ds,
        validation_data=validation_ds,
        epochs=opt.epochs,
        class_weight=class_weight,
        callbacks=callbacks,
        verbose=verbose,
    )
    history = {k: [float(v) for v in values] for k, values in result.history.items()}
    return model, history


def warm_start(model: keras.Model, source: Any) -> list[str]:
    """Copy into ``model`` the weights of every layer of the ``model.keras`` at ``source``
    with the same name and weight shapes; returns the names of the layers left as built.

    With the same architecture and output size every layer is copied; a pretrained
    backbone with another head (seven pretraining classes, three here) leaves only the
    layers whose shapes differ (the logits) to start afresh.
    """
    import training.architectures  # noqa: F401 - registers ChannelPool (CBAM) with Keras

    pretrained = {layer.name: layer for layer in keras.models.load_model(source).layers}
    fresh = []
    for layer in model.layers:
        other = pretrained.get(layer.name)
        weights = other.get_weights() if other is not None else None
        mine = layer.get_weights()
        if weights is not None and [w.shape for w in weights] == [w.shape for w in mine]:
            layer.set_weights(weights)
        elif mine:
            fresh.append(layer.name)
    names = [layer.name for layer in model.layers]
    backbone = set(names[: names.index("features")]) if "features" in names else set(names)
    if backbone & set(fresh):
        raise ValueError(
            f"the backbone of {source} does not fit this model (layers "
            f"{sorted(backbone & set(fresh))[:3]}...): is it the same architecture?"
        )
    return fresh


def _warmup(learning_rate: float, warmup_epochs: int):
    """Linear warm-up, then leave the rate to ReduceLROnPlateau."""

    def schedule(epoch: int, current: float) -> float:
        if epoch < warmup_epochs:
            return learning_rate * (epoch + 1) / (warmup_epochs + 1)
        if epoch == warmup_epochs:
            return learning_rate
        return current

    return schedule


def augmenter(
    augmentation: Augmentation, value_range: tuple[float, float], seed: int
) -> keras.Sequential:
    """Keras random layers for one recipe; active only when called with training=True.

    ``value_range`` is the normalized range of the inputs: its low end (black) fills
    the corners that geometric changes uncover, and intensity changes stay inside it.
    """
    a = augmentation
    fill_value = value_range[0]
    steps: list[keras.layers.Layer] = []
    if a.flip:
        steps.append(keras.layers.RandomFlip("horizontal", seed=seed))
    if a.rotation:
        steps.append(
            keras.layers.RandomRotation(
                a.rotation, fill_mode="constant", fill_value=fill_value, seed=seed
            )
        )
    if a.shift:
        steps.append(
            keras.layers.RandomTranslation(
                a.shift, a.shift, fill_mode="constant", fill_value=fill_value, seed=seed
            )
        )
    if a.shear:
        steps.append(
            keras.layers.RandomShear(
                a.shear, a.shear, fill_mode="constant", fill_value=fill_value, seed=seed
            )
        )
    if a.zoom:
        steps.append(
            keras.layers.RandomZoom(a.zoom, fill_mode="constant", fill_value=fill_value, seed=seed)
        )
    if a.contrast:
        steps.append(keras.layers.RandomContrast(a.contrast, value_range=value_range, seed=seed))
    if a.brightness:
        steps.append(
            keras.layers.RandomBrightness(a.brightness, value_range=value_range, seed=seed)
        )
    return keras.Sequential(steps, name="augmentation")


def augmented(dataset: tf.data.Dataset, recipe: TrainingRecipe) -> tf.data.Dataset:
    """``dataset`` (batches of model inputs and targets) under the recipe's augmentation."""
    norm = recipe.preprocessing.normalization
    black = float((0.0 - norm.mean[0]) / norm.std[0])
    white = float((norm.scale - norm.mean[0]) / norm.std[0])
    augment = augmenter(recipe.augmentation, (black, white), recipe.seed)
    if not augment.layers:
        return dataset
    return dataset.map(
        lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE
    )


def evaluation_batches(
    examples: tf.data.Dataset, count: int, batch_size: int, *, replicas: int = 1
) -> tf.data.Dataset:
    """``count`` (input, target) examples in batches for evaluation. Split over several
    replicas, a short last batch fails in Keras 3 (uneven per-replica shapes), so there
    the last batch is filled with copies of the first example at weight 0: every figure
    is the same as without them, and no case is dropped."""
    if replicas <= 1:
        return examples.batch(batch_size)
    fill = (-count) % batch_size
    weighted = examples.map(lambda x, y: (x, y, tf.constant(1.0)))
    padding = examples.take(1).repeat(fill).map(lambda x, y: (x, y, tf.constant(0.0)))
    return weighted.concatenate(padding).batch(batch_size, drop_remainder=True)


def array_dataset(
    inputs: np.ndarray,
    targets: np.ndarray,
    batch_size: int,
    recipe: TrainingRecipe,
    *,
    training: bool,
    replicas: int = 1,
) -> tf.data.Dataset:
    """Batches of arrays held in memory (shuffled and augmented for training)."""
    dataset = tf.data.Dataset.from_tensor_slices((inputs, targets))
    if not training:
        batches = evaluation_batches(dataset, len(inputs), batch_size, replicas=replicas)
        return batches.prefetch(tf.data.AUTOTUNE)
    dataset = dataset.shuffle(len(inputs), seed=recipe.seed, reshuffle_each_iteration=True)
    # A short last training batch (1-3 images) crashes TF 2.21's oneDNN backward pass
    # (munmap_chunk: invalid pointer); reshuffling drops different images each epoch.
    dataset = dataset.batch(batch_size, drop_remainder=len(inputs) >= batch_size)
    return augmented(dataset, recipe).prefetch(tf.data.AUTOTUNE)
