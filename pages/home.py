"""Home: what MedZoo is, the zoo at a glance, how to start."""

import pandas as pd
import streamlit as st

from ui.common import NO_MODELS, page_setup
from ui.figures import auc_of
from ui.imported import session_zoo

page_setup("MedZoo")
st.markdown(
    "A zoo of medical-image classifiers exported to ONNX, for researchers, teachers and "
    "clinicians-in-training: upload a scan, see what several models say and why, explore "
    "decision thresholds and compare models with honest statistics."
)
zoo = session_zoo()
for folder, problem in zoo.problems.items():
    st.error(f"Model folder `{folder}` was skipped: {problem}")


st.subheader("The zoo at a glance")
if not len(zoo):
    st.info(NO_MODELS)
else:
    rows = []
    for entry in zoo.entries():
        card = entry.card
        rows.append(
            {
                "id": card.id,
                "model": card.name,
                "modality": ", ".join(card.modalities),
                "labels": ", ".join(card.labels),
                "test AUC (95% CI)": auc_of(zoo, card.id, "test"),
                "validation AUC (95% CI)": auc_of(zoo, card.id, "validation"),
                "size (MB)": f"{card.file.bytes / 1e6:.1f}",
                "latency (ms)": "n/a" if card.latency_ms is None else f"{card.latency_ms:.0f}",
            }
        )
    # a static table wraps long names and tasks instead of cutting them (1280–1440 px)
    st.table(pd.DataFrame(rows).set_index("id"))
    st.caption(
        "AUC with its 95% CI on the served (calibrated) probabilities the card ships for each "
        "side (DeLong; multiclass models: macro one-vs-rest AUC with a bootstrap CI), the "
        "same figures every page shows. Test images were held out until export; "
        "validation images also chose the training epoch and the threshold, so validation "
        "figures are optimistic. Latency: CPU, one scan, as measured at export."
    )

st.subheader("How to start")
steps = [
    (
        "pages/analyze.py",
        "Analyze a scan",
        "upload a scan (PNG, JPEG, TIFF, BMP, WebP or DICOM), "
        "pick a model and an operating point, read the report, see the heatmap, download a PDF.",
    ),
    (
        "pages/compare.py",
        "Compare models",
        "one scan through several models, or models against "
        "each other on a labelled set (ROC, PR, DeLong test, calibration).",
    ),
    (
        "pages/thresholds.py",
        "Thresholds",
        "move a threshold and watch sensitivity, specificity, "
        "PPV and NPV (at your prevalence) and the confusion matrix change.",
    ),
    (
        "pages/metrics.py",
        "Metrics",
        "each model's validation ROC/PR with CIs, confusion matrix, "
        "calibration and training curves.",
    ),
    (
        "pages/batch.py",
        "Batch",
        "score many scans (or a ZIP) at once; add a `path,label` CSV "
        "to evaluate the models on your own data.",
    ),
    (
        "pages/model_zoo.py",
        "Model zoo",
        "every model card: data, licence, split, metrics, limitations, checksum.",
    ),
]
for path, title, text in steps:
    left, right = st.columns([1, 4], vertical_alignment="center")
    left.page_link(path, label=title)
    right.markdown(text)
st.caption(
    "Uploads stay in this browser session's memory and are never written to disk; DICOM "
    "patient identifiers are never read into the app."
)
