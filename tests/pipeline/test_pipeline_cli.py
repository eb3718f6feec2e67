import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
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


def test_without_tensorflow_training_says_what_to_install(tmp_path):
    # a serving-only environment: TensorFlow and Keras cannot be imported
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'tensorflow', 'keras'}:\n"
        "            raise ModuleNotFoundError(f\"No module named '{name}'\", name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "train", "mobilenetv3-synthetic", "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"},
    )
    assert result.returncode == 2, result.stderr
    assert "requirements-train.txt" in result.stderr and "Traceback" not in result.stderr
