"""Analyze: one scan through one model, with an operating point, a report, a heatmap and a PDF."""

import pandas as pd
import streamlit as st

from ui import charts
from ui.choice import rank_models, scan_modality
from ui.common import get_registry, model_key, page_setup, require_models, user_action
from ui.heatmap import cam_channel, display_image, draw_boxes, overlay
from ui.inference import provenance, result_card, run_prediction, scan_resemblance
from ui.pdf import ReportContent, build_report
from ui.report import (
    CONFIDENCE_RULE,
    RISK_RULE,
    confidence,
    recommendations,
    risk_level,
)
from ui.scans import summary_rows
from ui.stats import both_classes, metrics_at, validation_set
from ui.trust import heatmap_caveat, ood_caption, ood_sentence, sample_boxes, tta_sentence
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

LEVEL_COLOURS = {"Low": "green", "Moderate": "orange", "High": "red"}

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
    # everything below about the result is rendered from the result's own model
    card = result_card(zoo, prediction)
modality_ok = fit.fits

with model_col:
    out_of_distribution = ood_sentence(prediction, card)
    if out_of_distribution:
        st.warning(out_of_distribution, icon=":material/travel_explore:")
    label = label_picker(
        card, scan_key(f"analyze_label_{card.id}", upload), default=prediction.label
    )
    with user_action(f"The validation predictions of {card.name} could not be read", stop=False):
        validation = None
        validation = validation_set(zoo, card.id)
    table = None
    if validation is not None and both_classes(validation.binary(label)[0]):
        table = validation.table(label)
    threshold, point_name = operating_point_control(card, table, "analyze_op")
    at = metrics_at(table, threshold) if table is not None else None
    if at is not None:
        st.caption(
            f"At t = {threshold:.3f} on the validation set ({len(table)} cases): sensitivity "
            f"**{fmt_pct(at['sensitivity'])}**, specificity **{fmt_pct(at['specificity'])}**."
        )
    else:
        st.caption(
            "This model ships no usable validation predictions: sensitivity and "
            "specificity at this threshold are unknown."
        )

score = float(prediction.probabilities[label])
level = risk_level(score, threshold)
conf = None
if validation is not None and table is not None:
    conf = confidence(score, threshold, *validation.binary(label))

st.divider()
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
    alpha = st.slider("Heatmap opacity", 0.0, 1.0, 0.45, 0.05, key="analyze_alpha")
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
            "where the model's evidence lies, not a lesion outline."
            + (
                " Green: the radiologist's box"
                + ("es" if len(boxes) > 1 else "")
                + f" ({', '.join(sorted({b.label for b in boxes}))}) from the NIH data."
                if boxes
                else ""
            ),
        )
        caveat = heatmap_caveat(card)
        if caveat:
            heat_slot.caption(caveat)

st.subheader("Report")
m1, m2, m3, m4 = st.columns(4)
m1.metric(f"Risk score: P('{label}')", fmt_score(score, threshold), border=True, height="stretch")
m2.metric(
    "Risk level",
    level,
    border=True,
    height="stretch",
    help="Low < 0.75·t ≤ Moderate < t ≤ High, t the threshold.",
)
m3.metric(
    "Threshold",
    fmt_score(threshold, score),
    point_name,
    delta_color="off",
    delta_arrow="off",
    border=True,
    height="stretch",
)
m4.metric(
    "Confidence",
    conf.level if conf else "n/a",
    border=True,
    height="stretch",
    help="How far the score is from the threshold on the validation score distribution, "
    "and the validation PPV/NPV there. Not a probability of being right.",
)
text_col, bars_col = st.columns([3, 2], gap="large")
advice = recommendations(
    level,
    label,
    confidence_level=conf.level if conf else None,
    modality_matches=modality_ok,
    card=card,
    modality=scan.modality,
)
if out_of_distribution:
    advice.insert(
        0,
        "The scan looks unlike this model's training data (out-of-distribution warning): "
        "do not read its output as meaningful.",
    )
with text_col:
    st.markdown(
        f":{LEVEL_COLOURS[level]}-badge[{level}] Most probable label: **{prediction.label}** · "
        f"{provenance(prediction, card)} · {prediction.latency_ms:.1f} ms"
    )
    if conf is not None:
        st.markdown(conf.sentence(label))
    spread_text = tta_sentence(prediction, label, card)
    if spread_text:
        st.markdown(spread_text)
    st.caption(
        " ".join(
            part
            for part in (
                f"Probabilities calibrated on validation ({card.calibrator.method})."
                if not card.calibrator.is_identity
                else "Probabilities as the model outputs them (no calibration in the card).",
                ood_caption(prediction),
            )
            if part
        )
    )
    st.markdown("**Recommendations (research use)**")
    st.markdown("\n".join(f"- {item}" for item in advice))
    with st.expander("How the risk level and the confidence are computed"):
        st.markdown(RISK_RULE)
        st.markdown(CONFIDENCE_RULE)
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

content = ReportContent(
    file_name=upload.name,
    scan_summary={k: v for k, v in summary_rows(scan, upload.name).items() if k != "file"},
    card=card,
    label=label,
    score=score,
    threshold=threshold,
    operating_point=point_name,
    risk_level=level,
    predicted_label=prediction.label,
    probabilities=prediction.probabilities,
    validation_sensitivity=at["sensitivity"] if at else None,
    validation_specificity=at["specificity"] if at else None,
    confidence=" ".join(
        text.replace("**", "")
        for text in (conf.sentence(label) if conf else None, spread_text)
        if text
    )
    or None,
    recommendations=advice,
    rules=[RISK_RULE, CONFIDENCE_RULE],
    original=original,
    processed=processed,
    heatmap=heatmap,
    latency_ms=prediction.latency_ms,
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
