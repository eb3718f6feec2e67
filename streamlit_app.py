"""MedZoo: the Streamlit entry point, a router over the pages in ``pages/``.

Start it with ``streamlit run streamlit_app.py``. Research and teaching only.
"""

import streamlit as st

DISCLAIMER = (
    "**Research and teaching only.** MedZoo is not a medical device and must not be used "
    "for diagnosis or treatment decisions."
)

st.set_page_config(page_title="MedZoo", page_icon=":material/radiology:", layout="wide")

navigation = st.navigation(
    [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)]
)
st.sidebar.warning(DISCLAIMER)
navigation.run()
