"""Add a model: an ONNX classifier of your own joins this session's zoo, in memory only."""

import streamlit as st

from ui import imported
from ui.common import get_registry, page_setup, user_action

page_setup("Add a model")
st.markdown(
    f"Upload an image classifier exported to ONNX (at most {imported.MAX_MODEL_MB} MB) and, "
    "optionally, labelled scans to measure it on. It joins **this session's** zoo only: it is "
    "kept in memory, never written to the server's disk, and no other visitor sees it. It "
    "then works on every page like a shipped model. Files that point outside themselves "
    "(external data) or need custom operators are refused. Keras and PyTorch models: "
    "`python -m zoo import` on your own machine."
)
shipped = get_registry()
added = st.session_state.pop("add_model_added", None)
if added:
    st.success(f"{added} joined this session's zoo: pick it on any page.")
upload = st.file_uploader("ONNX model", type=["onnx"], key=imported.uploader_key())
if upload is not None:
    with user_action("This file cannot be imported"):
        model = imported.read_upload(upload.name, upload.getvalue(), upload.file_id)
        if model.signature is None:
            output = st.selectbox(
                "Output holding the class scores", model.outputs, key="add_output"
            )
            model = imported.read_upload(upload.name, upload.getvalue(), upload.file_id, output)
    signature = model.signature
    st.text(imported.describe(signature))
    with st.form("add_model_form"):
        left, right = st.columns(2)
        model_id = left.text_input("Id", imported.suggested_id(upload.name), key="add_id")
        labels = left.text_input(
            "Labels, in the order of the outputs", placeholder="normal,mass", key="add_labels"
        )
        positive = left.text_input(
            "Positive label (binary models; default: the last)", key="add_positive"
        )
        modalities = right.multiselect(
            "Modalities it reads",
            ["CR", "DX", "CT", "MR", "US", "OT"],
            default=["CR", "DX"],
            key="add_modalities",
        )
        body_part = right.text_input("Body part", "chest", key="add_body_part")
        normalization = right.selectbox(
            "Pixel values it expects", list(imported.NORMALIZATIONS), key="add_scaling"
        )
        input_size = layout = color = activation = None
        if signature.input_size is None:
            input_size = left.number_input("Input size (pixels per side)", 8, 2048, 224)
        if signature.layout is None:
            layout = left.radio("Layout", ["NCHW", "NHWC"], horizontal=True)
        if signature.channels in (None, 3):
            color = right.radio("Three channels hold", ["grey", "rgb"], horizontal=True)
        if signature.activation is None and signature.scores != 1:
            activation = right.radio(
                "Logits become probabilities by",
                ["softmax", "sigmoid"],
                horizontal=True,
                help="softmax: one label per image. sigmoid: each label on its own (with more "
                "than two labels, a multi-label model: each label gets its own threshold).",
            )
        scans = st.file_uploader(
            "Labelled scans (optional): images or ZIP archives",
            accept_multiple_files=True,
            key="add_model_scans",
        )
        labels_csv = st.file_uploader(
            "Their labels: CSV path,label[,group][,more columns]",
            type=["csv"],
            key="add_csv",
            help="A multi-label model's cases list their labels joined by | "
            "(Effusion|Mass; No Finding for none).",
        )
        submitted = st.form_submit_button("Add to this session's zoo", type="primary")
    if submitted:
        with user_action("The model was not added"):
            request = imported.form_request(
                model,
                model_id=model_id,
                labels=labels,
                positive=positive,
                modalities=modalities,
                body_part=body_part,
                input_size=int(input_size) if input_size else None,
                layout=layout,
                color=color,
                normalization=normalization,
                activation=activation,
            )
            prepared = imported.prepare(model, request)
            if scans and labels_csv is not None:
                with st.spinner("Scoring the labelled scans…"):
                    items = imported.labelled_items(
                        [(f.name, f.getvalue()) for f in scans],
                        (labels_csv.name, labels_csv.getvalue()),
                    )
                    prepared = imported.evaluate(prepared, items, labels_csv.name)
            imported.add(prepared, shipped)
        imported.clear_upload()  # a fresh uploader and form; the upload's bytes go
        st.session_state["add_model_added"] = prepared.model_id
        st.rerun()

st.subheader("This session's models")
zoo = imported.session_zoo()
mine = imported.imported()
if not mine:
    st.caption("None yet.")
for prepared in mine:
    card = zoo.card(prepared.model_id)
    with st.container(border=True):
        left, right = st.columns([4, 1])
        left.text(f"{card.name} ({card.id}): {', '.join(card.labels)}")
        left.text(imported.figures_line(zoo, card))
        if right.button("Remove", key=f"remove_{card.id}"):
            imported.remove(card.id)
            st.rerun()
        if imported.saving_allowed() and right.button(
            "Save to models folder", key=f"save_{card.id}"
        ):
            with user_action("The model was not saved"):
                folder = imported.save(prepared)
            st.success(f"Saved into {folder.name}/ of the models folder.")
