"""ONNX Runtime serving: verified, cached sessions and batched prediction."""

from zoo.runtime.predict import OODResult, Prediction, predict
from zoo.runtime.providers import BACKENDS, available_cpus, select_providers
from zoo.runtime.session import ModelSession, cached_session_count, clear_sessions, get_session

__all__ = [
    "BACKENDS",
    "ModelSession",
    "OODResult",
    "Prediction",
    "available_cpus",
    "cached_session_count",
    "clear_sessions",
    "get_session",
    "predict",
    "select_providers",
]
