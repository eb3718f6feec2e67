"""``python -m pipeline export``: a run folder becomes a zoo model folder.

Writes into ``zoo/models/<id>/``: ``model.onnx`` (float32, or the int8 / float16
variant when asked), ``card.json`` (validated by ``zoo.card.parse_card`` before it is
written), ``validation.csv`` (the shipped file's own predictions on the validation
split), ``history.json`` and ``split.csv``. Validation metrics, operating points and
calibration are computed from the ONNX model as served, on the validation side of the
saved split only.
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import keras
import numpy as np

from export.onnx_export import (
    OPSET,
    ExportResult,
    cpu_session,
    latency_ms,
    to_float16,
    to_int8,
    to_int8_weights,
    to_onnx,
)
from export.shortcut import shortcut_report
from export.targets import quality_targets
from export.test_ledger import LEDGER, record_scoring
from training.data import load_arrays, load_split
from training.datasets import load_labelled
from training.recipe import parse_recipe
from zoo.card import file_entry, parse_card
from zoo.evaluation import evaluate
from zoo.label_groups import LabelGroup
from zoo.metrics import card_operating_points

VARIANTS = ("float32", "float16", "int8", "int8-weights")
#: the variant whose int8 weights sessions fold into float32 kernels at load
FOLDED_VARIANT = "int8-weights"


def export_run(
    run_dir: str | Path,
    target: str | Path,
    *,
    variant: str = "float32",
    data_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    ship: bool = True,
) -> dict[str, Any]:
    """Export a trained run; returns a summary (sizes, parity, latency, AUC per variant).

    ``ship``: the model goes into the zoo, so its held-out test side is scored (once per
    file, recorded in the folder's test ledger); ``ship=False`` exports a candidate with
    validation figures only, to be chosen between on validation. ``progress`` receives
    one line per step (the CLI prints them).
    """
    step = progress or (lambda message: None)
    run_dir, target = Path(run_dir), Path(target)
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if not ship and (target / LEDGER).exists():
        raise ValueError(
            f"{target} holds a shipped model (its {LEDGER}): export the candidate elsewhere"
        )
    step("[1/5] loading the run and its validation split")
    recipe_data = json.loads((run_dir / "recipe.json").read_text())
    recipe = parse_recipe(recipe_data)
    model = load_trained_model(run_dir)
    smoke = recipe.data.get("source") == "synthetic" and recipe.id.endswith("-smoke")
    labelled = load_labelled(recipe, data_dir=data_dir, run_dir=run_dir, smoke=smoke)
    split = load_split(run_dir / "split.csv", labelled)
    inputs = load_arrays(labelled, recipe.preprocessing, cache_dir="cache")
    index = {label: i for i, label in enumerate(recipe.labels)}
    y = np.array([index[label] for label in labelled.labels])
    train_x, val_idx = inputs[split.train], split.validation

    test_idx = split.test if ship else split.test[:0]
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        paths = {name: Path(scratch) / f"model.{name}.onnx" for name in VARIANTS}
        step("[2/5] converting to ONNX and checking parity with Keras")
        result = to_onnx(model, paths["float32"], inputs[val_idx][:16])
        step("[3/5] float16 and int8 variants (int8 calibrated on training images)")
        to_float16(paths["float32"], paths["float16"])
        float_stem = int(recipe.card.get("float_stem_convolutions", 0))
        to_int8_weights(paths["float32"], paths[FOLDED_VARIANT], float_stem=float_stem)
        rng = np.random.default_rng(recipe.seed)
        to_int8(paths["float32"], paths["int8"], train_x[rng.permutation(len(train_x))[:64]])
        held_out_note = f" and {len(test_idx)} held-out test images" if len(test_idx) else ""
        step(f"[4/5] scoring {len(val_idx)} validation images{held_out_note}")
        probabilities = {
            name: onnx_outputs(
                path, inputs[val_idx], len(recipe.labels), fold_weights=name == FOLDED_VARIANT
            )["probabilities"]
            for name, path in paths.items()
        }
        variants = {
            name: {
                "bytes": path.stat().st_size,
                "latency_ms": round(
                    latency_ms(path, inputs[val_idx][:1], fold_weights=name == FOLDED_VARIANT), 2
                ),
            }
            for name, path in paths.items()
        }
        model_path = target / "model.onnx"
        shutil.copyfile(paths[variant], model_path)
    held_out = np.concatenate([val_idx, test_idx])
    outputs = onnx_outputs(
        model_path, inputs[held_out], len(recipe.labels), fold_weights=variant == FOLDED_VARIANT
    )
    shipped = outputs["probabilities"][: len(val_idx)]
    test_probabilities = outputs["probabilities"][len(val_idx) :]
    step(f"[5/5] writing the card and predictions into {target}")
    card = build_card(
        recipe_data,
        model,
        result,
        model_path,
        y[val_idx],
        shipped,
        probabilities,
        variants,
        variant,
        labelled,
        split,
        y_test=y[test_idx],
        test_probabilities=test_probabilities,
    )
    shortcut = recipe.card.get("shortcut_check")
    if shortcut and "embedding" in outputs:
        card["shortcut_check"] = shortcut_report(
            shortcut,
            labelled.subset(held_out),
            y[held_out],
            outputs["probabilities"],
            outputs["embedding"],
            recipe.labels,
        )
    if len(test_idx):
        card["metrics"]["test_scorings"] = record_scoring(
            target,
            model=card["id"],
            version=card["version"],
            sha256=card["file"]["sha256"],
            case_ids=list(np.asarray(labelled.item_ids(), dtype=object)[test_idx]),
        )
    elif len(split.test):
        card["metrics"]["note"] = (
            "A candidate: validation images chose the epoch and the thresholds, and its "
            "test side was not scored (export it without --candidate to ship it, which "
            "scores the test side once)."
        )
        (target / "test.csv").unlink(missing_ok=True)
    parse_card(card)  # never ship a card the registry would refuse
    (target / "card.json").write_text(json.dumps(card, indent=2))
    _write_predictions(target / "validation.csv", labelled, val_idx, y, shipped, recipe.labels)
    if len(test_idx):
        _write_predictions(
            target / "test.csv", labelled, test_idx, y, test_probabilities, recipe.labels
        )
    for name in ("history.json", "split.csv", "search.json"):
        if (run_dir / name).exists():
            shutil.copyfile(run_dir / name, target / name)
    return {"card": card, "export": result}


def load_trained_model(run_dir: str | Path) -> keras.Model:
    """The run's best Keras model, with the project's custom layers registered."""
    import training.architectures  # noqa: F401 - registers ChannelPool (CBAM) with Keras

    return keras.models.load_model(Path(run_dir) / "model.keras")


def onnx_outputs(
    path: Path, inputs: np.ndarray, n_labels: int, *, fold_weights: bool | None = None
) -> dict[str, np.ndarray]:
    """The model's probabilities as (N, C) and, when it has one, its embedding."""
    session = cpu_session(path, fold_weights=fold_weights)
    names = [o.name for o in session.get_outputs() if o.name in ("probabilities", "embedding")]
    batches = [session.run(names, {"input": inputs[i : i + 16]}) for i in range(0, len(inputs), 16)]
    out = {
        name: np.concatenate([batch[k] for batch in batches]).astype(np.float64)
        for k, name in enumerate(names)
    }
    p = out["probabilities"]
    if p.shape[1] == 1 and n_labels == 2:
        out["probabilities"] = np.column_stack([1 - p[:, 0], p[:, 0]])
    return out


def build_card(
    recipe: dict[str, Any],
    model: keras.Model,
    result: ExportResult,
    model_path: Path,
    y_val: np.ndarray,
    shipped: np.ndarray,
    probabilities: dict[str, np.ndarray],
    variants: dict[str, dict[str, Any]],
    variant: str,
    labelled,
    split,
    *,
    y_test: np.ndarray | None = None,
    test_probabilities: np.ndarray | None = None,
) -> dict[str, Any]:
    """The card of an exported model; metrics come from the shipped file's predictions.

    Thresholds are chosen on validation (which also drove early stopping), so the
    validation figures are optimistic; the held-out test side, touched only here, gives
    the figures to quote.
    """
    labels = recipe["labels"]
    binary = len(labels) == 2
    data = model_path.read_bytes()
    card_text = recipe.get("card", {})
    positive = recipe.get("positive_label") or (labels[-1] if binary else None)
    thresholds: dict[str, Any] = {"default": 0.5, "operating_points": {}}
    if binary:
        pos = labels.index(positive)
        points = card_operating_points((y_val == pos).astype(int), shipped[:, pos])
        thresholds = {
            "default": points.get("youden", 0.5),
            "chosen_by": "Youden J on validation",
            "operating_points": points,
        }
    folded = variant == FOLDED_VARIANT
    stub = parse_card(_minimal_card(recipe, positive, data, thresholds, folded=folded))
    report = evaluate(stub, y_val, shipped, threshold=thresholds["default"] if binary else None)
    metrics: dict[str, Any] = {
        "validation": report["metrics"],
        "confusion_matrix": report["confusion_matrix"],
        "per_class": report.get("per_class"),
    }
    has_test = y_test is not None and test_probabilities is not None and len(y_test) > 0
    if has_test:
        test_report = evaluate(
            stub, y_test, test_probabilities, threshold=thresholds["default"] if binary else None
        )
        metrics["test"] = test_report["metrics"]
        metrics["test_confusion_matrix"] = test_report["confusion_matrix"]
        metrics["test_per_class"] = test_report.get("per_class")
    metrics["note"] = (
        "Validation images chose the epoch (early stopping) and the thresholds, so validation "
        "figures are optimistic; test images were held out until export"
        + ("." if has_test else " (this model has no test side).")
    )
    focus = focus_group(card_text)
    if focus and not binary:
        metrics[f"{focus.name}_vs_rest"] = _focus_report(
            recipe, focus, y_val, shipped, y_test if has_test else None, test_probabilities
        )
    targets = card_text.get("quality_targets")
    if targets:
        metrics["quality_targets"] = quality_targets(targets, metrics)
    reference_auc = headline_auc(evaluate(stub, y_val, probabilities["float32"])["metrics"])
    for name, p in probabilities.items():
        auc = headline_auc(evaluate(stub, y_val, p)["metrics"])
        variants[name].update({"validation_auc": auc, "auc_change_vs_float32": auc - reference_auc})
    counts = {side: _counts(labelled, idx) for side, idx in split.sides()}
    group_counts = {side: _group_counts(labelled, idx) for side, idx in split.sides()}
    training_data = {
        **card_text.get("training_data", {}),
        "counts": counts,
        # how many independent groups (patients, blocks) stand behind each count: a side
        # with one benign block measures one case, however many slices it holds
        "group_counts": group_counts,
        "split": {
            "method": f"group-disjoint by {card_text.get('group_column', 'group')}, stratified",
            "seed": split.seed,
            "file": "split.csv",
        },
    }
    if card_text.get("population"):
        training_data["population"] = card_text["population"]
    training_data.setdefault("source", recipe["data"].get("source", "unknown"))
    training_data.setdefault("licence", "see source")
    training_data.setdefault("citation", "see source")
    return {
        **_minimal_card(recipe, positive, data, thresholds, folded=folded),
        "changelog": _changelog(recipe.get("version", "1.0.0"), card_text.get("changelog", [])),
        "architecture": {
            "name": recipe["architecture"]["name"],
            "parameters": int(model.count_params()),
            "options": recipe["architecture"].get("options", {}),
            "weights": recipe["architecture"].get("weights"),
        },
        "training_data": training_data,
        "metrics": metrics,
        **({"what_was_tried": card_text["tried"]} if card_text.get("tried") else {}),
        **({"test_predictions": "test.csv"} if has_test else {}),
        "export": {
            "opset": result.opset,
            "parity_max_abs_error": result.max_probability_error,
            "parity_tolerance": 1e-4,
            "cam_gradient_tape_correlation_min": result.cam_correlation,
            "node_counts": result.node_counts,
            "export_seconds": round(result.seconds, 1),
            "shipped_variant": variant,
            "variants": variants,
        },
        "latency_ms": variants[variant]["latency_ms"],
    }


def _changelog(version: str, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The recipe's earlier versions (what changed and why), then this export, dated today.

    A recipe entry for the current version gives its ``changes``; without one the export
    says "trained from recipe".
    """
    current = next((e for e in history if e.get("version") == version), {})
    earlier = [e for e in history if e.get("version") != version]
    changes = current.get("changes", "trained from recipe")
    return [*earlier, {"version": version, "date": date.today().isoformat(), "changes": changes}]


def _minimal_card(
    recipe: dict[str, Any],
    positive: str | None,
    data: bytes,
    thresholds: dict[str, Any],
    *,
    folded: bool = False,
) -> dict[str, Any]:
    text = recipe.get("card", {})
    return {
        "schema_version": 1,
        "id": recipe["id"],
        "name": recipe["name"],
        "version": recipe.get("version", "1.0.0"),
        "task": "binary" if len(recipe["labels"]) == 2 else "multiclass",
        "labels": recipe["labels"],
        "positive_label": positive,
        "modality": recipe["modality"],
        "body_part": recipe.get("body_part", "unknown"),
        "preprocessing": recipe["preprocessing"],
        "outputs": {"probabilities": "probabilities", "cam": "cam", "embedding": "embedding"},
        "architecture": {"name": recipe["architecture"]["name"]},
        "training_data": {"source": "-", "licence": "-", "citation": "-", "split": "-"},
        "metrics": {},
        "thresholds": thresholds,
        "calibration": {"method": "none"},
        "intended_use": text.get("intended_use", "Research and teaching only; not for diagnosis."),
        "limitations": text.get("limitations", ["Research and teaching only; not for diagnosis."]),
        "file": file_entry(data, opset=OPSET, dequantize_weights_at_load=folded),
        "validation_predictions": "validation.csv",
    }


def _focus_report(
    recipe: dict[str, Any],
    group: LabelGroup,
    y_val: np.ndarray,
    p_val: np.ndarray,
    y_test: np.ndarray | None,
    p_test: np.ndarray | None,
) -> dict[str, Any]:
    """``group`` (one label, or several whose probabilities add up) against the rest, as a
    binary model with a validation threshold.

    Lets a three-class lung CT model be compared with figures published for
    malignant-vs-rest, and a model that tells bacterial from viral pneumonia with those
    for pneumonia against normal.
    """
    labels = list(recipe["labels"])
    rest = "not_" + group.name
    binary_card = parse_card(
        _minimal_card(
            {**recipe, "labels": [rest, group.name]},
            group.name,
            b"x",
            {"default": 0.5, "operating_points": {}},
        )
    )

    def as_binary(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        kept, truth = group.truth([labels[i] for i in y])
        score = group.score(p[kept], labels)
        return truth.astype(int), np.column_stack([1 - score, score])

    yv, pv = as_binary(y_val, p_val)
    threshold = card_operating_points(yv, pv[:, 1]).get("youden", 0.5)
    out: dict[str, Any] = {
        "question": group.describe(),
        "threshold": threshold,
        "chosen_by": "Youden J on validation",
        "validation": evaluate(binary_card, yv, pv, threshold=threshold)["metrics"],
    }
    if y_test is not None and p_test is not None:
        yt, pt = as_binary(y_test, p_test)
        out["test"] = evaluate(binary_card, yt, pt, threshold=threshold)["metrics"]
    return out


def focus_group(card_text: dict[str, Any]) -> LabelGroup | None:
    """The recipe's ``focus`` group, or its older single ``focus_label``."""
    if spec := card_text.get("focus"):
        return LabelGroup.from_spec(spec)
    if label := card_text.get("focus_label"):
        return LabelGroup(label, (label,))
    return None


def headline_auc(metrics: dict[str, Any]) -> float:
    """Binary AUC, or macro one-vs-rest AUC for multiclass models."""
    return float(metrics["auc"]["value"] if "auc" in metrics else metrics["macro_auc"])


def _counts(labelled, index: np.ndarray) -> dict[str, int]:
    values, counts = np.unique(np.asarray(labelled.labels)[index], return_counts=True)
    return {str(v): int(c) for v, c in zip(values, counts, strict=True)}


def _group_counts(labelled, index: np.ndarray) -> dict[str, int]:
    labels = np.asarray(labelled.labels)[index]
    groups = np.asarray(labelled.groups, dtype=object)[index]
    return {str(v): len(set(groups[labels == v])) for v in np.unique(labels)}


def _write_predictions(
    path: Path,
    labelled,
    index: np.ndarray,
    y: np.ndarray,
    probabilities: np.ndarray,
    labels: tuple[str, ...],
) -> None:
    ids = labelled.item_ids()
    extra = [
        c for c in labelled.metadata.columns if c in ("view", "source", "collection", "tinted")
    ]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "label", *[f"p_{k}" for k in labels], *extra])
        for row, i in enumerate(index):
            meta = [labelled.metadata.iloc[i][c] for c in extra]
            writer.writerow(
                [ids[i], labels[y[i]], *[f"{p:.6f}" for p in probabilities[row]], *meta]
            )
