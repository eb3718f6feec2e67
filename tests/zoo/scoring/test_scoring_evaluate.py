"""``zoo evaluate --scores``: the Batch page's statistics from a results file equal the
in-memory evaluation of the same predictions; models sharing a label are compared paired."""

import json

import numpy as np
import pytest

from zoo.cli import main
from zoo.evaluation import evaluate
from zoo.imaging import load_scan
from zoo.metrics import delong_test_paired
from zoo.registry import Registry
from zoo.runtime import predict
from zoo.scoring.engines import score_local
from zoo.scoring.evaluate import evaluate_results
from zoo.scoring.inputs import list_inputs


@pytest.fixture
def scored(archive, zoo_dir, model_writer, tmp_path):
    model_writer(zoo_dir, "binary-two", weight=-3.0)  # ranks the other way round
    items = list_inputs(archive / "manifest.csv")
    models = ("binary-test", "binary-two", "multi-test")
    score_local(items, models, tmp_path / "out", Registry(zoo_dir), batch_size=8)
    return tmp_path / "out", Registry(zoo_dir), items


def in_memory(registry, model_id, items):
    """y and probabilities of the readable, labelled files, straight from predict."""
    card = registry.card(model_id)
    keep = [i for i in items if not i.path.endswith("broken.png")]
    results = predict(model_id, [load_scan(i.path) for i in keep], registry=registry)
    y = np.array([1 if i.carried["label"] == "abnormal" else 0 for i in keep])
    p = np.array([[r.probabilities[k] for k in card.labels] for r in results])
    return card, y, p


def test_each_models_figures_equal_the_in_memory_evaluation(scored):
    out, registry, items = scored
    report = evaluate_results(out, registry, "label", by="site")
    card, y, p = in_memory(registry, "binary-test", items)
    expected = evaluate(card, y, p)["metrics"]
    ours = report["models"]["binary-test"]
    assert ours["n"] == len(y) == 25
    assert ours["metrics"]["auc"]["value"] == pytest.approx(expected["auc"]["value"])
    assert ours["metrics"]["auc"]["ci"] == pytest.approx(expected["auc"]["ci"])
    for name in ("sensitivity", "specificity"):
        assert ours["metrics"][name]["value"] == pytest.approx(expected[name]["value"])
        assert ours["metrics"][name]["ci"] == pytest.approx(expected[name]["ci"])
    # the three-class model knows 'No Finding' (= normal) but not 'abnormal'
    assert report["models"]["multi-test"]["left_out"] == 13
    assert "site" in json.dumps(report["subgroups"]["binary-test"])


def test_models_sharing_a_label_get_the_paired_delong_test_on_shared_files(scored):
    out, registry, items = scored
    report = evaluate_results(out, registry)
    (test,) = [t for t in report["comparisons"] if {t["model_a"], t["model_b"]} ==
               {"binary-test", "binary-two"}]  # fmt: skip
    _, y, pa = in_memory(registry, "binary-test", items)
    _, _, pb = in_memory(registry, "binary-two", items)
    expected = delong_test_paired(y, pa[:, 1], pb[:, 1])
    assert test["label"] == "abnormal" and test["cases"] == len(y)
    assert test["p_value"] == pytest.approx(expected.p_value)


def test_the_command_line_prints_the_same_report(scored, capsys):
    out, registry, _ = scored
    assert main(["--models-dir", str(registry.root), "evaluate", "--scores", str(out),
                 "--json"]) == 0  # fmt: skip
    printed = json.loads(capsys.readouterr().out)
    assert printed == evaluate_results(out, registry)


def test_a_set_of_one_class_prints_undefined_figures_not_a_traceback(
    archive, zoo_dir, tmp_path, capsys
):
    # 400 NIH films that all happened to be 'no_finding' once ended in a TypeError
    items = [i for i in list_inputs(archive / "manifest.csv") if i.carried["label"] == "abnormal"]
    score_local(items, ["binary-test"], tmp_path / "out", Registry(zoo_dir))
    assert main(["--models-dir", str(zoo_dir), "evaluate", "--scores", str(tmp_path / "out"),
                 "--labels-column", "label"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert f"binary-test on {len(items)} labelled files" in printed
    auc = next(line for line in printed.splitlines() if line.split()[:1] == ["auc"])
    assert auc.split() == ["auc", "n/a", "n/a"]


def test_the_text_report_tables_each_slice_of_the_by_column(scored, capsys):
    out, registry, _ = scored
    assert main(["--models-dir", str(registry.root), "evaluate", "--scores", str(out),
                 "--labels-column", "label", "--by", "site"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    rows = evaluate_results(out, registry, "label", by="site")["subgroups"]["binary-test"]["rows"]
    assert "binary-test by site (threshold " in printed
    for row in rows:  # each slice's line carries its AUC as the JSON report has it
        line = next(
            x for x in printed.splitlines() if x.split()[:2] == [row["value"], str(row["n"])]
        )
        assert (f"{row['auc']:.3f}" if row["auc"] is not None else "n/a") in line
