"""ui.analyze_view: the Analyze report as a pure function of the result (no Streamlit)."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from ui import pdf
from ui.analyze_view import (
    NOT_EVALUATED,
    UNEVALUATED_ADVICE,
    analysis_view,
    report_content,
)
from ui.stats import ScoredSet
from zoo.imaging import load_scan
from zoo.registry import Registry
from zoo.runtime import predict


@pytest.fixture
def binary(zoo_dir):
    registry = Registry(zoo_dir)
    card = registry.card("binary-test")
    scan = load_scan(_png(), filename="a.png")
    (prediction,) = predict("binary-test", [scan], registry=registry, keep_preprocessed=True)
    validation = ScoredSet.from_validation(card, registry.validation_predictions("binary-test"))
    return registry, card, prediction, validation


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.full((40, 40), 200, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_view_names_the_model_that_produced_the_result(binary, zoo_dir):
    _, card, prediction, validation = binary
    other = Registry(zoo_dir).card("multi-test")
    with pytest.raises(ValueError, match="cannot be shown as multi-test"):
        analysis_view(other, prediction, "pneumonia", 0.5, "x", None, model_fits=True)
    view = analysis_view(
        card, prediction, "abnormal", 0.5, "Card default", validation, model_fits=True
    )
    assert view.card.id == prediction.model_id == "binary-test"
    assert prediction.model_sha256 == card.file.sha256 and prediction.model_version == card.version
    assert view.level in ("Low", "Borderline", "High") and view.distance is not None
    assert view.at is not None and view.validation_cases == len(validation.case_ids)


def test_level_and_distance_come_from_the_same_margin(binary):
    _, card, prediction, validation = binary
    score = prediction.probabilities["abnormal"]
    for threshold in (0.0, max(0.0, score - 1e-6), score + 1e-6, 1.0):
        view = analysis_view(
            card, prediction, "abnormal", threshold, "t", validation, model_fits=True
        )
        if view.level == "Borderline":
            assert view.distance.level == "Near"
        if view.level == "Low":
            assert view.distance.level != "Near"


def test_a_flagged_scan_puts_the_flag_first_in_view_and_pdf(binary, monkeypatch):
    _, card, prediction, validation = binary
    view = analysis_view(card, prediction, "abnormal", 0.5, "t", validation, model_fits=False)
    view = dataclasses.replace(view, out_of_distribution="**This scan looks unlike** the images.")
    assert view.flagged
    images = {"original": np.zeros((8, 8, 3), np.uint8), "processed": np.zeros((8, 8), np.uint8)}
    content = report_content(
        view,
        file_name="a.png",
        scan_summary={},
        images=images,
        figures={"limitations": ["Data in ../shared/data/x is small."]},
        rules=["r"],
    )
    assert content.out_of_distribution == "This scan looks unlike the images."
    assert content.model_sha256 == card.file.sha256

    class Plain(pdf._Report):  # uncompressed, so the text can be read back
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.set_compression(False)

    monkeypatch.setattr(pdf, "_Report", Plain)
    data = pdf.build_report(content)
    first = data.index(b"FLAGGED: out of distribution")
    assert first < data.index(b"Result") and first < data.index(b"Risk score")
    assert card.file.sha256.encode() in data


def test_an_unevaluated_model_gets_no_call_only_its_score(binary):
    _, card, prediction, _ = binary
    raw = {**card.raw, "provenance": {"kind": "imported", "evaluated": False}}
    unevaluated = dataclasses.replace(card, raw=raw)
    view = analysis_view(unevaluated, prediction, "abnormal", 0.5, "x", None, model_fits=True)
    assert view.level == "Not evaluated" and view.at is None
    assert view.advice == [UNEVALUATED_ADVICE]
    assert view.score == prediction.probabilities["abnormal"]


def test_a_dicom_upload_gets_its_result_as_three_dicom_objects_of_its_study():
    import io
    import zipfile

    import pydicom

    from ui.analyze_view import DICOM_FILES, dicom_results

    root = Path(__file__).resolve().parents[2]
    data = (root / "zoo" / "samples" / "cxr_cr_chest.dcm").read_bytes()
    registry = Registry(root / "zoo" / "models")
    card = registry.card("customcnn-cxr-mass")
    scan = load_scan(data, filename="cr.dcm")
    (prediction,) = predict(card.id, [scan], registry=registry, keep_preprocessed=True)
    threshold = 0.25  # the user's own, not the card's: the objects must say this one
    view = analysis_view(card, prediction, "mass", threshold, "custom", None, model_fits=True)
    heatmap = np.zeros((32, 32, 3), np.uint8)
    pdf_bytes = b"%PDF-1.4 test"
    archive = zipfile.ZipFile(io.BytesIO(dicom_results(view, data, heatmap, "Grad-CAM", pdf_bytes)))
    assert archive.namelist() == list(DICOM_FILES)
    sr, sc, doc = (pydicom.dcmread(io.BytesIO(archive.read(name))) for name in DICOM_FILES)
    source = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    assert {ds.StudyInstanceUID for ds in (sr, sc, doc)} == {source.StudyInstanceUID}
    assert (sr.Modality, doc.Modality) == ("SR", "DOC")
    assert doc.EncapsulatedDocument[: doc.EncapsulatedDocumentLength] == pdf_bytes
    measured = {
        str(item.ConceptNameCodeSequence[0].CodeMeaning): float(value.NumericValue)
        for group in sr.ContentSequence
        for sub in group.get("ContentSequence", [])
        for item in sub.get("ContentSequence", [])
        for value in item.get("MeasuredValueSequence", [])
    }
    assert measured["Decision threshold for mass"] == threshold
    assert measured["Probability of mass"] == pytest.approx(
        prediction.probabilities["mass"], abs=1e-6
    )


def test_a_binary_verdict_is_the_call_at_the_threshold_shown(binary):
    # once the line read "Most probable label: mass" for P(mass) 0.20, the card's call at
    # its 0.08 threshold, and kept saying so when the user moved the threshold above 0.20
    # below it: "not abnormal", not the model's other class ("normal" claims more)
    _, card, prediction, validation = binary
    score = prediction.probabilities["abnormal"]
    below, above = max(0.0, score - 0.01), min(1.0, score + 0.01)
    for threshold, called in ((below, "abnormal"), (score, "abnormal"), (above, "not abnormal")):
        view = analysis_view(card, prediction, "abnormal", threshold, "t", validation,
                             model_fits=True)  # fmt: skip
        assert view.verdict == ("Call at this threshold", called)
        # a model whose threshold was never chosen on data makes no call
        unevaluated = dataclasses.replace(view, level=NOT_EVALUATED)
        heading, answer = unevaluated.verdict
        assert heading.startswith("Score against this threshold (no call")
        assert answer == ("above" if called == "abnormal" else "below")


def test_a_multiclass_verdict_is_its_most_probable_label(zoo_dir):
    registry = Registry(zoo_dir)
    card = registry.card("multi-test")
    scan = load_scan(_png(), filename="a.png")
    (prediction,) = predict("multi-test", [scan], registry=registry)
    top = max(prediction.probabilities, key=prediction.probabilities.get)
    for label in card.labels:  # whichever label the report is about
        view = analysis_view(card, prediction, label, 0.5, "t", None, model_fits=True)
        assert view.verdict == ("Most probable label", top)
