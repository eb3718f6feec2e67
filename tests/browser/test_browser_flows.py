"""The dashboard in a real browser: Playwright drives Debian's Chromium against `streamlit run`.

A temporary zoo of two tiny CR models (tests/conftest.py's ``write_model_dir``) is served on a
free port; screenshots go to ``test-artifacts/`` (git-ignored). Every wait is bounded and the
server is stopped in the fixture's teardown.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
#: The report's answer line (a multiclass model's most probable label, a binary one's call
#: at the threshold shown, or where no threshold was chosen on data its score against it),
#: and that line or the one saying the result is withheld.
REPORT_ANSWER = re.compile(
    r"Most probable label|Call at this threshold|Score against this threshold"
)
REPORT_LINE = re.compile(f"{REPORT_ANSWER.pattern}|Result withheld")
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
SHARED_XRAY = ROOT.parent / "shared" / "data" / "chest_xray" / "images" / "00000002_000.jpg"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
WAIT_MS = 30_000

if not CHROMIUM.exists():
    pytest.skip(
        "/usr/bin/chromium is absent (install it with `apt-get install -y chromium`)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


def _write_model_dir(*args, **kwargs) -> Path:
    """tests/conftest.py's ``write_model_dir`` (imported by path: its name is 'conftest')."""
    spec = importlib.util.spec_from_file_location("medzoo_conftest", ROOT / "tests" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_model_dir(*args, **kwargs)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _chest_xray(tmp: Path) -> Path:
    if SHARED_XRAY.is_file():
        return SHARED_XRAY
    y, x = np.mgrid[0:256, 0:224]
    image = (120 + 80 * np.sin(x / 20) * np.cos(y / 30)).clip(0, 255).astype(np.uint8)
    path = tmp / "generated-chest.png"
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return path


@contextlib.contextmanager
def _serve(tmp_path_factory: pytest.TempPathFactory, *, shipped: bool = False) -> Iterator[str]:
    """``streamlit run`` on a free loopback port over a zoo of two tiny CR models, or over
    the shipped zoo and samples (``shipped``)."""
    if shipped:
        env = {**os.environ}
        for name in ("MEDZOO_MODELS_DIR", "MEDZOO_SAMPLES_DIR"):
            env.pop(name, None)
    else:
        root = tmp_path_factory.mktemp("zoo") / "models"
        _write_model_dir(root, "cr-alpha", input_size=(64, 64), n_validation=200)
        _write_model_dir(root, "cr-beta", input_size=(64, 64), weight=4.0, n_validation=200)
        env = {
            **os.environ,
            "MEDZOO_MODELS_DIR": str(root),
            "MEDZOO_SAMPLES_DIR": str(root / "none"),
        }
    port = _free_port()
    log = (tmp_path_factory.mktemp("log") / "streamlit.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
            "--server.port", str(port), "--server.headless", "true",
            "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"streamlit exited with {process.returncode}; see {log.name}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply,
            ):
                if reply.status == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail("streamlit did not become healthy within 60 s")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _serve(tmp_path_factory) as url:
        yield url


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=LAUNCH_ARGS, timeout=WAIT_MS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, server: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1800}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    tab.goto(server)
    tab.get_by_text("The zoo at a glance").wait_for()
    try:
        yield tab
    finally:
        context.close()


def settle(tab) -> None:
    """Wait until Streamlit has finished running the script (bounded)."""
    tab.wait_for_timeout(300)
    tab.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=WAIT_MS
    )
    tab.wait_for_timeout(300)


def go(tab, server: str, path: str) -> None:
    tab.goto(f"{server}/{path}")
    tab.locator("[data-testid=stSidebar]").wait_for()
    settle(tab)


def shot(tab, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def no_exception(tab) -> None:
    assert tab.locator("[data-testid=stException]").count() == 0


def test_analyze_a_chest_xray(page, server, tmp_path):
    go(page, server, "analyze")
    page.locator("input[type=file]").first.set_input_files(str(_chest_xray(tmp_path)))
    page.get_by_text("Report", exact=True).wait_for()
    settle(page)
    no_exception(page)
    images = page.locator("[data-testid=stImage] img")
    sync_api.expect(images).to_have_count(3)  # original, model input, heatmap
    assert page.get_by_text("Activation map for 'abnormal'").count() == 1
    level = page.locator("[data-testid=stMetric]", has_text="Risk level")
    assert re.search(r"Low|Moderate|High", level.inner_text())
    assert "Research and teaching only" in page.locator("[data-testid=stSidebar]").inner_text()
    shot(page, "analyze")
    with page.expect_download(timeout=WAIT_MS) as download:
        page.get_by_text("Download the PDF report").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")


def test_threshold_slider_changes_the_confusion_matrix(page, server):
    go(page, server, "thresholds")
    counts = page.get_by_text(re.compile(r"TP \d+ · FP \d+ · TN \d+ · FN \d+"))
    before = counts.inner_text()
    thumb = page.locator("[data-testid=stSlider] input[type=range]").first
    thumb.focus()
    thumb.press("PageUp")  # a large step to the right: a higher threshold
    settle(page)
    page.wait_for_function(
        "(before) => !document.body.innerText.includes(before)",
        arg=re.search(r"TP \d+ · FP \d+ · TN \d+ · FN \d+", before).group(0),
        timeout=WAIT_MS,
    )
    after = counts.inner_text()
    assert after != before
    no_exception(page)
    shot(page, "thresholds")


def test_compare_two_models_on_one_scan(page, server, tmp_path):
    go(page, server, "compare")
    page.locator("input[type=file]").first.set_input_files(str(_chest_xray(tmp_path)))
    settle(page)
    sync_api.expect(page.locator("[data-testid=stImage] img")).to_have_count(2)
    table = page.locator("[data-testid=stDataFrame]").first
    table.wait_for()
    no_exception(page)
    page.get_by_text("Latency: this run").wait_for()
    shot(page, "compare-scan")
    page.get_by_text("Models on a labelled set").click()
    settle(page)
    page.get_by_text("Paired DeLong test on the").wait_for()
    no_exception(page)
    shot(page, "compare-labelled")


@pytest.mark.parametrize(
    ("path", "marker"),
    [
        ("", "The zoo at a glance"),
        ("metrics", "Training curves"),
        ("batch", "Score the batch"),
        ("model_zoo", "Training data (provenance)"),
    ],
)
def test_every_other_page_renders_with_the_disclaimer(page, server, path, marker):
    go(page, server, path)
    page.get_by_text(marker).first.wait_for()
    no_exception(page)
    assert "Research and teaching only" in page.locator("[data-testid=stSidebar]").inner_text()
    shot(page, path or "home")


def test_a_deep_link_on_a_fresh_server_goes_through_the_router(browser, tmp_path_factory):
    # with a pages/ folder, Streamlit's first session used to run /thresholds on its own:
    # a menu of file names ("streamlit app", "thresholds") instead of the app's pages
    with _serve(tmp_path_factory) as fresh:
        context = browser.new_context(viewport={"width": 1400, "height": 1800})
        try:
            tab = context.new_page()
            tab.set_default_timeout(WAIT_MS)
            go(tab, fresh, "thresholds")
            tab.get_by_text("Operating point", exact=False).first.wait_for()
            menu = tab.locator("[data-testid=stSidebarNav]").inner_text()
            assert "Analyze a scan" in menu and "Model zoo" in menu, menu
            assert "streamlit app" not in menu.lower(), menu
            sidebar = tab.locator("[data-testid=stSidebar]").inner_text()
            assert "Research and teaching only" in sidebar
            no_exception(tab)
            shot(tab, "deep_link_fresh_server")
        finally:
            context.close()
