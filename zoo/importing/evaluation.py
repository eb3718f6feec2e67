"""An imported model measured on a labelled set, written into its card.

The same sections the shipped cards carry, from the same functions: metrics with 95% CIs
(:func:`zoo.evaluation.evaluate`), operating points (Youden's J, 90/95% sensitivity and
specificity), subgroups by every extra column, the validation predictions the pages read,
and an out-of-distribution descriptor when the graph has a dense last layer to take
embeddings from. Scans are read and scored a batch at a time, so a large set never sits in
memory at once.

There is one labelled set, so it both chooses the thresholds and measures them: the card
says the figures are optimistic unless that set was kept out of training. The descriptor is
fitted on one half of the set's groups and its threshold set on the other half.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from zoo.card import json_safe, parse_card
from zoo.errors import ModelImportError, ScanError
from zoo.evaluation import evaluate
from zoo.imaging import load_scan
from zoo.importing.importer import (
    RESEARCH_ONLY,
    UNEVALUATED_NOTE,
    PreparedModel,
    as_json,
    plain_name,
    with_evaluation,
)
from zoo.labels import LABEL_SEPARATOR, canonical, label_row
from zoo.metrics import card_operating_points
from zoo.registry import ModelEntry, Registry
from zoo.runtime import predict
from zoo.trust.scan_ood import fit_scan_ood
from zoo.trust.subgroups import card_subgroups

PREDICTIONS_FILE = "validation.csv"
#: Images whose model inputs are kept for the out-of-distribution fit (memory bound).
OOD_IMAGES = 400
#: Fewest cases per half for an out-of-distribution fit.
OOD_MIN_HALF = 20
BATCH = 16


@dataclass(frozen=True)
class LabelledItem:
    """One case of a labelled set: how to read its scan, its label and its metadata."""

    case_id: str
    filename: str
    read: Callable[[], bytes]
    label: str
    group: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class _Scores:
    case_ids: list[str] = field(default_factory=list)
    y: list[int] = field(default_factory=list)
    probabilities: list[np.ndarray] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    metadata: list[dict[str, str]] = field(default_factory=list)
    embeddings: list[np.ndarray] = field(default_factory=list)
    inputs: list[np.ndarray] = field(default_factory=list)
    ood_groups: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def evaluate_import(
    prepared: PreparedModel,
    items: Sequence[LabelledItem],
    *,
    set_name: str = "labels.csv",
    progress: Callable[[int, int], None] | None = None,
) -> PreparedModel:
    """``prepared`` with its card measured on ``items``."""
    card = prepared.parsed()
    set_name = plain_name(set_name, "labels.csv")
    if len(items) < 2:
        raise ModelImportError("the labelled set needs at least two cases")
    index = _targets(card.labels, items, multilabel=card.is_multilabel)
    entry = ModelEntry(card=card, directory=None, files={card.file.name: prepared.onnx_bytes})
    registry = Registry.of([entry])
    scores = _score(registry, card.id, items, index, progress)
    if len(scores.y) < 2:
        raise ModelImportError(
            f"only {len(scores.y)} of {len(items)} scans could be read: {scores.failed[:3]}"
        )
    y = np.asarray(scores.y)
    probabilities = np.vstack(scores.probabilities)
    out = dict(prepared.card)
    binary = card.is_binary
    if binary:
        positive = card.positive_index
        points = card_operating_points((y == positive).astype(int), probabilities[:, positive])
        out["thresholds"] = {
            "default": points.get("youden", 0.5),
            "chosen_by": f"Youden J on {set_name}",
            "operating_points": points,
        }
    elif card.is_multilabel:
        out["thresholds"] = _per_label_thresholds(card.labels, y, probabilities, set_name)
    threshold = out["thresholds"]["default"] if binary else None
    measured = parse_card(out)
    report = evaluate(measured, y, probabilities, threshold=threshold)
    n = len(y)
    out["metrics"] = {
        "validation": report["metrics"],
        "confusion_matrix": report.get("confusion_matrix"),
        "per_class": report.get("per_class"),
        **({"per_label": report["per_label"]} if "per_label" in report else {}),
        "note": (
            f"Measured at import on {n} cases of {set_name}, which also chose the thresholds: "
            "optimistic, and only as independent of the model's training as that set is."
        ),
    }
    out["training_data"] = {
        **out["training_data"],
        "counts": {"validation": _counts(card.labels, y)},
    }
    metadata = pd.DataFrame(scores.metadata)
    columns = [c for c in metadata.columns if metadata[c].nunique(dropna=True) >= 2]
    subgroups = card_subgroups(
        metadata,
        columns,
        y,
        probabilities,
        card.labels,
        card.positive_index,
        threshold if threshold is not None else 0.5,
        {"validation": np.arange(n)},
        [measured.label_thresholds[label] for label in card.labels] if card.is_multilabel else None,
    )
    if subgroups:
        out["subgroups"] = subgroups
    ood = _ood(scores, card.preprocessing.layout)
    if ood is not None:
        out["ood"] = ood
    else:
        out.pop("ood", None)
    out["validation_predictions"] = PREDICTIONS_FILE
    out["limitations"] = [
        RESEARCH_ONLY,
        *(text for text in out["limitations"] if text not in (RESEARCH_ONLY, UNEVALUATED_NOTE)),
        f"Figures come from {n} cases supplied at import ({set_name}); the thresholds were "
        "chosen on the same cases.",
    ]
    if ood is None:
        out["limitations"].append(
            "No out-of-distribution score: the graph has no dense last layer to take "
            "embeddings from, or the labelled set is too small to fit one."
        )
    if scores.failed:
        out["metrics"]["unreadable"] = len(scores.failed)
    out["provenance"] = {
        **out["provenance"],
        "evaluated": True,
        "evaluated_on": f"{set_name} ({n} cases)",
    }
    out = as_json(json_safe(out))
    parse_card(out)
    predictions = _predictions_csv(card.labels, scores)
    return with_evaluation(prepared, out, {PREDICTIONS_FILE: predictions})


def _per_label_thresholds(
    labels: Sequence[str], truth: np.ndarray, probabilities: np.ndarray, set_name: str
) -> dict[str, Any]:
    """A multi-label model's thresholds: Youden's J per label (0.5 where the set has no
    case with, or none without, the label)."""
    per_label = {}
    for index, label in enumerate(labels):
        y = truth[:, index]
        points = card_operating_points(y, probabilities[:, index]) if 0 < y.sum() < len(y) else {}
        per_label[label] = {"default": points.get("youden", 0.5), "operating_points": points}
    return {
        "default": 0.5,
        "chosen_by": f"Youden J per label on {set_name} (0.5 where it has one class only)",
        "operating_points": {},
        "per_label": per_label,
    }


def _targets(
    labels: Sequence[str], items: Iterable[LabelledItem], *, multilabel: bool
) -> dict[str, Any]:
    """Each label text of the set mapped to the model's label index, or for a multi-label
    model to a 0/1 row over its labels (the text lists a case's labels joined by ``|``;
    "normal" and its synonyms, when the model has no such label, mean none). Vocabulary
    synonyms count: "no_finding" finds "normal"."""
    own = {canonical(label): i for i, label in enumerate(labels)}
    targets: dict[str, Any] = {}
    unknown: set[str] = set()
    for item in items:
        if item.label in targets:
            continue
        if not multilabel:
            key = canonical(item.label)
            if key in own:
                targets[item.label] = own[key]
            else:
                unknown.add(item.label)
            continue
        targets[item.label], parts = label_row(item.label, labels)
        unknown.update(parts)
    if unknown:
        raise ModelImportError(
            f"labels {sorted(unknown)[:5]} of the labelled set are not among the model's "
            f"{list(labels)} (nor their synonyms)"
        )
    return targets


def _score(
    registry: Registry,
    model_id: str,
    items: Sequence[LabelledItem],
    index: dict[str, Any],
    progress: Callable[[int, int], None] | None,
) -> _Scores:
    scores = _Scores()
    keep_inputs = np.zeros(len(items), bool)
    keep_inputs[np.random.default_rng(0).permutation(len(items))[:OOD_IMAGES]] = True
    for start in range(0, len(items), BATCH):
        chunk = items[start : start + BATCH]
        scans, kept = [], []
        for offset, item in enumerate(chunk):
            try:
                scans.append(load_scan(item.read(), filename=item.filename))
                kept.append((start + offset, item))
            except (ScanError, OSError) as exc:
                scores.failed.append(f"{item.case_id}: {exc}")
        if scans:
            results = predict(model_id, scans, registry=registry, keep_preprocessed=True)
            for (position, item), result in zip(kept, results, strict=True):
                scores.case_ids.append(item.case_id)
                scores.y.append(index[item.label])
                scores.probabilities.append(
                    np.array([result.probabilities[label] for label in result.labels])
                )
                scores.groups.append(item.group or item.case_id)
                scores.metadata.append(dict(item.metadata))
                if result.embedding is not None and keep_inputs[position]:
                    scores.embeddings.append(np.asarray(result.embedding, np.float32))
                    assert result.preprocessed is not None
                    scores.inputs.append(result.preprocessed.input[0])
                    scores.ood_groups.append(item.group or item.case_id)
        if progress is not None:
            progress(min(start + BATCH, len(items)), len(items))
    return scores


def _ood(scores: _Scores, layout: str) -> dict[str, Any] | None:
    """An out-of-distribution section fitted on half the groups, thresholded on the rest."""
    if len(scores.embeddings) < 2 * OOD_MIN_HALF:
        return None
    kept_groups = scores.ood_groups
    groups = sorted(set(kept_groups))
    rng = np.random.default_rng(0)
    fit_groups = set(rng.permutation(groups)[: max(1, len(groups) // 2)])
    fit = np.array([g in fit_groups for g in kept_groups])
    if fit.sum() < OOD_MIN_HALF or (~fit).sum() < OOD_MIN_HALF:
        return None
    embeddings, inputs = np.stack(scores.embeddings), np.stack(scores.inputs)
    section = fit_scan_ood(
        embeddings[fit], embeddings[~fit], inputs[fit], inputs[~fit], layout=layout
    )
    section["evaluation"] = {
        "fitted_on": f"{int(fit.sum())} cases of half the groups of the labelled set",
        "threshold_set_on": f"{int((~fit).sum())} cases of the other half",
    }
    return section


def _counts(labels: Sequence[str], y: np.ndarray) -> dict[str, int]:
    if y.ndim == 2:
        return {label: int(y[:, i].sum()) for i, label in enumerate(labels)}
    return {label: int(np.sum(y == i)) for i, label in enumerate(labels)}


def _predictions_csv(labels: Sequence[str], scores: _Scores) -> bytes:
    columns = sorted({key for row in scores.metadata for key in row})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["case_id", "label", *[f"p_{label}" for label in labels], *columns])
    for case_id, y, p, meta in zip(
        scores.case_ids, scores.y, scores.probabilities, scores.metadata, strict=True
    ):
        truth = (
            LABEL_SEPARATOR.join(label for label, on in zip(labels, y, strict=True) if on)
            if np.ndim(y)
            else labels[y]
        )
        writer.writerow(
            [case_id, truth, *[f"{v:.6f}" for v in p], *[meta.get(c, "") for c in columns]]
        )
    return buffer.getvalue().encode("utf-8")
