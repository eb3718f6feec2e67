"""One figure per fact: every page, the PDF and the card prose read a model's numbers from
ui.figures, so they agree; card prose carries no typed figures and no local paths."""

import re
from pathlib import Path

import pytest
from app_helpers import ok

from ui import figures
from zoo.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "zoo" / "models"
SHIPPED = sorted(p.name for p in MODELS.iterdir() if (p / "card.json").is_file())


def test_public_text_drops_local_paths_but_keeps_urls_and_names():
    text = (
        "NIH subset in ../shared/data/chest_xray (from adleberg/medical-ai), see "
        "https://nihcc.app.box.com/v/ChestXray-NIHCC; built at /home/me/runs/x, 1/2 of it"
    )
    assert figures.public_text(text) == (
        "NIH subset (from adleberg/medical-ai), see https://nihcc.app.box.com/v/ChestXray-NIHCC;"
        " built, 1/2 of it"
    )


def test_card_text_fills_figures_and_survives_stray_braces(zoo_dir):
    registry = Registry(zoo_dir)
    auc = figures.auc_of(registry, "binary-test", "validation")
    assert figures.card_text(registry, "binary-test", "AUC {validation_auc}.") == f"AUC {auc}."
    assert figures.card_text(registry, "binary-test", "{unknown} {") == "{unknown} {"
    assert figures.card_text(registry, "binary-test", "{nope}") == "n/a"


@pytest.mark.parametrize("model_id", SHIPPED)
def test_shipped_card_prose_has_no_typed_metric_and_no_local_path(model_id):
    registry = Registry(MODELS)
    card = registry.card(model_id)
    for text in (*card.limitations, card.intended_use, str(card.training_data.get("source"))):
        assert "../" not in text and "shared/data" not in text, text
        # a metric typed into prose drifts from the card's numbers: AUCs are referenced
        assert not re.search(r"AUC (of )?0\.\d", text), text
    prose = figures.report_figures(registry, model_id)
    for text in prose["limitations"]:
        assert "{" not in text and "n/a" not in text, text


def _cell(frame, model_id, column):
    return frame.loc[model_id, column]


def test_every_page_shows_the_same_auc_for_every_shipped_model(open_page):
    registry = Registry(MODELS)
    home = open_page("home", models_dir=MODELS).table[0].value
    zoo_page = open_page("model_zoo", models_dir=MODELS)
    zoo_tables = [
        d.value
        for d in zoo_page.dataframe
        if {"metric", "validation (95% CI)"} <= set(d.value.columns)
    ]
    for model_id in SHIPPED:
        for side, column in (("validation", "validation"), ("test", "held-out test")):
            expected = figures.auc_of(registry, model_id, side)
            assert expected != "n/a", (model_id, side)
            assert _cell(home, model_id, f"{side} AUC (95% CI)") == expected
            shown = [
                row[f"{column} (95% CI)"].split(" [")[0]
                for table in zoo_tables
                for _, row in table.iterrows()
                if row["metric"] in ("auc", "macro_auc_ci")
            ]
            assert expected in shown, (model_id, side, shown)
    # the Metrics page computes the validation AUC from the same predictions
    at = open_page("metrics", models_dir=MODELS)
    picker = at.selectbox(key="metrics_model")
    name = registry.card("customcnn-cxr-mass").name
    picker.select_index(next(i for i, o in enumerate(picker.options) if name in str(o)))
    ok(at.run())
    values = [
        row["value (95% CI)"]
        for d in at.dataframe
        if "metric" in d.value.columns and "value (95% CI)" in d.value.columns
        for _, row in d.value.iterrows()
        if row["metric"] == "auc"
    ]
    assert figures.auc_of(registry, "customcnn-cxr-mass", "validation") in values


def test_model_zoo_marks_unreachable_operating_points(tmp_path, model_writer):
    # a fifth of the normals score as high as any abnormal: no threshold but "call nothing
    # positive" keeps 95% of them negative, and the page says so instead of t = 1.000
    folder = model_writer(tmp_path, "tied")
    rows = ["case_id,label,p_normal,p_abnormal"]
    rows += [
        f"n{i},normal,{0.1 if i >= 8 else 0.01:.2f},{0.9 if i >= 8 else 0.99:.2f}"
        for i in range(40)
    ]
    rows += [f"a{i},abnormal,0.01,0.99" for i in range(10)]
    (folder / "validation.csv").write_text("\n".join(rows) + "\n")
    rows = figures.operating_point_rows(Registry(tmp_path), "tied")
    thresholds = {row["operating point"]: row["threshold"] for row in rows}
    assert thresholds["Specificity 95%"] == "not reachable"
    assert "1.000" not in thresholds.values()
