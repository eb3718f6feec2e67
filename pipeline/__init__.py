"""The orchestration layer above ``training/`` and ``export/``: train → export → trust →
build-zoo, as ``python -m pipeline``. Neither layer below imports it (TensorFlow lives there)."""
