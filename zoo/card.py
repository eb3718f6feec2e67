"""Model cards: the validated ``card.json`` beside every model in ``zoo/models/<id>/``.

The schema (documented field by field in ``docs/model-card.md``) borrows from the
ONNX Model Zoo manifest (file, opset, sha256), MONAI bundle metadata (version,
changelog, input/output format, intended use) and "Model Cards for Model
Reporting" (training data, metrics with uncertainty, limitations).

:func:`parse_card` checks everything the runtime and the pages rely on, then the published
JSON Schema (``card.schema.json``, checked with ``jsonschema``), and raises
:class:`~zoo.errors.CardError` naming the field; descriptive sections (metrics, training
data) are kept as given so they can grow without a schema bump.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import jsonschema
import numpy as np

from zoo.errors import CardError, RecipeError
from zoo.preprocess import Recipe
from zoo.trust.calibrators import Calibrator
from zoo.trust.scan_ood import ScanOOD
from zoo.trust.tta import View, default_views, views_from_section

SCHEMA_VERSION = 1
#: binary: two labels, one positive; multiclass: one label per image (softmax); multilabel:
#: each label on its own (a sigmoid per label, TorchXRayVision-style), each with its threshold.
Task = Literal["binary", "multiclass", "multilabel"]
TASKS = ("binary", "multiclass", "multilabel")

_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
_REQUIRED_TRAINING_DATA = ("source", "licence", "citation", "split")


@dataclass(frozen=True)
class ModelOutputs:
    """Names of the ONNX outputs. Only ``probabilities`` is required.

    ``probabilities`` has shape (N, C) with rows summing to 1, or (N, 1) holding the
    positive-class probability of a binary model. ``cam`` has shape (N, h, w, L): one
    class-activation map per logit (L = 1, the positive label, for a one-output binary
    model; one per label otherwise). ``embedding`` has shape (N, D).
    """

    probabilities: str = "probabilities"
    cam: str | None = None
    embedding: str | None = None


@dataclass(frozen=True)
class ModelFile:
    name: str
    bytes: int
    sha256: str
    opset: int
    # int8 weights behind DequantizeLinear, float arithmetic (export's "int8-weights"):
    # the session folds them back into float32 kernels when it is created
    dequantize_weights_at_load: bool = False


@dataclass(frozen=True)
class ModelCard:
    """The parsed card; ``raw`` keeps the whole JSON document for display."""

    id: str
    name: str
    version: str
    task: Task
    labels: tuple[str, ...]
    positive_label: str | None
    modalities: tuple[str, ...]
    body_part: str
    preprocessing: Recipe
    outputs: ModelOutputs
    file: ModelFile
    default_threshold: float
    operating_points: dict[str, float]
    intended_use: str
    limitations: tuple[str, ...]
    architecture: dict[str, Any]
    training_data: dict[str, Any]
    metrics: dict[str, Any]
    calibration: dict[str, Any]
    validation_predictions: str | None
    latency_ms: float | None
    raw: dict[str, Any] = field(repr=False, compare=False)
    #: Built from the card's ``calibration``, ``ood`` and ``uncertainty`` sections when the
    #: card is parsed, so every prediction reuses them (and a broken section is refused).
    calibrator: Calibrator = field(
        default_factory=lambda: Calibrator.from_section(None), repr=False, compare=False
    )
    ood: ScanOOD | None = field(default=None, repr=False, compare=False)
    tta_views: tuple[View, ...] = field(default_factory=default_views, repr=False, compare=False)
    #: A multi-label model's own threshold per label (``thresholds.per_label``).
    label_thresholds: dict[str, float] = field(default_factory=dict)
    label_operating_points: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Set on the binary view of one finding of a multi-label model (:meth:`finding`).
    finding_of: str | None = None

    @property
    def positive_index(self) -> int | None:
        return None if self.positive_label is None else self.labels.index(self.positive_label)

    @property
    def is_binary(self) -> bool:
        return self.task == "binary"

    @property
    def is_multilabel(self) -> bool:
        return self.task == "multilabel"

    def finding(self, label: str) -> ModelCard:
        """One label of a multi-label model as a binary model of it against the rest, with
        that label's own threshold and operating points; what the single-label pages
        (threshold, report, metrics) work on. Any other card is returned as it is.

        The view keeps the model's id, version and file: a result of it is the model's.
        """
        if not self.is_multilabel:
            return self
        if label not in self.labels:
            raise CardError(f"model {self.id!r} does not predict {label!r}")
        per_label = self.metrics.get("per_label") if isinstance(self.metrics, dict) else None
        own = per_label.get(label) if isinstance(per_label, dict) else None
        return replace(
            self,
            name=f"{self.name}: {label}",
            task="binary",
            labels=(negative_of(label), label),
            positive_label=label,
            default_threshold=self.label_thresholds[label],
            operating_points=dict(self.label_operating_points.get(label, {})),
            metrics={"validation": own} if isinstance(own, dict) else {},
            label_thresholds={},
            label_operating_points={},
            finding_of=label,
        )

    @property
    def evaluated(self) -> bool:
        """False for a model imported without a labelled set: no figures exist for it."""
        return bool(self.raw.get("provenance", {}).get("evaluated", True))

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """The served probabilities: this card's calibration applied to raw (N, C) outputs."""
        raw = np.asarray(raw, dtype=np.float64)
        if self.calibrator.is_identity or self.is_multilabel:
            return raw
        if not self.is_binary:
            return self.calibrator.apply(raw)
        positive = self.positive_index
        p = np.clip(self.calibrator.apply(raw[:, positive]), 0.0, 1.0)
        out = np.empty_like(raw)
        out[:, positive], out[:, 1 - positive] = p, 1.0 - p
        return out


def negative_of(label: str) -> str:
    """The other side of one finding of a multi-label model (and of a label imported alone)."""
    return f"no_{label}"


def file_entry(
    data: bytes,
    *,
    opset: int,
    name: str = "model.onnx",
    dequantize_weights_at_load: bool = False,
) -> dict[str, Any]:
    """The card's ``file`` section for the ONNX file holding ``data``."""
    entry: dict[str, Any] = {
        "name": name,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "opset": opset,
    }
    if dequantize_weights_at_load:
        entry["dequantize_weights_at_load"] = True
    return entry


def json_safe(value: Any) -> Any:
    """NaN and infinities (undefined CIs on tiny sides) as null: JSON has no NaN."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def parse_card(data: Any) -> ModelCard:
    """Validate card JSON and return a :class:`ModelCard`.

    Raises
    ------
    CardError
        Naming the first field that is missing or wrong and what is allowed.
    """
    if not isinstance(data, Mapping):
        raise CardError(f"a card must be a JSON object, got {type(data).__name__}")
    schema = data.get("schema_version")
    if schema != SCHEMA_VERSION:
        raise CardError(f"schema_version must be {SCHEMA_VERSION}, got {schema!r}")
    model_id = _text(data, "id")
    if not _ID_PATTERN.match(model_id):
        raise CardError(f"id {model_id!r} must be 1-64 lowercase letters, digits, '.', '_' or '-'")
    task = _text(data, "task")
    if task not in TASKS:
        raise CardError(f"task must be one of {list(TASKS)}, got {task!r}")
    labels = _labels(data)
    positive = data.get("positive_label")
    if task == "binary":
        if len(labels) != 2:
            raise CardError(f"a binary card needs exactly 2 labels, got {list(labels)}")
        if positive not in labels:
            raise CardError(f"positive_label must be one of {list(labels)}, got {positive!r}")
    elif positive is not None:
        raise CardError(f"positive_label must be null for a {task} card")
    try:
        recipe = Recipe.from_dict(_mapping(data, "preprocessing"))
    except RecipeError as exc:
        raise CardError(f"preprocessing: {exc}") from exc
    thresholds = _mapping(data, "thresholds")
    default_threshold = _probability(thresholds.get("default"), "thresholds.default")
    operating_points = {
        str(name): _probability(value, f"thresholds.operating_points.{name}")
        for name, value in _mapping(thresholds, "operating_points", optional=True).items()
    }
    label_thresholds, label_points = _per_label(thresholds, labels, task)
    training_data = _mapping(data, "training_data")
    for key in _REQUIRED_TRAINING_DATA:
        if not training_data.get(key):
            raise CardError(f"training_data.{key} is required (provenance must be stated)")
    limitations = data.get("limitations")
    if not isinstance(limitations, list) or not limitations:
        raise CardError("limitations must be a non-empty list of sentences")
    latency = data.get("latency_ms")
    calibration = _mapping(data, "calibration", optional=True)
    ood = _mapping(data, "ood", optional=True)
    card = ModelCard(
        id=model_id,
        name=_text(data, "name"),
        version=_text(data, "version"),
        task=task,  # type: ignore[arg-type]
        labels=labels,
        positive_label=positive,
        modalities=_modalities(data),
        body_part=_text(data, "body_part"),
        preprocessing=recipe,
        outputs=_outputs(data),
        file=_file(data),
        default_threshold=default_threshold,
        operating_points=operating_points,
        intended_use=_text(data, "intended_use"),
        limitations=tuple(str(item) for item in limitations),
        architecture=_mapping(data, "architecture"),
        training_data=dict(training_data),
        metrics=_mapping(data, "metrics"),
        calibration=calibration,
        validation_predictions=data.get("validation_predictions"),
        latency_ms=None if latency is None else float(latency),
        raw=dict(data),
        calibrator=_calibrator(calibration, task, len(labels)),
        ood=ScanOOD.from_section(ood) if ood else None,
        tta_views=views_from_section(_mapping(data, "uncertainty", optional=True)),
        label_thresholds=label_thresholds,
        label_operating_points=label_points,
    )
    _check_schema(data)  # after the checks above, whose messages say more
    return card


#: The published card schema (``docs/card.schema.json`` is generated from it).
SCHEMA_PATH = Path(__file__).with_name("card.schema.json")


@functools.cache
def card_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft202012Validator(schema)


def _check_schema(data: Mapping[str, Any]) -> None:
    """The structure the published JSON Schema asks for; the first error names its field."""
    error = jsonschema.exceptions.best_match(card_validator().iter_errors(data))
    if error is not None:
        where = ".".join(str(part) for part in error.absolute_path) or "the card"
        raise CardError(f"{where}: {error.message} (card.schema.json)")


def _per_label(
    thresholds: Mapping[str, Any], labels: tuple[str, ...], task: str
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """A multi-label card's threshold and operating points for each label."""
    section = thresholds.get("per_label")
    if task != "multilabel":
        if section is not None:
            raise CardError(f"thresholds.per_label is for multilabel cards, not {task}")
        return {}, {}
    if not isinstance(section, Mapping) or set(section) != set(labels):
        raise CardError(
            f"thresholds.per_label must give every label of a multilabel card its threshold: "
            f"{list(labels)}"
        )
    defaults: dict[str, float] = {}
    points: dict[str, dict[str, float]] = {}
    for label in labels:
        own = _mapping(section, label)
        where = f"thresholds.per_label.{label}"
        defaults[label] = _probability(own.get("default"), f"{where}.default")
        points[label] = {
            str(name): _probability(value, f"{where}.operating_points.{name}")
            for name, value in _mapping(own, "operating_points", optional=True).items()
        }
    return defaults, points


def _calibrator(section: Mapping[str, Any], task: str, n_labels: int) -> Calibrator:
    calibrator = Calibrator.from_section(section)
    if task == "multilabel" and not calibrator.is_identity:
        raise CardError("a multilabel card serves its probabilities as given: calibration 'none'")
    if task == "multiclass" and calibrator.method not in ("none", "temperature"):
        raise CardError(
            f"calibration.method {calibrator.method!r} is for binary models; "
            f"a {n_labels}-label multiclass model takes 'none' or 'temperature'"
        )
    return calibrator


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CardError(f"{key} must be a non-empty string, got {value!r}")
    return value


def _mapping(data: Mapping[str, Any], key: str, *, optional: bool = False) -> dict[str, Any]:
    value = data.get(key)
    if value is None and optional:
        return {}
    if not isinstance(value, Mapping):
        raise CardError(f"{key} must be an object, got {value!r}")
    return dict(value)


def _probability(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise CardError(f"{key} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise CardError(f"{key} must lie in [0, 1], got {value!r}")
    return float(value)


def _labels(data: Mapping[str, Any]) -> tuple[str, ...]:
    labels = data.get("labels")
    if (
        not isinstance(labels, list)
        or len(labels) < 2
        or not all(isinstance(label, str) and label for label in labels)
    ):
        raise CardError(f"labels must be a list of at least 2 names, got {labels!r}")
    if len(set(labels)) != len(labels):
        raise CardError(f"labels must be unique, got {labels!r}")
    return tuple(labels)


def _modalities(data: Mapping[str, Any]) -> tuple[str, ...]:
    value = data.get("modality")
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise CardError(f"modality must be a DICOM modality code or a list of them, got {value!r}")
    return tuple(v.upper() for v in values)


def _outputs(data: Mapping[str, Any]) -> ModelOutputs:
    outputs = _mapping(data, "outputs")
    unknown = set(outputs) - {"probabilities", "cam", "embedding"}
    if unknown:
        raise CardError(f"outputs has unknown keys {sorted(unknown)}")
    if not isinstance(outputs.get("probabilities"), str):
        raise CardError("outputs.probabilities must name the ONNX output holding probabilities")
    return ModelOutputs(**outputs)


def _file(data: Mapping[str, Any]) -> ModelFile:
    info = _mapping(data, "file")
    name = info.get("name")
    if not isinstance(name, str) or "/" in name or "\\" in name or name.startswith("."):
        raise CardError(f"file.name must be a plain file name, got {name!r}")
    sha = info.get("sha256")
    if not isinstance(sha, str) or not _SHA256_PATTERN.match(sha):
        raise CardError(f"file.sha256 must be 64 lowercase hex digits, got {sha!r}")
    size, opset = info.get("bytes"), info.get("opset")
    if not isinstance(size, int) or size <= 0:
        raise CardError(f"file.bytes must be a positive integer, got {size!r}")
    if not isinstance(opset, int) or opset < 7:
        raise CardError(f"file.opset must be an integer ONNX opset, got {opset!r}")
    dequantize = info.get("dequantize_weights_at_load", False)
    if not isinstance(dequantize, bool):
        raise CardError(
            f"file.dequantize_weights_at_load must be true or false, got {dequantize!r}"
        )
    return ModelFile(
        name=name, bytes=size, sha256=sha, opset=opset, dequantize_weights_at_load=dequantize
    )
