import json

import numpy as np
import pytest
from PIL import Image

from zoo.cli import main


def png(path, value: int, size=(48, 64)):
    Image.fromarray(np.full(size, value, dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def scans(tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    return [png(folder / "dark.png", 20), png(folder / "bright.png", 240)]


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


class TestList:
    def test_table(self, capsys, zoo_dir):
        code, out, _ = run(capsys, "--models-dir", zoo_dir, "list")
        assert code == 0
        assert "binary-test" in out and "multi-test" in out and "CR,DX" in out

    def test_json(self, capsys, zoo_dir):
        code, out, _ = run(capsys, "--models-dir", zoo_dir, "list", "--json")
        rows = [json.loads(line) for line in out.splitlines()]
        assert code == 0 and [r["id"] for r in rows] == ["binary-test", "multi-test"]
        assert rows[1]["labels"] == ["normal", "pneumonia", "tuberculosis"]

    def test_empty_zoo_says_how_to_get_models(self, capsys, tmp_path):
        code, out, _ = run(capsys, "--models-dir", tmp_path, "list")
        assert code == 0 and "README" in out

    def test_broken_card_warns(self, capsys, zoo_dir):
        (zoo_dir / "multi-test" / "card.json").write_text("[]")
        code, out, err = run(capsys, "--models-dir", zoo_dir, "list")
        assert code == 0 and "binary-test" in out and "multi-test" in err


class TestPredict:
    def test_json_lines(self, capsys, zoo_dir, scans):
        code, out, _ = run(
            capsys, "--models-dir", zoo_dir, "predict", "--model", "binary-test", "--json", *scans
        )
        records = [json.loads(line) for line in out.splitlines()]
        assert code == 0 and len(records) == 2
        dark, bright = records
        assert set(dark) >= {"file", "model", "probabilities", "label"}
        assert dark["label"] == "normal" and bright["label"] == "abnormal"
        assert sum(bright["probabilities"].values()) == pytest.approx(1.0)

    def test_bad_file_reported_rest_scored(self, capsys, zoo_dir, scans, tmp_path):
        bad = tmp_path / "notes.txt"
        bad.write_text("not a scan")
        code, out, err = run(
            capsys, "--models-dir", zoo_dir, "predict", "--model", "binary-test", scans[0], bad
        )
        assert code == 2
        assert "dark.png" in out
        assert "notes.txt" in err and "Traceback" not in err

    def test_unknown_model(self, capsys, zoo_dir, scans):
        code, _, err = run(capsys, "--models-dir", zoo_dir, "predict", "--model", "nope", scans[0])
        assert code == 2 and "available: binary-test, multi-test" in err

    def test_missing_file(self, capsys, zoo_dir, tmp_path):
        code, _, err = run(
            capsys, "--models-dir", zoo_dir, "predict", "--model", "binary-test", tmp_path / "x.png"
        )
        assert code == 2 and "cannot read" in err


class TestEvaluate:
    def test_metrics_table_and_scores(self, capsys, zoo_dir, tmp_path):
        folder = tmp_path / "set"
        folder.mkdir()
        rows = ["path,label"]
        rng = np.random.default_rng(0)
        for i in range(20):
            abnormal = i % 2
            value = int(rng.integers(150, 255) if abnormal else rng.integers(0, 120))
            png(folder / f"img{i}.png", value)
            rows.append(f"img{i}.png,{'abnormal' if abnormal else 'normal'}")
        (folder / "labels.csv").write_text("\n".join(rows))
        out_csv = tmp_path / "scores.csv"
        code, out, _ = run(
            capsys,
            "--models-dir",
            zoo_dir,
            "evaluate",
            "--model",
            "binary-test",
            "--labels",
            folder / "labels.csv",
            "--out",
            out_csv,
        )
        assert code == 0
        assert "auc" in out and "sensitivity" in out and "1.000" in out
        assert out_csv.read_text().startswith("path,label,p_normal,p_abnormal,predicted")

    def test_json(self, capsys, zoo_dir, tmp_path):
        png(tmp_path / "a.png", 10)
        png(tmp_path / "b.png", 250)
        (tmp_path / "l.csv").write_text("path,label\na.png,normal\nb.png,abnormal\n")
        code, out, _ = run(
            capsys,
            "--models-dir",
            zoo_dir,
            "evaluate",
            "--model",
            "binary-test",
            "--labels",
            tmp_path / "l.csv",
            "--json",
        )
        report = json.loads(out)
        assert code == 0 and report["n"] == 2 and report["metrics"]["auc"]["value"] == 1.0

    def test_unknown_label(self, capsys, zoo_dir, tmp_path):
        png(tmp_path / "a.png", 10)
        (tmp_path / "l.csv").write_text("path,label\na.png,cancer\n")
        code, _, err = run(
            capsys,
            "--models-dir",
            zoo_dir,
            "evaluate",
            "--model",
            "binary-test",
            "--labels",
            tmp_path / "l.csv",
        )
        assert code == 2 and "cancer" in err

    def test_wrong_columns(self, capsys, zoo_dir, tmp_path):
        (tmp_path / "l.csv").write_text("file,diagnosis\na.png,normal\n")
        code, _, err = run(
            capsys,
            "--models-dir",
            zoo_dir,
            "evaluate",
            "--model",
            "binary-test",
            "--labels",
            tmp_path / "l.csv",
        )
        assert code == 2 and "path,label" in err


class TestInfo:
    def test_png(self, capsys, scans):
        code, out, _ = run(capsys, "info", "--json", scans[0])
        info = json.loads(out)
        assert code == 0 and info["format"] == "png"

    def test_dicom_has_no_phi(self, capsys, tmp_path):
        from pydicom.data import get_testdata_file

        path = get_testdata_file("CT_small.dcm")
        code, out, _ = run(capsys, "info", path)
        assert code == 0 and "CT" in out
        import pydicom

        ds = pydicom.dcmread(path)
        assert str(ds.PatientName) not in out and str(ds.PatientID) not in out

    def test_not_an_image(self, capsys, tmp_path):
        bad = tmp_path / "x.bin"
        bad.write_bytes(b"\x00" * 10)
        code, _, err = run(capsys, "info", bad)
        assert code == 2 and "error:" in err


def test_module_entry_point(zoo_dir):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "zoo", "--models-dir", str(zoo_dir), "list", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "binary-test" in result.stdout
