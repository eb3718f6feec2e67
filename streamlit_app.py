"""MedZoo: the Streamlit entry point, a router over the pages in ``pages/``.

Start it with ``streamlit run streamlit_app.py``. Research and teaching only.
"""

import streamlit as st

from ui.common import mark_routed
from zoo.runtime.memory import release_free_heap, tune_heap

tune_heap()  # big arrays mapped, not left as holes in the heap: see zoo/runtime/memory.py
st.set_page_config(page_title="MedZoo", page_icon=":material/radiology:", layout="wide")
mark_routed()

navigation = st.navigation(
    [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/analyze.py", title="Analyze a scan", icon=":material/radiology:"),
        st.Page("pages/compare.py", title="Compare models", icon=":material/compare:"),
        st.Page("pages/thresholds.py", title="Thresholds", icon=":material/tune:"),
        st.Page("pages/metrics.py", title="Metrics", icon=":material/monitoring:"),
        st.Page("pages/batch.py", title="Batch", icon=":material/photo_library:"),
        st.Page("pages/model_zoo.py", title="Model zoo", icon=":material/pets:"),
        st.Page("pages/add_model.py", title="Add a model", icon=":material/upload_file:"),
        st.Page("pages/pacs.py", title="PACS", icon=":material/lan:"),
    ]
)
# Each page puts the research-only disclaimer in the sidebar (ui.common.page_setup).
try:
    navigation.run()
finally:
    release_free_heap()  # what this run freed goes back to the system: see zoo/runtime/memory.py
