"""What a change of population does, per collection, the quality targets and how many
models looked at a test side: tables built from a card's own sections (the pipeline
measured them; nothing is recomputed or typed here)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import streamlit as st

from ui.figures import number, with_ci
from zoo.card import ModelCard

SHIFT_CAPTION = (
    "What a change of population does: the same question on the model's own held-out test "
    "side and on films of a population it never saw, scored as the app serves them. AUC with "
    "DeLong 95% CI; sensitivity and specificity of the model's own call (its most probable "
    "label) with Wilson 95% CIs."
)


def _report_columns(report: Mapping[str, Any]) -> dict[str, str]:
    return {
        "films": str(report.get("n", "n/a")),
        "positive": str(report.get("positives", "n/a")),
        "AUC (95% CI)": with_ci(report.get("auc")) if report.get("auc") else "undefined",
        "sensitivity": with_ci(report.get("sensitivity"), "{:.1%}"),
        "specificity": with_ci(report.get("specificity"), "{:.1%}"),
    }


def shift_rows(card: ModelCard) -> list[dict[str, str]]:
    """The model's own test side, then each other population, as table rows."""
    shift = card.raw.get("population_shift")
    if not isinstance(shift, Mapping):
        return []
    rows = [{"population": "own test side", **_report_columns(shift.get("own_test", {}))}]
    for population in shift.get("populations", []):
        rows.append(
            {"population": str(population.get("population")), **_report_columns(population)}
        )
    return rows


def collection_rows(card: ModelCard) -> list[dict[str, str]]:
    """The card's question on each collection of its test side."""
    section = card.raw.get("by_collection")
    if not isinstance(section, Mapping):
        return []
    return [
        {"collection": str(row.get("value")), **_report_columns(row)} for row in section["rows"]
    ]


def comparison_rows(cards: Iterable[ModelCard]) -> list[dict[str, str]]:
    """Every model with a population check: one row per (model, population)."""
    rows = []
    for card in cards:
        question = (card.raw.get("population_shift") or {}).get("question")
        for row in shift_rows(card):
            rows.append({"model": f"{card.id} v{card.version}", "question": question, **row})
    return rows


def target_rows(card: ModelCard) -> list[dict[str, str]]:
    """The recipe's quality targets with the values reached on validation and test."""
    targets = (card.metrics or {}).get("quality_targets") or []
    return [
        {
            "metric": _metric_name(str(t.get("metric"))),
            "target": f"≥ {number(t.get('min'))}",
            "validation": number(t.get("validation")),
            "test": number(t.get("test")),
            "on test": "not scored"
            if t.get("test") is None
            else "met"
            if t.get("met_on_test")
            else "missed",
        }
        for t in targets
        if isinstance(t, Mapping)
    ]


def _metric_name(metric: str) -> str:
    if metric.startswith("pointing_gain_"):  # a difference of two hit rates
        finding = metric.removeprefix("pointing_gain_")
        return f"pointing game, {finding}: model's hit rate − centre prior's"
    return metric


def scorings_sentence(card: ModelCard) -> str | None:
    """How many models were scored on this card's test side, in one sentence."""
    section = (card.metrics or {}).get("test_scorings")
    if not isinstance(section, Mapping):
        return None
    count = section.get("models_scored")
    others = [h for h in section.get("history", []) if h.get("sha256") != card.file.sha256]
    text = (
        f"Test side scored for {count} model{'s' if count != 1 else ''} "
        f"({section.get('cases', 'n/a')} cases)"
    )
    if others:
        earlier = ", ".join(
            f"{h.get('model') or card.id} v{h.get('version')} ({h.get('shared_cases')} shared)"
            for h in others
        )
        return text + f": this file and {earlier}. Its test figures are less independent."
    return text + ": this file only, so its test figures were looked at once."


def _indexed(rows: list[dict[str, str]]) -> pd.DataFrame:
    """A small static table (st.table: every cell in the page's text), first column as
    its index."""
    frame = pd.DataFrame(rows)
    return frame.set_index(frame.columns[0])


def has_population_sections(card: ModelCard) -> bool:
    return bool(shift_rows(card) or collection_rows(card))


def render_population_shift(card: ModelCard) -> None:
    """Metrics and Model zoo: the card's population check and its per-collection figures."""
    rows = shift_rows(card)
    if rows:
        question = card.raw["population_shift"].get("question", "")
        st.markdown(f"**What a change of population does** ({question})")
        st.table(_indexed(rows))
        st.caption(SHIFT_CAPTION)
    collections = collection_rows(card)
    if collections:
        section = card.raw["by_collection"]
        st.markdown(
            f"**By {section.get('column')}** ({section.get('question')}, "
            f"{section.get('side', 'test')} side)"
        )
        st.table(_indexed(collections))


def render_population_comparison(cards: Iterable[ModelCard]) -> None:
    """Compare: every model's population check side by side (shown when one has it)."""
    rows = comparison_rows(cards)
    if not rows:
        return
    st.subheader("What a change of population does")
    st.table(_indexed(rows))
    st.caption(
        SHIFT_CAPTION + " A model trained on children and one trained on adults, each scored "
        "on the other's films: the drop is what moving a model to a new population costs."
    )
