"""Model zoo: every model card, rendered; broken cards listed with their problem."""

import pandas as pd
import streamlit as st

from ui.card_view import render_card
from ui.common import NO_MODELS, page_setup
from ui.imported import session_zoo

page_setup("Model zoo")
zoo = session_zoo()
st.caption(
    f"{len(zoo)} model(s). Each card is checked when the app starts; a model's file is "
    "checked against its SHA-256 before it is loaded."
)

if zoo.problems:
    st.subheader("Broken cards")
    for folder, problem in zoo.problems.items():
        st.error(
            f"`{folder}`: {problem}\n\n**What to do:** fix the card (schema in "
            "`docs/model-card.md`) or rebuild this model; the other models work meanwhile."
        )
if not len(zoo):
    st.info(NO_MODELS)
    st.stop()


summary = pd.DataFrame(
    [
        {
            "id": e.card.id,
            "version": e.card.version,
            "modality": ", ".join(e.card.modalities),
            "labels": ", ".join(e.card.labels),
            "licence": str(e.card.training_data.get("licence")),
            "size (MB)": round(e.card.file.bytes / 1e6, 2),
            "opset": e.card.file.opset,
            "SHA-256": e.card.file.sha256[:12] + "…",
        }
        for e in zoo.entries()
    ]
)
st.dataframe(summary, hide_index=True)

for i, entry in enumerate(zoo.entries()):
    card = entry.card
    with st.expander(f"**{card.name}** — `{card.id}` v{card.version}", expanded=i == 0):
        render_card(zoo, entry)
