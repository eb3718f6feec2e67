"""Analyze: one scan through one model, with an operating point, a report, a heatmap and a PDF.

Layout only: the model a scan opens on is ui.choice's rule, the report is
ui.analyze_view.analysis_view of the result, the figures are ui.figures'.
"""

import pandas as pd
import streamlit as st

from ui import charts
from ui.analyze_view import LEVEL_COLOURS, analysis_view, report_content, validation_table
from ui.choice import rank_models, scan_modality
from ui.common import get_registry, model_key, page_setup, require_models, user_action
from ui.figures import report_figures
from ui.heatmap import DEFAULT_OPACITY, cam_channel, display_image, draw_boxes, overlay
from ui.inference import provenance, result_card, run_prediction, scan_resemblance
from ui.pdf import build_report
from ui.report import DISTANCE_RULE, RISK_RULE
from ui.scans import summary_rows
from ui.stats import validation_set
from ui.trust import boxes_caption, heatmap_caveat, sample_boxes
from ui.widgets import (
    fmt_pct,
    fmt_score,
    label_picker,
    misfit_warning,
    modality_note,
    model_picker,
    operating_point_control,
    scan_controls,
    scan_key,
    scan_picker,
)

page_setup("Analyze a scan")
zoo = get_registry()
require_models(zoo)

source_col, model_col = st.columns([3, 2], gap="large")
with source_col:
    upload = scan_picker("analyze")
if upload is None:
    with model_col:
        st.info("Upload a scan to start. Nothing is stored: the file stays in memory.")
    st.stop()

with source_col:
    scan, frame, window = scan_controls(upload, "analyze")
    with st.expander("About this scan (no patient identifiers are read)"):
        st.table(pd.Series(summary_rows(scan, upload.name), name="value"))

modality = scan_modality(scan.modality, upload.declared_modality)
ranked = rank_models(zoo, modality, scan_resemblance(zoo, upload, scan, frame, window))
with model_col:
    fit = model_picker(ranked, scan_key("analyze_model", upload))
    modality_note(modality, scan.modality)
    if not fit.fits:
        misfit_warning(fit)

with user_action(f"{fit.entry.card.name} could not analyse {upload.name}"):
    prediction = run_prediction(
        *model_key(fit.entry), upload.digest, frame, window, _scan=scan, _registry=zoo
    )
    card = result_card(zoo, prediction)  # everything below names the result's own model

with model_col:
    label = label_picker(
        card, scan_key(f"analyze_label_{card.id}", upload), default=prediction.label
    )
    with user_action(f"The validation predictions of {card.name} could not be read", stop=False):
        validation = None
        validation = validation_set(zoo, card.id)
    table = validation_table(validation, label)
    threshold, point_name = operating_point_control(card, table, "analyze_op")
    view = analysis_view(
        card, prediction, label, threshold, point_name, validation, model_fits=fit.fits
    )
    if view.at is not None:
        st.caption(
            f"At t = {threshold:.3f} on the validation set ({view.validation_cases} cases): "
            f"sensitivity **{fmt_pct(view.at['sensitivity'])}**, specificity "
            f"**{fmt_pct(view.at['specificity'])}**."
        )
    else:
        st.caption(
            "This model ships no usable validation predictions: sensitivity and "
            "specificity at this threshold are unknown."
        )

st.divider()
if view.flagged:
    st.error(view.out_of_distribution, icon=":material/travel_explore:")
    shown = st.toggle(
        "Show the output anyway (it means nothing for a scan like this)",
        key=scan_key(f"analyze_show_ood_{card.id}", upload),
    )
    if not shown:
        st.caption(f"Result withheld: {provenance(prediction, card)}.")
        st.stop()

original, display_scale = display_image(scan.pixels)
boxes = sample_boxes(upload.digest)
if boxes:
    original = draw_boxes(original, boxes, display_scale)
processed = prediction.preprocessed.display
size = card.preprocessing.input_size
img_orig, img_proc, img_heat = st.columns(3)
img_orig.image(original, caption=f"Original: {upload.name}", width="stretch")
img_proc.image(
    processed,
    caption=f"Model input: {size[0]}×{size[1]}, {card.preprocessing.aspect}"
    + (", enhanced" if card.preprocessing.enhances else ""),
    width="stretch",
)
heatmap = None
with img_heat:
    heat_slot = st.container()
    map_label = label
    if prediction.cam is not None and prediction.cam.ndim == 3 and prediction.cam.shape[2] > 1:
        map_label = st.selectbox(
            "Map of label",
            list(card.labels),
            index=list(card.labels).index(label),
            key=scan_key(f"analyze_map_{card.id}", upload),
        )
    alpha = st.slider("Heatmap opacity", 0.0, 1.0, DEFAULT_OPACITY, 0.05, key="analyze_alpha")
    cam = cam_channel(prediction, map_label)
    if cam is None:
        heat_slot.info("This model exports no activation map.")
    else:
        heatmap = overlay(scan.pixels, cam, prediction.preprocessed, size, alpha=alpha)
        if boxes:
            heatmap = draw_boxes(heatmap, boxes, display_scale)
        heat_slot.image(
            heatmap,
            width="stretch",
            caption=f"Activation map for '{map_label}' (red = strongest, normalised per map): "
            "where the model's evidence lies, not a lesion outline." + boxes_caption(boxes),
        )
        caveat = heatmap_caveat(card)
        if caveat:
            heat_slot.caption(caveat)

st.subheader("Report")
m1, m2, m3, m4 = st.columns(4)
m1.metric(
    f"Risk score: P('{label}')", fmt_score(view.score, threshold), border=True, height="stretch"
)
m2.metric("Risk level", view.level, border=True, height="stretch", help=RISK_RULE)
m3.metric(
    "Threshold",
    fmt_score(threshold, view.score),
    point_name,
    delta_color="off",
    delta_arrow="off",
    border=True,
    height="stretch",
)
m4.metric(
    "Distance to threshold",
    view.distance.level if view.distance else "n/a",
    border=True,
    height="stretch",
    help=DISTANCE_RULE,
)
text_col, bars_col = st.columns([3, 2], gap="large")
with text_col:
    st.markdown(
        f":{LEVEL_COLOURS[view.level]}-badge[{view.level}] Most probable label: "
        f"**{prediction.label}** · {provenance(prediction, card)} · "
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

content = report_content(
    view,
    file_name=upload.name,
    scan_summary={k: v for k, v in summary_rows(scan, upload.name).items() if k != "file"},
    images={"original": original, "processed": processed, "heatmap": heatmap},
    figures=report_figures(zoo, card.id),
    rules=[RISK_RULE, DISTANCE_RULE],
)
stem = upload.name.rsplit(".", 1)[0][:40] or "scan"
st.download_button(
    "Download the PDF report",
    data=lambda: build_report(content),
    file_name=f"medzoo-{card.id}-{stem}.pdf",
    mime="application/pdf",
    icon=":material/picture_as_pdf:",
    on_click="ignore",
    type="primary",
)
