"""Which models fit a scan, and which ones it opens on: one rule for every page.

1. **The modality tag.** A DICOM's Modality, or the kind a shipped sample declares
   (``kinds.csv`` beside the samples): models trained on it fit, and come first. A sample
   may also name the model it opens on (``kinds.csv``'s ``model``): the one whose data set
   it was drawn from, or the one whose labels name what it shows (a normal CT slice opens
   on the three-class model, not on benign-vs-malignant); among the fitting models it
   comes first.
2. **Resemblance.** Among those, and for image files that carry no tag, models whose
   training inputs the scan resembles come first (:mod:`zoo.trust.resemblance`: the
   input-side out-of-distribution ratio, no model run). An untagged scan fits a model when
   it lies within that model's own threshold (ratio ≤ 1).

Analyze opens on the first model of :func:`rank_models`; Compare selects the first fitting
ones; sample mode goes through the same rule, so a brain MRI sample opens on the brain model.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from zoo.imaging import UNTAGGED
from zoo.registry import ModelEntry, Registry
from zoo.trust.resemblance import by_resemblance

#: Beside the samples: ``file,modality`` for scans whose file carries no tag.
KINDS_FILE = "kinds.csv"


@dataclass(frozen=True)
class ModelFit:
    """One model's place in the order for a scan."""

    entry: ModelEntry
    fits: bool
    why: str

    @property
    def id(self) -> str:
        return self.entry.id


def is_untagged(modality: str | None) -> bool:
    return not modality or modality.upper() == UNTAGGED


def scan_modality(file_modality: str | None, declared: str | None = None) -> str | None:
    """The modality the rule uses: the file's tag, else what a sample declares, else None."""
    if not is_untagged(file_modality):
        return file_modality.upper()  # type: ignore[union-attr]
    return declared.upper() if declared else None


#: Why a model without an out-of-distribution summary is not called a fit for an untagged scan.
UNKNOWN_RESEMBLANCE = (
    "its card has no summary of its training images, so whether the scan resembles them "
    "cannot be told"
)


def rank_models(
    registry: Registry,
    modality: str | None,
    resemblance: Mapping[str, float] | None = None,
    drawn_for: str | None = None,
) -> list[ModelFit]:
    """Every model of ``registry``, the ones that fit the scan first (see the module's rule).

    ``modality`` comes from :func:`scan_modality`; ``resemblance`` maps model id to the
    input-side ratio (NaN when unknown); ``drawn_for`` is the model a sample names.
    """
    entries = registry.entries()
    ratios = dict(resemblance or {})
    order = {entry.id: entry for entry in entries}
    ranked_ids = by_resemblance(ratios, list(order))

    def resembles(model_id: str) -> bool:
        ratio = ratios.get(model_id, math.nan)
        return math.isfinite(ratio) and ratio <= 1.0

    fits: list[ModelFit] = []
    rest: list[ModelFit] = []
    for model_id in ranked_ids:
        entry = order[model_id]
        if modality is not None:
            if modality in entry.card.modalities:
                fits.append(ModelFit(entry, True, f"trained on {modality}"))
            else:
                trained = ", ".join(entry.card.modalities)
                rest.append(ModelFit(entry, False, f"trained on {trained}, not {modality}"))
        elif resembles(model_id):
            fits.append(ModelFit(entry, True, "the scan resembles its training images"))
        elif math.isnan(ratios.get(model_id, math.nan)):
            rest.append(ModelFit(entry, False, UNKNOWN_RESEMBLANCE))
        else:
            rest.append(ModelFit(entry, False, "the scan does not resemble its training images"))
    own = [fit for fit in fits if fit.id == drawn_for]
    return own + [fit for fit in fits if fit.id != drawn_for] + rest


def default_models(ranked: list[ModelFit], most: int, fallback: int = 2) -> list[ModelEntry]:
    """The models a multi-model page selects first: up to ``most`` fitting ones; when none
    fits, the ``fallback`` best-ranked (marked ⚠ by the page)."""
    fitting = [fit.entry for fit in ranked if fit.fits][:most]
    return fitting or [fit.entry for fit in ranked[:fallback]]


def declared_kind(sample: Path) -> str | None:
    """The modality a shipped sample declares in ``kinds.csv`` beside it, if any."""
    return _kinds(str(sample.parent)).get(sample.name, (None, None))[0]


def declared_model(sample: Path) -> str | None:
    """The model a shipped sample opens on (``kinds.csv``), if it names one."""
    return _kinds(str(sample.parent)).get(sample.name, (None, None))[1]


@lru_cache(maxsize=8)
def _kinds(folder: str) -> dict[str, tuple[str, str | None]]:
    path = Path(folder) / KINDS_FILE
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        return {
            row["file"]: (row["modality"].strip().upper(), (row.get("model") or "").strip() or None)
            for row in csv.DictReader(handle)
            if row.get("file") and row.get("modality")
        }
