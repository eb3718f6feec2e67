"""The output rows of a batch of files: one per (file, model), or the reason there is none.

Files are read and decoded once per batch and run through ``zoo.runtime.predict`` model by
model, so a row's numbers are those ``python -m zoo predict`` prints for the same file and
model. A file that cannot be read, decoded or run gives rows with ``error`` set: a bad file
never stops a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from zoo.errors import ZooError
from zoo.imaging import load_scan
from zoo.registry import Registry
from zoo.runtime import Prediction, predict
from zoo.scoring.inputs import InputItem, read_bytes

#: The columns every row has, whatever the models and the manifest.
KEY = ("path", "model")
FIXED = (
    "path",
    "model",
    "model_version",
    "model_sha256",
    "predicted",
    "score",
    "threshold",
    "decision",
    "ood_score",
    "ood_flagged",
    "error",
)


def score_batch(
    items: Sequence[InputItem],
    model_ids: Sequence[str],
    registry: Registry,
    *,
    embeddings: bool = False,
) -> list[dict[str, Any]]:
    """Rows for ``items`` through every model of ``model_ids``."""
    scans, failed = [], {}
    for index, item in enumerate(items):
        try:
            scans.append((index, load_scan(read_bytes(item.path), filename=_name(item.path))))
        except (ZooError, OSError, ValueError) as exc:
            failed[index] = str(exc) or type(exc).__name__
    rows: list[dict[str, Any]] = []
    for model_id in model_ids:
        card = registry.card(model_id)
        by_index: dict[int, dict[str, Any]] = {}
        try:
            results = predict(model_id, [scan for _, scan in scans], registry=registry)
        except ZooError as exc:  # the batch as a whole: try each file alone to find the bad one
            results = [_alone(model_id, scan, registry) for _, scan in scans]
            if all(isinstance(r, str) for r in results):
                results = [str(exc)] * len(scans)
        for (index, _), result in zip(scans, results, strict=True):
            by_index[index] = (
                {"error": result} if isinstance(result, str) else _row(result, embeddings)
            )
        for index, item in enumerate(items):
            row = {
                "path": item.path,
                "model": model_id,
                "model_version": card.version,
                "model_sha256": card.file.sha256,
                **item.carried,
            }
            row.update(by_index.get(index) or {"error": failed.get(index, "not scored")})
            row.setdefault("error", None)
            rows.append(row)
    return rows


def _alone(model_id: str, scan: Any, registry: Registry) -> Prediction | str:
    try:
        (result,) = predict(model_id, [scan], registry=registry)
    except ZooError as exc:
        return str(exc)
    return result


def _row(result: Prediction, embeddings: bool) -> dict[str, Any]:
    """A result's columns: each label's probability, the call at the card's threshold (a
    multi-label model's every label at its own, joined by '|'), the OOD score."""
    multilabel = bool(result.label_thresholds)
    row: dict[str, Any] = {
        "predicted": "|".join(result.findings) if multilabel else result.label,
        "score": result.score,
        "threshold": result.threshold,
        "decision": bool(result.findings) if multilabel else _decision(result),
        "ood_score": None if result.ood is None else result.ood.score,
        "ood_flagged": None if result.ood is None else result.ood.flagged,
        **{f"p_{label}": value for label, value in result.probabilities.items()},
    }
    if result.model_sha256:
        row["model_sha256"] = result.model_sha256
        row["model_version"] = result.model_version
    if embeddings and result.embedding is not None:
        row["embedding"] = np.asarray(result.embedding, dtype=np.float32).ravel().tolist()
    return row


def _decision(result: Prediction) -> bool | None:
    """A binary model's call at its threshold (positive or not); None for multiclass."""
    if result.threshold is None:
        return None
    return result.score >= result.threshold


def _name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1] or "file"
