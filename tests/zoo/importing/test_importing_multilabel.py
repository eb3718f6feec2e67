"""Multi-label models (a sigmoid per label, TorchXRayVision-style): imported, measured per
label at each label's own threshold, served, and seen one finding at a time as a binary
model of that finding against the rest."""

import csv
import json

import numpy as np
import pytest
from importing_helpers import classifier, png

from zoo.card import parse_card
from zoo.cli import main
from zoo.errors import CardError, ModelImportError
from zoo.evaluation import evaluate, multilabel_macro_auc
from zoo.imaging import load_scan
from zoo.importing import ImportRequest, evaluate_import, install, prepare_import
from zoo.importing.labelled import labelled_items
from zoo.labels import label_row
from zoo.metrics import card_operating_points
from zoo.registry import Registry
from zoo.runtime import predict

UNIT = {"scale": 1.0, "mean": [0.0], "std": [1.0]}
LABELS = ("atelectasis", "effusion", "nodule", "mass")


@pytest.fixture
def multilabel_folder(tmp_path):
    """60 PNGs: the bright ones carry 'mass' (the helper model's last output rises with
    brightness), about a third 'effusion' at random; NIH-style labels joined by '|'."""
    folder = tmp_path / "set"
    folder.mkdir()
    rng = np.random.default_rng(1)
    lines = ["path,label,group,site"]
    for i in range(60):
        bright = i % 2 == 0
        value = int(np.clip(rng.normal(170 if bright else 90, 40), 0, 255))
        (folder / f"c{i:02d}.png").write_bytes(png(value))
        found = ["Effusion"] if rng.random() < 0.35 else []
        found += ["Mass"] if bright else []
        lines.append(f"c{i:02d}.png,{'|'.join(found) or 'No Finding'},p{i // 2},{'AB'[i % 2]}")
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return folder


def request(**changes) -> ImportRequest:
    return ImportRequest(model_id="multi", labels=LABELS, normalization=UNIT, **changes)


def test_a_graph_ending_in_a_sigmoid_over_several_labels_is_multilabel():
    prepared = prepare_import(classifier(classes=4, head="sigmoid").SerializeToString(), request())
    card = prepared.parsed()
    assert card.task == "multilabel" and card.positive_label is None
    assert card.label_thresholds == dict.fromkeys(LABELS, 0.5)


def test_multilabel_is_refused_for_a_softmax_and_beside_select():
    softmax = classifier(classes=4, head="softmax").SerializeToString()
    with pytest.raises(ModelImportError, match="through a softmax"):
        prepare_import(softmax, request(multilabel=True))
    logits = classifier(classes=4).SerializeToString()
    with pytest.raises(ModelImportError, match="not --multilabel"):
        prepare_import(logits, request(multilabel=True, select="mass"))


def test_select_still_imports_one_label_as_a_binary_model():
    prepared = prepare_import(classifier(classes=4).SerializeToString(), request(select="mass"))
    card = prepared.parsed()
    assert card.task == "binary" and card.labels == ("no_mass", "mass")


def truth_and_scores(folder, registry):
    rows = list(csv.DictReader((folder / "labels.csv").open()))
    truth = np.stack([label_row(r["label"], LABELS)[0] for r in rows])
    scans = [load_scan((folder / r["path"]).read_bytes(), filename=r["path"]) for r in rows]
    results = predict("multi", scans, registry=registry)
    return truth, np.array([[r.probabilities[k] for k in LABELS] for r in results]), results


def test_each_label_gets_its_own_threshold_and_figures_from_the_zoos_functions(
    tmp_path, multilabel_folder
):
    prepared = prepare_import(classifier(classes=4, head="sigmoid").SerializeToString(), request())
    prepared = evaluate_import(prepared, labelled_items(multilabel_folder / "labels.csv"))
    install(prepared, tmp_path / "models")
    registry = Registry(tmp_path / "models")
    card = registry.card("multi")
    truth, p, results = truth_and_scores(multilabel_folder, registry)

    for index in (1, 3):  # effusion and mass occur; atelectasis and nodule do not
        points = card_operating_points(truth[:, index], p[:, index])
        assert card.label_operating_points[LABELS[index]] == pytest.approx(points)
        assert card.label_thresholds[LABELS[index]] == pytest.approx(points["youden"])
    assert card.label_thresholds["nodule"] == 0.5  # no case: nothing to choose it on
    report = evaluate(card, truth, p)
    validation = card.metrics["validation"]
    assert validation["auc_mass"]["value"] == pytest.approx(report["metrics"]["auc_mass"]["value"])
    assert validation["auc_mass"]["value"] > 0.8  # brightness tells mass apart
    assert validation["auc_nodule"]["value"] is None  # one class only: undefined, said so
    assert validation["macro_auc"] == pytest.approx(multilabel_macro_auc(truth, p))
    low, high = validation["macro_auc_ci"]["ci"]
    assert low < validation["macro_auc"] < high
    assert card.metrics["per_label"]["mass"]["threshold"] == card.label_thresholds["mass"]
    assert card.training_data["counts"]["validation"]["mass"] == 30
    site = card.raw["subgroups"]["columns"]["site"]
    assert set(site) == set(LABELS)  # every label sliced, each at its own threshold
    assert card.raw["subgroups"]["threshold_note"].startswith("each label's own threshold")

    held_out = registry.validation_predictions("multi")
    np.testing.assert_array_equal(held_out.y_true, truth)  # 'A|B' rows read back
    np.testing.assert_allclose(held_out.probabilities, p, atol=1e-6)

    calls = [r.findings for r in results]
    expected = [
        tuple(k for k in LABELS if r.probabilities[k] >= card.label_thresholds[k]) for r in results
    ]
    assert [set(c) for c in calls] == [set(e) for e in expected]


def test_one_finding_seen_as_a_binary_model_keeps_the_models_identity(tmp_path, multilabel_folder):
    prepared = prepare_import(classifier(classes=4, head="sigmoid").SerializeToString(), request())
    prepared = evaluate_import(prepared, labelled_items(multilabel_folder / "labels.csv"))
    card = prepared.parsed()
    mass = card.finding("mass")
    assert (mass.id, mass.version, mass.file) == (card.id, card.version, card.file)
    assert mass.is_binary and mass.labels == ("no_mass", "mass") and mass.positive_label == "mass"
    assert mass.default_threshold == card.label_thresholds["mass"]
    assert mass.operating_points == card.label_operating_points["mass"]
    assert mass.metrics["validation"] == card.metrics["per_label"]["mass"]
    with pytest.raises(CardError, match="does not predict"):
        card.finding("pneumonia")

    install(prepared, tmp_path / "models")
    registry = Registry(tmp_path / "models")
    (result,) = predict("multi", [load_scan(png(220), filename="x.png")], registry=registry)
    assert result.label == max(LABELS, key=result.probabilities.__getitem__)
    view = result.finding("mass")
    assert view.probabilities == pytest.approx(
        {"no_mass": 1 - result.probabilities["mass"], "mass": result.probabilities["mass"]}
    )
    assert view.threshold == card.label_thresholds["mass"]
    assert view.label == ("mass" if view.score >= view.threshold else "no_mass")
    assert view.model_sha256 == result.model_sha256 == card.file.sha256


def test_a_multilabel_card_needs_every_labels_threshold_and_no_calibration():
    prepared = prepare_import(classifier(classes=4, head="sigmoid").SerializeToString(), request())
    card = dict(prepared.card)
    thresholds = dict(card["thresholds"])
    thresholds["per_label"] = {k: v for k, v in thresholds["per_label"].items() if k != "mass"}
    with pytest.raises(CardError, match="every label of a multilabel card"):
        parse_card({**card, "thresholds": thresholds})
    with pytest.raises(CardError, match="calibration 'none'"):
        parse_card(
            {**card, "calibration": {"method": "temperature", "params": {"temperature": 2.0}}}
        )
    binary = prepare_import(
        classifier(head="softmax").SerializeToString(),
        ImportRequest(model_id="two", labels=("a", "b"), normalization=UNIT),
    )
    with pytest.raises(CardError, match="per_label is for multilabel cards"):
        parse_card({**binary.card, "thresholds": {"default": 0.5, "per_label": {}}})


def test_a_labelled_set_naming_a_label_the_model_lacks_is_refused(tmp_path, multilabel_folder):
    path = multilabel_folder / "labels.csv"
    path.write_text(path.read_text().replace("Effusion", "Pneumothorax", 1))
    prepared = prepare_import(classifier(classes=4, head="sigmoid").SerializeToString(), request())
    with pytest.raises(ModelImportError, match="Pneumothorax"):
        evaluate_import(prepared, labelled_items(path))


def test_predict_and_evaluate_on_the_command_line_give_every_finding(
    tmp_path, multilabel_folder, capsys
):
    prepared = prepare_import(classifier(classes=4, head="sigmoid").SerializeToString(), request())
    prepared = evaluate_import(prepared, labelled_items(multilabel_folder / "labels.csv"))
    install(prepared, tmp_path / "models")
    card = prepared.parsed()
    models = ["--models-dir", str(tmp_path / "models")]
    scan = multilabel_folder / "c00.png"
    assert main([*models, "predict", "--model", "multi", "--json", str(scan)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["thresholds"] == pytest.approx(card.label_thresholds)
    called = [k for k in LABELS if record["probabilities"][k] >= card.label_thresholds[k]]
    assert set(record["findings"]) == set(called)

    labels = multilabel_folder / "labels.csv"
    assert main([*models, "evaluate", "--model", "multi", "--labels", str(labels), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["metrics"]["macro_auc"] == pytest.approx(card.metrics["validation"]["macro_auc"])
    assert report["per_label"]["mass"]["auc"]["value"] == pytest.approx(
        card.metrics["per_label"]["mass"]["auc"]["value"]
    )
