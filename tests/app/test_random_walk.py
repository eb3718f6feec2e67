"""A seeded, bounded random walk over every page's controls on the shipped zoo.

Each step picks one control of the page (a select box, slider, toggle, number input, or a
new upload of a sample scan) and gives it a random value; after every step the invariants
hold: no exception, and on Analyze the report names the model the picker shows. A failure
prints the seed and the steps, so the walk can be replayed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from app_helpers import REPORT_HEADINGS, keyed

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "zoo" / "models"
SAMPLES = sorted(p for p in (ROOT / "zoo" / "samples").glob("*.*") if p.suffix in {".jpg", ".dcm"})
SHIPPED = sorted(p.name for p in MODELS.iterdir() if (p / "card.json").is_file())
PAGES = ("home", "analyze", "compare", "thresholds", "metrics", "batch", "model_zoo", "add_model")
STEPS = 12
UPLOADERS = {"analyze": "analyze_upload", "compare": "compare_upload"}


def _controls(at) -> list:
    found = []
    for kind in ("selectbox", "slider", "toggle", "number_input"):
        found += [w for w in getattr(at, kind) if w.key is not None]
    return found


def _act(at, widget, rng: np.random.Generator) -> str:
    """Give ``widget`` a random valid value; returns what was done (for the failure log)."""
    kind = type(widget).__name__
    if kind == "Selectbox":
        index = int(rng.integers(len(widget.options)))
        widget.select_index(index)
        return f"{widget.key} -> option {index}"
    if kind == "Toggle":
        widget.set_value(not widget.value)
        return f"{widget.key} -> {not widget.value}"
    if kind == "NumberInput":
        (widget.increment if rng.random() < 0.5 else widget.decrement)()
        return f"{widget.key} stepped"
    low, high = widget.min, widget.max
    if isinstance(widget.value, int | float) and not isinstance(widget.value, bool):
        value = float(rng.uniform(low, high))
        value = round(value, 3) if isinstance(widget.value, float) else int(value)
        widget.set_value(value)
        return f"{widget.key} -> {value}"
    return f"{widget.key} left alone"


def _check(at, page: str, log: list[str]) -> None:
    assert not at.exception, (log, [e.value for e in at.exception])
    if page != "analyze":
        return
    lines = [m.value for m in at.markdown if REPORT_HEADINGS.search(m.value)]
    lines += [c.value for c in at.caption if c.value.startswith("Result withheld")]
    pickers = [w for w in at.selectbox if str(w.key).startswith("analyze_model:")]
    if lines and pickers:
        picked = pickers[0].value.id
        named = [m for m in SHIPPED if f"({m} v" in lines[0]]
        assert named == [picked], (log, lines[0], picked)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("page", PAGES)
def test_random_walk_keeps_the_invariants(open_page, page, seed):
    rng = np.random.default_rng(seed)
    at = open_page(page, models_dir=MODELS)
    log: list[str] = [f"seed {seed} on {page}"]
    _check(at, page, log)
    for _ in range(STEPS):
        uploader = UPLOADERS.get(page)
        controls = _controls(at)
        if uploader and (not controls or rng.random() < 0.3):
            sample = SAMPLES[int(rng.integers(len(SAMPLES)))]
            at.file_uploader(key=uploader).set_value(
                (sample.name, sample.read_bytes(), "application/octet-stream")
            )
            log.append(f"upload {sample.name}")
        elif controls:
            log.append(_act(at, controls[int(rng.integers(len(controls)))], rng))
        else:
            break
        at.run()
        _check(at, page, log)
    print("\n".join(log))  # shown with -s, and on failure
    if page == "analyze":
        assert keyed(at.selectbox, "analyze_model")  # the walk did reach a report
