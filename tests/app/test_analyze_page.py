"""Analyze page: upload → report, every control, DICOM windows and frames, bad input."""

from pathlib import Path

import pytest
from app_helpers import captions, chest_xray_bytes, dicom_bytes, errors, keyed, ok, png_bytes, texts


def upload(at, name, data, mime="application/octet-stream"):
    at.file_uploader(key="analyze_upload").set_value((name, data, mime))
    return ok(at.run())


def metric(at, label_start):
    return next(m.value for m in at.metric if m.label.startswith(label_start))


def test_without_a_scan_the_page_asks_for_one(open_page):
    at = open_page("analyze")
    assert any("Upload a scan to start" in i.value for i in at.info)
    assert not at.metric


def test_chest_xray_gives_a_full_report(open_page):
    at = open_page("analyze")
    name, data = chest_xray_bytes()
    upload(at, name, data, "image/jpeg")
    assert not errors(at)
    score = float(metric(at, "Risk score"))
    assert 0.0 <= score <= 1.0
    assert metric(at, "Risk level") in ("Low", "Moderate", "High")
    assert metric(at, "Distance to threshold") in ("Near", "Moderate", "Far")
    page = texts(at)
    assert "Recommendations (research use)" in page
    assert "validation scores lie between this score and the threshold" in page
    assert "Image files carry no modality tag" in captions(at)  # JPEG: no modality
    assert len(at.get("image")) == 3  # original, processed, heatmap
    assert at.get("plotly_chart")  # probability bars
    assert at.get("download_button")
    assert "Research and teaching only" in at.sidebar.warning[0].value


def test_sensitivity_control_moves_the_threshold(open_page):
    at = open_page("analyze")
    upload(at, "scan.png", png_bytes(), "image/png")
    key = "analyze_op:binary-test_point"
    names = [o.rsplit(" (t=", 1)[0] for o in at.select_slider(key=key).options]
    assert len(names) >= 2 and "Card default" in names
    thresholds = []
    for name in (names[0], names[-1]):
        at.select_slider(key=key).set_value(name)
        ok(at.run())
        thresholds.append(float(metric(at, "Threshold")))
    assert thresholds[0] > thresholds[1]  # to the right: lower threshold, more sensitive
    assert "validation set" in texts(at)
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download the PDF report" in labels  # an image file: no DICOM objects to file
    assert not any("DICOM" in label for label in labels)


def test_threshold_by_hand_sets_the_risk_level(open_page):
    at = open_page("analyze")
    upload(at, "scan.png", png_bytes(), "image/png")
    score = float(metric(at, "Risk score"))
    at.toggle(key="analyze_op:binary-test_manual").set_value(True)
    ok(at.run())
    key = "analyze_op:binary-test_threshold"
    at.slider(key=key).set_value(min(1.0, round(score, 3) + 0.001))
    ok(at.run())
    assert metric(at, "Risk level") in ("Borderline", "Low")
    at.slider(key=key).set_value(0.0)
    ok(at.run())
    assert metric(at, "Risk level") == "High"
    assert metric(at, "Threshold").startswith("0.0")


def test_multiclass_model_label_and_map_controls(open_page):
    at = open_page("analyze")
    upload(at, "scan.png", png_bytes(), "image/png")
    keyed(at.selectbox, "analyze_model").select_index(1)  # multi-test
    ok(at.run())
    assert "multi-test" in keyed(at.selectbox, "analyze_model").value.id
    keyed(at.selectbox, "analyze_label_multi-test").set_value("pneumonia")
    ok(at.run())
    assert "P('pneumonia')" in next(m.label for m in at.metric if m.label.startswith("Risk"))
    keyed(at.selectbox, "analyze_map_multi-test").set_value("normal")
    ok(at.run())
    at.slider(key="analyze_alpha").set_value(0.9)
    ok(at.run())
    assert not errors(at)


def test_ct_dicom_window_presets_and_no_patient_identifiers(open_page):
    at = open_page("analyze")
    data = dicom_bytes("CT_small.dcm")
    upload(at, "ct", data)  # no extension: the content decides
    assert "Lung (W1500 / L-600)" in at.selectbox(key="analyze_window").options
    at.selectbox(key="analyze_window").set_value("lung")
    ok(at.run())
    assert not errors(at)
    page = texts(at)
    assert "CT" in page
    assert "CompressedSamples" not in page  # PatientName of CT_small.dcm
    # a CT scan for a CR model: allowed, with a warning
    assert "outside its intended use" in page
    # a DICOM upload offers its result as DICOM objects too; an image file does not
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download DICOM results (structured report, heatmap, PDF)" in labels


def test_multiframe_dicom_has_a_frame_picker(open_page):
    at = open_page("analyze")
    upload(at, "dose.dcm", dicom_bytes("rtdose.dcm"))
    at.number_input(key="analyze_frame").set_value(3)
    ok(at.run())
    assert not errors(at)
    assert "Lastname" not in texts(at)


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom's on the corrupt header
def test_corrupt_upload_shows_an_error_not_a_traceback(open_page):
    at = open_page("analyze")
    upload(at, "broken.dcm", b"DICM" * 100)
    assert errors(at) and "What to do" in errors(at)[0]
    assert not at.metric
    upload(at, "truncated.png", png_bytes()[:60], "image/png")
    assert errors(at)


def test_tampered_model_is_refused_with_a_message(open_page, zoo_dir: Path):
    (zoo_dir / "binary-test" / "model.onnx").write_bytes(b"not the model")
    at = open_page("analyze")
    upload(at, "scan.png", png_bytes(), "image/png")
    assert errors(at)
    assert "What to do" in errors(at)[0]


def test_sample_picker_appears_when_samples_exist(open_page, tmp_path, monkeypatch):
    samples = tmp_path / "samples"
    samples.mkdir()
    (samples / "sample-chest.png").write_bytes(png_bytes(seed=3))
    (samples / "README.md").write_text("Generated test sample, CC0.")
    monkeypatch.setenv("MEDZOO_SAMPLES_DIR", str(samples))
    at = open_page("analyze")
    at.radio(key="analyze_source").set_value("sample")
    ok(at.run())
    assert at.selectbox(key="analyze_sample").value.name == "sample-chest.png"
    assert at.metric  # the report of the sample


def test_no_sample_picker_without_samples(open_page, tmp_path, monkeypatch):
    empty = tmp_path / "no-samples"
    empty.mkdir()
    monkeypatch.setenv("MEDZOO_SAMPLES_DIR", str(empty))
    at = open_page("analyze")
    assert not [r for r in at.radio if r.key == "analyze_source"]


def test_without_models_the_page_says_how_to_get_some(open_page, tmp_path):
    at = open_page("analyze", models_dir=tmp_path)
    assert any("python -m pipeline build-zoo" in i.value for i in at.info)


def test_shipped_samples_are_offered(open_page):
    at = open_page("analyze")
    assert [r for r in at.radio if r.key == "analyze_source"]
