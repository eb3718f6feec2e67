"""A model card on the Model zoo page: its sections, rendered from ui.figures' figures."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from ui.figures import SIDES, held_out_report, operating_point_rows, report_figures, with_ci
from ui.population import render_population_shift, scorings_sentence, target_rows
from ui.trust import ood_rows, readable_card, trust_summary_lines
from ui.widgets import key_values
from zoo.registry import ModelEntry, Registry


def _value(value: object) -> str:
    if isinstance(value, dict) and "value" in value:
        return with_ci(value) + (f" [{value['method']}]" if value.get("method") else "")
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def sides_table(metrics: dict) -> pd.DataFrame | None:
    """Held-out test and validation metrics side by side, one row per metric."""
    columns = (("test", "held-out test (95% CI)"), ("validation", "validation (95% CI)"))
    sides = {
        name: metrics[side]
        for side, name in columns
        if isinstance(metrics.get(side), dict) and metrics[side]
    }
    if not sides:
        return None
    names = list(dict.fromkeys(k for side in sides.values() for k in side))
    rows = [
        {"metric": k, **{col: _value(side[k]) if k in side else "" for col, side in sides.items()}}
        for k in names
        if not any(isinstance(side.get(k), list) for side in sides.values())
    ]
    return pd.DataFrame(rows)


def render_card(zoo: Registry, entry: ModelEntry) -> None:
    """Every section of one model's card (inside the page's expander)."""
    card = entry.card
    prose = report_figures(zoo, card.id)
    st.markdown(f"**Intended use.** {prose['intended_use']}")
    st.markdown("**Limitations**\n" + "\n".join(f"- {item}" for item in prose["limitations"]))
    left, right = st.columns(2)
    with left:
        st.markdown("**Model**")
        arch = card.architecture
        key_values(
            {
                "task": f"{card.task}: {', '.join(card.labels)}",
                "positive label": card.positive_label or "—",
                "modality": ", ".join(card.modalities),
                "body part": card.body_part,
                "architecture": str(arch.get("name", "n/a")),
                "parameters": f"{arch['parameters']:,}"
                if isinstance(arch.get("parameters"), int)
                else "n/a",
                "input": f"{card.preprocessing.input_size[0]}×"
                f"{card.preprocessing.input_size[1]}×{card.preprocessing.channels}, "
                f"{card.preprocessing.aspect}",
                "calibration": str(card.calibration.get("method", "n/a")),
                "latency": f"{card.latency_ms} ms" if card.latency_ms else "n/a",
            }
        )
        st.markdown("**File**")
        key_values(
            {
                "name": card.file.name,
                "size": f"{card.file.bytes / 1e6:.2f} MB",
                "ONNX opset": str(card.file.opset),
            }
        )
        st.code(f"SHA-256 {card.file.sha256}", language=None, wrap_lines=True)
    with right:
        data = card.training_data
        st.markdown("**Training data (provenance)**")
        split = data.get("split", {})
        key_values(
            {
                "source": prose["training_source"],
                "licence": str(data.get("licence")),
                "citation": str(data.get("citation")),
                "split": split.get("method", str(split)) if isinstance(split, dict) else str(split),
            }
        )
        counts = data.get("counts") or {}
        if counts and all(isinstance(v, dict) for v in counts.values()):
            table = pd.DataFrame(counts).fillna(0).astype(int)
            groups = data.get("group_counts") or {}
            if groups and all(isinstance(v, dict) for v in groups.values()):
                # "images (groups)": a side with one benign block measures one case
                g = pd.DataFrame(groups).reindex_like(table).fillna(0).astype(int)
                table = table.astype(str) + " (" + g.astype(str) + ")"
                st.caption("Images per split and label (independent groups in brackets)")
            st.dataframe(table, width="stretch")
        st.markdown("**Operating points** (validation, served probabilities)")
        st.dataframe(pd.DataFrame(operating_point_rows(zoo, card.id)), hide_index=True)
        chosen_by = card.raw.get("thresholds", {}).get("chosen_by")
        if chosen_by:
            st.caption(f"Default threshold chosen by: {chosen_by}")
    metrics = card.metrics if isinstance(card.metrics, dict) else {}
    served = {side: held_out_report(zoo, card.id, side) for side in SIDES}
    st.markdown(
        "**Metrics** (served probabilities"
        + (f", at the default threshold {card.default_threshold:.3f})" if card.is_binary else ")")
    )
    table = sides_table({side: r["metrics"] for side, r in served.items() if r})
    if table is None:
        st.caption("The card ships no held-out predictions: no figures for this model.")
    else:
        st.dataframe(table, hide_index=True)
    for key, section in metrics.items():
        if key.endswith("_vs_rest") and isinstance(section, dict):
            threshold = section.get("threshold")
            st.markdown(
                f"**{key.replace('_', ' ')}** (threshold {threshold}, "
                f"{section.get('chosen_by', '')})"
            )
            st.dataframe(sides_table(section), hide_index=True)
    scorings = scorings_sentence(card)
    if scorings:
        st.caption(scorings)
    targets = target_rows(card)
    if targets:
        st.markdown("**Quality targets** (set before training; judged on the test side)")
        st.dataframe(pd.DataFrame(targets), hide_index=True)
    render_population_shift(card)
    shortcut = card.raw.get("shortcut_check")
    if isinstance(shortcut, dict) and "probe" in shortcut:
        st.markdown("**Shortcut check**")
        for line in shortcut.get("summary", []):
            st.markdown(f"- {line}")
        st.json(shortcut, expanded=False)
    trust_lines = trust_summary_lines(card)
    if trust_lines:
        st.markdown("**Trust signals** (measured at export on this file; see Metrics)")
        st.markdown("\n".join(f"- {line}" for line in trust_lines))
        flagged = ood_rows(card)
        if flagged is not None:
            st.caption("Out-of-distribution warning: share of each set flagged")
            st.dataframe(flagged, hide_index=True)
    if card.raw.get("changelog"):
        st.markdown("**Changelog**")
        st.dataframe(pd.DataFrame(card.raw["changelog"]), hide_index=True)
    with st.popover("Full card (JSON)"):
        st.code(json.dumps(readable_card(card.raw), indent=2, default=str), language="json")
