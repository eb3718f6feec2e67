"""A multi-label model added in the dashboard: every page shows one finding at a time, at
that finding's own threshold, and the figures are the card's."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest
from app_helpers import keyed, ok, png_bytes, texts
from streamlit.testing.v1 import AppTest
from test_add_model_page import _helpers, add_model

from ui import pdf
from ui.analysis import paired
from ui.analyze_view import analysis_view, report_content
from ui.batch import labelled_sets
from ui.imported import entry_of
from ui.stats import ScoredSet
from zoo.card import parse_card
from zoo.imaging import load_scan
from zoo.registry import Registry
from zoo.runtime import predict

LABELS = "effusion,nodule,abnormal"


def multilabel_zip() -> tuple[bytes, bytes]:
    """40 PNGs (bright ones carry 'abnormal', some 'effusion') and their '|'-joined labels."""
    rng = np.random.default_rng(3)
    buffer = io.BytesIO()
    rows = ["path,label,site"]
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(40):
            bright = i % 2 == 0
            value = int(np.clip(rng.normal(170 if bright else 90, 40), 0, 255))
            archive.writestr(f"set/case{i}.png", _helpers().png(value))
            found = (["Effusion"] if rng.random() < 0.4 else []) + (["abnormal"] if bright else [])
            rows.append(f"set/case{i}.png,{'|'.join(found) or 'No Finding'},{'AB'[i % 2]}")
    return buffer.getvalue(), ("\n".join(rows) + "\n").encode()


@pytest.fixture
def added(open_page) -> AppTest:
    model = _helpers().classifier(classes=3, head="sigmoid").SerializeToString()
    at = add_model(open_page("add_model"), model, labels=LABELS, labelled=multilabel_zip())
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def card_of(at: AppTest):
    return parse_card(at.session_state["imported_models"][0].card)


def test_the_add_page_says_it_is_multilabel_with_its_macro_auc(added):
    card = card_of(added)
    assert card.task == "multilabel"
    macro = card.metrics["validation"]["macro_auc"]
    line = next(t for t in texts(added).splitlines() if t.startswith("macro AUC"))
    assert f"{macro:.3f}" in line


def test_analyze_reports_the_picked_finding_at_its_own_threshold(added):
    card = card_of(added)
    added.switch_page("pages/analyze.py").run()
    added.file_uploader(key="analyze_upload").set_value(("scan.png", png_bytes(), "image/png"))
    added.run()
    picker = keyed(added.selectbox, "analyze_model")
    picker.select_index(next(i for i, o in enumerate(picker.options) if "(mine," in o)).run()
    ok(added)
    for finding in ("effusion", "abnormal"):
        keyed(added.selectbox, "analyze_label_mine").set_value(finding).run()
        ok(added)
        shown = [t for t in added.toggle if str(t.key).startswith("analyze_show_ood_mine")]
        if shown and not shown[0].value:  # noise is unlike the set's flat images: flagged
            shown[0].set_value(True).run()
        risk = next(m for m in added.metric if m.label.startswith("Risk score"))
        assert risk.label == f"Risk score: P('{finding}')"
        threshold = next(m for m in added.metric if m.label == "Threshold")
        assert threshold.value.startswith(f"{card.label_thresholds[finding]:.3f}"[:4])
        page = texts(added)
        assert f"{card.name}: {finding} (mine v1.0.0" in page  # the result's own model
    table = next(f.value for f in added.dataframe if "finding" in f.value.columns)
    assert set(table["finding"]) == set(LABELS.split(","))
    for _, row in table.iterrows():
        assert row["its threshold"] == pytest.approx(card.label_thresholds[row["finding"]], 1e-3)


def test_thresholds_and_metrics_show_each_findings_own_figures(added):
    card = card_of(added)
    added.switch_page("pages/thresholds.py").run()
    model = added.selectbox(key="thr_model")
    model.set_value(next(o for o in model.options if "(mine," in str(o))).run()
    added.selectbox(key="thr_label_mine").set_value("effusion").run()
    ok(added)
    slider = added.slider(key="thr_t_mine_effusion")
    assert slider.value == pytest.approx(card.label_thresholds["effusion"])

    added.switch_page("pages/metrics.py").run()
    model = added.selectbox(key="metrics_model")
    model.set_value(next(o for o in model.options if "(mine," in str(o))).run()
    added.selectbox(key="metrics_label_mine").set_value("abnormal").run()
    ok(added)
    table = next(f.value for f in added.dataframe if "finding" in f.value.columns)
    row = table.set_index("finding").loc["abnormal"]
    auc = card.metrics["per_label"]["abnormal"]["auc"]["value"]
    assert row["AUC (95% CI)"].startswith(f"{auc:.3f}")
    assert added.number_input(key="metrics_t_mine_abnormal").value == pytest.approx(
        card.label_thresholds["abnormal"]
    )


def test_compare_offers_it_beside_a_shipped_model_on_a_shared_label(added):
    added.switch_page("pages/compare.py").run()
    added.radio(key="compare_mode").set_value("Models on a labelled set").run()
    task = added.selectbox(key="compare_task")
    task.set_value(next(o for o in task.options if o.startswith("abnormal (CR, DX)"))).run()
    ok(added)
    chosen = [w for w in added.multiselect if str(w.key).startswith("compare_set_models_abnormal")]
    assert {entry.id for entry in chosen[0].value} == {"binary-test", "mine"}
    page = texts(added) + "".join(frame.value.to_csv() for frame in added.dataframe)
    assert "DeLong" in page and "mine" in page


def test_a_batchs_labels_become_each_cases_label_row_and_unknown_ones_are_said(added):
    prepared = added.session_state["imported_models"][0]
    registry = Registry.of([entry_of(prepared)])
    frame = pd.DataFrame(
        {
            "file": ["a.png", "b.png", "c.png", "d.png"],
            "model": ["mine"] * 4,
            "true_label": ["Effusion|abnormal", "No Finding", "Pneumothorax", "abnormal"],
            "error": [None] * 4,
            "p_effusion": [0.9, 0.1, 0.2, 0.3],
            "p_nodule": [0.1, 0.1, 0.1, 0.1],
            "p_abnormal": [0.8, 0.2, 0.5, 0.7],
        }
    )
    sets, notes = labelled_sets(frame, registry)
    scored = sets["mine"]
    assert scored.case_ids == ("a.png", "b.png", "d.png")
    np.testing.assert_array_equal(scored.y_true, [[1, 0, 1], [0, 0, 0], [0, 0, 1]])
    assert any("Pneumothorax" in note for note in notes)
    view = scored.finding("abnormal")
    assert view.card.labels == ("no_abnormal", "abnormal")
    np.testing.assert_array_equal(view.y_true, [1, 0, 1])
    np.testing.assert_allclose(view.probabilities[:, 1], [0.8, 0.2, 0.7])


def test_a_single_label_model_lines_up_with_it_on_shared_multilabel_cases(added, zoo_dir):
    prepared = added.session_state["imported_models"][0]
    registry = Registry(zoo_dir).with_entries([entry_of(prepared)])
    truths = ["Effusion|abnormal", "No Finding", "Effusion", "abnormal", "normal"]
    files = [f"{i}.png" for i in range(5)]
    rows = []
    for model, labels in (("mine", LABELS.split(",")), ("binary-test", ["normal", "abnormal"])):
        rng = np.random.default_rng(len(model))
        for file, truth in zip(files, truths, strict=True):
            scores = {f"p_{k}": float(rng.random()) for k in labels}
            rows.append(
                {"file": file, "model": model, "true_label": truth, "error": None, **scores}
            )
    sets, notes = labelled_sets(pd.DataFrame(rows), registry)
    # the binary model keeps the cases its two labels describe: 'Effusion' alone is neither
    assert sets["binary-test"].case_ids == ("0.png", "1.png", "3.png", "4.png")
    assert any("binary-test" in note and "Effusion" in note for note in notes)
    aligned = paired([sets["mine"], sets["binary-test"]], "abnormal")
    assert aligned is not None
    (y_mine, _), (y_binary, _) = aligned
    np.testing.assert_array_equal(y_mine, [1, 0, 1, 0])  # one reference standard, paired
    np.testing.assert_array_equal(y_binary, y_mine)


def test_the_report_and_its_pdf_are_about_one_finding_and_list_every_one(added, monkeypatch):
    card = card_of(added)
    prepared = added.session_state["imported_models"][0]
    registry = Registry.of([entry_of(prepared)])
    scan = load_scan(_helpers().png(200), filename="a.png")
    (prediction,) = predict("mine", [scan], registry=registry, keep_preprocessed=True)
    validation = ScoredSet.from_validation(card, registry.validation_predictions("mine"))
    threshold = card.label_thresholds["effusion"]
    view = analysis_view(
        card, prediction, "effusion", threshold, "Card default", validation, model_fits=True
    )
    assert view.card.name == "mine: effusion" and view.card.id == "mine"
    assert view.score == prediction.probabilities["effusion"]
    assert view.validation_cases == 40 and view.at is not None
    assert [row.label for row in view.findings] == sorted(
        card.labels, key=lambda k: -prediction.probabilities[k]
    )
    assert {row.label: row.threshold for row in view.findings} == card.label_thresholds
    # the answer is about effusion at its own threshold, never the top finding's name
    called = view.score >= threshold
    assert view.verdict == ("Call at this threshold", "effusion" if called else "not effusion")

    class Plain(pdf._Report):  # uncompressed, so the text can be read back
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.set_compression(False)

    monkeypatch.setattr(pdf, "_Report", Plain)
    images = {"original": np.zeros((8, 8, 3), np.uint8), "processed": np.zeros((8, 8), np.uint8)}
    content = report_content(
        view, file_name="a.png", scan_summary={}, images=images, figures={}, rules=[]
    )
    data = pdf.build_report(content)
    assert b"Every finding, each at its own threshold" in data
    assert b"multilabel: " in data and card.file.sha256.encode() in data
