"""The pages on the shipped zoo (``zoo/models``), as a fresh Streamlit Cloud deploy shows it."""

from pathlib import Path

import pytest
from app_helpers import REPORT_HEADINGS, captions, errors, keyed, ok, texts

from ui.choice import declared_model
from zoo.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "zoo" / "models"
SAMPLES = ROOT / "zoo" / "samples"
SHIPPED = sorted(p.name for p in MODELS.iterdir() if (p / "card.json").is_file())


def test_home_lists_every_shipped_model_with_test_and_validation_auc(open_page):
    at = open_page("home", models_dir=MODELS)
    (table,) = at.table
    frame = table.value
    assert sorted(frame.index) == SHIPPED and len(SHIPPED) == 7
    assert {"test AUC (95% CI)", "validation AUC (95% CI)"} <= set(frame.columns)
    assert not (frame["test AUC (95% CI)"] == "n/a").any()


def test_model_zoo_page_shows_held_out_metrics_and_the_shortcut_check(open_page):
    at = open_page("model_zoo", models_dir=MODELS)
    page = texts(at)
    assert "held-out test" in " ".join(str(d.value.columns.tolist()) for d in at.dataframe)
    assert "Shortcut check" in page
    assert "malignant vs rest" in page


@pytest.mark.parametrize(
    ("sample", "modality_models"),
    [
        ("ct_lung_malignant.jpg", {"customcnn-lung-ct", "resnet-lung-ct"}),
        ("mri_brain_glioma.jpg", {"multiclass-brain-mri"}),
        ("cxr_nih_mass.jpg", {"customcnn-cxr-mass", "multiclass-cxr"}),
        ("cxr_pediatric_pneumonia.jpg", {"pediatric-cxr", "multiclass-cxr"}),
    ],
)
def test_a_real_sample_is_analysed_by_each_model_of_its_kind(open_page, sample, modality_models):
    at = open_page("analyze", models_dir=MODELS)
    data = (SAMPLES / sample).read_bytes()
    for model_id in sorted(modality_models):
        at.file_uploader(key="analyze_upload").set_value((sample, data, "image/jpeg"))
        ok(at.run())
        picker = keyed(at.selectbox, "analyze_model")
        name = Registry(MODELS).card(model_id).name
        picker.select_index(next(i for i, o in enumerate(picker.options) if name in o))
        ok(at.run())
        assert name in str(picker.value)
        assert not errors(at), errors(at)
        assert len(at.get("image")) == 3


def test_an_image_file_never_silently_goes_to_a_model_claiming_ot(open_page):
    # JPEGs carry no modality; the synthetic model's card lists OT, which once made it the
    # unflagged default for every upload, a brain MRI included
    at = open_page("analyze", models_dir=MODELS)
    data = (SAMPLES / "mri_brain_glioma.jpg").read_bytes()
    at.file_uploader(key="analyze_upload").set_value(("mri.jpg", data, "image/jpeg"))
    ok(at.run())
    assert "Image files carry no modality tag" in captions(at)  # said once, as a note
    options = keyed(at.selectbox, "analyze_model").options
    synthetic = Registry(MODELS).card("mobilenetv3-synthetic").name
    assert next(o for o in options if synthetic in o).startswith("⚠")
    assert not options[0].startswith("⚠") and "brain" in options[0].lower()
    assert not at.main.warning, [w.value for w in at.main.warning]  # the right model: no warning


def _analyze(open_page, sample: str, model_id: str):
    at = open_page("analyze", models_dir=MODELS)
    at.file_uploader(key="analyze_upload").set_value(
        (sample, (SAMPLES / sample).read_bytes(), "image/jpeg")
    )
    ok(at.run())
    picker = keyed(at.selectbox, "analyze_model")
    name = Registry(MODELS).card(model_id).name
    picker.select_index(next(i for i, o in enumerate(picker.options) if name in o))
    return ok(at.run())


def test_an_out_of_distribution_scan_gets_no_confident_report(open_page):
    # a brain MRI sent to the chest X-ray model: the modality tag cannot say so (JPEG),
    # the out-of-distribution score does, and the result stays collapsed until asked for
    at = _analyze(open_page, "mri_brain_glioma.jpg", "multiclass-cxr")
    assert any("looks unlike the images" in e.value for e in at.error), texts(at)
    assert "Result withheld" in captions(at)
    assert not at.metric and not at.get("download_button")
    keyed(at.toggle, "analyze_show_ood_multiclass-cxr").set_value(True)
    ok(at.run())
    assert at.metric and at.get("download_button")
    assert "Out-of-distribution score" in captions(at)
    advice = next(m.value for m in at.markdown if m.value.startswith("- "))
    assert advice.startswith("- The scan looks unlike this model's training data")


def test_an_own_kind_upload_gets_no_out_of_distribution_warning(open_page):
    at = _analyze(open_page, "cxr_tb_tuberculosis.jpg", "multiclass-cxr")
    assert not any("looks unlike the images" in w.value for w in at.warning)
    page = texts(at)
    assert "test-time views" in page and "calibrated on validation (temperature)" in page


def test_the_radiologist_box_of_a_sample_is_drawn_over_the_heatmap(open_page):
    at = _analyze(open_page, "cxr_nih_mass.jpg", "customcnn-cxr-mass")
    captions = [im.caption for image in at.get("image") for im in image.proto.imgs]
    assert any("radiologist's box (Mass)" in c for c in captions), captions
    # a scan that is not one of the samples with boxes gets none
    at = _analyze(open_page, "cxr_tb_tuberculosis.jpg", "multiclass-cxr")
    captions = [im.caption for image in at.get("image") for im in image.proto.imgs]
    assert not any("radiologist" in c for c in captions)


def test_metrics_page_shows_calibration_localization_and_subgroups(open_page):
    at = open_page("metrics", models_dir=MODELS)
    picker = at.selectbox(key="metrics_model")
    name = Registry(MODELS).card("customcnn-cxr-mass").name
    picker.select_index(next(i for i, o in enumerate(picker.options) if name in str(o)))
    ok(at.run())
    page = texts(at)
    assert "Calibration of the served probabilities" in page
    assert f"Calibration: {Registry(MODELS).card('customcnn-cxr-mass').calibrator.method}" in page
    assert "pointing game" in page.lower()
    slicer = at.selectbox(key="metrics_customcnn-cxr-mass_Validation split (shipped)_subgroup_col")
    assert "view" in slicer.options
    slicer.set_value("view")
    ok(at.run())
    assert any("AUC (95% CI, DeLong)" in d.value.columns for d in at.dataframe)


def test_model_zoo_page_lists_the_trust_signals_without_the_raw_arrays(open_page):
    at = open_page("model_zoo", models_dir=MODELS)
    page = texts(at)
    assert "Trust signals" in page and "Out-of-distribution warning" in page
    assert all("b64" not in str(c.value) for c in at.code)


@pytest.mark.parametrize(
    ("sample", "own_kind"),
    [
        ("ct_lung_normal.jpg", {"customcnn-lung-ct", "resnet-lung-ct"}),
        ("mri_brain_pituitary.jpg", {"multiclass-brain-mri"}),
        ("cxr_tb_normal.jpg", {"customcnn-cxr-mass", "multiclass-cxr"}),
    ],
)
def test_an_image_file_opens_on_a_model_of_its_kind(open_page, sample, own_kind):
    # no modality tag to go by: the models whose training inputs the scan resembles come
    # first, and the "no modality tag" warning still shows
    at = open_page("analyze", models_dir=MODELS)
    data = (SAMPLES / sample).read_bytes()
    at.file_uploader(key="analyze_upload").set_value((sample, data, "image/jpeg"))
    ok(at.run())
    names = {Registry(MODELS).card(m).name: m for m in SHIPPED}
    options = keyed(at.selectbox, "analyze_model").options
    leading = {next(m for n, m in names.items() if n in o) for o in options[: len(own_kind)]}
    assert leading == own_kind, options
    # ⚠ marks exactly the models of other kinds; the modality note is said once
    assert [o.startswith("⚠") for o in options] == [False] * len(own_kind) + [True] * (
        len(options) - len(own_kind)
    ), options
    assert captions(at).count("Image files carry no modality tag") == 1
    assert not at.main.warning, [w.value for w in at.main.warning]


def _report_model(at) -> str:
    """The model id the report says produced it (the provenance line, or for a scan
    flagged out of distribution the line that says its result is withheld)."""
    lines = [m.value for m in at.markdown] + [c.value for c in at.caption]
    line = next(t for t in lines if REPORT_HEADINGS.search(t) or t.startswith("Result withheld"))
    return next(model_id for model_id in SHIPPED if f"({model_id} v" in line)


def test_a_sequence_of_uploads_is_reported_by_the_model_the_picker_names(open_page):
    # CT, then brain MRI, then chest X-ray, replacing each other: once the report below
    # kept the previous scan's model while the picker already named the new one
    at = open_page("analyze", models_dir=MODELS)
    expected_kinds = [
        ("ct_lung_malignant.jpg", {"customcnn-lung-ct", "resnet-lung-ct"}),
        ("mri_brain_glioma.jpg", {"multiclass-brain-mri"}),
        ("cxr_nih_mass.jpg", {"customcnn-cxr-mass", "multiclass-cxr"}),
        ("ct_lung_benign.jpg", {"customcnn-lung-ct", "resnet-lung-ct"}),
    ]
    for sample, kind in expected_kinds:
        data = (SAMPLES / sample).read_bytes()
        at.file_uploader(key="analyze_upload").set_value((sample, data, "image/jpeg"))
        ok(at.run())
        picked = keyed(at.selectbox, "analyze_model").value
        assert picked.id in kind, (sample, picked.id)
        assert _report_model(at) == picked.id, sample
        # and after choosing another model of the same kind, the report follows at once
        others = sorted(kind - {picked.id})
        if others:
            box = keyed(at.selectbox, "analyze_model")
            box.select_index(next(i for i, o in enumerate(box.options) if f"({others[0]}," in o))
            ok(at.run())
            assert _report_model(at) == others[0] == keyed(at.selectbox, "analyze_model").value.id


#: What each sample shows (ATTRIBUTION.md), as the labels of a model that can say it name it.
SAMPLE_FINDINGS = {
    "ct_lung_benign.jpg": "benign",
    "ct_lung_malignant.jpg": "malignant",
    "ct_lung_normal.jpg": "normal",
    "cxr_nih_mass.jpg": "mass",
    "cxr_nih_no_finding.jpg": "no_finding",
    "cxr_nih_pneumonia.jpg": "pneumonia",
    "cxr_pediatric_pneumonia.jpg": "pneumonia",
    "cxr_tb_normal.jpg": "normal",
    "cxr_tb_tuberculosis.jpg": "tuberculosis",
    "mri_brain_glioma.jpg": "glioma",
    "mri_brain_meningioma.jpg": "meningioma",
    "mri_brain_pituitary.jpg": "pituitary",
}


@pytest.mark.parametrize(
    "sample",
    sorted(p.name for p in SAMPLES.glob("*.*") if p.suffix != ".csv" and p.suffix != ".md"),
)
def test_a_sample_opens_on_a_model_of_its_declared_kind(open_page, sample):
    at = open_page("analyze", models_dir=MODELS)
    at.radio(key="analyze_source").set_value("sample")
    ok(at.run())
    samples = at.selectbox(key="analyze_sample")
    samples.set_value(next(o for o in samples.options if Path(str(o)).name == sample))
    ok(at.run())
    picked = keyed(at.selectbox, "analyze_model").value
    assert picked.fits, (sample, picked.id, picked.why)
    assert _report_model(at) == picked.id
    drawn_for = declared_model(SAMPLES / sample)
    if drawn_for:  # a sample declared for one model opens on that model
        assert picked.id == drawn_for
    # ... and on one that can name what it shows (a normal CT slice once opened on the
    # benign/malignant model, the NIH pneumonia film on the mass model)
    assert sample in SAMPLE_FINDINGS or sample.endswith(".dcm"), f"{sample}: what does it show?"
    if finding := SAMPLE_FINDINGS.get(sample):
        labels = Registry(MODELS).card(picked.id).labels
        named = [x for x in labels if x == finding or x.endswith(f"_{finding}")]
        assert named, (sample, picked.id, labels)
    if sample.endswith(".dcm"):
        # the public DICOM test file comes from no data set a model was trained on: the
        # model it opens on may flag it, and then the warning names that model
        name = Registry(MODELS).card(picked.id).name
        assert all(f"looks unlike the images {name}" in e for e in errors(at)), errors(at)
    else:
        assert not errors(at)


def test_compare_warns_when_a_scan_is_out_of_distribution_for_a_chosen_model(open_page):
    at = open_page("compare", models_dir=MODELS)
    data = (SAMPLES / "mri_brain_glioma.jpg").read_bytes()
    at.file_uploader(key="compare_upload").set_value(("mri.jpg", data, "image/jpeg"))
    ok(at.run())
    models = keyed(at.multiselect, "compare_models")
    assert [entry.id for entry in models.value] == ["multiclass-brain-mri"]  # what it resembles
    assert not any("looks unlike" in w.value for w in at.main.warning)
    chest = next(e for e in Registry(MODELS).entries() if e.id == "multiclass-cxr")
    models.select(chest)
    ok(at.run())
    assert any("looks unlike the images" in w.value for w in at.main.warning)


def test_home_says_the_disclaimer_once():
    # the sidebar carries it on every page; Home once repeated it in the main area
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    everything = [w.value for w in at.warning] + [m.value for m in at.markdown]
    assert sum("Research and teaching only" in text for text in everything) == 1
