"""MedZoo's serving library: scans in, model results and statistics out.

Research and teaching only; not a medical device. Never imports TensorFlow.

The main entry points are loaded lazily so that ``import zoo`` stays cheap:

- :func:`zoo.imaging.load_scan` reads PNG/JPEG/TIFF/BMP/WebP/DICOM into a :class:`Scan`.
- :func:`zoo.preprocess.preprocess` turns a scan into a model input.
- :class:`zoo.registry.Registry` lists the models in ``zoo/models/``.
- :func:`zoo.runtime.predict` runs a model through ONNX Runtime.
- :mod:`zoo.metrics` holds ROC/DeLong/threshold/calibration statistics.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from zoo.errors import (
    CardError,
    ModelIntegrityError,
    ModelNotFoundError,
    ModelRuntimeError,
    RecipeError,
    ScanError,
    ZooError,
)

__version__ = "0.1.0"

_LAZY = {
    "load_scan": "zoo.imaging",
    "Scan": "zoo.imaging",
    "Window": "zoo.imaging",
    "WINDOW_PRESETS": "zoo.imaging",
    "preprocess": "zoo.preprocess",
    "Recipe": "zoo.preprocess",
    "Registry": "zoo.registry",
    "predict": "zoo.runtime",
    "Prediction": "zoo.runtime",
}

__all__ = [
    "CardError",
    "ModelIntegrityError",
    "ModelNotFoundError",
    "ModelRuntimeError",
    "RecipeError",
    "ScanError",
    "ZooError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
