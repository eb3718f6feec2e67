"""Metrics page: ROC/PR with CIs, confusion matrix, calibration, per class, training curves."""

import json

from app_helpers import ok, texts


def test_binary_model_metrics(open_page):
    at = open_page("metrics")
    assert at.radio(key="metrics_src_binary-test").value == "Validation split (shipped)"
    charts = at.get("plotly_chart")
    assert len(charts) == 4  # ROC, PR, confusion matrix, calibration
    table = at.dataframe[0].value.set_index("metric")
    assert table.loc["auc", "method"] == "DeLong"
    assert table.loc["sensitivity", "method"] == "Wilson"
    page = texts(at)
    assert "Expected calibration error" in page
    assert "no training history" in page


def test_threshold_input_changes_the_metrics(open_page):
    at = open_page("metrics")
    before = at.dataframe[0].value.set_index("metric").loc["sensitivity", "value (95% CI)"]
    at.number_input(key="metrics_t_binary-test").set_value(0.99)
    ok(at.run())
    after = at.dataframe[0].value.set_index("metric").loc["sensitivity", "value (95% CI)"]
    assert before != after
    assert "at threshold 0.990" in texts(at)


def test_multiclass_model_has_per_class_metrics(open_page):
    at = open_page("metrics")
    at.selectbox(key="metrics_model").select_index(1)
    ok(at.run())
    per_class = at.dataframe[1].value
    assert list(per_class["label"]) == ["normal", "pneumonia", "tuberculosis"]
    assert "AUC (95% CI)" in per_class.columns
    at.selectbox(key="metrics_label_multi-test").set_value("normal")
    ok(at.run())
    assert "P('normal')" in texts(at)


def test_training_curves_from_history(open_page, zoo_dir):
    history = {
        "loss": [0.9, 0.6, 0.5],
        "val_loss": [1.0, 0.8, 0.7],
        "auc": [0.6, 0.7, 0.8],
        "val_auc": [0.55, 0.65, 0.7],
        "learning_rate": [1e-3] * 3,
    }
    (zoo_dir / "binary-test" / "history.json").write_text(json.dumps(history))
    at = open_page("metrics")
    assert len(at.get("plotly_chart")) == 4 + 2  # loss and auc
    assert "no training history" not in texts(at)


def test_unreadable_history_is_reported_as_absent(open_page, zoo_dir):
    (zoo_dir / "binary-test" / "history.json").write_text("{not json")
    at = open_page("metrics")
    assert "no training history" in texts(at)


def test_model_without_validation_predictions(open_page, zoo_dir):
    card_path = zoo_dir / "binary-test" / "card.json"
    card = json.loads(card_path.read_text())
    card["validation_predictions"] = None
    card_path.write_text(json.dumps(card))
    at = open_page("metrics")
    assert any("ships no validation predictions" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_without_models(open_page, tmp_path):
    at = open_page("metrics", models_dir=tmp_path)
    assert any("No models are installed" in i.value for i in at.info)
