"""The model registry: every ``zoo/models/<id>/`` folder with a ``card.json``.

A folder holds ``card.json``, the ONNX file the card names (``file.name``) and,
optionally, its validation predictions (``card["validation_predictions"]``, a CSV
with ``case_id``, ``label`` and one ``p_<label>`` column per label, plus any
metadata columns; a multi-label model's ``label`` lists every label a case carries,
joined by ``|``, and is empty for a case with none). A folder whose card is broken is listed in
:attr:`Registry.problems` and left out; the rest of the zoo stays usable.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from zoo.card import ModelCard, parse_card
from zoo.errors import CardError, ModelIntegrityError, ModelNotFoundError
from zoo.labels import LABEL_SEPARATOR

DEFAULT_MODELS_DIR = Path(__file__).resolve().parent / "models"
MODELS_DIR_ENV = "MEDZOO_MODELS_DIR"
CARD_FILE = "card.json"


@dataclass(frozen=True)
class ModelEntry:
    """A model of the zoo: a folder on disk, or (``files``) one held in memory only, as a
    model a user imports into one dashboard session is."""

    card: ModelCard
    directory: Path | None
    files: Mapping[str, bytes] | None = field(default=None, repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.card.id

    @property
    def in_memory(self) -> bool:
        return self.files is not None

    @property
    def model_path(self) -> Path:
        if self.directory is None:
            raise ModelIntegrityError(f"model {self.id!r} lives in memory; it has no file path")
        return self.directory / self.card.file.name

    def read(self, name: str) -> bytes:
        """A file of the model (beside its card), by plain name."""
        if Path(name).name != name:
            raise CardError(f"model {self.id!r}: {name!r} must lie beside the card")
        if self.files is not None:
            try:
                return self.files[name]
            except KeyError:
                raise CardError(f"model {self.id!r} holds no file {name!r}") from None
        assert self.directory is not None
        try:
            return (self.directory / name).read_bytes()
        except OSError as exc:
            raise CardError(f"model {self.id!r}: cannot read {name}: {exc.strerror}") from exc


@dataclass(frozen=True)
class ValidationPredictions:
    """A model's predictions on its validation split.

    ``y_true`` holds label indices into ``labels`` (a multi-label model's: an (N, C) 0/1
    matrix, one column per label); ``probabilities`` has shape
    (N, C): as served, i.e. calibrated when read through :meth:`Registry.validation_predictions`
    (the file holds the raw outputs, kept in ``raw_probabilities``); ``metadata`` maps each
    extra CSV column to its values (for subgroups).
    """

    labels: tuple[str, ...]
    case_ids: tuple[str, ...]
    y_true: np.ndarray
    probabilities: np.ndarray
    metadata: dict[str, tuple[str, ...]]
    raw_probabilities: np.ndarray | None = None

    def scores_for(self, label: str) -> np.ndarray:
        return self.probabilities[:, self.labels.index(label)]

    def is_positive(self, label: str) -> np.ndarray:
        index = self.labels.index(label)
        if self.y_true.ndim == 2:
            return self.y_true[:, index].astype(np.int8)
        return (self.y_true == index).astype(np.int8)


def models_dir() -> Path:
    """The folder the zoo reads: ``$MEDZOO_MODELS_DIR`` or ``zoo/models``."""
    override = os.environ.get(MODELS_DIR_ENV)
    return Path(override) if override else DEFAULT_MODELS_DIR


class Registry:
    """The models found under ``root`` (read once; call :meth:`refresh` to rescan)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else models_dir()
        self._entries: dict[str, ModelEntry] = {}
        self.problems: dict[str, str] = {}
        self.refresh()

    def refresh(self) -> None:
        entries: dict[str, ModelEntry] = {}
        problems: dict[str, str] = {}
        folders = sorted(p for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else []
        for folder in folders:
            card_path = folder / CARD_FILE
            if not card_path.is_file():
                continue
            try:
                card = read_card(card_path)
            except CardError as exc:
                problems[folder.name] = str(exc)
                continue
            if card.id != folder.name:
                problems[folder.name] = f"card id {card.id!r} differs from its folder name"
                continue
            entries[card.id] = ModelEntry(card=card, directory=folder)
        self._entries, self.problems = entries, problems

    @classmethod
    def of(cls, entries: Iterable[ModelEntry]) -> Registry:
        """A registry of ``entries`` alone (no folder is read)."""
        empty = cls.__new__(cls)
        empty.root, empty.problems, empty._entries = models_dir(), {}, {}
        return empty.with_entries(entries)

    def with_entries(self, extra: Iterable[ModelEntry]) -> Registry:
        """This registry plus ``extra`` (a session's imported models); ids must be new."""
        combined = Registry.__new__(Registry)
        combined.root, combined.problems = self.root, dict(self.problems)
        combined._entries = dict(self._entries)
        for entry in extra:
            if entry.id in combined._entries:
                raise CardError(f"a model {entry.id!r} is already in the zoo: choose another id")
            combined._entries[entry.id] = entry
        return combined

    def ids(self) -> list[str]:
        return list(self._entries)

    def entries(self) -> list[ModelEntry]:
        return list(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._entries

    def get(self, model_id: str) -> ModelEntry:
        try:
            return self._entries[model_id]
        except KeyError:
            known = ", ".join(self._entries) or "none: see README to build or download models"
            hint = f" ({self.problems[model_id]})" if model_id in self.problems else ""
            raise ModelNotFoundError(
                f"no model {model_id!r} in {self.root}{hint}; available: {known}"
            ) from None

    def card(self, model_id: str) -> ModelCard:
        return self.get(model_id).card

    def validation_predictions(self, model_id: str) -> ValidationPredictions:
        """The served (calibrated) probabilities on the model's validation side."""
        return self.held_out_predictions(model_id, "validation")

    def held_out_predictions(self, model_id: str, side: str) -> ValidationPredictions:
        """The served (calibrated) probabilities on the ``validation`` or ``test`` side, as
        the card ships them (``validation_predictions`` / ``test_predictions``)."""
        entry = self.get(model_id)
        if side not in ("validation", "test"):
            raise ValueError(f"side must be 'validation' or 'test', got {side!r}")
        name = (
            entry.card.validation_predictions
            if side == "validation"
            else entry.card.raw.get("test_predictions")
        )
        if not name or not isinstance(name, str):
            raise CardError(f"model {model_id!r} ships no {side} predictions")
        raw = parse_validation_predictions(
            entry.read(name).decode("utf-8"),
            name,
            entry.card.labels,
            multilabel=entry.card.is_multilabel,
        )
        return replace(
            raw,
            probabilities=entry.card.calibrate(raw.probabilities),
            raw_probabilities=raw.probabilities,
        )


def read_card(path: str | Path) -> ModelCard:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CardError(f"cannot read {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise CardError(f"{path} is not valid JSON: {exc}") from exc
    return parse_card(data)


def read_validation_predictions(
    path: str | Path, labels: tuple[str, ...], *, multilabel: bool = False
) -> ValidationPredictions:
    """Read a validation CSV written by ``export`` (see the module docstring)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CardError(f"cannot read validation predictions {path}: {exc}") from exc
    return parse_validation_predictions(text, path.name, labels, multilabel=multilabel)


def parse_validation_predictions(
    text: str, name: str, labels: tuple[str, ...], *, multilabel: bool = False
) -> ValidationPredictions:
    """A validation CSV's text (see the module docstring); ``name`` is for messages."""
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    score_columns = [f"p_{label}" for label in labels]
    header = set(rows[0]) if rows else set()
    missing = [c for c in ("case_id", "label", *score_columns) if c not in header]
    if missing:
        raise CardError(f"{name} lacks columns {missing}")
    index = {label: i for i, label in enumerate(labels)}
    try:
        if multilabel:
            y_true = np.zeros((len(rows), len(labels)), dtype=np.int64)
            for i, row in enumerate(rows):
                for own in filter(None, row["label"].split(LABEL_SEPARATOR)):
                    y_true[i, index[own]] = 1
        else:
            y_true = np.array([index[row["label"]] for row in rows], dtype=np.int64)
        probabilities = np.array(
            [[float(row[c]) for c in score_columns] for row in rows], dtype=np.float64
        )
    except KeyError as exc:
        raise CardError(f"{name}: label {exc} is not one of {list(labels)}") from exc
    except ValueError as exc:
        raise CardError(f"{name}: a score is not a number ({exc})") from exc
    extra = [c for c in rows[0] if c not in {"case_id", "label", *score_columns}]
    return ValidationPredictions(
        labels=labels,
        case_ids=tuple(row["case_id"] for row in rows),
        y_true=y_true,
        probabilities=probabilities,
        metadata={c: tuple(row[c] for row in rows) for c in extra},
    )
