"""Compare page: one scan through several models; models on a shared labelled set."""

from pathlib import Path

from app_helpers import captions, chest_xray_bytes, keyed, ok, png_bytes, texts, write_model_dir

LABELLED = "Models on a labelled set"
MODELS = Path(__file__).resolve().parents[2] / "zoo" / "models"


def labelled_task(at, prefix: str):
    """Compare's labelled-set mode on the task whose title starts with ``prefix``."""
    at.radio(key="compare_mode").set_value(LABELLED)
    ok(at.run())
    task = at.selectbox(key="compare_task")
    task.set_value(next(o for o in task.options if o.startswith(prefix)))
    return ok(at.run())


def test_one_scan_through_two_models(open_page):
    at = open_page("compare")
    assert any("Upload a scan" in i.value for i in at.info)
    name, data = chest_xray_bytes()
    at.file_uploader(key="compare_upload").set_value((name, data, "image/jpeg"))
    ok(at.run())
    models = keyed(at.multiselect, "compare_models")
    assert len(models.value) == 2  # no model lists OT, so the first two are chosen
    table = at.dataframe[0].value
    assert set(table["model"]) == {"binary-test", "multi-test"}
    assert (table["latency (ms)"] >= 0).all()
    assert len(at.get("image")) == 2  # one heatmap per model
    at.slider(key="compare_alpha").set_value(0.8)
    ok(at.run())
    keyed(at.multiselect, "compare_models").unselect(models.value[1])
    ok(at.run())
    assert len(at.dataframe[0].value) == 1


def test_no_model_chosen(open_page):
    at = open_page("compare")
    at.file_uploader(key="compare_upload").set_value(("a.png", png_bytes(), "image/png"))
    ok(at.run())
    for entry in list(keyed(at.multiselect, "compare_models").value):
        keyed(at.multiselect, "compare_models").unselect(entry)
    ok(at.run())
    assert any("at least one model" in i.value for i in at.info)


def test_corrupt_scan_shows_an_error(open_page):
    at = open_page("compare")
    at.file_uploader(key="compare_upload").set_value(("x.png", b"\x89PNG\r\n\x1a\n", "image/png"))
    ok(at.run())
    assert at.error and "What to do" in at.error[0].value


def test_models_of_one_task_on_their_shared_validation_set(open_page, zoo_dir):
    write_model_dir(zoo_dir, "binary-b", weight=4.0)  # same cases as binary-test
    at = labelled_task(open_page("compare"), "abnormal")
    assert "2 model(s)" in at.selectbox(key="compare_task").value
    page = texts(at)
    assert "Paired DeLong test" in page
    tables = [d.value for d in at.dataframe]
    aucs, delong, at_threshold = tables[0], tables[1], tables[2]
    assert set(aucs["model"]) == {"binary-test", "binary-b"}
    assert list(delong.columns[:2]) == ["model A", "model B"]
    assert set(at_threshold["model"]) == {"binary-test", "binary-b"}
    assert len(at.get("plotly_chart")) == 3  # ROC, PR, calibration
    at.number_input(key="compare_set_t_binary-b_abnormal").set_value(0.9)
    ok(at.run())
    assert at.dataframe[2].value.set_index("model").loc["binary-b", "threshold"] == 0.9


def test_models_are_paired_on_the_cases_they_share(open_page, zoo_dir):
    write_model_dir(zoo_dir, "binary-c", n_validation=30)  # 30 of binary-test's 40 cases
    at = labelled_task(open_page("compare"), "abnormal")
    assert "Paired DeLong test on the 30 cases every model scored" in captions(at)


def test_disjoint_cases_get_an_unpaired_test(open_page, zoo_dir):
    folder = write_model_dir(zoo_dir, "binary-c", n_validation=30)
    csv = folder / "validation.csv"
    header, *rows = csv.read_text().splitlines()
    csv.write_text("\n".join([header, *(f"other-{row}" for row in rows)]) + "\n")
    at = open_page("compare")
    at.radio(key="compare_mode").set_value(LABELLED)
    ok(at.run())
    # no shared case: an unpaired test on independent samples, said as such
    assert "compared on independent samples" in captions(at)
    assert "D" in at.dataframe[1].value.columns


def test_multiclass_task_label_of_interest(open_page):
    at = labelled_task(open_page("compare"), "pneumonia")
    assert "'pneumonia'" in texts(at)


def test_labels_line_up_across_models_by_name(open_page, zoo_dir):
    # the binary model (normal/abnormal, CR) and the three-class one (normal/pneumonia/
    # tuberculosis, CR and DX) both predict "normal" on CR: one task, paired on shared cases
    at = labelled_task(open_page("compare"), "normal")
    models = at.multiselect(key="compare_set_models_normal_CR|DX")
    assert {entry.id for entry in models.value} == {"binary-test", "multi-test"}
    assert "DeLong test" in texts(at)


def test_the_two_shipped_lung_ct_models_are_comparable(open_page):
    # binary (benign/malignant) and three-class (normal/benign/malignant) lung CT models:
    # their validation splits share only malignant slices, so they are compared unpaired
    at = labelled_task(open_page("compare", models_dir=MODELS), "malignant (CT)")
    delong = next(d.value for d in at.dataframe if "model A" in d.value.columns)
    assert {delong.loc[0, "model A"], delong.loc[0, "model B"]} == {
        "customcnn-lung-ct",
        "resnet-lung-ct",
    }
    assert delong.loc[0, "p"] != "n/a"
