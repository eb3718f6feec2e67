"""Batched prediction: scans in, per-label probabilities (and maps) out.

Probabilities are served calibrated (the card's ``calibration``); the raw model outputs
stay beside them. With the card's ``ood`` summary each prediction carries an
out-of-distribution score, and ``tta=True`` adds the spread over test-time views.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from zoo.card import ModelCard, negative_of
from zoo.errors import ModelRuntimeError
from zoo.imaging.scan import Scan
from zoo.preprocess import Preprocessed, preprocess
from zoo.registry import Registry
from zoo.runtime.session import get_session
from zoo.trust.tta import Spread, augment, spread


@dataclass(frozen=True)
class OODResult:
    """How far a scan lies from the model's training data (:mod:`zoo.trust.scan_ood`).

    ``score`` is the larger of the embedding's and the input image's Mahalanobis ratio
    (each over its own validation threshold); ``flagged`` when it exceeds the card's
    threshold (set so that at most 5% of validation images are flagged); ``percentile``:
    the share of validation images that scored lower.
    """

    score: float
    threshold: float
    percentile: float
    flagged: bool
    embedding_ratio: float = float("nan")
    input_ratio: float = float("nan")


@dataclass(frozen=True)
class Prediction:
    """One scan's result from one model.

    ``score`` is the positive-label probability of a binary model and the top
    probability of a multiclass one. ``label`` is the positive label when
    ``score >= threshold`` (binary), else the other one; for multiclass models it is
    the most probable label and ``threshold`` is None. A multi-label model's
    probabilities are each label's own (they need not sum to 1), ``label_thresholds``
    holds each label's threshold, ``label`` is the most probable label and ``threshold``
    its own; :attr:`findings` are the labels at or above theirs. ``cam`` (h, w, C) and
    ``embedding`` (D,) come from the model's extra outputs when it has them;
    ``extras`` holds any further outputs.
    """

    model_id: str
    labels: tuple[str, ...]
    probabilities: dict[str, float]
    label: str
    score: float
    threshold: float | None
    latency_ms: float
    cam: np.ndarray | None = None
    embedding: np.ndarray | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    preprocessed: Preprocessed | None = field(default=None, repr=False)
    raw_probabilities: dict[str, float] | None = None
    ood: OODResult | None = None
    uncertainty: Spread | None = None
    #: The version and file SHA-256 of the model that produced this result: what the
    #: screen, the PDF and any export name, so a result can never wear another model's name.
    model_version: str = ""
    model_sha256: str = ""
    label_thresholds: dict[str, float] | None = None

    @property
    def findings(self) -> tuple[str, ...]:
        """A multi-label result's labels at or above their own thresholds, most probable
        first (empty for other models)."""
        if not self.label_thresholds:
            return ()
        called = [k for k, t in self.label_thresholds.items() if self.probabilities[k] >= t]
        return tuple(sorted(called, key=lambda k: -self.probabilities[k]))

    def finding(self, label: str) -> Prediction:
        """One label of a multi-label result as the binary result of that label against
        the rest (see :meth:`zoo.card.ModelCard.finding`); any other result as it is."""
        if not self.label_thresholds:
            return self
        p = self.probabilities[label]
        threshold = self.label_thresholds[label]
        negative = negative_of(label)
        cam = self.cam
        if cam is not None and np.ndim(cam) == 3 and np.shape(cam)[2] == len(self.labels):
            index = self.labels.index(label)
            cam = np.asarray(cam)[..., index : index + 1]
        raw = self.raw_probabilities or self.probabilities
        views = None
        if self.uncertainty is not None:
            column = self.uncertainty.per_view[:, self.uncertainty.labels.index(label)]
            views = spread(np.column_stack([1.0 - column, column]), (negative, label))
        return replace(
            self,
            labels=(negative, label),
            probabilities={negative: 1.0 - p, label: p},
            raw_probabilities={negative: 1.0 - raw[label], label: raw[label]},
            label=label if p >= threshold else negative,
            score=p,
            threshold=threshold,
            cam=cam,
            uncertainty=views,
            label_thresholds=None,
        )


def predict(
    model_id: str,
    scans: Sequence[Scan],
    *,
    registry: Registry | None = None,
    threshold: float | None = None,
    batch_size: int = 8,
    keep_preprocessed: bool = False,
    tta: bool = False,
) -> list[Prediction]:
    """Run ``model_id`` on ``scans`` (in batches) and return one prediction per scan.

    ``threshold`` overrides the card's default threshold for binary models. ``tta`` runs
    every scan under the card's test-time views too (one batch of views per scan; the
    identity view gives the prediction itself) and fills ``uncertainty``.
    """
    registry = registry if registry is not None else Registry()
    entry = registry.get(model_id)
    session = get_session(entry)
    card = entry.card
    results: list[Prediction] = []
    for start in range(0, len(scans), max(1, batch_size)):
        chunk = scans[start : start + batch_size]
        prepared = [preprocess(scan, card.preprocessing) for scan in chunk]
        batch = np.concatenate([p.input for p in prepared], axis=0)
        began = time.perf_counter()
        if tta:
            outputs, spreads = _run_with_views(session, card, batch)
        else:
            outputs, spreads = session.run(batch), [None] * len(chunk)
        per_scan_ms = (time.perf_counter() - began) * 1000 / len(chunk)
        raw = probability_matrix(card, outputs[card.outputs.probabilities])
        probabilities = card.calibrate(raw)
        for i, prep in enumerate(prepared):
            results.append(
                _prediction(
                    card,
                    probabilities[i],
                    outputs,
                    i,
                    threshold,
                    per_scan_ms,
                    prep if keep_preprocessed else None,
                    raw=raw[i],
                    uncertainty=spreads[i],
                    inputs=batch[i : i + 1],
                )
            )
    return results


def _run_with_views(
    session, card: ModelCard, batch: np.ndarray
) -> tuple[dict[str, np.ndarray], list[Spread]]:
    """Each scan's views in one run; the identity view's outputs stand for the scan.

    One batch of views rather than one run per view: ~10% faster on two cores (InceptionV3,
    8 views: 448 against 504 ms), and :meth:`ModelSession.run` hands the batch's arena
    memory back after the run, so it does not stay grown to eight images' buffers.
    """
    views = card.tta_views
    per_scan: list[dict[str, np.ndarray]] = []
    spreads: list[Spread] = []
    for image in batch:
        inputs = augment(image[np.newaxis], views, layout=card.preprocessing.layout)
        outputs = session.run(inputs)
        raw = probability_matrix(card, outputs[card.outputs.probabilities])
        spreads.append(spread(card.calibrate(raw), card.labels))
        identity = next(i for i, view in enumerate(views) if view.kind == "identity")
        per_scan.append({k: v[identity : identity + 1] for k, v in outputs.items()})
    merged = {k: np.concatenate([o[k] for o in per_scan]) for k in per_scan[0]}
    return merged, spreads


def probability_matrix(card: ModelCard, raw: np.ndarray) -> np.ndarray:
    raw = np.asarray(raw, dtype=np.float64).reshape(raw.shape[0], -1)
    if not np.all(np.isfinite(raw)):
        raise ModelRuntimeError(f"model {card.id!r} returned non-finite probabilities")
    raw = np.clip(raw, 0.0, 1.0)
    n_labels = len(card.labels)
    if raw.shape[1] == n_labels:
        return raw
    if card.is_binary and raw.shape[1] == 1:
        positive = raw[:, 0]
        matrix = np.empty((raw.shape[0], 2))
        matrix[:, card.positive_index] = positive
        matrix[:, 1 - card.positive_index] = 1.0 - positive
        return matrix
    raise ModelRuntimeError(
        f"model {card.id!r} returned {raw.shape[1]} probabilities for {n_labels} labels"
    )


def _prediction(
    card: ModelCard,
    probabilities: np.ndarray,
    outputs: dict[str, np.ndarray],
    index: int,
    threshold: float | None,
    latency_ms: float,
    prepared: Preprocessed | None,
    *,
    raw: np.ndarray,
    uncertainty: Spread | None,
    inputs: np.ndarray,
) -> Prediction:
    named = {card.outputs.probabilities, card.outputs.cam, card.outputs.embedding}
    by_label = {label: float(p) for label, p in zip(card.labels, probabilities, strict=True)}
    own_thresholds = None
    if card.is_binary:
        used = card.default_threshold if threshold is None else float(threshold)
        score = by_label[card.positive_label]
        negative = next(label for label in card.labels if label != card.positive_label)
        label = card.positive_label if score >= used else negative
    elif card.is_multilabel:
        own_thresholds = dict(card.label_thresholds)
        label = max(card.labels, key=by_label.__getitem__)
        score, used = by_label[label], own_thresholds[label]
    else:
        used = None
        top = int(np.argmax(probabilities))
        label, score = card.labels[top], float(probabilities[top])
    return Prediction(
        model_id=card.id,
        model_version=card.version,
        model_sha256=card.file.sha256,
        labels=card.labels,
        probabilities=by_label,
        label=label,
        score=score,
        threshold=used,
        latency_ms=latency_ms,
        cam=outputs[card.outputs.cam][index] if card.outputs.cam else None,
        embedding=outputs[card.outputs.embedding][index] if card.outputs.embedding else None,
        extras={k: v[index] for k, v in outputs.items() if k not in named},
        preprocessed=prepared,
        raw_probabilities={label: float(p) for label, p in zip(card.labels, raw, strict=True)},
        ood=_ood(card, outputs, index, inputs),
        uncertainty=uncertainty,
        label_thresholds=own_thresholds,
    )


def _ood(
    card: ModelCard, outputs: dict[str, np.ndarray], index: int, inputs: np.ndarray
) -> OODResult | None:
    if card.ood is None or not card.outputs.embedding:
        return None
    embedding = np.asarray(outputs[card.outputs.embedding][index], dtype=np.float64)
    (parts,) = card.ood.parts(embedding[np.newaxis], inputs)
    return OODResult(
        score=parts.score,
        threshold=card.ood.threshold,
        percentile=card.ood.percentile(parts.score),
        flagged=parts.score > card.ood.threshold,
        embedding_ratio=parts.embedding_ratio,
        input_ratio=parts.input_ratio,
    )
