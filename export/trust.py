"""Trust signals written into an exported model's card (``python -m pipeline trust``).

Everything here is measured on the model file the zoo serves, with the run's own split:

- ``heatmap_check``: the ONNX class-activation maps against Grad-CAM from
  ``tf.GradientTape`` on the Keras model, over every validation image.
- ``calibration``: temperature / Platt / isotonic fitted on validation (chosen by group
  cross-validation there), ECE and reliability before and after on validation and test.
  The card's thresholds move to the calibrated scale, so decisions stay the same.
- ``ood``: a Mahalanobis summary of the training embeddings, a threshold flagging at
  most 5% of validation images, and the share flagged of the test side, of other kinds of
  scans from ``../shared/data``, of photographs, blank and noise images.
- ``uncertainty``: the test-time-augmentation views and how wide their interval is on
  validation (and whether wide intervals go with errors).
- ``localization`` (models whose data carries radiologist boxes): pointing game and
  energy inside the boxes, against a centre prior.
- ``subgroups``: metrics sliced by view and source collection where the data has them.

The test side is only ever scored here; nothing is fitted or chosen on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnxruntime as ort
import pandas as pd

from export.cam import gradient_tape_cam
from export.onnx_export import cpu_session
from export.package import load_trained_model
from export.targets import quality_targets
from training.data import load_arrays, load_split
from training.datasets import load_labelled
from training.recipe import parse_recipe
from zoo.card import json_safe, parse_card
from zoo.errors import ZooError
from zoo.imaging import load_scan
from zoo.metrics import auc_ci_delong, card_operating_points
from zoo.preprocess import Recipe, preprocess
from zoo.trust.calibrators import Calibrator, calibration_summary, fit_calibration
from zoo.trust.localization import boxes_for, full_map_on_source, localization_report, parse_boxes
from zoo.trust.scan_ood import ScanOOD, fit_scan_ood
from zoo.trust.subgroups import card_subgroups
from zoo.trust.tta import augment, default_views

#: Real scans of each kind in ``../shared/data`` (folder → what they are, DICOM codes).
SHARED_KINDS = {
    "chest_xray": ("chest X-ray (NIH)", {"CR", "DX"}),
    "tb_xray": ("chest X-ray (TB set)", {"CR", "DX"}),
    "lung_ct": ("lung CT slice", {"CT"}),
    "brain_mri": ("brain MRI", {"MR"}),
}
#: Images per other-kind set scored for the out-of-distribution figures.
PER_SET = 100
#: Metadata columns sliced in the card when the data has them.
SUBGROUP_COLUMNS = ("view", "source", "collection")


def add_trust(
    run_dir: str | Path,
    target: str | Path,
    *,
    data_dir: str | Path | None = None,
    shared_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    heatmaps: bool = True,
) -> dict[str, Any]:
    """Measure the trust signals of the model in ``target`` and write them into its card."""
    step = progress or (lambda message: None)
    run_dir, target = Path(run_dir), Path(target)
    card = json.loads((target / "card.json").read_text())
    recipe_data = json.loads((run_dir / "recipe.json").read_text())
    recipe = parse_recipe(recipe_data)
    smoke = recipe.data.get("source") == "synthetic" and recipe.id.endswith("-smoke")
    step("[1/7] loading the run's data and split")
    labelled = load_labelled(recipe, data_dir=data_dir, run_dir=run_dir, smoke=smoke)
    split = load_split(run_dir / "split.csv", labelled)
    inputs = load_arrays(labelled, recipe.preprocessing, cache_dir="cache")
    index = {label: i for i, label in enumerate(recipe.labels)}
    y = np.array([index[label] for label in labelled.labels])
    groups = np.array(labelled.groups)
    model_path = target / card["file"]["name"]
    session = cpu_session(
        model_path, fold_weights=card["file"].get("dequantize_weights_at_load", False)
    )
    train, val, test = split.train, split.validation, split.test
    shown = np.arange(len(inputs))
    if "test" not in card["metrics"]:  # a candidate: its test images are never run
        shown, test = np.setdiff1d(shown, test), test[:0]
    step(f"[2/7] scoring {len(shown)} images with {model_path}")
    outputs = outputs_of(session, inputs, shown)
    probabilities = as_matrix(outputs["probabilities"], len(recipe.labels))

    if heatmaps:
        step(f"[3/7] ONNX heatmaps vs GradientTape Grad-CAM on {len(val)} validation images")
        model = load_trained_model(run_dir)
        # in chunks: GradientTape over a whole validation side of InceptionV3 takes ~15 GB
        tape = np.concatenate(
            [gradient_tape_cam(model, inputs[val[i : i + 16]]) for i in range(0, len(val), 16)]
        )
        card["heatmap_check"] = heatmap_check(outputs["cam"][val], tape, recipe.labels)
    step("[4/7] calibration fitted on validation")
    binary = len(recipe.labels) == 2
    positive = recipe.labels.index(card["positive_label"]) if binary else None
    card["calibration"], calibrator = calibration_section(
        y, probabilities, groups, val, test, positive
    )
    if binary:
        card["thresholds"] = calibrated_thresholds(
            card["thresholds"], calibrator, y[val] == positive, probabilities[val, positive]
        )
    served = calibrator.apply(probabilities[:, positive] if binary else probabilities)
    served = np.column_stack([1 - served, served]) if binary else served

    step("[5/7] out-of-distribution summary and other kinds of scans")
    card["ood"] = ood_section(
        session,
        outputs["embedding"],
        inputs,
        train,
        val,
        test,
        Recipe.from_dict(card["preprocessing"]),
        set(card["modality"]) if isinstance(card["modality"], list) else {card["modality"]},
        shared_dir=Path(shared_dir) if shared_dir else default_shared_dir(),
        seed=recipe.seed,
    )
    step("[6/7] test-time-augmentation spread on validation")
    flip = bool(recipe_data.get("augmentation", {}).get("flip", False))
    card["uncertainty"] = uncertainty_section(
        session,
        inputs[val],
        y[val],
        calibrator,
        recipe.labels,
        positive,
        flip=flip,
        threshold=card["thresholds"]["default"],
    )
    step("[7/7] localization against boxes and subgroups")
    localization = localization_section(session, labelled, card, val, test, recipe.labels, positive)
    if localization:
        card["localization"] = localization
    else:
        card.pop("localization", None)
    if recipe.card.get("quality_targets"):  # a localization target is judged only now
        card["metrics"]["quality_targets"] = quality_targets(
            recipe.card["quality_targets"], card["metrics"], card.get("localization")
        )
    subgroups = subgroup_section(labelled, y, served, card, val, test, recipe.labels, positive)
    if subgroups:
        card["subgroups"] = subgroups
    else:
        card.pop("subgroups", None)
    card = json_safe(card)
    parse_card(card)  # never write a card the registry would refuse
    (target / "card.json").write_text(json.dumps(card, indent=2, allow_nan=False))
    return card


def summary_lines(card: dict[str, Any]) -> list[str]:
    """One line per signal, for the CLI."""
    lines = []
    check = card.get("heatmap_check")
    if check:
        lines.append(
            f"heatmaps: median r {check['median']:.4f}, min {check['min']:.4f} "
            f"over {check['images']} validation images ({'met' if check['met'] else 'MISSED'})"
        )
    calibration = card.get("calibration", {})
    for side, summary in calibration.get("effect", {}).items():
        lines.append(
            f"calibration {calibration.get('method')}: {side} ECE "
            f"{summary['before']['ece']:.3f} -> {summary['after']['ece']:.3f}"
        )
    ood = card.get("ood")
    if ood:
        for row in ood["evaluation"]:
            lines.append(f"ood: {row['flagged']:.0%} flagged of {row['images']} ({row['kind']})")
        lines.append(f"ood: other kinds flagged {ood['other_kinds_flagged']}")
    uncertainty = card.get("uncertainty", {}).get("validation")
    if uncertainty:
        lines.append(
            f"tta: median width {uncertainty['median_width']}, "
            f"error AUC {uncertainty['width_auc_for_errors']}"
        )
    for finding, sides in card.get("localization", {}).get("findings", {}).items():
        for side, report in sides.items():
            lines.append(
                f"localization {finding} ({side}, n={report['n']}): pointing "
                f"{report['model']['pointing_hit_rate']} vs centre "
                f"{report['centre_prior']['pointing_hit_rate']}; energy "
                f"{report['model']['energy_inside']} vs {report['centre_prior']['energy_inside']}"
            )
    return lines


def default_shared_dir() -> Path:
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def run_outputs(session: ort.InferenceSession, inputs: np.ndarray) -> dict[str, np.ndarray]:
    """Every output of the model on ``inputs``, in batches of 16."""
    names = [o.name for o in session.get_outputs()]
    batches = [session.run(names, {"input": inputs[i : i + 16]}) for i in range(0, len(inputs), 16)]
    return {name: np.concatenate([b[k] for b in batches]) for k, name in enumerate(names)}


def outputs_of(
    session: ort.InferenceSession, inputs: np.ndarray, shown: np.ndarray
) -> dict[str, np.ndarray]:
    """:func:`run_outputs` on the rows ``shown``; the other rows are NaN (never run)."""
    if len(shown) == len(inputs):
        return run_outputs(session, inputs)
    partial = run_outputs(session, inputs[shown])
    full = {}
    for name, values in partial.items():
        filled = np.full((len(inputs), *values.shape[1:]), np.nan, dtype=np.float64)
        filled[shown] = values
        full[name] = filled
    return full


def as_matrix(raw: np.ndarray, n_labels: int) -> np.ndarray:
    """(N, C) probabilities from an (N, 1) positive-class output or an (N, C) one."""
    raw = np.asarray(raw, dtype=np.float64).reshape(len(raw), -1)
    if raw.shape[1] == 1 and n_labels == 2:
        return np.column_stack([1 - raw[:, 0], raw[:, 0]])
    return raw


# --- heatmaps ---------------------------------------------------------------------------


def heatmap_check(
    onnx_cams: np.ndarray, tape_cams: np.ndarray, labels: Sequence[str], size: int = 224
) -> dict[str, Any]:
    """Pearson correlation of each upsampled ONNX map with its GradientTape Grad-CAM.

    Two all-zero maps agree (ReLU removed every positive evidence in both); one flat and
    one not disagree (correlation 0).
    """
    correlations = []
    for onnx_map, tape_map in zip(onnx_cams, tape_cams, strict=True):
        for channel in range(onnx_map.shape[-1]):
            a = _upsample(onnx_map[..., channel], size)
            b = _upsample(tape_map[..., channel], size)
            correlations.append(_correlation(a, b))
    values = np.array(correlations)
    n_maps = onnx_cams.shape[-1]
    # how much a map varies over the image: near-flat maps (little spatial evidence)
    # are where small rounding, as in int8 models, reorders cells and lowers r
    peaks = tape_cams.max(axis=(1, 2))
    contrast = np.where(
        peaks > 0, (peaks - tape_cams.min(axis=(1, 2))) / np.maximum(peaks, 1e-12), 0
    )
    return {
        "method": "Pearson correlation after bilinear upsampling to "
        f"{size}×{size}, ONNX map vs tf.GradientTape Grad-CAM on the Keras model",
        "images": len(onnx_cams),
        "maps_per_image": int(n_maps),
        "labels": list(labels) if n_maps == len(labels) else [labels[-1]],
        "side": "validation",
        "min": round(float(values.min()), 5),
        "p01": round(float(np.percentile(values, 1)), 5),
        "median": round(float(np.median(values)), 5),
        "share_at_least_0.99": round(float(np.mean(values >= 0.99)), 4),
        "median_map_contrast": round(float(np.median(contrast)), 4),
        "contrast_note": "(max − min) / max of the GradientTape map: 1 = a focused map, "
        "near 0 = almost flat",
        "target": 0.99,
        "met": bool(values.min() >= 0.99),
    }


def _upsample(heat: np.ndarray, size: int) -> np.ndarray:
    return cv2.resize(np.asarray(heat, np.float32), (size, size), interpolation=cv2.INTER_LINEAR)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    flat_a, flat_b = np.ptp(a) <= 1e-12, np.ptp(b) <= 1e-12
    if flat_a or flat_b:
        return 1.0 if flat_a and flat_b and np.allclose(a, b, atol=1e-6) else 0.0
    return float(np.corrcoef(a, b)[0, 1])


# --- calibration ------------------------------------------------------------------------


def calibration_section(
    y: np.ndarray,
    probabilities: np.ndarray,
    groups: np.ndarray,
    val: np.ndarray,
    test: np.ndarray,
    positive: int | None,
) -> tuple[dict[str, Any], Calibrator]:
    """Fit on validation (group folds choose the method); measure on validation and test."""

    def scores(idx: np.ndarray) -> np.ndarray:
        return probabilities[idx, positive] if positive is not None else probabilities[idx]

    def truth(idx: np.ndarray) -> np.ndarray:
        return (y[idx] == positive).astype(int) if positive is not None else y[idx]

    section = fit_calibration(truth(val), scores(val), groups=groups[val])
    calibrator = Calibrator.from_section(section)
    effect = {
        "validation": calibration_summary(truth(val), scores(val), calibrator.apply(scores(val)))
    }
    if len(test):
        effect["test"] = calibration_summary(
            truth(test), scores(test), calibrator.apply(scores(test))
        )
    section["effect"] = effect
    section["note"] = (
        "Served probabilities are calibrated; the card's thresholds are on that scale. "
        "metrics.* describe the raw outputs (AUC and decisions at the thresholds are the "
        "same; ECE before and after is in effect). validation.csv and test.csv hold the raw "
        "outputs; the app calibrates them when it reads them."
    )
    return section, calibrator


def calibrated_thresholds(
    thresholds: dict[str, Any], calibrator: Calibrator, y_positive: np.ndarray, raw: np.ndarray
) -> dict[str, Any]:
    """The raw-scale operating points, recomputed from validation, moved to the served scale.

    Recomputing from the raw validation predictions keeps this idempotent: running the
    trust step twice does not map the thresholds twice.
    """
    points = card_operating_points(np.asarray(y_positive, dtype=int), raw)
    mapped = {name: float(calibrator.map_threshold(value)) for name, value in points.items()}
    return {
        **thresholds,
        # without a Youden point (a one-class validation side) the export's default was 0.5
        "default": mapped.get("youden", float(calibrator.map_threshold(0.5))),
        "chosen_by": "Youden J on validation (raw scores), mapped through the calibration",
        "operating_points": mapped,
        "raw_operating_points": points,
    }


# --- out of distribution ----------------------------------------------------------------


def ood_section(
    session: ort.InferenceSession,
    embeddings: np.ndarray,
    inputs: np.ndarray,
    train: np.ndarray,
    val: np.ndarray,
    test: np.ndarray,
    recipe: Recipe,
    modalities: set[str],
    *,
    shared_dir: Path,
    seed: int,
) -> dict[str, Any]:
    section = fit_scan_ood(
        embeddings[train], embeddings[val], inputs[train], inputs[val], layout=recipe.layout
    )
    detector = ScanOOD.from_section(section)
    rows = [
        _flag_row(
            "validation images (own kind; the threshold's set)",
            detector,
            embeddings[val],
            inputs[val],
        )
    ]
    if len(test):
        rows.append(
            _flag_row("test images (own kind, held out)", detector, embeddings[test], inputs[test])
        )
    rng = np.random.default_rng(seed)
    other: list[np.ndarray] = []
    for folder, (what, codes) in SHARED_KINDS.items():
        images = _shared_images(shared_dir / folder, rng)
        if not images:
            continue
        batch = _inputs_of(recipe, [_scan_pixels(path) for path in images])
        emb = run_outputs(session, batch)["embedding"]
        own = bool(codes & modalities)
        rows.append(_flag_row(f"{what}: {len(images)} images", detector, emb, batch, own))
        if not own:
            other.append(detector.flags(emb, batch))
    oddities = _synthetic_oddities(rng)
    photos = _photographs(rng)
    if photos:
        oddities[f"photographs: {len(photos)} crops of scikit-learn's 2 sample photos"] = photos
    for name, pixels in oddities.items():
        batch = _inputs_of(recipe, pixels)
        emb = run_outputs(session, batch)["embedding"]
        rows.append(_flag_row(name, detector, emb, batch, own=False))
        other.append(detector.flags(emb, batch))
    flagged_other = float(np.mean(np.concatenate(other))) if other else None
    section["evaluation"] = rows
    section["other_kinds_flagged"] = None if flagged_other is None else round(flagged_other, 4)
    section["targets"] = {"other_kinds_flagged_min": 0.95, "validation_flagged_max": 0.05}
    return section


def _flag_row(
    name: str,
    detector: ScanOOD,
    embeddings: np.ndarray,
    inputs: np.ndarray,
    own: bool = True,
) -> dict[str, Any]:
    ratios = detector.ratios(embeddings, inputs)
    flags = ratios.max(axis=1) > detector.threshold
    return {
        "images": name,
        "n": len(flags),
        "kind": "own" if own else "other",
        "flagged": round(float(np.mean(flags)), 4),
        "flagged_by_embedding": round(float(np.mean(ratios[:, 0] > detector.threshold)), 4),
        "flagged_by_input": round(float(np.mean(ratios[:, 1] > detector.threshold)), 4),
    }


def _shared_images(folder: Path, rng: np.random.Generator) -> list[Path]:
    table = folder / "labels.csv"
    if not table.is_file():
        return []
    names = pd.read_csv(table)["image"].tolist()
    chosen = rng.choice(len(names), size=min(PER_SET, len(names)), replace=False)
    return [folder / names[i] for i in sorted(chosen)]


def _scan_pixels(path: Path) -> np.ndarray:
    try:
        return load_scan(path).pixels
    except ZooError:
        return np.zeros((8, 8), np.float32)


def _inputs_of(recipe: Recipe, images: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate([preprocess(image, recipe).input for image in images])


def _synthetic_oddities(rng: np.random.Generator) -> dict[str, list[np.ndarray]]:
    """Blank and noise images: what a broken export or a wrong file looks like."""
    shapes = [(512, 512), (400, 600)]
    return {
        "blank images (black, white, mid-grey)": [
            np.full(shapes[i % 2], value, np.float32) for i, value in enumerate((0.0, 1.0, 0.5))
        ],
        "uniform noise images": [rng.random(shapes[i % 2]).astype(np.float32) for i in range(10)],
    }


def _photographs(rng: np.random.Generator) -> list[np.ndarray]:
    """Crops of scikit-learn's two sample photographs (china.jpg, flower.jpg; CC BY)."""
    try:
        from sklearn.datasets import load_sample_images
    except ImportError:
        return []
    crops = []
    for image in load_sample_images().images:
        height, width = image.shape[:2]
        for _ in range(10):
            side = int(rng.integers(min(height, width) // 3, min(height, width)))
            top = int(rng.integers(0, height - side + 1))
            left = int(rng.integers(0, width - side + 1))
            crops.append(image[top : top + side, left : left + side].astype(np.float32) / 255.0)
    return crops


# --- uncertainty ------------------------------------------------------------------------


def uncertainty_section(
    session: ort.InferenceSession,
    inputs: np.ndarray,
    y: np.ndarray,
    calibrator: Calibrator,
    labels: Sequence[str],
    positive: int | None,
    *,
    flip: bool,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """The TTA views and, on validation, how wide the interval is and whether it flags errors.

    An error is what the app would get wrong: for a binary model the mean over the views
    against the card's (calibrated) default threshold; for a multiclass one the top label.
    """
    views = default_views(flip=flip)
    widths, wrong = [], []
    for start in range(0, len(inputs), 8):
        chunk = inputs[start : start + 8]
        raw = run_outputs(session, augment(chunk, views))["probabilities"]
        matrix = as_matrix(raw, len(labels))
        p = calibrator.apply(matrix[:, positive] if positive is not None else matrix)
        p = p.reshape(len(chunk), len(views), *p.shape[1:])
        if positive is not None:
            widths.extend(p.max(axis=1) - p.min(axis=1))
            decided = p.mean(axis=1) >= threshold
            wrong.extend(decided != (y[start : start + 8] == positive))
        else:
            mean = p.mean(axis=1)
            top = mean.argmax(axis=1)
            per_view_top = np.stack([p[i, :, top[i]] for i in range(len(chunk))])
            widths.extend(per_view_top.max(axis=1) - per_view_top.min(axis=1))
            wrong.extend(top != y[start : start + 8])
    widths_arr, wrong_arr = np.array(widths), np.array(wrong, dtype=bool)
    error_auc = None
    if 0 < wrong_arr.sum() < len(wrong_arr):
        value, low, high = auc_ci_delong(wrong_arr.astype(int), widths_arr)
        error_auc = {"value": round(value, 3), "ci": [round(low, 3), round(high, 3)]}
    return {
        "method": "test-time augmentation",
        "views": [view.to_dict() for view in views],
        "interval": "lowest to highest calibrated probability over the views",
        "validation": {
            "images": len(widths_arr),
            "median_width": round(float(np.median(widths_arr)), 4),
            "p90_width": round(float(np.percentile(widths_arr, 90)), 4),
            "errors": int(wrong_arr.sum()),
            "width_auc_for_errors": error_auc,
        },
        "note": "The interval shows how much the answer moves under changes that should not "
        "matter; it is not a confidence interval for the true probability. "
        "width_auc_for_errors: how well a wide interval picks out the model's mistakes on "
        "validation (0.5 = not at all).",
    }


# --- localization -----------------------------------------------------------------------


def localization_section(
    session: ort.InferenceSession,
    labelled,
    card: dict[str, Any],
    val: np.ndarray,
    test: np.ndarray,
    labels: Sequence[str],
    positive: int | None,
) -> dict[str, Any] | None:
    """Pointing game and energy in the radiologist boxes of each finding the model names."""
    if "boxes" not in labelled.metadata.columns:
        return None
    recipe = Recipe.from_dict(card["preprocessing"])
    size = tuple(recipe.input_size)
    findings = [labels[positive]] if positive is not None else list(labels)
    out: dict[str, Any] = {}
    for side, idx in (("validation", val), ("test", test)):
        for label_index, label in enumerate(findings):
            truth_label = label if positive is None else labels[positive]
            heats, boxes = [], []
            for i in idx:
                if labelled.labels[i] != truth_label:
                    continue
                found = boxes_for(parse_boxes(labelled.metadata.iloc[i]["boxes"]), _names(label))
                if not found:
                    continue
                scan = load_scan(labelled.paths[i])
                prepared = preprocess(scan, recipe)
                cam = run_outputs(session, prepared.input)["cam"][0]
                channel = 0 if cam.shape[-1] == 1 else label_index
                heats.append(
                    full_map_on_source(cam[..., channel], prepared, size, scan.pixels.shape[:2])
                )
                boxes.append(found)
            if heats:
                out.setdefault(label, {})[side] = localization_report(heats, boxes)
    if not out:
        return None
    return {
        "method": "pointing game (heatmap maximum inside a radiologist box of the finding) "
        "and share of heatmap energy inside the boxes, on images of that finding with boxes; "
        "baseline: a centre-prior Gaussian",
        "findings": out,
    }


def _names(label: str) -> list[str]:
    """NIH finding names a model label stands for."""
    return [label.replace("_", " ")]


# --- subgroups --------------------------------------------------------------------------


def subgroup_section(
    labelled,
    y: np.ndarray,
    served: np.ndarray,
    card: dict[str, Any],
    val: np.ndarray,
    test: np.ndarray,
    labels: Sequence[str],
    positive: int | None,
) -> dict[str, Any] | None:
    columns = [c for c in SUBGROUP_COLUMNS if c in labelled.metadata.columns]
    threshold = card["thresholds"]["default"] if positive is not None else 0.5
    sides = {"validation": val, "test": test}
    return card_subgroups(labelled.metadata, columns, y, served, labels, positive, threshold, sides)
