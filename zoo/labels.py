"""Labels that line up across models: a small vocabulary of synonyms.

Models name the same finding differently ("no_finding" in the NIH mass model, "normal" in
the three-class chest model, "notumor" in the brain model). To compare every model that
predicts a finding, one-vs-rest, labels are mapped to a canonical name. The vocabulary is
deliberately small and written out here: a synonym is added only when two data sets use
two words for one reference standard.

======================  =====================================================
canonical               synonyms
======================  =====================================================
``normal``              ``no_finding``, ``notumor``, ``no_tumor``, ``healthy``,
                        ``negative``
``tuberculosis``        ``tb``
``pneumonia``           ``pneumonitis``
======================  =====================================================

Models are comparable on a label when they also share an imaging modality (the lung CT
"normal" and the chest X-ray "normal" are different questions).

A case of a multi-label set lists its labels joined by ``|`` (NIH's ``Finding Labels``
convention: ``Effusion|Mass``); ``normal`` or any of its synonyms (``No Finding``) means
none, unless the model itself predicts ``normal``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from zoo.card import ModelCard
from zoo.imaging.scan import UNTAGGED

SYNONYMS: dict[str, str] = {
    "no_finding": "normal",
    "notumor": "normal",
    "no_tumor": "normal",
    "healthy": "normal",
    "negative": "normal",
    "tb": "tuberculosis",
    "pneumonitis": "pneumonia",
}


def canonical(label: str) -> str:
    """The vocabulary's name for ``label`` (case and separators folded)."""
    key = label.strip().lower().replace(" ", "_").replace("-", "_")
    return SYNONYMS.get(key, key)


def label_in(card: ModelCard, label: str) -> str | None:
    """``card``'s own name for the canonical ``label``, or None when it does not predict it."""
    wanted = canonical(label)
    return next((own for own in card.labels if canonical(own) == wanted), None)


#: Between the labels of one case of a multi-label set.
LABEL_SEPARATOR = "|"


def label_row(text: str, labels: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """A multi-label case's labels (``"Effusion|Mass"``) as a 0/1 row over ``labels``
    (vocabulary synonyms count), and the parts that are none of them."""
    own = {canonical(label): i for i, label in enumerate(labels)}
    row = np.zeros(len(labels), dtype=np.int64)
    unknown = []
    for part in filter(None, (p.strip() for p in text.split(LABEL_SEPARATOR))):
        key = canonical(part)
        if key in own:
            row[own[key]] = 1
        elif key != "normal":
            unknown.append(part)
    return row, unknown


@dataclass(frozen=True)
class LabelTask:
    """One finding that several models predict, within one set of modalities."""

    label: str  # canonical
    modalities: tuple[str, ...]
    model_ids: tuple[str, ...]

    @property
    def title(self) -> str:
        return f"{self.label} ({', '.join(self.modalities)}): {len(self.model_ids)} model(s)"


def label_tasks(cards: Iterable[ModelCard]) -> list[LabelTask]:
    """Every canonical label and the models that predict it, in groups of models linked by a
    shared modality: models in one task can be compared one-vs-rest. Most models first."""
    by_label: dict[str, list[ModelCard]] = {}
    for card in cards:
        for own in card.labels:
            by_label.setdefault(canonical(own), []).append(card)
    tasks: list[LabelTask] = []
    for label, members in by_label.items():
        groups: list[tuple[set[str], list[str]]] = []  # (modalities, model ids)
        for card in members:
            modalities = set(card.modalities) - {UNTAGGED} or set(card.modalities)
            linked = [g for g in groups if g[0] & modalities]
            merged = (modalities.union(*(g[0] for g in linked)), [i for g in linked for i in g[1]])
            merged[1].append(card.id)
            groups = [g for g in groups if g not in linked] + [merged]
        tasks += [LabelTask(label, tuple(sorted(mods)), tuple(ids)) for mods, ids in groups]
    return sorted(tasks, key=lambda t: (-len(t.model_ids), t.modalities, t.label))
