"""build-zoo as candidates: the whole chain (train, export, trust) into another folder,
timed, with no test side looked at."""

import json

import pytest

pytest.importorskip("tensorflow", reason="training tests need requirements-train.txt")

from export.test_ledger import LEDGER
from pipeline.build_zoo import build_zoo


def test_a_candidate_build_times_the_chain_and_leaves_every_test_side_unscored(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)  # runs/ and cache/ are relative to the working folder
    built = build_zoo(smoke=True, only=["customcnn-lung-ct"], models_dir=tmp_path / "models",
                      candidate=True)  # fmt: skip
    assert built == [tmp_path / "models" / "customcnn-lung-ct-smoke"]
    card = json.loads((built[0] / "card.json").read_text())
    assert "validation" in card["metrics"] and "test" not in card["metrics"]
    # the trust step ran, on validation only
    assert "effect" in card["calibration"] and "ood" in card and "heatmap_check" in card
    assert set(card["calibration"]["effect"]) == {"validation"}
    assert not (built[0] / "test.csv").exists() and not (built[0] / LEDGER).exists()
    printed = capsys.readouterr().out
    assert "| customcnn-lung-ct-smoke |" in printed and "| not scored |" in printed
    assert "1 model(s) built in" in printed and "hours, end to end" in printed


def test_an_unknown_recipe_is_refused_before_any_training(tmp_path):
    with pytest.raises(ValueError, match="no recipes \\['no-such'\\]"):
        build_zoo(only=["no-such"], models_dir=tmp_path, candidate=True)


def test_candidates_are_never_built_over_shipped_models(tmp_path):
    shipped = tmp_path / "models" / "customcnn-lung-ct"
    shipped.mkdir(parents=True)
    (shipped / LEDGER).write_text("{}")
    with pytest.raises(ValueError, match="holds shipped models \\(customcnn-lung-ct\\)"):
        build_zoo(only=["customcnn-lung-ct"], models_dir=tmp_path / "models", candidate=True)
