"""Loading a trained run in a fresh process, as `python -m pipeline export` does."""

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

pytest.importorskip("tensorflow", reason="training tests need requirements-train.txt")

from training.architectures import build

ROOT = Path(__file__).resolve().parents[2]


def test_custom_layers_load_without_the_training_modules_imported(tmp_path):
    build("custom_cnn", (64, 64, 3), 2, width=8, dense_units=(8,)).save(tmp_path / "model.keras")
    code = (
        "import sys\n"
        "from export.package import load_trained_model\n"
        f"model = load_trained_model({str(tmp_path)!r})\n"
        "print(model.get_layer('cbam_maps').__class__.__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ChannelPool")


class TestChangelog:
    def test_a_new_recipe_says_trained_from_recipe(self):
        from export.package import _changelog

        (entry,) = _changelog("1.0.0", [])
        assert entry["version"] == "1.0.0" and entry["changes"] == "trained from recipe"
        assert len(entry["date"]) == 10

    def test_earlier_versions_are_kept_and_the_current_one_says_why(self):
        from export.package import _changelog

        history = [
            {"version": "1.0.0", "date": "2026-11-25", "changes": "first"},
            {"version": "1.1.0", "changes": "7-bit int8 weights"},
        ]
        old, new = _changelog("1.1.0", history)
        assert old == history[0]
        assert new["version"] == "1.1.0" and new["changes"] == "7-bit int8 weights"
        assert new["date"] == date.today().isoformat()
