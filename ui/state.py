"""State shared between pages: typed accessors, each key with one owner.

========================  ===============  =========================================
key                       owner (writes)   readers
========================  ===============  =========================================
``batch``                 Batch page       Compare, Metrics (the user's labelled set)
``chosen_thresholds``     Thresholds page  Compare, Batch (metrics at a threshold)
========================  ===============  =========================================

Widget values stay with their widgets; only these results cross pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from ui.stats import ScoredSet

_BATCH = "batch"
_THRESHOLDS = "chosen_thresholds"


@dataclass(frozen=True)
class BatchResult:
    """A scored batch: every score, and per model its labelled set when labels were given."""

    frame: pd.DataFrame
    sets: dict[str, ScoredSet] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    digest: str = ""


def set_batch(result: BatchResult) -> None:
    """Batch page only."""
    st.session_state[_BATCH] = result


def batch() -> BatchResult | None:
    """This session's scored batch, if it scored one."""
    value = st.session_state.get(_BATCH)
    return value if isinstance(value, BatchResult) else None


def batch_sets() -> dict[str, ScoredSet]:
    """The batch's labelled sets per model ({} without a labelled batch)."""
    result = batch()
    return dict(result.sets) if result else {}


def choose_threshold(model_id: str, label: str, threshold: float) -> None:
    """Thresholds page only: the threshold this session chose for (model, label)."""
    st.session_state.setdefault(_THRESHOLDS, {})[(model_id, label)] = float(threshold)


def chosen_threshold(model_id: str, label: str) -> float | None:
    value = st.session_state.get(_THRESHOLDS, {}).get((model_id, label))
    return None if value is None else float(value)
