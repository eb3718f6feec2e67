"""Add a model: an uploaded ONNX joins this session's zoo only, works on every page, and a
crafted file is refused with its reason; nothing is written to the server's disk."""

from __future__ import annotations

import importlib.util
import io
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from app_helpers import APP, ROOT, TIMEOUT, texts
from onnx import TensorProto
from streamlit.testing.v1 import AppTest


def _helpers():
    path = ROOT / "tests" / "zoo" / "importing" / "importing_helpers.py"
    spec = importlib.util.spec_from_file_location("medzoo_importing_helpers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def onnx_bytes(**kwargs) -> bytes:
    return _helpers().classifier(**kwargs).SerializeToString()


def labelled_zip() -> tuple[bytes, bytes]:
    """40 PNGs in a ZIP (bright = abnormal) and their labels CSV."""
    rng = np.random.default_rng(2)
    buffer = io.BytesIO()
    rows = ["path,label,site"]
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(40):
            abnormal = i % 2 == 0
            value = int(np.clip(rng.normal(170 if abnormal else 90, 40), 0, 255))
            archive.writestr(f"set/case{i}.png", _helpers().png(value))
            rows.append(f"set/case{i}.png,{'abnormal' if abnormal else 'normal'},{'AB'[i % 2]}")
    return buffer.getvalue(), ("\n".join(rows) + "\n").encode()


def add_model(at: AppTest, data: bytes, *, labels: str = "normal,abnormal", labelled=None):
    at.file_uploader(key="add_model_file_0").set_value(
        ("mine.onnx", data, "application/octet-stream")
    )
    at.run()
    if at.exception or at.error:
        return at
    at.text_input(key="add_id").set_value("mine")
    at.text_input(key="add_labels").set_value(labels)
    if labelled:
        archive, csv = labelled
        at.file_uploader(key="add_model_scans").set_value(("set.zip", archive, "application/zip"))
        at.file_uploader(key="add_csv").set_value(("labels.csv", csv, "text/csv"))
    at.button[0].click()  # the form's submit button
    return at.run()


def disk(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_an_unevaluated_model_joins_this_session_and_shows_no_figures(open_page, zoo_dir):
    before = disk(zoo_dir)
    at = add_model(open_page("add_model"), onnx_bytes(head="softmax"))
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "mine joined this session's zoo" in at.success[0].value
    assert "Not evaluated: no figures are shown for it." in texts(at)
    assert disk(zoo_dir) == before  # never written to the server's disk

    at.switch_page("pages/model_zoo.py").run()
    assert not at.exception
    assert "mine" in list(at.dataframe[0].value["id"])
    at.switch_page("pages/thresholds.py").run()  # no validation set: not offered there
    assert not at.exception
    assert all("mine" not in str(option) for option in at.selectbox(key="thr_model").options)
    for page in ("home", "analyze", "compare", "metrics", "batch"):
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])


def test_a_labelled_upload_measures_it_and_every_page_shows_the_cards_figures(open_page, zoo_dir):
    at = add_model(open_page("add_model"), onnx_bytes(head="softmax"), labelled=labelled_zip())
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = next(t for t in texts(at).splitlines() if t.startswith("AUC "))
    card_auc = at.session_state["imported_models"][0].card["metrics"]["validation"]["auc"]
    assert f"{card_auc['value']:.3f}" in shown and "labels.csv (40 cases)" in shown

    at.switch_page("pages/thresholds.py").run()
    at.selectbox(key="thr_model").select_index(
        [o for o in at.selectbox(key="thr_model").options].index(
            next(o for o in at.selectbox(key="thr_model").options if "(mine," in o)
        )
    ).run()
    assert not at.exception
    assert "mine" in at.slider(key="thr_t_mine_abnormal").key

    at.switch_page("pages/metrics.py").run()
    assert not at.exception


def test_another_session_does_not_see_it(open_page):
    first = add_model(open_page("add_model"), onnx_bytes(head="softmax"))
    assert first.success
    second = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    second.switch_page("pages/model_zoo.py").run()
    assert "mine" not in list(second.dataframe[0].value["id"])


def test_a_crafted_file_is_refused_with_its_reason_and_the_zoo_is_unchanged(open_page, zoo_dir):
    model = _helpers().classifier(head="softmax")
    weights = next(t for t in model.graph.initializer if t.name == "W")
    weights.ClearField("raw_data")
    weights.ClearField("float_data")
    weights.data_location = TensorProto.EXTERNAL
    entry = weights.external_data.add()
    entry.key, entry.value = "location", "/etc/passwd"
    at = add_model(open_page("add_model"), onnx.ModelProto.SerializeToString(model))
    assert not at.exception
    assert "external data is refused" in at.error[0].value
    assert "imported_models" not in at.session_state
    at.switch_page("pages/model_zoo.py").run()
    assert sorted(at.dataframe[0].value["id"]) == ["binary-test", "multi-test"]


@pytest.mark.parametrize(
    ("labels", "message"),
    [("normal", "at least two distinct"), ("a,b,c", "gives 2 scores for 3 labels")],
)
def test_a_form_that_does_not_fit_the_file_says_why(open_page, labels, message):
    at = add_model(open_page("add_model"), onnx_bytes(head="softmax"), labels=labels)
    assert not at.exception
    assert message in at.error[0].value
    assert (
        not at.session_state["imported_models"] if "imported_models" in at.session_state else True
    )


def test_on_analyze_it_gets_no_call_and_an_occlusion_map_on_request(open_page):
    from app_helpers import keyed, png_bytes

    at = add_model(open_page("add_model"), onnx_bytes(head="softmax"))
    at.switch_page("pages/analyze.py").run()
    at.file_uploader(key="analyze_upload").set_value(("scan.png", png_bytes(), "image/png"))
    at.run()
    picker = keyed(at.selectbox, "analyze_model")
    picker.select_index(next(i for i, o in enumerate(picker.options) if "(mine," in o)).run()
    assert not at.exception, [e.value for e in at.exception]
    assert keyed(at.selectbox, "analyze_model").value.id == "mine"
    assert any(m.label == "Risk level" and m.value == "Not evaluated" for m in at.metric)
    assert any("225 model runs" in i.value for i in at.info)  # 32 px: 15 x 15 squares
    button = next(b for b in at.button if str(b.key).endswith("_button"))
    button.click().run()
    assert not at.exception
    images = at.get("image")
    assert len(images) == 3  # original, model input, occlusion map
    caption = images[-1].proto.imgs[0].caption
    assert caption.startswith("Occlusion sensitivity for 'abnormal' (model-agnostic, 225 runs)")


def test_compare_lines_it_up_with_a_shipped_model_on_a_shared_label(open_page):
    at = add_model(open_page("add_model"), onnx_bytes(head="softmax"), labelled=labelled_zip())
    at.switch_page("pages/compare.py").run()
    at.radio(key="compare_mode").set_value("Models on a labelled set").run()
    task = at.selectbox(key="compare_task")
    title = next(o for o in task.options if o.startswith("abnormal (CR, DX)"))
    task.set_value(title).run()
    assert not at.exception, [e.value for e in at.exception]
    chosen = [w for w in at.multiselect if str(w.key).startswith("compare_set_models_abnormal")]
    assert {entry.id for entry in chosen[0].value} == {"binary-test", "mine"}
    page = texts(at) + "".join(frame.value.to_csv() for frame in at.dataframe)
    assert "DeLong" in page and "mine" in page and "binary-test" in page
