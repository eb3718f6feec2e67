"""Statistics behind the charts: pure functions, plus cached wrappers for shipped data.

The validation predictions shipped with a model are the same for every user, so their
curves are cached by (models folder, model id, file SHA-256, label) with ``st.cache_data``
and their :class:`ThresholdTable` with ``st.cache_resource`` (read-only once built). A
user's own labelled data goes through the same pure functions, uncached.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from ui.common import registry_for
from zoo.card import ModelCard
from zoo.evaluation import evaluate
from zoo.labels import label_in
from zoo.metrics import (
    ThresholdTable,
    auc_ci_delong,
    average_precision,
    bootstrap_ci,
    expected_calibration_error,
    net_benefit,
    net_benefit_treat_all,
    precision_recall_curve,
    reliability_curve,
    roc_curve,
    wilson_interval,
)
from zoo.registry import Registry, ValidationPredictions

#: Thresholds of the decision curve (net benefit is undefined at 1).
DECISION_GRID = np.round(np.linspace(0.01, 0.99, 99), 4)
#: The common false-positive-rate grid of the pointwise bootstrap ROC band.
FPR_GRID = np.linspace(0.0, 1.0, 51)
N_BOOT = 300


@dataclass(frozen=True)
class ScoredSet:
    """One model's probabilities on a labelled set (its validation split or a user's batch)."""

    model_id: str
    card: ModelCard
    case_ids: tuple[str, ...]
    y_true: np.ndarray  # label indices into card.labels; a multi-label model's (N, C) 0/1
    probabilities: np.ndarray  # (N, C), columns in card.labels order
    source: str
    cache_key: tuple[str, str, str] | None = None  # (models folder, id, sha256) if shipped
    #: One row per case: extra columns to slice by (view, source, sex, site…), if any.
    metadata: pd.DataFrame | None = None

    def binary(self, label: str) -> tuple[np.ndarray, np.ndarray]:
        """``label`` against the rest: (0/1 truth, the label's probability). ``label`` may be
        any name of the vocabulary (:mod:`zoo.labels`): "normal" finds "no_finding"."""
        index = self.card.labels.index(label_in(self.card, label) or label)
        if self.y_true.ndim == 2:
            return self.y_true[:, index].astype(np.int8), self.probabilities[:, index]
        return (self.y_true == index).astype(np.int8), self.probabilities[:, index]

    def finding(self, label: str) -> ScoredSet:
        """A multi-label model's set seen as one of its labels against the rest, under the
        binary view of its card (:meth:`zoo.card.ModelCard.finding`); others as they are.
        Curves and tables stay cached under the model's own key and the label."""
        if not self.card.is_multilabel:
            return self
        own = label_in(self.card, label) or label
        y, p = self.binary(own)
        return replace(
            self,
            card=self.card.finding(own),
            y_true=y.astype(np.int64),
            probabilities=np.column_stack([1.0 - p, p]),
        )

    @classmethod
    def from_validation(
        cls, card: ModelCard, vp: ValidationPredictions, root: str | None = None
    ) -> ScoredSet:
        return cls(
            model_id=card.id,
            card=card,
            case_ids=tuple(vp.case_ids),
            y_true=np.asarray(vp.y_true),
            probabilities=np.asarray(vp.probabilities),
            source="the validation split",
            cache_key=None if root is None else (root, card.id, card.file.sha256),
            metadata=_metadata_frame(vp.metadata),
        )

    def curves(self, label: str) -> dict[str, Any]:
        """:func:`compute_curves` for ``label``; cached for shipped validation predictions."""
        if self.cache_key is not None:
            return validation_curves(*self.cache_key, label)
        return compute_curves(*self.binary(label))

    def defined_table(self, label: str) -> ThresholdTable | None:
        """:meth:`table`, or None when the set holds one class only for ``label`` (no
        sensitivity, specificity or operating point is defined then)."""
        return self.table(label) if both_classes(self.binary(label)[0]) else None

    def table(self, label: str) -> ThresholdTable:
        if self.cache_key is not None:
            return validation_table(*self.cache_key, label)
        return ThresholdTable(*self.binary(label))


def _metadata_frame(columns: dict[str, tuple[str, ...]]) -> pd.DataFrame | None:
    """The CSV's extra columns; pandas wrote missing values as "nan"."""
    if not columns:
        return None
    frame = pd.DataFrame({name: list(values) for name, values in columns.items()})
    return frame.replace({"nan": None, "": None})


def target_label(card: ModelCard) -> str:
    """The label of interest by default: the positive label, else the last label."""
    return card.positive_label or card.labels[-1]


def both_classes(y: np.ndarray) -> bool:
    return 0 < int(np.sum(y)) < len(y)


def compute_curves(y: np.ndarray, s: np.ndarray, *, band: bool = True) -> dict[str, Any]:
    """ROC, PR, AUC (DeLong CI), AP (bootstrap CI), reliability, ECE and net benefit."""
    y = np.asarray(y).astype(np.int8)
    s = np.clip(np.asarray(s, dtype=np.float64), 0.0, 1.0)
    out: dict[str, Any] = {"n": len(y), "positives": int(y.sum()), "defined": both_classes(y)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mean_pred, frac_pos, counts = reliability_curve(y, s, n_bins=10)
        out["reliability"] = (mean_pred, frac_pos, counts)
        out["ece"] = expected_calibration_error(y, s, n_bins=10)
        out["net_benefit"] = net_benefit(y, s, DECISION_GRID)
        out["treat_all"] = net_benefit_treat_all(y, DECISION_GRID)
        if not out["defined"]:
            return out
        out["roc"] = roc_curve(y, s)
        out["pr"] = precision_recall_curve(y, s)
        out["auc"] = auc_ci_delong(y, s)
        out["ap"] = bootstrap_ci(average_precision, y, s, n_boot=N_BOOT, seed=0)
        if band:
            out["roc_band"] = bootstrap_ci(_tpr_on_grid, y, s, n_boot=N_BOOT, seed=0)
    return out


def _tpr_on_grid(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    fpr, tpr, _ = roc_curve(y, s)
    if np.isnan(fpr).any() or np.isnan(tpr).any():
        return np.full(FPR_GRID.shape, np.nan)
    return np.interp(FPR_GRID, fpr, tpr)


def metrics_at(table: ThresholdTable, threshold: float, prevalence: float | None = None) -> dict:
    """Threshold statistics with Wilson CIs of sensitivity and specificity."""
    at = table.at(threshold, prevalence=prevalence)
    tp, fp, tn, fn = (int(at[k]) for k in ("tp", "fp", "tn", "fn"))
    at["sensitivity_ci"] = wilson_interval(tp, tp + fn) if tp + fn else (math.nan, math.nan)
    at["specificity_ci"] = wilson_interval(tn, tn + fp) if tn + fp else (math.nan, math.nan)
    return at


def evaluation(
    card: ModelCard, y_true: np.ndarray, probabilities: np.ndarray, threshold: float | None = None
) -> dict[str, Any]:
    """:func:`zoo.evaluation.evaluate`, cached by the model and a hash of the data: a
    multiclass report bootstraps its macro AUC CI (1,000 resamples), which is not redone on
    every rerun of a page."""
    y_true = np.ascontiguousarray(y_true, dtype=np.int64)
    probabilities = np.ascontiguousarray(probabilities, dtype=np.float64)
    digest = hashlib.sha256(y_true.tobytes() + probabilities.tobytes()).hexdigest()
    return _evaluation(card.id, card.file.sha256, digest, threshold, card, y_true, probabilities)


@st.cache_data(max_entries=32, show_spinner=False)
def _evaluation(
    model_id: str,
    sha256: str,
    digest: str,
    threshold: float | None,
    _card: ModelCard,
    _y_true: np.ndarray,
    _probabilities: np.ndarray,
) -> dict[str, Any]:
    with warnings.catch_warnings():  # one-class subsets give NaN, reported as such
        warnings.simplefilter("ignore")
        return evaluate(_card, _y_true, _probabilities, threshold=threshold)


# -- cached wrappers for the shipped validation predictions -----------------------------


def held_out(registry: Registry, model_id: str, side: str = "validation") -> ValidationPredictions:
    """A model's served predictions on its ``validation`` (or ``test``) side: cached for the
    zoo's folders, read from memory for a model imported into this session; raises
    CardError when it ships none."""
    entry = registry.get(model_id)
    if entry.in_memory:
        return registry.held_out_predictions(model_id, side)
    return validation_predictions(str(registry.root), model_id, entry.card.file.sha256, side)


@st.cache_data(max_entries=64, show_spinner=False)
def validation_predictions(
    root: str, model_id: str, sha256: str, side: str = "validation"
) -> ValidationPredictions:
    """:func:`held_out` of a model in the models folder ``root``, cached."""
    return registry_for(root).held_out_predictions(model_id, side)


def validation_set(registry: Registry, model_id: str) -> ScoredSet | None:
    entry = registry.get(model_id)
    if not entry.card.validation_predictions:
        return None
    vp = held_out(registry, model_id)
    # curves and tables of the zoo's own models are cached by folder; an imported model's
    # are computed when asked (its set is the user's, usually small)
    root = None if entry.in_memory else str(registry.root)
    return ScoredSet.from_validation(entry.card, vp, root)


@st.cache_data(max_entries=64, show_spinner="Computing curves…")
def validation_curves(root: str, model_id: str, sha256: str, label: str) -> dict[str, Any]:
    """:func:`compute_curves` of a model's validation predictions for ``label``, cached."""
    scored = ScoredSet.from_validation(
        registry_for(root).card(model_id), validation_predictions(root, model_id, sha256)
    )
    return compute_curves(*scored.binary(label))


@st.cache_resource(max_entries=64, show_spinner=False)
def validation_table(root: str, model_id: str, sha256: str, label: str) -> ThresholdTable:
    """The ThresholdTable of a model's validation predictions for ``label`` (shared, read-only)."""
    scored = ScoredSet.from_validation(
        registry_for(root).card(model_id), validation_predictions(root, model_id, sha256)
    )
    return ThresholdTable(*scored.binary(label))


def read_history(directory: Path) -> dict[str, list[float]] | None:
    """``history.json`` beside the card (Keras fit history), or None when absent or unreadable."""
    path = directory / "history.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    history = {}
    for key, values in data.items():
        if isinstance(values, list) and all(isinstance(v, int | float) for v in values):
            history[str(key)] = [float(v) for v in values]
    return history or None
