"""Training: one recipe in, one run folder out.

A run folder (``runs/<id>/``) holds everything export needs and everything that makes
the run reproducible: ``recipe.json`` (as run, after overrides), ``split.csv`` (which
item went where), ``model.keras`` (best validation AUC), ``history.json`` (loss,
accuracy, AUC, precision, recall per epoch, for the dashboard), ``search.json`` when a
hyperparameter search ran, and ``tensorboard/`` logs.

Steps: seeds fixed → data loaded and split by group → inputs decoded and preprocessed
once through ``zoo.preprocess`` (cached) → optional search (Optuna, scored on group
folds of the training split only) → fit with class weights, augmentation, Adam with a
warm-up, ReduceLROnPlateau, early stopping on validation AUC and best-weights restore.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from training.architectures import build
from training.datasets import PreparedData, prepare
from training.recipe import Augmentation, TrainingRecipe

RUNS_DIR = Path("runs")


def train(
    recipe: TrainingRecipe,
    *,
    data_dir: str | Path | None = None,
    epochs: int | None = None,
    smoke: bool = False,
    runs_dir: str | Path = RUNS_DIR,
    search: bool = True,
    verbose: int = 1,
) -> Path:
    """Train ``recipe`` and return its run folder."""
    if smoke:
        recipe = smoke_recipe(recipe)
    if epochs is not None:
        recipe = dataclasses.replace(
            recipe, optimisation=dataclasses.replace(recipe.optimisation, epochs=epochs)
        )
    keras.utils.set_random_seed(recipe.seed)
    run_dir = Path(runs_dir) / recipe.id
    run_dir.mkdir(parents=True, exist_ok=True)
    data = prepare(recipe, data_dir=data_dir, smoke=smoke, run_dir=run_dir)

    params = dict(recipe.search.get("fixed", {}))
    if search and recipe.search.get("trials") and not smoke:
        from training.search import run_search

        best, trials = run_search(recipe, data)
        params.update(best)
        (run_dir / "search.json").write_text(json.dumps({"best": best, "trials": trials}, indent=2))

    init_weights = pretrained_weights(recipe, runs_dir=Path(runs_dir), smoke=smoke, verbose=verbose)
    model, history = fit(
        recipe, data, params, run_dir=run_dir, init_weights=init_weights, verbose=verbose
    )
    model.save(run_dir / "model.keras")
    (run_dir / "history.json").write_text(json.dumps(history, indent=2))
    (run_dir / "recipe.json").write_text(json.dumps(recipe_as_run(recipe, params), indent=2))
    return run_dir


def pretrained_weights(
    recipe: TrainingRecipe, *, runs_dir: Path, smoke: bool, verbose: int
) -> Path | None:
    """The ``model.keras`` of the run of ``architecture.init_from`` (a recipe id or path),
    trained first if missing; None when the recipe starts from scratch or in smoke mode."""
    source = recipe.architecture.get("init_from")
    if not source or smoke:
        return None
    from training.recipe import load_recipe

    source_recipe = load_recipe(source)
    path = runs_dir / source_recipe.id / "model.keras"
    if not path.is_file():
        print(f"{recipe.id} starts from {source_recipe.id}, not trained yet: training it first")
        train(source_recipe, runs_dir=runs_dir, verbose=verbose)
    return path


def fit(
    recipe: TrainingRecipe,
    data: PreparedData,
    params: dict[str, Any],
    *,
    run_dir: Path | None = None,
    train_index: np.ndarray | None = None,
    validation_index: np.ndarray | None = None,
    init_weights: Path | None = None,
    verbose: int = 1,
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Fit one model; ``params`` override architecture options and the learning rate.

    ``init_weights`` (a ``model.keras`` of the same architecture and output size) warm
    starts the model instead of a random initialisation.
    """
    keras.utils.set_random_seed(recipe.seed)
    train_index = data.split.train if train_index is None else train_index
    validation_index = data.split.validation if validation_index is None else validation_index
    options = dict(recipe.architecture.get("options", {}))
    options.update({k: v for k, v in params.items() if k != "learning_rate"})
    if recipe.architecture.get("weights") is not None:
        options["weights"] = recipe.architecture["weights"]
    model = build(recipe.architecture["name"], recipe.input_shape, len(recipe.labels), **options)
    if init_weights is not None:
        model.load_weights(init_weights)
    opt = recipe.optimisation
    learning_rate = float(params.get("learning_rate", opt.learning_rate))
    binary = recipe.task == "binary"
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
    targets = data.targets(binary)
    train_ds = _dataset(
        data.inputs[train_index], targets[train_index], opt.batch_size, recipe, training=True
    )
    validation_ds = _dataset(
        data.inputs[validation_index],
        targets[validation_index],
        opt.batch_size,
        recipe,
        training=False,
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


def _dataset(
    inputs: np.ndarray,
    targets: np.ndarray,
    batch_size: int,
    recipe: TrainingRecipe,
    *,
    training: bool,
) -> tf.data.Dataset:
    dataset = tf.data.Dataset.from_tensor_slices((inputs, targets))
    if training:
        dataset = dataset.shuffle(len(inputs), seed=recipe.seed, reshuffle_each_iteration=True)
    # A short last training batch (1-3 images) crashes TF 2.21's oneDNN backward pass
    # (munmap_chunk: invalid pointer); reshuffling drops different images each epoch.
    dataset = dataset.batch(batch_size, drop_remainder=training and len(inputs) >= batch_size)
    if training:
        norm = recipe.preprocessing.normalization
        black = float((0.0 - norm.mean[0]) / norm.std[0])
        white = float((norm.scale - norm.mean[0]) / norm.std[0])
        augment = augmenter(recipe.augmentation, (black, white), recipe.seed)
        if augment.layers:
            dataset = dataset.map(
                lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE
            )
    return dataset.prefetch(tf.data.AUTOTUNE)


def smoke_recipe(recipe: TrainingRecipe) -> TrainingRecipe:
    """One short epoch on tiny synthetic data at a small input size (pipeline tests)."""
    size = 96 if recipe.architecture["name"] == "inceptionv3" else 64
    options = dict(recipe.architecture.get("options", {}))
    if "dense_units" in options:
        options["dense_units"] = [min(16, u) for u in options["dense_units"]]
    if "width" in options:
        options["width"] = min(8, options["width"])
    options.pop("pool_before_flatten", None)  # a 96 px InceptionV3 has a 1×1 feature map
    preprocessing = dataclasses.replace(recipe.preprocessing, input_size=(size, size))
    return dataclasses.replace(
        recipe,
        id=f"{recipe.id}-smoke",
        data={"source": "synthetic", "kind": recipe.data.get("synthetic_kind", "chest"), "n": 32},
        architecture={**recipe.architecture, "options": options, "weights": None},
        preprocessing=preprocessing,
        optimisation=dataclasses.replace(
            recipe.optimisation, epochs=1, batch_size=8, warmup_epochs=0
        ),
    )


def recipe_as_run(recipe: TrainingRecipe, params: dict[str, Any]) -> dict[str, Any]:
    """The recipe as it ran: JSON, with the chosen hyperparameters."""
    return {
        "id": recipe.id,
        "name": recipe.name,
        "version": recipe.version,
        "seed": recipe.seed,
        "data": recipe.data,
        "split": recipe.split,
        "architecture": recipe.architecture,
        "preprocessing": recipe.preprocessing.to_dict(),
        "labels": list(recipe.labels),
        "positive_label": recipe.positive_label,
        "modality": list(recipe.modality),
        "body_part": recipe.body_part,
        "optimisation": dataclasses.asdict(recipe.optimisation),
        "augmentation": dataclasses.asdict(recipe.augmentation),
        "search": recipe.search,
        "card": recipe.card,
        "chosen_hyperparameters": params,
    }
