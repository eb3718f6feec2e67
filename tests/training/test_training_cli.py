import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "training", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_unknown_recipe_is_a_clear_error():
    result = run("train", "no-such-model", "--smoke")
    assert result.returncode == 2
    assert "no recipe 'no-such-model'" in result.stderr and "mobilenetv3-synthetic" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_commands():
    result = run("--help")
    assert result.returncode == 0
    for command in ("train", "export", "build-zoo"):
        assert command in result.stdout
