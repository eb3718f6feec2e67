"""The dashboard never pulls in TensorFlow, Keras, tf2onnx, torch or scikit-learn."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("tensorflow", "keras", "tf2onnx", "torch", "sklearn")
PAGES = sorted(p.name for p in (ROOT / "pages").glob("*.py"))
UI_MODULES = sorted(f"ui.{p.stem}" for p in (ROOT / "ui").glob("*.py") if p.stem != "__init__")


def test_running_every_page_leaves_heavy_frameworks_out(tmp_path):
    code = f"""
import importlib, sys
from streamlit.testing.v1 import AppTest
for name in {UI_MODULES!r}:
    importlib.import_module(name)
at = AppTest.from_file("streamlit_app.py", default_timeout=60).run()
for page in {PAGES!r}:
    at.switch_page("pages/" + page).run()
    assert not at.exception, [e.value for e in at.exception]
print(sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r}))
"""
    env = {**os.environ, "MEDZOO_MODELS_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_no_dashboard_file_imports_a_heavy_framework():
    offenders = []
    files = [ROOT / "streamlit_app.py", *ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py")]
    for path in files:
        for line in path.read_text().splitlines():
            words = line.strip().split()
            if words[:1] in (["import"], ["from"]) and words[1].split(".")[0] in HEAVY:
                offenders.append(f"{path.relative_to(ROOT)}: {line.strip()}")
    assert offenders == []
