"""PACS: search a DICOMweb server, analyze a study with one model, store the results back."""

import streamlit as st

from ui import pacs
from ui.choice import rank_models
from ui.common import model_label, page_setup, plain, require_models, user_action
from ui.imported import session_zoo
from zoo.pacs import PacsClient
from zoo.pacs.analyze import analyze_study

page_setup("PACS")
zoo = session_zoo()
require_models(zoo)
server = pacs.settings()
if server is None:
    st.info(
        "No PACS is configured. Set `MEDZOO_PACS_URL` (and `MEDZOO_PACS_USER` / "
        "`MEDZOO_PACS_PASSWORD`, or `MEDZOO_PACS_TOKEN`) before starting the app, or a "
        "`[pacs]` table in Streamlit secrets: see README, 'Your PACS'."
    )
    st.stop()
st.caption(f"Server: {server.display_url} (sign-in: {server.auth_kind}).")
client = PacsClient(server)

with st.form("pacs_search"):
    one, two, three, four = st.columns(4)
    patient = one.text_input("Patient id", key="pacs_patient")
    modality = two.selectbox("Modality", ["", "CR", "DX", "CT", "MR", "MG", "US"], key="pacs_mod")
    since = three.date_input("Studies since", value=None, key="pacs_since")
    accession = four.text_input("Accession number", key="pacs_accession")
    searched = st.form_submit_button("Search", type="primary")
if searched:
    with user_action("The search did not complete"):
        pacs.remember_studies(
            client.search(
                patient_id=patient.strip() or None,
                modality=modality or None,
                since=since,
                accession=accession.strip() or None,
            )
        )

studies = pacs.found_studies()
if studies is None:
    st.info("Search the PACS to list its studies.")
    st.stop()
if not studies:
    st.info("No study matches.")
    st.stop()
identifiers = st.toggle("Show patient identifiers", key="pacs_identifiers")
st.dataframe(pacs.studies_table(studies, identifiers=identifiers), hide_index=True)

left, right = st.columns([3, 2])
study = left.selectbox("Study", studies, format_func=pacs.study_label, key="pacs_study")
ranked = rank_models(zoo, study.modalities[0] if study.modalities else None)
fit = right.selectbox(
    "Model",
    ranked,
    format_func=lambda f: ("" if f.fits else "⚠ ") + model_label(f.entry),
    key="pacs_model",
)
with st.expander(f"Or score every image of the {len(studies)} studies found on the Batch page"):
    st.caption(
        "Each image through the chosen model, as the Batch page scores uploads (at most its "
        "limit of files); open Batch afterwards for the scores, and add labels there."
    )
    if st.button("Score them all", key="pacs_batch"):
        with (
            user_action("The studies could not be scored"),
            st.spinner("Retrieving and scoring every image…"),
        ):
            count = pacs.score_on_batch(client, studies, [fit.id], zoo)
        st.success(f"Scored {count} images: see the Batch page.")
if st.button("Analyze the study", key="pacs_analyze"):
    with user_action(f"{fit.entry.card.name} could not analyze the study"):
        with st.spinner("Retrieving and analyzing the study's images…"):
            result = analyze_study(client, study.study_uid, fit.id, zoo)
        pacs.remember_analysis(pacs.Analyzed(study.study_uid, fit.id, result))

done = pacs.analysis()
if done is None or done.study_uid != study.study_uid:
    st.stop()
st.subheader("Results")
for number, image in enumerate(done.result.images, start=1):
    with st.container(border=True):
        if image.summary is None:
            st.warning(f"Image {number}: {plain(image.error or 'not analyzed')}")
            continue
        summary = image.summary
        text, picture = st.columns([3, 2])
        text.markdown(f"**Image {number}:** {plain(summary.call)}")
        text.caption(
            f"{plain(summary.model_name)} ({summary.model_id} v{summary.model_version}, "
            f"SHA-256 {summary.model_sha256[:12]}…). "
            + (
                "Out of distribution: the image looks unlike the model's training images. "
                if summary.ood_flagged
                else ""
            )
            + "Research use only; not for diagnosis."
        )
        picture.image(
            image.objects.heatmap.pixel_array,
            caption=plain(image.objects.heatmap.DerivationDescription),
            width="stretch",
        )
st.download_button(
    "Download the result objects (DICOM)",
    data=lambda: pacs.objects_zip(done.result),
    file_name="medzoo-results.zip",
    mime="application/zip",
    on_click="ignore",
)
if done.result.failed:
    st.warning(
        f"{len(done.result.failed)} image(s) could not be analyzed, so the results are not "
        "stored: an analysis is filed whole or not at all."
    )
elif done.stored:
    st.success(f"Stored {len(done.result.objects)} result objects in the PACS.")
elif st.button("Store the results in the PACS", type="primary", key="pacs_store"):
    with user_action("The results were not stored"):
        stored = client.store(done.result.objects)
        pacs.remember_analysis(pacs.Analyzed(done.study_uid, done.model_id, done.result, True))
        st.success(f"Stored {len(stored)} result objects in the PACS.")
