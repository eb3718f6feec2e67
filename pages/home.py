"""Home: what MedZoo is, the zoo at a glance, how to start."""

import pandas as pd
import streamlit as st

from zoo.registry import Registry, models_dir

st.title("MedZoo")
st.markdown(
    "A zoo of medical-image classifiers exported to ONNX, for researchers, teachers and "
    "clinicians-in-training: upload a scan, see what several models say and why, explore "
    "decision thresholds and compare models with honest statistics."
)
st.warning(
    "Research and teaching only: not a medical device, not for diagnosis. Scores are model "
    "outputs on small public data sets, not clinical findings."
)


@st.cache_resource(max_entries=4)
def registry(root: str) -> Registry:
    return Registry(root)


zoo = registry(str(models_dir()))
for folder, problem in zoo.problems.items():
    st.error(f"Model folder `{folder}` was skipped: {problem}")

st.subheader("The zoo at a glance")
if not len(zoo):
    st.info(
        "No models are installed yet. Build them with `python -m training build-zoo` "
        "(see README.md, 'Build the zoo'), or point `MEDZOO_MODELS_DIR` at a folder of models."
    )
else:
    rows = []
    for entry in zoo.entries():
        card = entry.card
        auc = card.metrics.get("validation", {}).get("auc", {})
        ci = auc.get("ci")
        rows.append(
            {
                "model": card.name,
                "id": card.id,
                "modality": ", ".join(card.modalities),
                "task": f"{card.task}: {', '.join(card.labels)}",
                "validation AUC": (
                    f"{auc['value']:.3f} ({ci[0]:.3f}–{ci[1]:.3f})" if auc and ci else "n/a"
                ),
                "size (MB)": round(card.file.bytes / 1e6, 1),
                "latency (ms)": card.latency_ms,
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, use_container_width=True)
