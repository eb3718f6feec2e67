"""Memory: N browser sessions one after another, each touching every page and every model.

Run ``python -m benchmarks.memory_walk [--sessions 30] [--imported 2] [--json FILE]``
from the repository root (needs Debian's Chromium and Playwright). A fresh
``streamlit run streamlit_app.py`` serves the shipped zoo on loopback; each session opens a
new browser context and walks Home → Analyze (a scan of one kind, then every model of that
kind) → Compare (the same scan) → Thresholds → Metrics → Batch → Model zoo. The kinds take
turns (CT, brain MRI, chest X-ray), so every three sessions touch every shipped model. With
``--imported N`` each session first uploads N shipped ONNX files on Add a model as if they
came from elsewhere and runs each on Analyze: the memory of imported models. After each
session the server's RSS and peak RSS (VmHWM) are read from ``/proc``.

Prints a Markdown table (every fifth session and the last) and the peak against the
budget: 800 MB, Streamlit Community Cloud giving an app about 1 GB. ``--json`` also writes
the rows, which ``python -m benchmarks.docs`` tables in ``docs/performance.md``
(``docs/data/memory_walk.json``, and ``memory_walk_imported.json`` for ``--imported 2``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.load_sessions import CHROMIUM, LAUNCH_ARGS, Server

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "zoo" / "models"
SAMPLES = ROOT / "zoo" / "samples"
BUDGET_MB = 800
WAIT_MS = 60_000
#: One scan per kind, and the models of that kind (model ids as the picker shows them).
KINDS = (
    ("CT", "ct_lung_malignant.jpg", ("customcnn-lung-ct", "resnet-lung-ct")),
    ("MR", "mri_brain_glioma.jpg", ("multiclass-brain-mri",)),
    (
        "DX",
        "cxr_nih_mass.jpg",
        ("customcnn-cxr-mass", "multiclass-cxr", "mobilenetv3-synthetic"),
    ),
)
PAGES = ("", "analyze", "compare", "thresholds", "metrics", "batch", "model_zoo")


@dataclass
class Row:
    session: int
    kind: str
    seconds: float
    rss_mb: float
    peak_mb: float


def settle(tab) -> None:
    tab.wait_for_timeout(300)
    tab.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=WAIT_MS
    )
    tab.wait_for_timeout(200)


def go(tab, url: str, path: str) -> None:
    tab.goto(f"{url}/{path}")
    tab.locator("[data-testid=stSidebar]").wait_for()
    settle(tab)
    if tab.locator("[data-testid=stException]").count():
        raise RuntimeError(f"a traceback on /{path}")


def pick_model(tab, model_id: str) -> None:
    # a rerun can leave the previous scan's picker on the page for a moment
    tab.wait_for_function(
        "() => document.querySelectorAll('input[aria-label=\"Model\"]').length === 1",
        timeout=WAIT_MS,
    )
    tab.get_by_role("combobox", name="Model").click()
    tab.get_by_role("option", name=re.compile(re.escape(f"({model_id},"))).first.click()
    settle(tab)


def walk(tab, url: str, scan: Path, models: tuple[str, ...]) -> None:
    """One user's visit: every page, every model of the scan's kind."""
    go(tab, url, "")
    go(tab, url, "analyze")
    tab.locator("input[type=file]").first.set_input_files(str(scan))
    settle(tab)
    for model_id in models:
        pick_model(tab, model_id)
        tab.get_by_text(re.compile(r"Most probable label|Result withheld")).first.wait_for()
    go(tab, url, "compare")
    tab.locator("input[type=file]").first.set_input_files(str(scan))
    settle(tab)
    for path in PAGES[3:]:
        go(tab, url, path)


#: Shipped files uploaded on Add a model as if they came from elsewhere (``--imported``), with
#: the scan each is then run on.
IMPORTS = (
    ("foreign-brain", "multiclass-brain-mri", "mri_brain_glioma.jpg"),
    ("foreign-ct", "resnet-lung-ct", "ct_lung_malignant.jpg"),
)


def nav(tab, page: str) -> None:
    """Another page in the same session (a sidebar link, not a new page load)."""
    tab.locator("[data-testid=stSidebarNav]").get_by_text(page, exact=True).click()
    settle(tab)


def import_and_use(tab, url: str, count: int) -> None:
    """Upload ``count`` models on Add a model, then run each on a scan of its kind."""
    from zoo.registry import Registry

    registry = Registry(MODELS)
    go(tab, url, "add_model")
    for model_id, shipped, _ in IMPORTS[:count]:
        card = registry.card(shipped)
        tab.locator("input[type=file]").first.set_input_files(str(MODELS / shipped / "model.onnx"))
        settle(tab)
        tab.get_by_role("combobox", name="Output holding the class scores").click()
        tab.get_by_role("option", name="probabilities", exact=True).click()
        settle(tab)
        tab.get_by_role("textbox", name="Id", exact=True).fill(model_id)
        tab.get_by_role("textbox", name="Labels, in the order of the outputs").fill(
            ",".join(card.labels)
        )
        tab.get_by_role("button", name="Add to this session's zoo").click()
        tab.get_by_text(f"{model_id} joined this session's zoo").wait_for()
    nav(tab, "Analyze a scan")
    for model_id, _, sample in IMPORTS[:count]:
        tab.locator("input[type=file]").first.set_input_files(str(SAMPLES / sample))
        settle(tab)
        pick_model(tab, model_id)
        tab.get_by_text(re.compile(r"Most probable label|Result withheld")).first.wait_for()


def run(sessions: int, imported: int = 0) -> list[Row]:
    from playwright.sync_api import sync_playwright

    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory() as scratch,
        Server(MODELS, Path(scratch) / "streamlit.log") as server,
    ):
        server.wait_healthy()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            try:
                for i in range(sessions):
                    kind, sample, models = KINDS[i % len(KINDS)]
                    context = browser.new_context(viewport={"width": 1400, "height": 1000})
                    tab = context.new_page()
                    tab.set_default_timeout(WAIT_MS)
                    started = time.perf_counter()
                    try:
                        if imported:
                            import_and_use(tab, server.url, imported)
                        walk(tab, server.url, SAMPLES / sample, models)
                    finally:
                        context.close()
                    rss, peak = server.memory_mb()
                    rows.append(Row(i + 1, kind, time.perf_counter() - started, rss, peak))
            finally:
                browser.close()
    return rows


def table(rows: list[Row]) -> list[str]:
    lines = [
        "| session | scan | walk (s) | server RSS (MB) | peak RSS so far (MB) |",
        "|---:|---|---:|---:|---:|",
    ]
    for row in rows:
        if row.session % 5 == 0 or row.session in (1, len(rows)):
            lines.append(
                f"| {row.session} | {row.kind} | {row.seconds:.1f} | {row.rss_mb:.0f} "
                f"| {row.peak_mb:.0f} |"
            )
    peak = max(row.peak_mb for row in rows)
    verdict = "within" if peak <= BUDGET_MB else "OVER"
    lines.append("")
    lines.append(f"Peak server RSS {peak:.0f} MB over {len(rows)} sessions: {verdict} the "
                 f"{BUDGET_MB} MB budget.")  # fmt: skip
    return lines


def machine() -> str:
    """The CPU model and core count, for the record."""
    name = platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    return f"{name}, {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument(
        "--imported", type=int, default=0, choices=range(len(IMPORTS) + 1),
        help="models each session uploads on Add a model and runs (shipped files as foreign)",
    )  # fmt: skip
    args = parser.parse_args()
    rows = run(args.sessions, args.imported)
    print("\n".join(table(rows)))
    if args.json:
        from benchmarks.records import write_json

        payload = {
            "budget_mb": BUDGET_MB,
            "machine": machine(),
            "imported": args.imported,
            "rows": [asdict(r) for r in rows],
        }
        write_json(args.json, payload)


if __name__ == "__main__":
    main()
