"""A user's session is a sequence: scans of different kinds one after another, samples,
models, pages, on the shipped zoo in Chromium. After every step, once the app has settled:
the report comes from the model the picker names, and there is no traceback."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from test_browser_flows import (
    REPORT_ANSWER,
    REPORT_LINE,
    ROOT,
    WAIT_MS,
    go,
    no_exception,
    settle,
    shot,
)

pytestmark = pytest.mark.browser

SAMPLES = ROOT / "zoo" / "samples"
SHARED_DATA = ROOT.parent / "shared" / "data"
MODELS = ROOT / "zoo" / "models"
MODEL_IDS = sorted(p.name for p in MODELS.iterdir() if p.is_dir())
KINDS = {
    "CT": {"customcnn-lung-ct", "resnet-lung-ct"},
    "MR": {"multiclass-brain-mri"},
    "DX": {"customcnn-cxr-mass", "multiclass-cxr", "mobilenetv3-synthetic", "pediatric-cxr"},
}


def _scan(kind: str) -> Path:
    """A real scan of ``kind``: one no project file holds when ../shared is there."""
    shared = {
        "CT": SHARED_DATA / "lung_ct",
        "MR": SHARED_DATA / "brain_mri",
        "DX": SHARED_DATA / "chest_xray" / "images",
    }[kind]
    if shared.is_dir():
        found = sorted(p for p in shared.rglob("*") if p.suffix.lower() in {".jpg", ".png"})
        if found:
            return found[len(found) // 2]
    return SAMPLES / {"CT": "ct_lung_malignant.jpg", "MR": "mri_brain_glioma.jpg"}.get(
        kind, "cxr_nih_mass.jpg"
    )


def picked_model(page) -> str:
    """The model id the Analyze page's model picker shows."""
    text = page.get_by_role("combobox", name="Model").input_value()
    return next(m for m in MODEL_IDS if f"({m}," in text)


def reported_model(page) -> str:
    """The model id the report's provenance line names (or, for a scan flagged out of
    distribution, the line that says its result is withheld)."""
    line = page.get_by_text(REPORT_LINE).first.inner_text()
    return next(m for m in MODEL_IDS if f"({m} v" in line)


def check(page, kind: str | None = None) -> str:
    """Wait until the app has settled, then check the invariants.

    A rerun may start a moment after the action, so "settled" is polled: idle, and the
    same picker and report on two reads 1 s apart. A report that stays on another model
    (the bug this guards against) never passes.
    """
    deadline = time.monotonic() + WAIT_MS / 1000
    seen: tuple[str, str] | None = None
    while True:
        settle(page)
        page.get_by_text(REPORT_LINE).first.wait_for()
        no_exception(page)
        now = (picked_model(page), reported_model(page))
        if now == seen or time.monotonic() > deadline:
            break
        seen = now
        page.wait_for_timeout(1000)
    picked, reported = now
    assert reported == picked
    assert_the_call_follows_the_threshold(page)
    if kind:
        assert picked in KINDS[kind], (kind, picked)
    return picked


def assert_the_call_follows_the_threshold(page) -> None:
    """A binary report's answer is its label when the risk score shown is at or above the
    threshold shown, the other label below (once it kept the card's call after a move)."""
    answers = page.get_by_text(REPORT_ANSWER)
    if not answers.count() or "Call at this threshold" not in answers.first.inner_text():
        return
    called = re.search(r"Call at this threshold: (.+?) ·", answers.first.inner_text()).group(1)
    box = page.locator("[data-testid=stMetric]", has_text="Risk score").first.inner_text()
    heading, value = [line.strip() for line in box.splitlines() if line.strip()][:2]
    label = re.search(r"P\('(.+)'\)", heading).group(1)
    _, threshold = threshold_shown(page)
    expected = label if float(value) >= threshold else f"not {label}"
    assert called == expected, (called, label, value, threshold)


def threshold_shown(page) -> tuple[str, float]:
    """(operating point, threshold) as the report's Threshold box shows them."""
    box = page.locator("[data-testid=stMetric]", has_text="Threshold").first.inner_text()
    _, value, point = [line.strip() for line in box.splitlines() if line.strip()][:3]
    return point, float(value)


def assert_figures_match_the_card(page, model_id: str, point: str, shown: float) -> None:
    """The operating point and the validation sensitivity/specificity on screen are the ones
    ui.figures' functions give for the card's served validation predictions."""
    from ui.report import operating_points
    from ui.stats import ScoredSet, metrics_at
    from ui.widgets import fmt_pct
    from zoo.registry import Registry

    registry = Registry(MODELS)
    card = registry.card(model_id)
    label = (
        card.positive_label
        or page.get_by_role("combobox", name=re.compile("Label of")).input_value()
    )
    validation = ScoredSet.from_validation(card, registry.validation_predictions(model_id))
    table = validation.defined_table(label)
    threshold = operating_points(table, card)[point]
    assert abs(threshold - shown) < 5e-4, (point, threshold, shown)
    at = metrics_at(table, threshold)
    caption = page.get_by_text(re.compile(r"^At t = ")).first.inner_text()
    assert f"sensitivity {fmt_pct(at['sensitivity'])}" in caption, caption
    assert f"specificity {fmt_pct(at['specificity'])}" in caption, caption


def assert_home_matches_the_cards(page) -> None:
    from ui.figures import auc_of
    from zoo.registry import Registry

    registry = Registry(MODELS)
    page.get_by_text("The zoo at a glance").wait_for()
    for model_id in MODEL_IDS:
        row = page.locator("tr", has_text=model_id).first.inner_text()
        for side in ("test", "validation"):
            assert auc_of(registry, model_id, side) in row, (model_id, side, row)


def upload(page, path: Path) -> None:
    page.locator("input[type=file]").first.set_input_files(str(path))


def test_uploads_of_three_kinds_then_pages_and_back(tab, shipped):
    go(tab, shipped, "analyze")
    for step, kind in enumerate(("CT", "MR", "DX")):
        upload(tab, _scan(kind))
        check(tab, kind)
        shot(tab, f"sequence-{step}-{kind}")
    # another model of the same kind: the report follows at once
    current = picked_model(tab)
    tab.get_by_role("combobox", name="Model").click()
    other = tab.get_by_role("option", name=re.compile(r"multiclass-cxr|customcnn-cxr-mass"))
    other.filter(has_not_text=current).first.click()
    model_id = check(tab, "DX")
    assert model_id != current
    # a more sensitive operating point: the report keeps its model, the figures follow
    before = threshold_shown(tab)
    tab.get_by_role("slider").first.press("ArrowRight")
    assert check(tab, "DX") == model_id
    after = threshold_shown(tab)
    assert after[1] < before[1]
    assert_figures_match_the_card(tab, model_id, *after)
    go(tab, shipped, "")
    assert_home_matches_the_cards(tab)
    go(tab, shipped, "compare")
    upload(tab, _scan("MR"))
    settle(tab)
    no_exception(tab)
    assert "multiclass-brain-mri" in tab.locator("[data-testid=stMultiSelect]").first.inner_text()
    go(tab, shipped, "analyze")
    upload(tab, _scan("CT"))
    check(tab, "CT")


def test_samples_open_on_a_model_of_their_kind(tab, shipped):
    go(tab, shipped, "analyze")
    tab.get_by_text("Use a sample scan").click()
    settle(tab)
    for sample, kind in (
        ("mri_brain_meningioma.jpg", "MR"),
        ("cxr_tb_tuberculosis.jpg", "DX"),
        ("ct_lung_normal.jpg", "CT"),
    ):
        tab.get_by_role("combobox", name="Sample scan").click()
        tab.get_by_role("option", name=sample).click()
        check(tab, kind)
    shot(tab, "sequence-samples")


def test_population_tables_show_the_cards_figures(tab, shipped):
    """Compare on a labelled set, then Metrics of a model with a population check: every
    AUC cell of "What a change of population does" is the one its card holds."""
    from ui.population import comparison_rows, shift_rows
    from zoo.registry import Registry

    registry = Registry(MODELS)
    cards = [entry.card for entry in registry.entries()]
    expected = comparison_rows(cards)
    if not expected:
        pytest.skip("no shipped card has a population check")
    go(tab, shipped, "compare")
    tab.get_by_text("Models on a labelled set").click()
    settle(tab)
    heading = tab.get_by_text("What a change of population does").first
    heading.wait_for()
    no_exception(tab)
    heading.scroll_into_view_if_needed()
    shot(tab, "compare-populations")
    table = tab.locator("[data-testid=stTable]").last.inner_text()
    for row in expected:
        assert row["AUC (95% CI)"] in table, (row, table)
    card = next(c for c in cards if shift_rows(c))
    go(tab, shipped, "metrics")
    tab.get_by_role("combobox", name="Model").click()
    tab.get_by_role("option", name=re.compile(rf"\({re.escape(card.id)},")).first.click()
    settle(tab)
    tab.get_by_text("Other populations and collections").wait_for()
    no_exception(tab)
    tab.get_by_text("Other populations and collections").scroll_into_view_if_needed()
    shot(tab, f"metrics-populations-{card.id}")
