"""``export.trust.add_trust`` (``python -m pipeline trust``) on a real smoke model.

One shipped recipe is trained in smoke mode and exported once per module; the trust step
then runs on it (and on copies of the exported folder) with a tiny folder of other kinds
of scans standing in for ``../shared/data``. The card it writes must parse, load in the
registry, and drive serving: calibrated probabilities, the out-of-distribution flag and
the test-time-augmentation interval.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
import math
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="training tests need requirements-train.txt")

import export.trust as trust_module
from export.package import export_run
from export.trust import SHARED_KINDS, add_trust, summary_lines
from training.recipe import load_recipe
from training.train import train
from zoo.card import parse_card
from zoo.imaging import load_scan
from zoo.metrics import card_operating_points
from zoo.registry import Registry
from zoo.runtime import predict
from zoo.runtime.predict import OODResult
from zoo.trust.calibrators import BINARY_METHODS, MULTICLASS_METHODS, Calibrator
from zoo.trust.tta import default_views

#: The quickest shipped recipe in smoke mode (a 64 px custom CNN, 32 synthetic CT slices).
RECIPE = "customcnn-lung-ct"
#: A multiclass one, as quick: its Grad-CAM maps are not flat, unlike the binary smoke model's.
MULTICLASS_RECIPE = "multiclass-brain-mri"
IMAGES_PER_KIND = 3


def _write_png(path: Path, pixels: np.ndarray) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path)
    return path


def _other_kind(folder: str, i: int, size: int = 96) -> np.ndarray:
    """A crude stand-in for a scan of each shared kind (``i`` varies it a little)."""
    import cv2

    yy = np.mgrid[0:size, 0:size][0]
    c = size // 2
    if folder == "brain_mri":  # a bright round head on black
        image = np.zeros((size, size), np.float32)
        cv2.circle(image, (c, c), size // 3 + i, 200.0 - 20 * i, -1)
        cv2.circle(image, (c, c), size // 6, 90.0, -1)
    elif folder == "lung_ct":  # a grey body with two dark lungs, black outside
        image = np.zeros((size, size), np.float32)
        cv2.ellipse(image, (c, c), (size // 2 - 6, size // 3), 0, 0, 360, 140.0 + 10 * i, -1)
        for dx in (-size // 5, size // 5):
            cv2.ellipse(image, (c + dx, c), (size // 8, size // 5), 0, 0, 360, 20.0, -1)
    else:  # radiographs: a smooth grey gradient with two darker lung fields
        image = 90.0 + 80.0 * yy / size + 10 * i
        for dx in (-size // 5, size // 5):
            cv2.ellipse(image, (c + dx, c), (size // 7, size // 3), 0, 0, 360, 50.0, -1)
        if folder == "tb_xray":
            image = image[:, ::-1] * 0.9
    return np.asarray(image, np.float32)


def _shared_dir(root: Path) -> Path:
    """``root`` with each of SHARED_KINDS' folders: a few PNGs and a labels.csv."""
    for folder in SHARED_KINDS:
        names = []
        for i in range(IMAGES_PER_KIND):
            name = f"images/{folder}-{i}.png"
            _write_png(root / folder / name, _other_kind(folder, i))
            names.append(name)
        with (root / folder / "labels.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["image", "label"])
            writer.writerows([name, "unknown"] for name in names)
    return root


def _copy_model(source: Path, root: Path) -> Path:
    """A copy of an exported model folder under ``root`` (folder name = card id)."""
    target = root / source.name
    shutil.copytree(source, target)
    return target


def _split_items(run_dir: Path, side: str) -> list[Path]:
    with (run_dir / "split.csv").open() as handle:
        rows = [row for row in csv.DictReader(handle) if row["split"] == side]
    return [run_dir / "synthetic" / row["item"] for row in rows]


def _train_export_and_trust(base: Path, recipe_id: str):
    """Train ``recipe_id`` in smoke mode, export it and add trust; work inside ``base``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(base)  # add_trust caches inputs under ./cache
        shared = _shared_dir(base / "shared")
        run_dir = train(load_recipe(recipe_id), smoke=True, runs_dir=base / "runs", verbose=0)
        models = base / "models"
        model_dir = models / run_dir.name
        export_run(run_dir, model_dir)
        pristine = _copy_model(model_dir, base / "pristine")
        steps: list[str] = []
        card = add_trust(run_dir, model_dir, shared_dir=shared, progress=steps.append)
        yield SimpleNamespace(
            base=base,
            run_dir=run_dir,
            models=models,
            model_dir=model_dir,
            pristine=pristine,
            shared=shared,
            card=card,
            steps=steps,
        )


@pytest.fixture(scope="module")
def trusted(tmp_path_factory):
    """A binary model (sigmoid, one map) with its trust signals."""
    yield from _train_export_and_trust(tmp_path_factory.mktemp("trust"), RECIPE)


@pytest.fixture(scope="module")
def trusted_multiclass(tmp_path_factory):
    """A four-class softmax model (one map per label) with its trust signals."""
    yield from _train_export_and_trust(tmp_path_factory.mktemp("trust-mc"), MULTICLASS_RECIPE)


# --- the card -----------------------------------------------------------------------------


def test_card_is_written_parses_and_loads_in_the_registry(trusted):
    on_disk = json.loads((trusted.model_dir / "card.json").read_text())
    assert on_disk == trusted.card
    card = parse_card(on_disk)
    assert card.ood is not None
    registry = Registry(trusted.models)
    assert registry.problems == {}
    assert registry.ids() == [trusted.model_dir.name]
    assert registry.get(card.id).card.ood is not None
    assert len(registry.get(card.id).card.tta_views) == 8
    for key in ("heatmap_check", "calibration", "thresholds", "ood", "uncertainty"):
        assert key in on_disk, key
    assert [s.split("]")[0] + "]" for s in trusted.steps] == [f"[{i}/7]" for i in range(1, 8)]


def test_onnx_heatmaps_match_gradient_tape(trusted):
    check = trusted.card["heatmap_check"]
    validation_n = trusted.card["metrics"]["validation"]["n"]
    assert check["images"] == validation_n > 0
    assert check["met"] is True
    assert check["min"] >= 0.99
    assert check["median"] >= check["min"]
    assert check["share_at_least_0.99"] == 1.0
    # a binary sigmoid model has one map, named after its positive label
    assert check["maps_per_image"] == 1
    assert check["labels"] == [trusted.card["positive_label"]]
    # (this smoke model's positive-class maps are all zero, so this check is met trivially:
    # the multiclass test below is the one with non-flat maps)


def test_calibration_is_fitted_on_validation_and_measured_on_both_sides(trusted):
    section = trusted.card["calibration"]
    assert section["method"] in BINARY_METHODS
    assert section["fitted_on"] == "validation"
    assert section["n"] == trusted.card["metrics"]["validation"]["n"]
    effect = section["effect"]
    assert set(effect) == {"validation", "test"}
    assert effect["validation"]["n"] == trusted.card["metrics"]["validation"]["n"]
    assert effect["test"]["n"] == trusted.card["metrics"]["test"]["n"]
    for side in effect.values():
        for when in ("before", "after"):
            ece = side[when]["ece"]
            assert isinstance(ece, float) and 0.0 <= ece <= 1.0
    # the card's calibrator is the one the section describes
    Calibrator.from_section(section)


def test_thresholds_move_to_the_calibrated_scale(trusted):
    card = trusted.card
    thresholds = card["thresholds"]
    calibrator = Calibrator.from_section(card["calibration"])
    raw = thresholds["raw_operating_points"]
    assert "youden" in raw
    assert thresholds["default"] == calibrator.map_threshold(raw["youden"])
    assert thresholds["operating_points"] == {
        name: calibrator.map_threshold(value) for name, value in raw.items()
    }
    # the raw points are those of the raw validation predictions the card ships
    with (trusted.model_dir / card["validation_predictions"]).open() as handle:
        rows = list(csv.DictReader(handle))
    positive = card["positive_label"]
    y = np.array([row["label"] == positive for row in rows], dtype=int)
    scores = np.array([float(row[f"p_{positive}"]) for row in rows])
    recomputed = card_operating_points(y, scores)
    assert set(recomputed) == set(raw)
    for name, value in recomputed.items():
        assert raw[name] == pytest.approx(value, abs=1e-5), name


def test_ood_section_flags_other_kinds_blank_and_noise(trusted):
    ood = trusted.card["ood"]
    assert ood["validation_flag_rate"] <= 0.05
    assert ood["targets"]["validation_flagged_max"] == 0.05
    rows = ood["evaluation"]
    names = [row["images"] for row in rows]
    assert names[0].startswith("validation images")
    assert rows[0]["n"] == trusted.card["metrics"]["validation"]["n"]
    assert rows[0]["flagged"] <= 0.05
    assert names[1].startswith("test images")
    assert rows[1]["n"] == trusted.card["metrics"]["test"]["n"]
    modalities = set(trusted.card["modality"])
    for what, codes in SHARED_KINDS.values():
        (row,) = [r for r in rows if r["images"].startswith(f"{what}:")]
        assert "../" not in row["images"]  # no local path in a card
        assert row["n"] == IMAGES_PER_KIND
        assert row["kind"] == ("own" if codes & modalities else "other")
    (blank,) = [r for r in rows if r["images"].startswith("blank images")]
    (noise,) = [r for r in rows if r["images"].startswith("uniform noise")]
    assert blank["kind"] == noise["kind"] == "other"
    assert blank["n"] == 3 and noise["n"] == 10
    assert blank["flagged"] == 1.0
    assert noise["flagged"] == 1.0
    # other_kinds_flagged pools every "other" row, image by image
    others = [r for r in rows if r["kind"] == "other"]
    pooled = sum(r["flagged"] * r["n"] for r in others) / sum(r["n"] for r in others)
    assert ood["other_kinds_flagged"] == pytest.approx(pooled, abs=1e-3)


def test_uncertainty_section_has_eight_views_over_validation(trusted):
    section = trusted.card["uncertainty"]
    assert len(section["views"]) == 8
    # the recipe trains with horizontal flips, so the eighth view is a flip
    recipe = json.loads((trusted.run_dir / "recipe.json").read_text())
    assert recipe["augmentation"]["flip"] is True
    assert section["views"] == [v.to_dict() for v in default_views(flip=True)]
    validation = section["validation"]
    counts = trusted.card["training_data"]["counts"]["validation"]
    assert validation["images"] == trusted.card["metrics"]["validation"]["n"]
    assert validation["images"] == sum(counts.values())
    assert 0.0 <= validation["median_width"] <= validation["p90_width"] <= 1.0
    assert 0 <= validation["errors"] <= validation["images"]


def test_no_localization_or_subgroups_without_boxes_of_the_finding_or_views(trusted):
    # the smoke labels are assigned cyclically, so no box names the positive label
    assert "localization" not in trusted.card
    assert "subgroups" not in trusted.card


def test_summary_lines_report_every_signal(trusted):
    lines = summary_lines(trusted.card)
    assert lines[0].startswith("heatmaps: ") and lines[0].endswith("(met)")
    assert sum(line.startswith("calibration ") for line in lines) == 2
    assert (
        sum(line.startswith("ood: ") for line in lines)
        == len(trusted.card["ood"]["evaluation"]) + 1
    )
    assert any(line.startswith("tta: ") for line in lines)


def test_running_trust_twice_changes_nothing(trusted, tmp_path):
    """Thresholds are recomputed from raw validation scores, never mapped twice."""
    again = _copy_model(trusted.model_dir, tmp_path / "models")
    card = add_trust(trusted.run_dir, again, shared_dir=trusted.shared, heatmaps=False)
    assert card["thresholds"] == trusted.card["thresholds"]
    assert card["calibration"] == trusted.card["calibration"]
    assert card["ood"] == trusted.card["ood"]
    assert card["uncertainty"] == trusted.card["uncertainty"]
    # without the heatmap step the earlier check is kept as it was
    assert card["heatmap_check"] == trusted.card["heatmap_check"]


def test_a_fitted_calibration_moves_thresholds_once_and_serving_follows_it(
    trusted, tmp_path, monkeypatch
):
    """Force temperature scaling (the smoke validation set is too small to prefer it)."""
    fit = functools.partial(trust_module.fit_calibration, methods=("temperature",))
    monkeypatch.setattr(trust_module, "fit_calibration", fit)
    models = tmp_path / "models"
    target = _copy_model(trusted.pristine, models)
    first = add_trust(trusted.run_dir, target, shared_dir=trusted.shared, heatmaps=False)
    assert first["calibration"]["method"] == "temperature"
    temperature = first["calibration"]["params"]["temperature"]
    assert not math.isclose(temperature, 1.0, rel_tol=1e-3)
    calibrator = Calibrator.from_section(first["calibration"])
    raw_youden = first["thresholds"]["raw_operating_points"]["youden"]
    assert first["thresholds"]["default"] == calibrator.map_threshold(raw_youden)
    assert first["thresholds"]["default"] != pytest.approx(raw_youden, abs=1e-6)
    second = add_trust(trusted.run_dir, target, shared_dir=trusted.shared, heatmaps=False)
    assert second["thresholds"] == first["thresholds"]
    assert second["calibration"] == first["calibration"]

    registry = Registry(models)
    assert registry.problems == {}
    card = registry.get(first["id"]).card
    scans = [load_scan(path) for path in _split_items(trusted.run_dir, "validation")]
    served = predict(card.id, scans, registry=registry, tta=True)
    for prediction in served:
        raw = np.array([[prediction.raw_probabilities[label] for label in card.labels]])
        calibrated = card.calibrate(raw)[0]
        got = np.array([prediction.probabilities[label] for label in card.labels])
        np.testing.assert_allclose(got, calibrated, rtol=0, atol=1e-12)
        assert not np.allclose(got, raw[0], atol=1e-6)
        # decisions are the same on both scales
        positive = card.positive_label
        assert (prediction.label == positive) == (
            prediction.raw_probabilities[positive] >= raw_youden
        )


# --- serving ------------------------------------------------------------------------------


def test_predict_serves_ood_uncertainty_and_calibrated_probabilities(trusted, tmp_path):
    registry = Registry(trusted.models)
    model_id = trusted.model_dir.name
    card = registry.get(model_id).card
    own = next(iter(_split_items(trusted.run_dir, "validation")))
    rng = np.random.default_rng(7)
    noise = _write_png(tmp_path / "noise.png", rng.integers(0, 256, (128, 128)))
    scans = [load_scan(own), load_scan(noise)]

    served = predict(model_id, scans, registry=registry, tta=True)
    plain = predict(model_id, scans, registry=registry)
    assert len(served) == 2
    for prediction, untouched in zip(served, plain, strict=True):
        assert isinstance(prediction.ood, OODResult)
        assert math.isfinite(prediction.ood.score)
        assert isinstance(prediction.ood.flagged, bool)
        assert prediction.ood.flagged == (prediction.ood.score > card.ood.threshold)
        assert prediction.ood.threshold == card.ood.threshold
        assert 0.0 <= prediction.ood.percentile <= 100.0
        assert set(prediction.raw_probabilities) == set(card.labels)
        raw = np.array([[prediction.raw_probabilities[label] for label in card.labels]])
        got = np.array([prediction.probabilities[label] for label in card.labels])
        np.testing.assert_allclose(got, card.calibrate(raw)[0], rtol=0, atol=1e-12)
        spread = prediction.uncertainty
        assert spread is not None and spread.per_view.shape == (8, len(card.labels))
        for label in card.labels:
            assert spread.low[label] <= spread.mean[label] <= spread.high[label]
        # the identity view is the prediction itself, with or without the other views
        for label in card.labels:
            assert untouched.probabilities[label] == pytest.approx(
                prediction.probabilities[label], abs=1e-5
            )
        assert untouched.uncertainty is None
        assert untouched.ood.flagged == prediction.ood.flagged
    assert served[1].ood.flagged is True


@pytest.mark.parametrize("which", ["trusted", "trusted_multiclass"])
def test_served_validation_images_keep_the_cards_flag_rate(which, request):
    """The card promises at most 5% of validation flagged; serving must keep that."""
    model = request.getfixturevalue(which)
    registry = Registry(model.models)
    items = _split_items(model.run_dir, "validation")
    served = predict(model.model_dir.name, [load_scan(p) for p in items], registry=registry)
    threshold = served[0].ood.threshold
    # with few validation images the threshold is their highest score, exactly: allow
    # float noise between fitting (batches of 16) and serving (batches of 8)
    beyond = [p.ood.score for p in served if p.ood.score > threshold * (1 + 1e-6)]
    assert len(beyond) <= math.floor(0.05 * len(items) + 1e-9), (threshold, beyond)


# --- localization and subgroups -----------------------------------------------------------


def test_localization_and_subgroups_when_the_data_has_them(trusted, tmp_path, monkeypatch):
    """Boxes naming the positive label and a view column make both sections appear."""
    original = trust_module.load_labelled

    def with_boxes_and_views(*args, **kwargs):
        labelled = original(*args, **kwargs)
        metadata = labelled.metadata.copy()
        positive = trusted.card["positive_label"]
        metadata["boxes"] = [f"{positive}:16:16:32:32" for _ in range(len(metadata))]
        metadata["view"] = ["AP" if i % 2 else "PA" for i in range(len(metadata))]
        return dataclasses.replace(labelled, metadata=metadata)

    monkeypatch.setattr(trust_module, "load_labelled", with_boxes_and_views)
    models = tmp_path / "models"
    target = _copy_model(trusted.pristine, models)
    card = add_trust(trusted.run_dir, target, shared_dir=trusted.shared, heatmaps=False)
    positive = card["positive_label"]
    findings = card["localization"]["findings"]
    assert set(findings) == {positive}
    counts = card["training_data"]["counts"]
    for side, report in findings[positive].items():
        assert report["n"] == counts[side][positive]
        for who in ("model", "centre_prior"):
            assert 0.0 <= report[who]["pointing_hit_rate"] <= 1.0
            assert 0.0 <= report[who]["energy_inside"] <= 1.0
    assert set(findings[positive]) == {"validation", "test"}
    subgroups = card["subgroups"]
    assert subgroups["threshold"] == card["thresholds"]["default"]
    assert set(subgroups["columns"]) == {"view"}
    assert set(subgroups["columns"]["view"][positive]) == {"validation", "test"}
    assert Registry(models).problems == {}
    assert any(line.startswith(f"localization {positive}") for line in summary_lines(card))


# --- a multiclass model -------------------------------------------------------------------


def test_multiclass_card_heatmaps_calibration_and_thresholds(trusted_multiclass):
    card = trusted_multiclass.card
    labels = card["labels"]
    assert len(labels) == 4
    registry = Registry(trusted_multiclass.models)
    assert registry.problems == {}
    parse_card(json.loads((trusted_multiclass.model_dir / "card.json").read_text()))

    check = card["heatmap_check"]
    assert check["maps_per_image"] == len(labels) and check["labels"] == labels
    assert check["median_map_contrast"] > 0.1  # real maps, not all-zero ones
    assert check["met"] is True and check["min"] >= 0.99

    assert card["calibration"]["method"] in MULTICLASS_METHODS
    for side in card["calibration"]["effect"].values():
        assert side["task"] == "multiclass"
        assert math.isfinite(side["before"]["ece"]) and math.isfinite(side["after"]["ece"])
    # multiclass thresholds are not operating points; trust leaves them alone
    pristine = json.loads((trusted_multiclass.pristine / "card.json").read_text())
    assert card["thresholds"] == pristine["thresholds"]
    assert "raw_operating_points" not in card["thresholds"]

    ood = card["ood"]
    assert ood["validation_flag_rate"] <= 0.05
    rows = {r["images"].split(":")[0]: r for r in ood["evaluation"]}
    assert rows["brain MRI"]["kind"] == "own"  # an MR model
    assert rows["blank images (black, white, mid-grey)"]["flagged"] == 1.0
    assert rows["uniform noise images"]["flagged"] == 1.0
    assert card["uncertainty"]["views"] == [v.to_dict() for v in default_views(flip=True)]
    assert card["uncertainty"]["validation"]["images"] == card["metrics"]["validation"]["n"]
    for finding in card.get("localization", {}).get("findings", {}):
        assert finding in labels


def test_multiclass_serving_with_temperature_scaling(trusted_multiclass, tmp_path, monkeypatch):
    fit = functools.partial(trust_module.fit_calibration, methods=("temperature",))
    monkeypatch.setattr(trust_module, "fit_calibration", fit)
    models = tmp_path / "models"
    target = _copy_model(trusted_multiclass.pristine, models)
    run_dir = trusted_multiclass.run_dir
    written = add_trust(run_dir, target, shared_dir=trusted_multiclass.shared, heatmaps=False)
    assert written["calibration"]["method"] == "temperature"
    assert not math.isclose(written["calibration"]["params"]["temperature"], 1.0, rel_tol=1e-3)

    registry = Registry(models)
    card = registry.get(written["id"]).card
    items = _split_items(run_dir, "validation")
    noise = _write_png(
        tmp_path / "noise.png", np.random.default_rng(3).integers(0, 256, (100, 140))
    )
    served = predict(card.id, [load_scan(items[0]), load_scan(noise)], registry=registry, tta=True)
    for prediction in served:
        raw = np.array([[prediction.raw_probabilities[label] for label in card.labels]])
        got = np.array([prediction.probabilities[label] for label in card.labels])
        np.testing.assert_allclose(got, card.calibrate(raw)[0], rtol=0, atol=1e-12)
        assert got.sum() == pytest.approx(1.0, abs=1e-9)
        assert not np.allclose(got, raw[0], atol=1e-6)
        assert prediction.label == card.labels[int(np.argmax(got))]
        for label in card.labels:
            u = prediction.uncertainty
            assert u.low[label] <= u.mean[label] <= u.high[label]
        assert isinstance(prediction.ood, OODResult) and math.isfinite(prediction.ood.score)
    assert served[1].ood.flagged is True


# --- the command line ---------------------------------------------------------------------


def test_cli_trust_writes_the_card_and_prints_the_summary(trusted, tmp_path, capsys):
    from pipeline.cli import main

    target = _copy_model(trusted.pristine, tmp_path / "models")
    code = main(
        [
            "trust",
            str(trusted.run_dir),
            "--to",
            str(target),
            "--shared",
            str(trusted.shared),
            "--no-heatmaps",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    card = json.loads((target / "card.json").read_text())
    assert "heatmap_check" not in card
    assert "[3/7]" not in out
    for step in (1, 2, 4, 5, 6, 7):
        assert f"[{step}/7]" in out
    assert "heatmaps:" not in out
    for line in summary_lines(card):
        assert f"  {line}" in out
    assert "ood: other kinds flagged" in out
    assert "calibration " in out and "tta: " in out
    assert f"trust signals of {card['id']} written in" in out
    assert card["thresholds"] == trusted.card["thresholds"]
    parse_card(card)
