"""Serving must never pull in TensorFlow: Streamlit Cloud gives ~1 GB and TF alone costs ~520 MB."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("tensorflow", "keras", "tf2onnx", "torch", "sklearn")
SERVING_MODULES = (
    "zoo",
    "zoo.imaging",
    "zoo.preprocess",
    "zoo.card",
    "zoo.registry",
    "zoo.runtime",
    "zoo.metrics",
    "zoo.evaluation",
    "zoo.cli",
)


def test_importing_the_zoo_leaves_tensorflow_out():
    code = (
        "import importlib, sys\n"
        f"for name in {SERVING_MODULES!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_no_serving_file_imports_tensorflow():
    offenders = []
    for path in [ROOT / "streamlit_app.py", *ROOT.glob("zoo/**/*.py"), *ROOT.glob("pages/*.py")]:
        for line in path.read_text().splitlines():
            words = line.strip().split()
            if words[:1] in (["import"], ["from"]) and words[1].split(".")[0] in HEAVY:
                offenders.append(f"{path.relative_to(ROOT)}: {line.strip()}")
    assert offenders == []
