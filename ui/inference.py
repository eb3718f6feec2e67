"""Model runs, cached by (model, file hash, frame, window): moving a control never reruns one.

``st.cache_data`` keys on the SHA-256 of the upload, not on the session: a user only ever
gets back the result of bytes they sent themselves. Entries are bounded (16 results, each
with its model input and maps: a few MB).
"""

from __future__ import annotations

import streamlit as st

from ui.common import model_key
from ui.scans import Upload
from zoo.card import ModelCard
from zoo.errors import ModelIntegrityError
from zoo.imaging import Scan
from zoo.registry import Registry
from zoo.runtime import Prediction, predict
from zoo.runtime.occlusion import OcclusionMap, occlusion_map
from zoo.runtime.session import get_session
from zoo.trust.resemblance import input_ratios


@st.cache_data(max_entries=16, show_spinner="Running the model…")
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


def scan_resemblance(
    registry: Registry, upload: Upload, scan: Scan, frame: int | None, window: str | None
) -> dict[str, float]:
    """:func:`resemblance` of this scan to every model of ``registry`` (cached)."""
    return resemblance(
        str(registry.root),
        tuple(model_key(entry)[1:] for entry in registry.entries()),
        upload.digest,
        frame,
        window,
        _scan=scan,
        _registry=registry,
    )


def result_card(registry: Registry, prediction: Prediction) -> ModelCard:
    """The card of the model that produced ``prediction``: what the page names.

    Refuses a result whose file hash is not that model's (a zoo changed under a cached
    result): better no report than one under another model's name.
    """
    card = registry.get(prediction.model_id).card
    if prediction.model_sha256 != card.file.sha256 or prediction.model_version != card.version:
        raise ModelIntegrityError(
            f"this result came from {prediction.model_id} {prediction.model_version} "
            f"({prediction.model_sha256[:12]}), not the installed "
            f"{card.version} ({card.file.sha256[:12]}); run the scan again"
        )
    return card


def provenance(prediction: Prediction, card: ModelCard) -> str:
    """Which model produced a result, as the screen and the PDF name it."""
    return (
        f"{card.name} ({prediction.model_id} v{prediction.model_version}, "
        f"SHA-256 {prediction.model_sha256[:12]}…)"
    )


@st.cache_data(max_entries=8, show_spinner="Covering the scan one square at a time…")
def occlusion(
    model_sha256: str, digest: str, label: str, _prediction: Prediction, _registry: Registry
) -> OcclusionMap:
    """The occlusion map of ``label`` for a result (its own model, its own model input),
    cached by model file, scan and label: the runs happen once."""
    entry = _registry.get(_prediction.model_id)
    if entry.card.file.sha256 != model_sha256 or _prediction.preprocessed is None:
        raise ModelIntegrityError(
            f"the result was produced by another version of {_prediction.model_id}"
        )
    return occlusion_map(get_session(entry), entry.card, _prediction.preprocessed.input, label)
