"""Thresholds page: presets, slider, cost ratio, prevalence, labels, missing predictions."""

import json
import re

from app_helpers import ok, texts

CM = re.compile(r"TP (\d+) · FP (\d+) · TN (\d+) · FN (\d+)")


def counts(at):
    return tuple(int(v) for v in CM.search(texts(at)).groups())


def metric(at, start):
    return next(m.value for m in at.metric if m.label.startswith(start))


def test_main_path_shows_statistics_and_charts(open_page):
    at = open_page("thresholds")
    assert at.radio(key="thr_preset_binary-test_abnormal").value == "Card default"
    assert at.slider(key="thr_t_binary-test_abnormal").value == 0.5
    tp, fp, tn, fn = counts(at)
    assert tp + fp + tn + fn == 40
    assert len(at.get("plotly_chart")) == 4  # confusion matrix, ROC, histograms, decision curve
    assert {m.label for m in at.metric} >= {"Sensitivity", "Specificity", "F1"}


def test_moving_the_slider_changes_the_confusion_matrix(open_page):
    at = open_page("thresholds")
    before = counts(at)
    at.slider(key="thr_t_binary-test_abnormal").set_value(0.95)
    ok(at.run())
    after = counts(at)
    assert after != before
    assert after[0] + after[1] <= before[0] + before[1]  # fewer positive calls
    assert at.radio(key="thr_preset_binary-test_abnormal").value == "Custom"
    at.slider(key="thr_t_binary-test_abnormal").set_value(0.0)
    ok(at.run())
    assert counts(at)[2] == 0 and counts(at)[3] == 0  # everything called positive


def test_presets_set_the_slider(open_page):
    at = open_page("thresholds")
    key = "thr_preset_binary-test_abnormal"
    for preset in (
        "Youden",
        "Sensitivity 90%",
        "Sensitivity 95%",
        "Specificity 90%",
        "Specificity 95%",
        "Min cost (FN:FP ratio)",
    ):
        at.radio(key=key).set_value(preset)
        ok(at.run())
        assert at.radio(key=key).value == preset
        label = next(o for o in at.radio(key=key).options if o.startswith(preset))
        shown = float(label.rsplit("(", 1)[1].rstrip(")"))
        assert abs(at.slider(key="thr_t_binary-test_abnormal").value - shown) < 1e-3
    assert "Sensitivity 95% CI" in texts(at)


def test_cost_ratio_moves_the_min_cost_point(open_page):
    at = open_page("thresholds")
    key = "thr_preset_binary-test_abnormal"
    at.radio(key=key).set_value("Min cost (FN:FP ratio)")
    ok(at.run())
    cheap_fn = at.slider(key="thr_t_binary-test_abnormal").value
    at.number_input(key="thr_cost").set_value(50.0)
    ok(at.run())
    assert at.slider(key="thr_t_binary-test_abnormal").value <= cheap_fn


def test_prevalence_reweights_ppv(open_page):
    at = open_page("thresholds")
    at.slider(key="thr_t_binary-test_abnormal").set_value(0.45)
    ok(at.run())
    at.number_input(key="thr_prev_binary-test_abnormal").set_value(1.0)
    ok(at.run())
    low = next(m.value for m in at.metric if m.label.startswith("PPV"))
    at.number_input(key="thr_prev_binary-test_abnormal").set_value(90.0)
    ok(at.run())
    high = next(m.value for m in at.metric if m.label.startswith("PPV"))
    assert float(low.rstrip("%")) <= float(high.rstrip("%"))


def test_multiclass_one_vs_rest(open_page):
    at = open_page("thresholds")
    at.selectbox(key="thr_model").select_index(1)
    ok(at.run())
    at.selectbox(key="thr_label_multi-test").set_value("pneumonia")
    ok(at.run())
    assert "pneumonia" in at.slider(key="thr_t_multi-test_pneumonia").label
    assert "Card default" not in at.radio(key="thr_preset_multi-test_pneumonia").options[1]
    assert sum(counts(at)) == 40


def test_models_without_validation_predictions(open_page, zoo_dir):
    for folder in zoo_dir.iterdir():
        card = json.loads((folder / "card.json").read_text())
        card["validation_predictions"] = None
        (folder / "card.json").write_text(json.dumps(card))
    at = open_page("thresholds")
    assert any("ships validation predictions" in i.value for i in at.info)


def test_broken_validation_file_shows_an_error(open_page, zoo_dir):
    (zoo_dir / "binary-test" / "validation.csv").write_text("case_id,label\nx,unknown\n")
    at = open_page("thresholds")
    assert at.error and "What to do" in at.error[0].value


def test_without_models(open_page, tmp_path):
    at = open_page("thresholds", models_dir=tmp_path)
    assert any("No models are installed" in i.value for i in at.info)
