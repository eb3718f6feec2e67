"""Fixtures of the page tests: ``open_page`` runs the router and switches to one page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from app_helpers import APP, TIMEOUT
from streamlit.testing.v1 import AppTest


@pytest.fixture
def open_page(zoo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """``open_page("analyze")``: the router run once, then switched to ``pages/analyze.py``."""
    monkeypatch.setenv("MEDZOO_MODELS_DIR", str(zoo_dir))
    monkeypatch.delenv("MEDZOO_SAMPLES_DIR", raising=False)

    def _open(page: str, models_dir: Path | None = None) -> AppTest:
        if models_dir is not None:
            monkeypatch.setenv("MEDZOO_MODELS_DIR", str(models_dir))
        at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return _open
