"""The local engine: one row per (file, model), the numbers of ``zoo predict``, error rows
for files that cannot be read, and a rerun that finishes an interrupted run exactly."""

import json

import numpy as np
import pandas as pd
import pytest

from zoo.cli import main
from zoo.registry import Registry
from zoo.scoring.engines import score_local
from zoo.scoring.inputs import list_inputs
from zoo.scoring.results import read_results

MODELS = ("binary-test", "multi-test")


def table(out) -> pd.DataFrame:
    rows = read_results(out).to_pandas().sort_values(["path", "model"]).reset_index(drop=True)
    return rows[sorted(rows.columns)]


def test_every_file_and_model_gets_a_row_and_bad_files_an_error(archive, zoo_dir, tmp_path):
    items = list_inputs(archive / "manifest.csv")
    summary = score_local(items, MODELS, tmp_path / "out", Registry(zoo_dir), batch_size=5)
    assert (summary.scored, summary.skipped) == (26, 0)
    rows = table(tmp_path / "out")
    assert len(rows) == 52 and not rows.duplicated(["path", "model"]).any()
    broken = rows[rows["path"].str.endswith("broken.png")]
    assert broken["error"].notna().all() and broken["p_normal"].isna().all()
    good = rows[rows["error"].isna()]
    assert len(good) == 50 and set(good["site"]) == {"site_a", "site_b"}  # carried
    card = Registry(zoo_dir).card("binary-test")
    binary = good[good["model"] == "binary-test"]
    assert (binary["model_sha256"] == card.file.sha256).all()
    assert (binary["decision"] == (binary["p_abnormal"] >= card.default_threshold)).all()


def test_the_numbers_are_those_of_zoo_predict(archive, zoo_dir, tmp_path, capsys):
    film = archive / "site_b" / "film"
    score_local(list_inputs(film), MODELS, tmp_path / "out", Registry(zoo_dir))
    rows = table(tmp_path / "out")
    for model_id in MODELS:
        assert main(["--models-dir", str(zoo_dir), "predict", "--model", model_id, "--json",
                     str(film)]) == 0  # fmt: skip
        printed = json.loads(capsys.readouterr().out)
        row = rows[rows["model"] == model_id].iloc[0]
        for label, value in printed["probabilities"].items():
            assert row[f"p_{label}"] == pytest.approx(value, abs=1e-9)
        assert row["predicted"] == printed["label"]


class Interrupted(Exception):
    pass


def test_an_interrupted_run_resumed_gives_the_uninterrupted_output(archive, zoo_dir, tmp_path):
    items = list_inputs(archive)
    registry = Registry(zoo_dir)
    score_local(items, MODELS, tmp_path / "whole", registry, batch_size=4)

    def stop_after_two_batches(done, total, rate):
        if done >= 8:
            raise Interrupted

    with pytest.raises(Interrupted):
        score_local(items, MODELS, tmp_path / "resumed", registry, batch_size=4,
                    progress=stop_after_two_batches)  # fmt: skip
    assert len(table(tmp_path / "resumed")) == 16  # two batches of four files, two models
    (tmp_path / "resumed" / ".part-leftover.parquet").write_bytes(b"half a file")
    summary = score_local(items, MODELS, tmp_path / "resumed", registry, batch_size=4)
    assert (summary.scored, summary.skipped) == (18, 8)
    whole, resumed = table(tmp_path / "whole"), table(tmp_path / "resumed")
    pd.testing.assert_frame_equal(whole, resumed)
    again = score_local(items, MODELS, tmp_path / "resumed", registry)
    assert again.scored == 0 and len(table(tmp_path / "resumed")) == len(whole)
    assert np.isfinite(whole["p_abnormal"].dropna()).all()
