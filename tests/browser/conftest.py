"""Fixtures of the browser tests on the shipped zoo: one server per module, a fresh
Chromium tab per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_browser_flows import CHROMIUM, LAUNCH_ARGS, WAIT_MS, _serve, sync_api


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _serve(tmp_path_factory, shipped=True) as url:
        yield url


@pytest.fixture
def tab(shipped: str):
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=LAUNCH_ARGS, timeout=WAIT_MS
        )
        context = chromium.new_context(viewport={"width": 1400, "height": 1800})
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        try:
            yield page
        finally:
            context.close()
            chromium.close()
