"""A result as DICOM objects (SR, heatmap Secondary Capture, Encapsulated PDF): rendered
from the result, filed with the source's patient and study, and valid (dciodvfy)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pydicom
import pytest

from zoo.imaging import load_scan
from zoo.pacs.analyze import GRAD_CAM, analyze_dataset
from zoo.registry import Registry
from zoo.results import summarize, to_bytes
from zoo.runtime import predict

ROOT = Path(__file__).resolve().parents[3]
CR = ROOT / "zoo" / "samples" / "cxr_cr_chest.dcm"
MODELS = ROOT / "zoo" / "models"


@pytest.fixture(scope="module")
def analyzed():
    source = pydicom.dcmread(CR)
    summary, objects = analyze_dataset(source, "customcnn-cxr-mass", Registry(MODELS))
    return source, summary, objects


def texts(dataset) -> list[str]:
    """Every text and code meaning in an SR's content tree."""
    found = []
    for item in dataset.get("ContentSequence", []):
        if "TextValue" in item:
            found.append(str(item.TextValue))
        for code in ("ConceptNameCodeSequence", "ConceptCodeSequence"):
            found += [str(entry.CodeMeaning) for entry in item.get(code, [])]
        found += texts(item)
    return found


def numbers(dataset) -> dict[str, float]:
    """Every numeric measurement of an SR's content tree, by its name."""
    found = {}
    for item in dataset.get("ContentSequence", []):
        for value in item.get("MeasuredValueSequence", []):
            found[str(item.ConceptNameCodeSequence[0].CodeMeaning)] = float(value.NumericValue)
        found |= numbers(item)
    return found


def test_the_report_states_the_result_and_the_model_that_made_it(analyzed):
    _, summary, objects = analyzed
    card = Registry(MODELS).card("customcnn-cxr-mass")
    assert (summary.model_id, summary.model_version, summary.model_sha256) == (
        card.id,
        card.version,
        card.file.sha256,
    )
    assert summary.label == "mass" and summary.threshold == card.default_threshold
    said = texts(objects.report)
    assert "customcnn-cxr-mass" in said and card.version in said
    assert f"SHA-256 {card.file.sha256}" in said
    assert "Research use only; not for diagnosis." in said
    assert ("Present" if summary.called else "Absent") in said
    measured = numbers(objects.report)
    for label, p in summary.probabilities.items():
        assert measured[f"Probability of {label}"] == pytest.approx(p, abs=1e-6)
    assert measured["Decision threshold for mass"] == pytest.approx(summary.threshold, abs=1e-6)


def test_every_object_is_filed_with_the_source_and_references_it(analyzed):
    source, _, objects = analyzed
    uids = set()
    for ds in objects.all():
        assert ds.StudyInstanceUID == source.StudyInstanceUID
        assert ds.PatientID == source.PatientID and ds.PatientName == source.PatientName
        assert ds.SeriesInstanceUID != source.SeriesInstanceUID
        assert ds.Manufacturer == "MedZoo"
        uids.add(ds.SOPInstanceUID)
    assert len(uids) == 3 and source.SOPInstanceUID not in uids
    evidence = objects.report.CurrentRequestedProcedureEvidenceSequence[0]
    referenced = evidence.ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert referenced.ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert GRAD_CAM in objects.heatmap.DerivationDescription
    assert objects.heatmap.pixel_array.shape[2] == 3
    pdf = objects.pdf.EncapsulatedDocument[: objects.pdf.EncapsulatedDocumentLength]
    assert (
        pdf.startswith(b"%PDF") and objects.pdf.MIMETypeOfEncapsulatedDocument == "application/pdf"
    )


@pytest.mark.skipif(
    shutil.which("dciodvfy") is None,
    reason="dciodvfy is not installed (Debian package dicom3tools; .ci/run installs it)",
)
def test_every_object_passes_dciodvfy_without_errors(analyzed, tmp_path):
    _, _, objects = analyzed
    for name, ds in zip(("sr", "sc", "pdf"), objects.all(), strict=True):
        path = tmp_path / f"{name}.dcm"
        path.write_bytes(to_bytes(ds))
        checked = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
        errors = [line for line in checked.stderr.splitlines() if line.startswith("Error")]
        assert errors == [], (name, errors)


def test_a_multiclass_result_calls_its_most_probable_label_without_a_threshold():
    summary, objects = analyze_dataset(pydicom.dcmread(CR), "multiclass-cxr", Registry(MODELS))
    assert summary.threshold is None
    assert summary.label == max(summary.probabilities, key=summary.probabilities.get)
    assert summary.called and "most probable label" in summary.call
    assert not any(name.startswith("Decision threshold") for name in numbers(objects.report))


def test_a_summary_refuses_a_label_the_result_lacks():
    registry = Registry(MODELS)
    (prediction,) = predict("multiclass-cxr", [load_scan(CR.read_bytes())], registry=registry)
    with pytest.raises(ValueError, match="has no label 'mass'"):
        summarize(prediction, "x", "mass", 0.5)
