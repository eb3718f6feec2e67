"""Helpers for the page tests: scan bytes (real when ../shared is present) and page texts."""

from __future__ import annotations

import functools
import importlib.util
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from ui.analyze_view import CALL_AT_THRESHOLD, MOST_PROBABLE, SCORE_AGAINST_THRESHOLD

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")
SHARED_XRAY = ROOT.parent / "shared" / "data" / "chest_xray" / "images" / "00000002_000.jpg"
TIMEOUT = 60
#: The report's answer line, whichever kind of model gave it.
REPORT_HEADINGS = re.compile(
    "|".join(re.escape(h) for h in (MOST_PROBABLE, CALL_AT_THRESHOLD, SCORE_AGAINST_THRESHOLD))
)


@functools.cache
def _root_conftest():
    """tests/conftest.py as a module of its own (its name clashes with this folder's)."""
    spec = importlib.util.spec_from_file_location(
        "medzoo_root_conftest", ROOT / "tests" / "conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_model_dir(*args, **kwargs) -> Path:
    """tests/conftest.py's ``write_model_dir``: a tiny real ONNX model with its card."""
    return _root_conftest().write_model_dir(*args, **kwargs)


def chest_xray_bytes() -> tuple[str, bytes]:
    """A real chest X-ray when ../shared is present, else a generated grey PNG."""
    if SHARED_XRAY.is_file():
        return SHARED_XRAY.name, SHARED_XRAY.read_bytes()
    return "generated-chest.png", png_bytes(seed=0)


def png_bytes(seed: int = 0, size: tuple[int, int] = (96, 80)) -> bytes:
    rng = np.random.default_rng(seed)
    _, x = np.mgrid[0 : size[0], 0 : size[1]]
    image = (x / size[1] * 180 + rng.integers(0, 60, size)).clip(0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def dicom_bytes(name: str) -> bytes:
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"pydicom test file {name} is not installed")
    return Path(path).read_bytes()


def texts(at: AppTest) -> str:
    """Every markdown, caption, alert and metric text of the page, joined (for PHI checks)."""
    parts = []
    kinds = ("markdown", "caption", "text", "info", "warning", "error", "success", "title")
    kinds += ("subheader",)
    for kind in kinds:
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [t.value.to_csv() for t in at.table] if at.table else []
    return "\n".join(parts)


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def ok(at: AppTest) -> AppTest:
    """Assert the last run raised nothing (an uncaught exception would be a traceback)."""
    assert not at.exception, [e.value for e in at.exception]
    return at


def keyed(elements, prefix: str):
    """The one widget keyed ``prefix`` or ``prefix:<scan hash>`` (widgets tied to a scan)."""
    found = [e for e in elements if e.key == prefix or str(e.key).startswith(prefix + ":")]
    assert len(found) == 1, (prefix, [e.key for e in elements])
    return found[0]


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def failures_expander(at: AppTest):
    """The Batch page's expander listing the files that could not be scored."""
    found = [e for e in at.expander if "could not be scored" in e.label]
    assert len(found) == 1, [e.label for e in at.expander]
    return found[0]
