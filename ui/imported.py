"""Models a user imports into one browser session ("Add a model").

They live in this session's state only: the ONNX bytes, the card and the validation
predictions are held in memory, never written to the server's disk, and no other session
sees them. :func:`session_zoo` lays them over the shipped zoo, so every page serves them
like shipped models. Owner of the ``imported_models`` key: the Add a model page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from ui.batch import BatchFile, collect_files, match_row, read_labels_csv, read_labels_metadata
from ui.common import get_registry, registry_for
from ui.figures import auc_of
from zoo.card import ModelCard
from zoo.errors import ModelImportError
from zoo.importing import ImportRequest, LabelledItem, Limits, PreparedModel, install
from zoo.importing import evaluate_import as _evaluate
from zoo.importing import prepare_import as _prepare
from zoo.importing.importer import SCALINGS, plain_name
from zoo.importing.safety import load_untrusted
from zoo.importing.signature import Signature, read_signature
from zoo.registry import ModelEntry, Registry, models_dir
from zoo.runtime.memory import release_free_heap

_KEY = "imported_models"
_ENTRIES = "imported_model_entries"  # the same models as registry entries, parsed once
_UPLOADS = "imported_model_uploads"  # how many models this session added (the uploader key)
#: An uploaded model file's size limit, and how many models one session may add: each
#: loaded session costs memory on a ~1 GB host.
MAX_MODEL_MB = 50
MAX_MODELS = 2
#: Cases of a labelled upload scored at import (more belong on the command line).
MAX_CASES = 300
#: Set to 1 where the server runs on the user's own machine: the page then offers to save
#: an imported model into the models folder.
SAVE_ENV = "MEDZOO_ALLOW_SAVING_MODELS"
LIMITS = Limits(max_bytes=MAX_MODEL_MB * 2**20)


@dataclass(frozen=True)
class UploadedModel:
    """What the page learned from an uploaded file before the user fills the form:
    its outputs, and its signature once the output holding the scores is known."""

    name: str
    data: bytes
    outputs: tuple[str, ...]
    signature: Signature | None


_READING = "imported_model_reading"  # the last upload read: (file id, output, UploadedModel)


def read_upload(name: str, data: bytes, file_id: str, output: str | None = None) -> UploadedModel:
    """Check an uploaded ONNX file and read what it says (``output``: the one holding the
    class scores, when the graph has several); read once per file and output, not on every
    rerun of the page. Raises ModelImportError."""
    memo = st.session_state.get(_READING)
    if memo is not None and memo[:2] == (file_id, output):
        return memo[2]
    model = load_untrusted(data, LIMITS)
    outputs = tuple(value.name for value in model.graph.output)
    signature = None
    if len(outputs) == 1 or output is not None:
        signature = read_signature(model, output=output)
    uploaded = UploadedModel(name=name, data=data, outputs=outputs, signature=signature)
    st.session_state[_READING] = (file_id, output, uploaded)
    return uploaded


def imported() -> list[PreparedModel]:
    """This session's imported models, oldest first."""
    return list(st.session_state.get(_KEY, []))


def add(prepared: PreparedModel, shipped: Registry) -> None:
    """Add Model page only: one more model in this session's zoo."""
    models = imported()
    if len(models) >= MAX_MODELS:
        raise ModelImportError(
            f"this session holds {MAX_MODELS} imported models already: remove one first"
        )
    if prepared.model_id in shipped or any(m.model_id == prepared.model_id for m in models):
        raise ModelImportError(f"a model {prepared.model_id!r} is already in the zoo")
    st.session_state[_KEY] = [*models, prepared]
    st.session_state[_ENTRIES] = [*_entries(), entry_of(prepared)]


def uploader_key() -> str:
    """The model uploader's key: a new one after each model added, which drops the upload
    (its bytes stay in the session otherwise, beside the imported copy)."""
    return f"add_model_file_{st.session_state.get(_UPLOADS, 0)}"


def clear_upload() -> None:
    st.session_state[_UPLOADS] = st.session_state.get(_UPLOADS, 0) + 1
    st.session_state.pop(_READING, None)


def remove(model_id: str) -> None:
    """Add Model page only."""
    st.session_state[_KEY] = [m for m in imported() if m.model_id != model_id]
    st.session_state[_ENTRIES] = [e for e in _entries() if e.id != model_id]


def _entries() -> list[ModelEntry]:
    return list(st.session_state.get(_ENTRIES, []))


def entry_of(prepared: PreparedModel) -> ModelEntry:
    card = prepared.parsed()
    files = {card.file.name: prepared.onnx_bytes, **prepared.files}
    return ModelEntry(card=card, directory=None, files=files)


def with_imported(shipped: Registry) -> Registry:
    """``shipped`` plus this session's imported models."""
    entries = _entries()
    return shipped.with_entries(entries) if entries else shipped


def session_zoo() -> Registry:
    """The zoo this browser session sees: the shipped models and its own imported ones.
    Every page reads the zoo through this."""
    return with_imported(get_registry())


def saving_allowed() -> bool:
    return os.environ.get(SAVE_ENV, "") == "1"


def prepare(upload: UploadedModel, request: ImportRequest) -> PreparedModel:
    """The model ready to serve; what the form left out is named in the error."""
    try:
        return _prepare(upload.data, request)
    finally:
        release_free_heap()  # the graph's copies made while checking it


def labelled_items(
    uploads: Sequence[tuple[str, bytes]], labels: tuple[str, bytes]
) -> list[LabelledItem]:
    """A labelled set from uploaded scans (or ZIPs) and a ``path,label`` CSV, in memory."""
    files = collect_files(uploads)
    csv_name, csv_data = labels
    table = read_labels_csv(csv_data, csv_name)
    metadata = read_labels_metadata(csv_data, csv_name)
    items = []
    for file in files:
        label = match_row(file.name, table)
        if label is None:
            continue
        extra = dict(match_row(file.name, metadata) or {})
        group = extra.pop("group", None) or None
        items.append(_item(file, label, group, extra))
    if not items:
        raise ModelImportError(
            f"no uploaded file matches a row of {csv_name}: its 'path' column must name the "
            "files (or their paths inside the ZIP)"
        )
    if len(items) > MAX_CASES:
        raise ModelImportError(
            f"{len(items)} labelled cases; at most {MAX_CASES} are scored here. Evaluate "
            "larger sets with python -m zoo import --evaluate on your machine."
        )
    return items


def _item(file: BatchFile, label: str, group: str | None, extra: dict[str, str]) -> LabelledItem:
    data = file.data
    return LabelledItem(
        case_id=file.name,
        filename=file.name.rsplit("/", 1)[-1],
        read=lambda: data,
        label=label,
        group=group,
        metadata=extra,
    )


def evaluate(prepared: PreparedModel, items: list[LabelledItem], set_name: str) -> PreparedModel:
    try:
        return _evaluate(prepared, items, set_name=set_name)
    finally:
        release_free_heap()


#: Pixel scalings offered by the form (the importer's named ones).
NORMALIZATIONS = SCALINGS


def describe(signature: Signature) -> str:
    """What the file says about itself, in one plain sentence."""
    size = "×".join(map(str, signature.input_size)) if signature.input_size else "any size"
    layout = signature.layout or "an unknown layout"
    channels = f"{signature.channels} channel(s)" if signature.channels else "unknown channels"
    if signature.final_op == "Sigmoid" and (signature.scores or 0) > 2:
        ends = "ends in a sigmoid per label (a multi-label model: each label its own threshold)"
    elif signature.activation == "none":
        ends = "ends in probabilities (softmax or sigmoid)"
    elif signature.scores == 1:
        ends = "ends in one logit (a sigmoid will make it a probability)"
    else:
        ends = "ends in logits (say below how they become probabilities)"
    scores = f"{signature.scores} scores" if signature.scores else "an unknown number of scores"
    return f"Input: {size}, {layout}, {channels}. Output: {scores}; the graph {ends}."


def form_request(
    upload: UploadedModel,
    *,
    model_id: str,
    labels: str,
    positive: str,
    modalities: Sequence[str],
    body_part: str,
    input_size: int | None,
    layout: str | None,
    color: str | None,
    normalization: str,
    activation: str | None,
) -> ImportRequest:
    """The import request the Add a model form describes (validated by the importer)."""
    names = tuple(part.strip() for part in labels.split(",") if part.strip())
    if not modalities:
        raise ModelImportError("choose at least one modality the model reads")
    return ImportRequest(
        model_id=model_id.strip(),
        labels=names,
        positive=positive.strip() or None,
        modalities=tuple(modalities),
        body_part=body_part.strip() or "unknown",
        input_size=None if upload.signature.input_size else input_size,
        layout=None if upload.signature.layout else layout,
        color=color,
        normalization=NORMALIZATIONS[normalization],
        activation=activation,  # type: ignore[arg-type]
        output=upload.signature.output_name if upload.signature else None,
        source_name=plain_name(upload.name, "model.onnx"),
        limits=LIMITS,
    )


def suggested_id(name: str) -> str:
    stem = plain_name(name, "model.onnx").rsplit(".", 1)[0].lower()
    return re.sub(r"[^a-z0-9._-]+", "-", stem).strip("-._")[:64] or "my-model"


def save(prepared: PreparedModel) -> Path:
    """Add Model page, where :func:`saving_allowed`: the model into the models folder."""
    if not saving_allowed():
        raise ModelImportError(f"saving models is off here (set {SAVE_ENV}=1 on your machine)")
    folder = install(prepared, models_dir())
    remove(prepared.model_id)  # the folder serves it now, to every session
    registry_for.clear()
    return folder


def figures_line(zoo: Registry, card: ModelCard) -> str:
    """What the page says of an imported model's figures: its AUC and where it was
    measured, or that it was not."""
    if not card.evaluated:
        return "Not evaluated: no figures are shown for it."
    where = card.raw.get("provenance", {}).get("evaluated_on", "the labelled set")
    auc = "macro AUC over its labels" if card.is_multilabel else "AUC"
    return f"{auc} {auc_of(zoo, card.id, 'validation')} on {where}"
