"""The Analyze page's blocks: the image row and the report, rendered from the view model.

Everything shown comes from :class:`ui.analyze_view.AnalysisView` (the result and the card of
the model that produced it); the only inputs read here are the heatmap's own controls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from ui import charts
from ui.analyze_view import LEVEL_COLOURS, AnalysisView
from ui.heatmap import DEFAULT_OPACITY, cam_channel, display_image, draw_boxes, overlay
from ui.inference import occlusion, provenance
from ui.report import DISTANCE_RULE, RISK_RULE, fmt_score
from ui.scans import Upload
from ui.trust import boxes_caption, heatmap_caveat, sample_boxes
from ui.widgets import scan_key
from zoo.imaging import Scan
from zoo.registry import Registry
from zoo.runtime.occlusion import squares


@dataclass(frozen=True)
class Images:
    """What the image row showed, for the PDF."""

    original: np.ndarray
    processed: np.ndarray
    heatmap: np.ndarray | None
    #: What the heatmap is: its method and the label it maps (for the DICOM capture).
    heatmap_method: str | None = None


def image_row(view: AnalysisView, scan: Scan, upload: Upload, registry: Registry) -> Images:
    """Original (with any radiologist boxes), model input, heatmap with its controls."""
    card, prediction = view.card, view.prediction
    original, display_scale = display_image(scan.pixels)
    boxes = sample_boxes(upload.digest)
    if boxes:
        original = draw_boxes(original, boxes, display_scale)
    processed = prediction.preprocessed.display
    size = card.preprocessing.input_size
    left, middle, right = st.columns(3)
    left.image(original, caption=f"Original: {upload.name}", width="stretch")
    middle.image(
        processed,
        caption=f"Model input: {size[0]}×{size[1]}, {card.preprocessing.aspect}"
        + (", enhanced" if card.preprocessing.enhances else ""),
        width="stretch",
    )
    heatmap = about = None
    with right:
        slot = st.container()
        map_label = view.label
        cam = prediction.cam
        if cam is not None and cam.ndim == 3 and cam.shape[2] > 1:
            map_label = st.selectbox(
                "Map of label",
                list(card.labels),
                index=list(card.labels).index(view.label),
                key=scan_key(f"analyze_map_{card.id}", upload),
            )
        alpha = st.slider("Heatmap opacity", 0.0, 1.0, DEFAULT_OPACITY, 0.05, key="analyze_alpha")
        channel, method = cam_channel(prediction, map_label), None
        if channel is None:
            channel, method = occlusion_channel(view, upload, registry, slot)
        if channel is not None:
            about = method or f"Grad-CAM activation map for '{map_label}'"
            heatmap = overlay(scan.pixels, channel, prediction.preprocessed, size, alpha=alpha)
            if boxes:
                heatmap = draw_boxes(heatmap, boxes, display_scale)
            slot.image(
                heatmap,
                width="stretch",
                caption=(method or f"Activation map for '{map_label}'")
                + " (red = strongest, normalised per map): where the model's evidence lies, "
                "not a lesion outline." + boxes_caption(boxes),
            )
            caveat = heatmap_caveat(card)
            if caveat:
                slot.caption(caveat)
    return Images(original, processed, heatmap, about)


def occlusion_channel(
    view: AnalysisView, upload: Upload, registry: Registry, slot
) -> tuple[np.ndarray | None, str | None]:
    """For a model without an activation output: an occlusion map of the report's label,
    computed when asked (one model run per square), with the words that name the method."""
    prediction = view.prediction
    asked = scan_key(f"analyze_occlusion_{view.card.id}_{view.label}", upload)
    if not st.session_state.get(asked):
        runs = len(squares(view.card.preprocessing.input_size)[1])
        slot.info(
            "This model exports no activation map. An occlusion map (model-agnostic: the "
            f"scan is covered one square at a time, {runs} model runs) shows where its "
            f"probability of '{view.label}' depends on the image."
        )
        if slot.button("Compute the occlusion map", key=f"{asked}_button"):
            st.session_state[asked] = True
            st.rerun()
        return None, None
    found = occlusion(prediction.model_sha256, upload.digest, view.label, prediction, registry)
    method = f"Occlusion sensitivity for '{found.label}' (model-agnostic, {found.runs} runs"
    method += ")" if found.complete else f" of {found.planned}: cut short by its time bound)"
    return found.heat, method


def report_block(view: AnalysisView) -> None:
    """The four figures, the words, the advice and the probability bars."""
    prediction, label, threshold = view.prediction, view.label, view.threshold
    st.subheader("Report")
    score_box, level_box, threshold_box, distance_box = st.columns(4)
    score_box.metric(
        f"Risk score: P('{label}')", fmt_score(view.score, threshold), border=True, height="stretch"
    )
    level_box.metric("Risk level", view.level, border=True, height="stretch", help=RISK_RULE)
    threshold_box.metric(
        "Threshold",
        fmt_score(threshold, view.score),
        view.operating_point,
        delta_color="off",
        delta_arrow="off",
        border=True,
        height="stretch",
    )
    distance_box.metric(
        "Distance to threshold",
        view.distance.level if view.distance else "n/a",
        border=True,
        height="stretch",
        help=DISTANCE_RULE,
    )
    text_col, bars_col = st.columns([3, 2], gap="large")
    with text_col:
        heading, answer = view.verdict
        st.markdown(
            f":{LEVEL_COLOURS[view.level]}-badge[{view.level}] {heading}: "
            f"**{answer}** · {provenance(prediction, view.card)} · "
            f"{prediction.latency_ms:.1f} ms"
        )
        if view.distance is not None:
            st.markdown(view.distance.sentence(label))
        if view.spread:
            st.markdown(view.spread)
        st.caption(view.calibration_note)
        st.markdown("**Recommendations (research use)**")
        st.markdown("\n".join(f"- {item}" for item in view.advice))
        with st.expander("How the risk level and the distance to the threshold are computed"):
            st.markdown(RISK_RULE)
            st.markdown(DISTANCE_RULE)
    with bars_col:
        st.plotly_chart(
            charts.probability_bars(
                prediction.probabilities,
                highlight=label,
                threshold=threshold,
                title="Probability per label",
            ),
            key="analyze_bars",
        )
    if view.findings:
        st.markdown("**Every finding of this model, each at its own threshold**")
        st.dataframe(
            pd.DataFrame(
                {
                    "finding": [row.label for row in view.findings],
                    "probability": [round(row.probability, 4) for row in view.findings],
                    "its threshold": [round(row.threshold, 4) for row in view.findings],
                    "call": ["above" if row.called else "below" for row in view.findings],
                }
            ),
            hide_index=True,
        )
        st.caption(
            "Each label is predicted on its own (the probabilities need not add up to 1); "
            "pick one under Finding to see its threshold, figures and heatmap."
        )
