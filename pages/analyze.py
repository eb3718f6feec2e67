"""Analyze: one scan through one model, with an operating point, a report, a heatmap and a PDF.

Layout only: the model a scan opens on is ui.choice's rule, the report is
ui.analyze_view.analysis_view of the result, the figures are ui.figures'.
"""

import pandas as pd
import streamlit as st

from ui.analyze_view import analysis_view, dicom_results, report_content
from ui.analyze_widgets import image_row, report_block
from ui.choice import rank_models, scan_modality
from ui.common import model_key, page_setup, require_models, user_action
from ui.figures import report_figures
from ui.imported import session_zoo
from ui.inference import provenance, result_card, run_prediction, scan_resemblance
from ui.pdf import build_report
from ui.report import DISTANCE_RULE, RISK_RULE
from ui.scans import summary_rows
from ui.stats import validation_set
from ui.widgets import (
    fmt_pct,
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
zoo = session_zoo()
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
ranked = rank_models(
    zoo, modality, scan_resemblance(zoo, upload, scan, frame, window), upload.drawn_for
)
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
    # a multi-label model: the finding's own threshold and validation figures
    finding = card.finding(label)
    if validation is not None:
        validation = validation.finding(label)
    table = validation.defined_table(label) if validation is not None else None
    threshold, point_name = operating_point_control(
        finding, table, f"analyze_op_{label}" if card.is_multilabel else "analyze_op"
    )
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
        st.caption(f"Result withheld: {provenance(prediction, view.card)}.")
        st.stop()

images = image_row(view, scan, upload, zoo)
report_block(view)

content = report_content(
    view,
    file_name=upload.name,
    scan_summary={k: v for k, v in summary_rows(scan, upload.name).items() if k != "file"},
    images={"original": images.original, "processed": images.processed, "heatmap": images.heatmap},
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
if scan.source_format == "dicom":  # results a viewer files beside the scan
    if images.heatmap is None:
        st.caption("DICOM results (SR, heatmap, PDF) need the heatmap: compute it above.")
    else:
        st.download_button(
            "Download DICOM results (structured report, heatmap, PDF)",
            data=lambda: dicom_results(
                view, upload.data, images.heatmap, images.heatmap_method, build_report(content)
            ),
            file_name=f"medzoo-{card.id}-{stem}-dicom.zip",
            mime="application/zip",
            icon=":material/folder_zip:",
            on_click="ignore",
            help="A Comprehensive SR (TID 1500), a Secondary Capture of the heatmap and this "
            "report as Encapsulated PDF, filed under the scan's patient and study.",
        )
