"""Load: N browser sessions at once through upload → analyze → threshold → compare.

Run ``python -m benchmarks.load_sessions [--sessions 1 4 8] [--rounds 3] [--models-dir DIR]``
from the repository root. For each N a fresh ``streamlit run streamlit_app.py`` listens on
loopback and Debian's Chromium (Playwright, one browser context per session) drives N
sessions concurrently; each does ``--rounds`` flows:

1. upload its own scan on the Analyze page and wait for the whole report (the caption with
   the file name, four metrics, images, the chart, the PDF button, nothing stale): the
   *time to report*, from ``set_input_files`` to the report on screen;
2. move the sensitivity control to its most sensitive point and wait for the new threshold;
3. upload the same scan on the Compare page and wait for every model's score.

Each session's scans are its own: a sample scan from ``zoo/samples`` (or a generated one)
with a white block per session and a brightness of its own, named ``medzoo-sKK-rR.png``.
Isolation is checked at every step: the page may name no other session's file, and every
score shown must be the score ``zoo.runtime.predict`` gives this session's scan (computed
beforehand in this process). Any timeout, exception box or isolation breach counts as an
error. The server's peak RSS is its VmHWM. Prints one Markdown table; bounded by
``--timeout`` per N, and the server and browser are always stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from benchmarks.tiny_zoo import zoo_or_tiny
from zoo.imaging import load_scan
from zoo.registry import Registry
from zoo.runtime import predict

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "zoo" / "samples"
CHROMIUM = Path("/usr/bin/chromium")
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
WAIT_S = 60  # every browser wait is bounded by this
MARKER = re.compile(r"medzoo-s(\d\d)-r\d+")

#: The Analyze page shows the whole report of upload ``name`` (as in app_bench, with two
#: images accepted: a model without an activation map shows none).
REPORT_SHOWN = """(name) => {
  const d = document;
  if (!d.body.innerText.includes('Original: ' + name)) return false;
  if (d.querySelector('[data-stale="true"]')) return false;
  if (d.querySelector('[data-testid=stStatusWidget]')) return false;
  if (d.querySelectorAll('[data-testid=stMetric]').length < 4) return false;
  if (!d.querySelector('[data-testid=stPlotlyChart] .main-svg')) return false;
  if (!d.querySelector('[data-testid=stDownloadButton]')) return false;
  const images = [...d.querySelectorAll('[data-testid=stImage] img')];
  return images.length >= 2 && images.every(i => i.complete && i.naturalWidth > 0);
}"""
#: The threshold metric differs from ``before`` and the script run is over.
THRESHOLD_MOVED = """(before) => {
  const d = document;
  const m = [...d.querySelectorAll('[data-testid=stMetric]')]
    .find(e => e.innerText.startsWith('Threshold'));
  return m && m.innerText !== before && !d.querySelector('[data-stale="true"]')
    && !d.querySelector('[data-testid=stStatusWidget]');
}"""
#: The Compare page shows ``n`` model scores and its table, and the run is over.
COMPARE_SHOWN = """(n) => {
  const d = document;
  return d.body.innerText.includes('Latency: this run')
    && d.querySelectorAll('[data-testid=stMetric]').length >= n
    && !d.querySelector('[data-stale="true"]')
    && !d.querySelector('[data-testid=stStatusWidget]');
}"""


# -- scans and what the app must show for them -------------------------------------------


def base_image() -> np.ndarray:
    """A grey sample scan from zoo/samples (the first JPEG), else a generated one."""
    jpegs = sorted(SAMPLES.glob("*.jpg"))
    if jpegs:
        image = Image.open(jpegs[0]).convert("L")
        image.thumbnail((512, 512))
        return np.asarray(image, dtype=np.float32)
    y, x = np.mgrid[0:384, 0:320]
    return (120 + 80 * np.sin(x / 20) * np.cos(y / 30)).astype(np.float32)


def session_scan(base: np.ndarray, session: int, round_: int) -> tuple[str, bytes]:
    """The base scan, brightened per session, with session ``session``'s visible block."""
    image = base * (0.55 + 0.06 * session) + 4 * round_
    side = max(8, image.shape[0] // 16)
    top = side * (1 + session % 8)
    image[top : top + side, side : side * (2 + session // 8)] = 255  # the session's marker
    buffer = io.BytesIO()
    Image.fromarray(image.clip(0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return f"medzoo-s{session:02d}-r{round_}.png", buffer.getvalue()


def expected_scores(root: Path, data: bytes) -> dict[str, float]:
    """Every probability any model gives this scan ("model:label" → value).

    The pages show P(label of interest), which for a multiclass model is the label the
    user last picked, not always the top one; any of the scan's own probabilities may
    appear, and no other scan's (each session's scan differs).
    """
    registry = Registry(root)
    scan = load_scan(data)
    scores = {}
    for entry in registry.entries():
        (p,) = predict(entry.id, [scan], registry=registry)
        scores.update({f"{entry.id}:{label}": value for label, value in p.probabilities.items()})
    return scores


# -- the server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``streamlit run streamlit_app.py`` on a free loopback port; always stopped on exit."""

    def __init__(self, zoo: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._log = log.open("w")
        env = {**os.environ, "MEDZOO_MODELS_DIR": str(zoo)}
        env["MEDZOO_SAMPLES_DIR"] = str(zoo / "no-samples")  # the uploader only
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
                "--server.headless", "true", "--server.port", str(self.port),
                "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
                "--browser.gatherUsageStats", "false",
            ],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.process.returncode}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as reply,
            ):
                if reply.status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"streamlit was not healthy within {WAIT_S} s")

    def memory_mb(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) of the server in MB."""
        values = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
        return values["VmRSS"], values["VmHWM"]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- one session -------------------------------------------------------------------------


@dataclass
class SessionResult:
    report_s: list[float] = field(default_factory=list)
    compare_s: list[float] = field(default_factory=list)
    flows: int = 0
    threshold_moves: int = 0
    scores_checked: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def number(text: str) -> float:
    found = re.findall(r"\d+\.\d+", text)
    return float(found[-1]) if found else math.nan


async def check_isolation(
    tab: Any, session: int, scores: dict[str, float], step: str, checked: list[float]
) -> None:
    """Raise when the page names another session's file or shows a score not this scan's.

    The scores it checked are appended to ``checked``.
    """
    body = await tab.locator("body").inner_text()
    others = {int(k) for k in MARKER.findall(body)} - {session}
    if others:
        raise AssertionError(f"{step}: the page names sessions {sorted(others)}'s files")
    if await tab.locator("[data-testid=stException]").count():
        raise AssertionError(f"{step}: the page shows an exception")
    for metric in await tab.locator("[data-testid=stMetric]").all():
        label = await metric.locator("[data-testid=stMetricLabel]").inner_text()
        if label.startswith(("Risk score", "P(")):
            shown = number(await metric.locator("[data-testid=stMetricValue]").inner_text())
            if min(abs(shown - s) for s in scores.values()) > 6e-4:
                raise AssertionError(f"{step}: score {shown} is not one of this scan's")
            checked.append(shown)


async def open_page(tab: Any, title: str) -> None:
    await tab.locator("[data-testid=stSidebarNav] a", has_text=title).first.click()
    await tab.locator("h1", has_text=title).wait_for()


async def run_session(
    browser: Any,
    url: str,
    session: int,
    scans: list[tuple[str, bytes, dict[str, float]]],
    result: SessionResult,
) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 1800})
    try:
        tab = await context.new_page()
        tab.set_default_timeout(WAIT_S * 1000)
        await tab.goto(url)  # the router first, then its pages (one Streamlit session)
        await tab.locator("h1", has_text="MedZoo").wait_for()
        for name, data, scores in scans:
            step = "analyze"
            try:
                await open_page(tab, "Analyze a scan")
                started = time.perf_counter()
                await tab.locator("input[type=file]").first.set_input_files(
                    files=[{"name": name, "mimeType": "image/png", "buffer": data}]
                )
                await tab.wait_for_function(REPORT_SHOWN, arg=name, timeout=WAIT_S * 1000)
                result.report_s.append(time.perf_counter() - started)
                await check_isolation(tab, session, scores, step, result.scores_checked)

                step = "threshold"
                control = tab.locator("[data-testid=stSlider]", has_text="Sensitivity")
                thumb = control.locator("[role=slider], input[type=range]").first
                if await control.count():  # a model with one operating point has none
                    metric = tab.locator("[data-testid=stMetric]", has_text="Threshold").first
                    before = await metric.inner_text()
                    await thumb.focus()
                    # the most sensitive operating point, or back from it when already there
                    # (the tick bar's last label is the right end's option)
                    now = await thumb.get_attribute("aria-valuetext")
                    ends = await control.locator("[data-testid=stSliderTickBar]").inner_text()
                    at_end = bool(now) and ends.strip().splitlines()[-1].strip() == now.strip()
                    await thumb.press("Home" if at_end else "End")
                    await tab.wait_for_function(THRESHOLD_MOVED, arg=before, timeout=WAIT_S * 1000)
                    await check_isolation(tab, session, scores, step, result.scores_checked)
                    result.threshold_moves += 1

                step = "compare"
                await open_page(tab, "Compare models")
                started = time.perf_counter()
                await tab.locator("input[type=file]").first.set_input_files(
                    files=[{"name": name, "mimeType": "image/png", "buffer": data}]
                )
                # Compare preselects the models of the scan's modality; a PNG has none, so
                # as few as one model may be shown
                shown = 1
                await tab.wait_for_function(COMPARE_SHOWN, arg=shown, timeout=WAIT_S * 1000)
                result.compare_s.append(time.perf_counter() - started)
                await check_isolation(tab, session, scores, step, result.scores_checked)
                result.flows += 1
            except Exception as exc:  # a timeout, an exception box, a breach: counted
                result.errors.append(f"session {session}, {name}, {step}: {exc}".splitlines()[0])
    finally:
        await context.close()


# -- one N -------------------------------------------------------------------------------


@dataclass
class LoadResult:
    sessions: int
    results: list[SessionResult]
    peak_mb: float
    end_mb: float
    wall_s: float


async def run_load(
    browser: Any, zoo: Path, n: int, rounds: int, base: np.ndarray, logs: Path, timeout: float
) -> LoadResult:
    plans = []
    for k in range(n):
        plan = []
        for r in range(rounds):
            name, data = session_scan(base, k, r)
            plan.append((name, data, expected_scores(zoo, data)))
        plans.append(plan)
    results = [SessionResult() for _ in range(n)]
    with Server(zoo, logs / f"streamlit-{n}.log") as server:
        server.wait_healthy()
        started = time.perf_counter()
        tasks = [run_session(browser, server.url, k, plans[k], results[k]) for k in range(n)]
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), timeout)
        except TimeoutError:
            results[0].errors.append(f"the {n}-session run passed --timeout {timeout:.0f} s")
        wall = time.perf_counter() - started
        end_mb, peak_mb = server.memory_mb()
    return LoadResult(n, results, peak_mb, end_mb, wall)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def table(results: list[LoadResult], rounds: int) -> list[str]:
    lines = [
        "| sessions | flows done | time to report, median (s) | p95 (s) | Compare, median "
        "(s) | p95 (s) | threshold moves | scores checked | errors | server peak RSS (MB) "
        "| RSS at end (MB) | wall (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        report = [t for s in r.results for t in s.report_s]
        compare = [t for s in r.results for t in s.compare_s]
        done = sum(s.flows for s in r.results)
        errors = sum(len(s.errors) for s in r.results)

        def med(values: list[float]) -> str:
            return f"{statistics.median(values):.2f}" if values else "–"

        lines.append(
            f"| {r.sessions} | {done}/{r.sessions * rounds} | {med(report)} | "
            f"{percentile(report, 0.95):.2f} | {med(compare)} | {percentile(compare, 0.95):.2f} "
            f"| {sum(s.threshold_moves for s in r.results)} "
            f"| {sum(len(s.scores_checked) for s in r.results)} "
            f"| {errors} | {r.peak_mb:.0f} | {r.end_mb:.0f} | {r.wall_s:.0f} |"
        )
    return lines


async def main_async(args: argparse.Namespace) -> int:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory(prefix="medzoo-load-") as scratch:
        zoo, note = zoo_or_tiny(args.models_dir, Path(scratch))
        logs = Path(scratch)
        base = base_image()
        results = []
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=LAUNCH_ARGS, timeout=WAIT_S * 1000
            )
            try:
                for n in args.sessions:
                    print(f"{n} session(s)…", file=sys.stderr)
                    results.append(
                        await run_load(browser, zoo, n, args.rounds, base, logs, args.timeout)
                    )
            finally:
                await browser.close()
        errors = [e for r in results for s in r.results for e in s.errors]
        if errors:
            tail = (logs / f"streamlit-{results[-1].sessions}.log").read_text()[-2000:]
            print(f"server log (last run, tail):\n{tail}", file=sys.stderr)
    print(
        f"**Load**: N concurrent Chromium sessions, {args.rounds} flow(s) each (upload → "
        "report on Analyze → most sensitive threshold → Compare), one fresh `streamlit run` "
        f"per N on loopback; {note}. Time to report: from `set_input_files` to the whole "
        "report on screen."
    )
    print()
    print("\n".join(table(results, args.rounds)))
    if errors:
        print()
        print("Errors:")
        print("\n".join(f"- {e}" for e in errors[:20]))
    return 1 if errors else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--rounds", type=int, default=3, help="flows per session")
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--timeout", type=float, default=900, help="seconds per N")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit("/usr/bin/chromium is absent (apt-get install -y chromium)")
    if any(n < 1 or n > 99 for n in args.sessions) or args.rounds < 1:
        parser.error("sessions must be 1–99 and rounds ≥ 1")
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
