"""Shared Streamlit helpers for MedZoo's pages: widgets, charts, statistics and the PDF report.

Serving code: never imports TensorFlow, Keras, tf2onnx or scikit-learn. Modules without
Streamlit in their name or body (:mod:`ui.heatmap`, :mod:`ui.report`, :mod:`ui.batch`,
:mod:`ui.pdf`, :mod:`ui.charts`) are plain functions, unit-tested without an app.
Per-user data (uploads, results) lives in ``st.session_state`` or local variables, never
in module globals or ``st.cache_resource``.
"""
