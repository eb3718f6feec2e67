"""Batch page: multi-file and ZIP uploads, labels CSV, scores table, metrics on the user's data."""

import io
import zipfile

import pytest
from app_helpers import (
    chest_xray_bytes,
    failures_expander,
    ok,
    png_bytes,
    texts,
    write_model_dir,
)

from zoo.registry import Registry


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def score(at):
    at.button(key="batch_go").click()
    return ok(at.run())


def test_button_waits_for_files(open_page):
    at = open_page("batch")
    assert at.button(key="batch_go").disabled
    assert any("Score the batch" in i.value for i in at.info)


def test_files_without_labels_give_a_scores_table(open_page):
    at = open_page("batch")
    name, xray = chest_xray_bytes()
    at.file_uploader(key="batch_files").set_value(
        [
            (name, xray, "image/jpeg"),
            ("b.png", png_bytes(1), "image/png"),
            ("bad.png", b"\x89PNG\r\n\x1a\nbroken", "image/png"),
        ]
    )
    ok(at.run())
    score(at)
    table = at.dataframe[-1].value
    assert set(table["file"]) == {name, "b.png", "bad.png"}
    assert float(table.set_index("file").loc["b.png", "score"]) >= 0
    assert "1 file(s) could not be scored" in failures_expander(at).label
    assert at.get("download_button")
    assert "Add a labels CSV" in texts(at)


def test_zip_with_labels_gives_metrics(open_page, zoo_dir):
    at = open_page("batch")
    files = {
        f"cases/{'abnormal' if i % 2 else 'normal'}/{i}.png": png_bytes(i, (40 + 4 * i, 48))
        for i in range(12)
    }
    csv = "path,label\n" + "".join(
        f"{name},{'abnormal' if i % 2 else 'normal'}\n" for i, name in enumerate(files)
    )
    at.file_uploader(key="batch_files").set_value(("cases.zip", zip_of(files), "application/zip"))
    at.file_uploader(key="batch_labels").set_value(("labels.csv", csv.encode(), "text/csv"))
    at.multiselect(key="batch_models").select(Registry(zoo_dir).get("multi-test"))
    ok(at.run())
    score(at)
    page = texts(at)
    assert "Metrics on your data" in page
    # multi-test's labels do not include "abnormal": said, and left out of its metrics
    assert "are not among its labels" in page
    assert at.get("plotly_chart")
    assert at.selectbox(key="batch_metrics_model").value == "binary-test"


def test_two_models_of_one_task_are_compared_on_the_users_data(open_page, zoo_dir):
    write_model_dir(zoo_dir, "binary-b", weight=4.0)
    at = open_page("batch")
    files = [(f"{i}.png", png_bytes(i, (40 + 6 * i, 48)), "image/png") for i in range(10)]
    csv = "path,label\n" + "".join(
        f"{i}.png,{'abnormal' if i % 2 else 'normal'}\n" for i in range(10)
    )
    at.file_uploader(key="batch_files").set_value(files)
    at.file_uploader(key="batch_labels").set_value(("labels.csv", csv.encode(), "text/csv"))
    models = at.multiselect(key="batch_models")
    assert [e.id for e in models.value] == ["binary-b"]  # the first model by default
    models.select(Registry(zoo_dir).get("binary-test"))
    ok(at.run())
    score(at)
    page = texts(at)
    assert "Compare the models on your data" in page
    assert "DeLong test" in page
    at.selectbox(key="batch_metrics_model").set_value("binary-test")
    ok(at.run())
    # the batch results are in this session: Compare and Metrics offer them
    at.switch_page("pages/compare.py").run()
    at.radio(key="compare_mode").set_value("Models on a labelled set")
    ok(at.run())
    at.radio(key="compare_source").set_value("My labelled batch (from the Batch page)")
    ok(at.run())
    assert set(at.dataframe[0].value["model"]) == {"binary-test", "binary-b"}
    assert at.dataframe[0].value["cases"].tolist() == [10, 10]
    at.switch_page("pages/metrics.py").run()
    at.radio(key="metrics_src_binary-b").set_value("My labelled batch")
    ok(at.run())
    assert "10 cases from the your batch" not in texts(at)
    assert "10 cases from your batch" in texts(at)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("bomb", "looks like a ZIP bomb"),
        ("many", "at most"),
        ("notzip", "not a readable ZIP"),
    ],
)
def test_bad_zips_are_refused_before_extraction(open_page, payload, message):
    if payload == "bomb":
        data = zip_of({"zeros.png": b"\0" * 5_000_000})
    elif payload == "many":
        data = zip_of({f"{i}.png": b"x" for i in range(501)})
    else:
        data = b"PK\x03\x04" + b"\0" * 100
    at = open_page("batch")
    at.file_uploader(key="batch_files").set_value(("upload.zip", data, "application/zip"))
    ok(at.run())
    score(at)
    assert at.error and message in at.error[0].value


def test_bad_labels_csv(open_page):
    at = open_page("batch")
    at.file_uploader(key="batch_files").set_value(("a.png", png_bytes(), "image/png"))
    at.file_uploader(key="batch_labels").set_value(("l.csv", b"file,class\na.png,x\n", "text/csv"))
    ok(at.run())
    score(at)
    assert at.error and "'path' and 'label'" in at.error[0].value


def test_a_results_file_scored_elsewhere_opens_with_the_same_analyses(open_page, zoo_dir, tmp_path):
    """``python -m zoo score``'s parts uploaded: scores, metrics by the card's own functions,
    the comparison of the two models, and the carried column to slice by."""
    import numpy as np

    from zoo.scoring.engines import score_local
    from zoo.scoring.inputs import InputItem

    folder = tmp_path / "archive"
    folder.mkdir()
    rng = np.random.default_rng(5)
    items = []
    for i in range(24):
        path = folder / f"case{i}.png"
        path.write_bytes(png_bytes(seed=i))
        label = "abnormal" if rng.random() < 0.5 else "normal"
        items.append(InputItem(str(path), {"label": label, "site": "AB"[i % 2]}))
    out = tmp_path / "results"
    score_local(items, ["binary-test", "multi-test"], out, Registry(zoo_dir), batch_size=10)
    parts = sorted(out.glob("*.parquet"))
    assert len(parts) == 3

    at = open_page("batch")
    at.file_uploader(key="batch_results").set_value(
        [(p.name, p.read_bytes(), "application/octet-stream") for p in parts]
    )
    at.run()
    at.button(key="batch_results_go").click()
    ok(at.run())
    page = texts(at)
    assert "24 file(s) × 2 model(s): 48 score(s), 0 failure(s)." in page
    assert "Metrics on your data" in page and "Compare the models on your data" in page
    assert "DeLong" in page
