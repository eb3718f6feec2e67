"""Model runs, cached by (model, file hash, frame, window): moving a control never reruns one.

``st.cache_data`` keys on the SHA-256 of the upload, not on the session: a user only ever
gets back the result of bytes they sent themselves. Entries are bounded.
"""

from __future__ import annotations

import streamlit as st

from zoo.imaging import Scan
from zoo.registry import Registry
from zoo.runtime import Prediction, predict
from zoo.trust.resemblance import input_ratios


@st.cache_data(max_entries=32, show_spinner="Running the model…")
def run_prediction(
    root: str,
    model_id: str,
    sha256: str,
    digest: str,
    frame: int | None,
    window: str | None,
    _scan: Scan,
    _registry: Registry,
) -> Prediction:
    """One scan through one model, keeping the preprocessed image for display.

    Runs the card's test-time views too (one batch), so the page can show how much the
    answer moves under changes that should not matter.
    """
    (prediction,) = predict(model_id, [_scan], registry=_registry, keep_preprocessed=True, tta=True)
    return prediction


@st.cache_data(max_entries=32, show_spinner=False)
def resemblance(
    root: str,
    models: tuple[tuple[str, str], ...],
    digest: str,
    frame: int | None,
    window: str | None,
    _scan: Scan,
    _registry: Registry,
) -> dict[str, float]:
    """How far the scan lies from each model's training inputs (no model run; see
    :mod:`zoo.trust.resemblance`), cached like the predictions; ``models`` (id, file
    SHA-256) keys the zoo's contents."""
    return input_ratios(_scan, [entry.card for entry in _registry.entries()])
