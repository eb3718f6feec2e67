"""An imported model measured on a labelled set: the card's sections equal what the zoo's
own functions compute from the model's predictions; the CLI does it end to end."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from importing_helpers import classifier

from zoo.card import parse_card
from zoo.evaluation import evaluate
from zoo.imaging import load_scan
from zoo.importing import ImportRequest, evaluate_import, install, prepare_import
from zoo.importing.importer import request_like
from zoo.importing.labelled import labelled_items
from zoo.metrics import card_operating_points
from zoo.registry import Registry
from zoo.runtime import predict

ROOT = Path(__file__).resolve().parents[3]
SHARED_DATA = ROOT.parent / "shared" / "data"
UNIT = {"scale": 1.0, "mean": [0.0], "std": [1.0]}


def imported(tmp_path, labelled_folder):
    request = ImportRequest(
        model_id="outside", labels=("normal", "abnormal"), normalization=UNIT, activation="softmax"
    )
    prepared = prepare_import(classifier(channels=1).SerializeToString(), request)
    prepared = evaluate_import(prepared, labelled_items(labelled_folder / "labels.csv"))
    install(prepared, tmp_path / "models")
    return Registry(tmp_path / "models"), prepared


def test_the_card_figures_are_the_zoos_own_on_the_models_predictions(tmp_path, labelled_folder):
    registry, _ = imported(tmp_path, labelled_folder)
    card = registry.card("outside")
    rows = list(csv.DictReader((labelled_folder / "labels.csv").open()))
    scans = [
        load_scan((labelled_folder / r["path"]).read_bytes(), filename=r["path"]) for r in rows
    ]
    results = predict("outside", scans, registry=registry)
    y = np.array([card.labels.index(r["label"]) for r in rows])
    p = np.array([[r.probabilities[k] for k in card.labels] for r in results])

    points = card_operating_points((y == 1).astype(int), p[:, 1])
    assert card.operating_points == pytest.approx(points)
    assert card.default_threshold == pytest.approx(points["youden"])
    expected = evaluate(card, y, p, threshold=card.default_threshold)["metrics"]
    ours = card.metrics["validation"]["auc"]
    assert (ours["value"], *ours["ci"]) == pytest.approx(
        (expected["auc"]["value"], *expected["auc"]["ci"])
    )
    assert card.metrics["validation"]["auc"]["value"] > 0.8  # brightness does tell them apart
    held_out = registry.validation_predictions("outside")
    np.testing.assert_allclose(held_out.probabilities, p, atol=1e-6)
    assert held_out.metadata["site"][:2] == ("A", "A")
    assert set(card.raw["subgroups"]["columns"]) == {"site"}
    assert card.raw["provenance"]["evaluated_on"] == "labels.csv (60 cases)"
    assert card.ood is not None  # fitted on the dense layer's input


def test_labels_line_up_through_the_vocabulary(tmp_path, labelled_folder):
    text = (labelled_folder / "labels.csv").read_text().replace(",normal,", ",no_finding,")
    (labelled_folder / "labels.csv").write_text(text)
    registry, _ = imported(tmp_path, labelled_folder)
    assert registry.card("outside").raw["training_data"]["counts"]["validation"] == {
        "normal": 30,
        "abnormal": 30,
    }


def test_unknown_labels_and_unreadable_files_say_what_is_wrong(tmp_path, labelled_folder):
    from zoo.errors import ModelImportError

    text = (labelled_folder / "labels.csv").read_text().replace(",normal,", ",cat,", 1)
    (labelled_folder / "labels.csv").write_text(text)
    with pytest.raises(ModelImportError, match=r"labels \['cat'\]"):
        imported(tmp_path, labelled_folder)
    (labelled_folder / "labels.csv").write_text(text.replace(",cat,", ",normal,"))
    (labelled_folder / "case_001.png").write_bytes(b"not a png")
    registry, _ = imported(tmp_path, labelled_folder)
    assert registry.card("outside").metrics["unreadable"] == 1


def test_the_cli_imports_evaluates_and_the_zoo_lists_it(tmp_path, labelled_folder):
    model = tmp_path / "outside.onnx"
    model.write_bytes(classifier(head="softmax").SerializeToString())
    models = tmp_path / "models"
    command = [sys.executable, "-m", "zoo", "import", str(model), "--id", "outside"]
    command += ["--labels", "normal,abnormal", "--scale", "1", "--modality", "cr,dx"]
    command += ["--evaluate", str(labelled_folder / "labels.csv"), "--models-dir", str(models)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "imported outside" in done.stdout and "AUC" in done.stdout
    listed = subprocess.run(
        [sys.executable, "-m", "zoo", "--models-dir", str(models), "list", "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert json.loads(listed.stdout)["modality"] == ["CR", "DX"]

    again = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert again.returncode == 2 and "already exists" in again.stderr
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(model.read_bytes()[:300])
    command[4] = str(broken)
    command[6] = "broken"
    refused = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert refused.returncode == 2 and refused.stderr.startswith("error: ")
    assert "Traceback" not in refused.stderr
    assert not (models / "broken").exists()


def test_the_shipped_brain_model_imported_as_foreign_reproduces_its_card(tmp_path):
    if not (SHARED_DATA / "brain_mri" / "images").is_dir():
        pytest.skip(f"the real scans are not at {SHARED_DATA} (../shared/data is absent)")
    shipped = Registry(ROOT / "zoo" / "models").get("multiclass-brain-mri")
    rows = list(csv.DictReader((shipped.directory / "validation.csv").open()))
    labels_csv = tmp_path / "validation.csv"
    with labels_csv.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label"])
        for row in rows:
            writer.writerow([SHARED_DATA / "brain_mri" / row["case_id"], row["label"]])
    prepared = prepare_import(shipped.read("model.onnx"), request_like(shipped.card, "foreign"))
    prepared = evaluate_import(prepared, labelled_items(labels_csv))
    card = parse_card(prepared.card)
    ours, theirs = card.metrics["validation"], shipped.card.metrics["validation"]
    assert ours["macro_auc"] == pytest.approx(theirs["macro_auc"], abs=1e-6)
    for label in shipped.card.labels:
        assert ours[f"auc_{label}"]["value"] == pytest.approx(
            theirs[f"auc_{label}"]["value"], abs=1e-6
        )
