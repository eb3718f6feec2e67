"""Bring an outside ONNX classifier into the zoo, with a card like the shipped ones.

:func:`prepare_import` reads the file safely (:mod:`zoo.importing.safety`), reads what the
graph says (:mod:`zoo.importing.signature`), asks (through ``ask``) only for what it cannot
read, and returns the served ONNX bytes with an unevaluated card. :func:`evaluate_import`
scores a labelled set and fills the card's figures (:mod:`zoo.importing.evaluation`).
:func:`install` writes the folder into a models directory in one rename, so a failed
import leaves the zoo as it was. The dashboard keeps the same files in memory instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from zoo.card import ModelCard, file_entry, parse_card
from zoo.errors import (
    CardError,
    ModelImportError,
    ModelIntegrityError,
    ModelRuntimeError,
    RecipeError,
)
from zoo.importing.safety import Limits, load_untrusted
from zoo.importing.signature import (
    EMBEDDING,
    PROBABILITIES,
    Activation,
    Signature,
    opset_of,
    read_signature,
    with_serving_outputs,
)
from zoo.preprocess import Recipe
from zoo.registry import ModelEntry
from zoo.runtime.session import get_session

#: Called with a question and its allowed answers; returns one of them. The CLI asks on
#: the terminal; elsewhere :func:`refuse_to_ask` turns the question into an error.
Ask = Callable[[str, Sequence[str]], str]

UNEVALUATED_NOTE = (
    "Not evaluated: imported without a labelled set, so MedZoo shows no figures for it. "
    "Import it again with --evaluate labels.csv to measure it."
)
RESEARCH_ONLY = "Research and teaching only; not for diagnosis."


@dataclass(frozen=True)
class ImportRequest:
    """What the user says about the model (the rest is read from the file)."""

    model_id: str
    labels: tuple[str, ...]
    positive: str | None = None
    modalities: tuple[str, ...] = ("OT",)
    body_part: str = "unknown"
    name: str | None = None
    recipe: dict[str, Any] | None = None  # a whole preprocessing recipe (card schema)
    input_size: int | None = None
    color: str | None = None
    normalization: dict[str, Any] | None = None  # {"scale", "mean", "std"}
    activation: Activation | None = None  # how the scores become probabilities
    output: str | None = None  # which graph output holds the scores
    layout: str | None = None  # NCHW or NHWC, when the input's shape cannot tell
    #: For a multi-label model (``labels`` names every output): import this one label as a
    #: binary model of it against the rest.
    select: str | None = None
    #: Each label on its own (a sigmoid per label), each with its own threshold; read from
    #: the graph when it ends in a sigmoid over several labels.
    multilabel: bool = False
    source_name: str = "model.onnx"  # the imported file's name (shown as provenance)
    source_format: str = "onnx"  # onnx, keras or torch: what the file was before conversion
    source: str | None = None
    licence: str | None = None
    citation: str | None = None
    limits: Limits = field(default_factory=Limits)


def request_like(card: ModelCard, model_id: str, **changes: Any) -> ImportRequest:
    """A request describing a model like ``card``'s (labels, modalities, recipe, scores
    output): to import a zoo model's file again, under ``model_id``."""
    return replace(
        ImportRequest(
            model_id=model_id,
            labels=card.labels,
            positive=card.positive_label,
            modalities=card.modalities,
            body_part=card.body_part,
            recipe=card.raw["preprocessing"],
            output=card.outputs.probabilities,
        ),
        **changes,
    )


@dataclass(frozen=True)
class PreparedModel:
    """An imported model ready to serve: its ONNX bytes and card (plus any extra files)."""

    card: dict[str, Any]
    onnx_bytes: bytes
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def model_id(self) -> str:
        return self.card["id"]

    def parsed(self) -> ModelCard:
        return parse_card(self.card)


def refuse_to_ask(question: str, choices: Sequence[str]) -> str:
    raise ModelImportError(f"{question} (one of: {', '.join(choices)})")


def prepare_import(data: bytes, request: ImportRequest, ask: Ask = refuse_to_ask) -> PreparedModel:
    """Check, inspect and wrap the ONNX model in ``data``; the card is unevaluated."""
    _check_request(request)
    model_labels = request.labels
    model = load_untrusted(data, request.limits)
    signature = read_signature(model, output=request.output)
    select = None if request.select is None else request.labels.index(request.select)
    binary = (len(request.labels) == 2 and not request.multilabel) or select is not None
    activation = _activation(signature, request, "binary" if binary else "multi", ask)
    task = "binary" if binary else _multi_task(signature, request, activation)
    recipe = _recipe(signature, request, ask)
    opset, nodes = opset_of(model), len(model.graph.node)  # as imported, for the card
    served = with_serving_outputs(model, signature, activation, select)
    if select is not None:  # the card describes the binary model served
        labels = (f"no_{request.select}", request.select)
        request = replace(request, labels=labels, positive=request.select)
    served_bytes = served.SerializeToString()
    served_opset = opset_of(served)
    del served
    selected = (
        {} if select is None else {"selected_from": {"labels": list(model_labels), "index": select}}
    )
    positive = request.positive or (request.labels[-1] if task == "binary" else None)
    per_label = (
        {label: {"default": 0.5, "operating_points": {}} for label in request.labels}
        if task == "multilabel"
        else None
    )
    card = {
        "schema_version": 1,
        "id": request.model_id,
        "name": request.name or request.model_id,
        "version": "1.0.0",
        "task": task,
        "labels": list(request.labels),
        "positive_label": positive,
        "modality": list(request.modalities),
        "body_part": request.body_part,
        "preprocessing": recipe.to_dict(),
        "outputs": {
            "probabilities": PROBABILITIES,
            **({"embedding": EMBEDDING} if signature.embedding else {}),
        },
        "architecture": {
            "name": "imported",
            "graph": {"nodes": nodes, "opset": opset},
        },
        "training_data": {
            "source": request.source or f"not stated (imported from {request.source_name})",
            "licence": request.licence or "not stated by whoever imported it",
            "citation": request.citation or "not stated",
            "split": "unknown: the model was trained outside MedZoo",
        },
        "metrics": {},
        "thresholds": {
            "default": 0.5,
            "operating_points": {},
            **({"per_label": per_label} if per_label else {}),
        },
        "calibration": {"method": "none"},
        "intended_use": RESEARCH_ONLY,
        "limitations": [RESEARCH_ONLY, UNEVALUATED_NOTE],
        "file": file_entry(served_bytes, opset=served_opset),
        "validation_predictions": None,
        "changelog": [
            {
                "version": "1.0.0",
                "date": date.today().isoformat(),
                "changes": f"imported from {request.source_name}",
            }
        ],
        "provenance": {
            "kind": "imported",
            "imported_from": request.source_name,
            "format": request.source_format,
            "evaluated": False,
            "output_transform": activation,
            **selected,
        },
    }
    card = as_json(card)
    if not _check_runs(card, served_bytes) and signature.embedding:
        del card["outputs"]["embedding"]  # not (N, D): no out-of-distribution summary from it
    return PreparedModel(card=card, onnx_bytes=served_bytes)


def as_json(card: dict[str, Any]) -> dict[str, Any]:
    """The card as it reads back from ``card.json`` (tuples as lists, no NaN)."""
    return json.loads(json.dumps(card, allow_nan=False))


def install(
    prepared: PreparedModel, models_dir: str | Path, *, replace_existing: bool = False
) -> Path:
    """Write the model's folder into ``models_dir``: all files, then one rename."""
    root = Path(models_dir)
    root.mkdir(parents=True, exist_ok=True)
    target = root / prepared.model_id
    if target.exists() and not replace_existing:
        raise ModelImportError(
            f"{target} already exists: choose another --id, or pass --replace to overwrite it"
        )
    staging = root / f".importing-{prepared.model_id}"
    _remove(staging)
    staging.mkdir()
    try:
        card = prepared.parsed()
        (staging / card.file.name).write_bytes(prepared.onnx_bytes)
        for name, content in prepared.files.items():
            if Path(name).name != name or name.startswith("."):
                raise ModelImportError(f"refusing to write {name!r}: not a plain file name")
            (staging / name).write_bytes(content)
        (staging / "card.json").write_text(json.dumps(prepared.card, indent=2, allow_nan=False))
        if target.exists():
            retired = root / f".replaced-{prepared.model_id}"
            _remove(retired)
            target.rename(retired)
            staging.rename(target)
            _remove(retired)
        else:
            staging.rename(target)
    finally:
        _remove(staging)
    return target


def with_evaluation(
    prepared: PreparedModel, card: dict[str, Any], files: dict[str, bytes]
) -> PreparedModel:
    """``prepared`` with an evaluated card and the files it names."""
    return replace(prepared, card=card, files={**prepared.files, **files})


def _remove(path: Path) -> None:
    if not path.exists():
        return
    for child in path.iterdir():
        child.unlink()
    path.rmdir()


#: Pixel scalings with a name: the model sees ``(x * scale - mean) / std``, x in [0, 1].
SCALINGS: dict[str, dict[str, Any]] = {
    "x in [0, 1]": {"scale": 1.0, "mean": [0.0], "std": [1.0]},
    "x in [0, 255]": {"scale": 255.0, "mean": [0.0], "std": [1.0]},
    "ImageNet mean and std": {
        "scale": 1.0,
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
    },
    "x in [-1, 1]": {"scale": 2.0, "mean": [1.0], "std": [1.0]},
}


def plain_name(name: str, fallback: str) -> str:
    """A file's name as the card may quote it: its last part, plain characters only (an
    upload's or a user's name is shown as text on every page)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9._ -]", "_", base)[:80] or fallback


_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
PLAIN_TEXT = re.compile(r"[A-Za-z0-9 .,()\-]{1,80}")


def _check_request(request: ImportRequest) -> None:
    if not _ID.match(request.model_id):
        raise ModelImportError(
            f"--id {request.model_id!r}: use 1-64 lowercase letters, digits, '.', '_' or '-'"
        )
    labels = request.labels
    if len(labels) < 2 or len(set(labels)) != len(labels) or not all(labels):
        raise ModelImportError(f"--labels needs at least two distinct names, got {list(labels)}")
    if request.select is not None:
        if request.multilabel:
            raise ModelImportError("--select imports one label as a binary model: not --multilabel")
        if request.select not in labels:
            raise ModelImportError(f"--select {request.select!r} is not one of {list(labels)}")
        if request.positive is not None:
            raise ModelImportError("--select makes the selected label the positive one")
    elif request.positive is not None:
        if len(labels) != 2 or request.multilabel:
            raise ModelImportError("--positive is for binary models (two labels)")
        if request.positive not in labels:
            raise ModelImportError(f"--positive {request.positive!r} is not one of {list(labels)}")
    for label in labels:
        if not re.fullmatch(r"[A-Za-z0-9_\- ]{1,64}", label):
            raise ModelImportError(
                f"label {label!r}: use letters, digits, '_', '-' or spaces (64 at most)"
            )
    # shown on every page as plain words: no markup, links or paths
    for flag, value in (("--name", request.name), ("--body-part", request.body_part)):
        if value is not None and not PLAIN_TEXT.fullmatch(value):
            raise ModelImportError(
                f"{flag} {value!r}: use letters, digits, spaces and . , ( ) - (80 at most)"
            )
    for code in request.modalities:
        if not re.fullmatch(r"[A-Z]{2,4}", code):
            raise ModelImportError(f"--modality {code!r}: DICOM modality codes such as CR, DX, CT")


def _activation(signature: Signature, request: ImportRequest, task: str, ask: Ask) -> Activation:
    n_labels = len(request.labels)
    if signature.scores is not None and signature.scores not in (n_labels, 1):
        raise ModelImportError(
            f"output {signature.output_name!r} gives {signature.scores} scores for "
            f"{n_labels} labels ({list(request.labels)})"
        )
    if signature.scores == 1 and task != "binary":
        raise ModelImportError(
            f"output {signature.output_name!r} gives one score: a binary model takes two labels"
        )
    if request.select is not None and request.activation == "softmax":
        raise ModelImportError("--select takes one label of a multi-label (sigmoid) model")
    if request.activation is not None:
        return request.activation
    if (request.select is not None or request.multilabel) and signature.activation is None:
        return "sigmoid"  # a multi-label model's logits: a sigmoid per label
    if signature.activation == "none":
        return "none"  # the graph ends in a softmax or a sigmoid
    if signature.scores == 1:
        return "sigmoid"  # one logit: only a sigmoid makes it a probability
    answer = ask(
        f"output {signature.output_name!r} holds logits (no softmax or sigmoid at the end of "
        "the graph): turn them into probabilities with --activation softmax (one label per "
        "image) or sigmoid (each label on its own)?",
        ("softmax", "sigmoid"),
    )
    return answer  # type: ignore[return-value]


def _multi_task(signature: Signature, request: ImportRequest, activation: Activation) -> str:
    """Multiclass (one label per image, softmax) or multilabel (a sigmoid per label)."""
    sigmoid = activation == "sigmoid" or (activation == "none" and signature.final_op == "Sigmoid")
    if request.multilabel and (activation == "softmax" or signature.final_op == "Softmax"):
        raise ModelImportError(
            "--multilabel needs a probability per label (sigmoid); this model's scores go "
            "through a softmax, which makes one label per image (multiclass)"
        )
    return "multilabel" if request.multilabel or sigmoid else "multiclass"


def _recipe(signature: Signature, request: ImportRequest, ask: Ask) -> Recipe:
    if request.recipe is not None:
        data = dict(request.recipe)
        data.setdefault("layout", signature.layout or request.layout or "NHWC")
    else:
        layout = (
            signature.layout
            or request.layout
            or ask(
                "the input's layout cannot be read from its shape: channels first (NCHW) or "
                "last (NHWC)? (--layout)",
                ("NCHW", "NHWC"),
            )
        )
        size = signature.input_size
        if request.input_size is not None:
            size = (request.input_size, request.input_size)
        if size is None:
            side = ask(
                "the input size is not fixed in the graph: pixels per side? (--input-size)", ()
            )
            size = (_int(side, "--input-size"), _int(side, "--input-size"))
        channels = signature.channels or 3
        color = request.color or ("grey" if channels == 1 else None)
        if color is None:
            color = ask(
                "three input channels: a grey scan copied three times (grey) or a colour "
                "image (rgb)? (--color)",
                ("grey", "rgb"),
            )
        normalization = request.normalization
        if normalization is None:
            answer = ask(
                "how does the model want pixel values? Give --scale/--mean/--std, or a "
                "--recipe; 'unit' means x in [0, 1] (scale 1, mean 0, std 1)",
                ("unit", "imagenet"),
            )
            normalization = SCALINGS[
                "ImageNet mean and std" if answer == "imagenet" else "x in [0, 1]"
            ]
        data = {
            "input_size": list(size),
            "channels": channels,
            "color": color,
            "aspect": "pad",
            "normalization": normalization,
            "layout": layout,
        }
    try:
        recipe = Recipe.from_dict(data)
    except RecipeError as exc:
        raise ModelImportError(f"preprocessing: {exc}") from exc
    if signature.layout and recipe.layout != signature.layout:
        raise ModelImportError(
            f"the recipe says {recipe.layout} but the input is {signature.layout}"
        )
    if signature.channels and recipe.channels != signature.channels:
        raise ModelImportError(
            f"the recipe gives {recipe.channels} channels; the input takes {signature.channels}"
        )
    if signature.input_size and tuple(recipe.input_size) != tuple(signature.input_size):
        raise ModelImportError(
            f"the recipe's input size {list(recipe.input_size)} differs from the graph's "
            f"{list(signature.input_size)}"
        )
    return recipe


def _int(text: str, flag: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ModelImportError(f"{flag} must be a whole number of pixels, got {text!r}") from None
    if not 8 <= value <= 2048:
        raise ModelImportError(f"{flag} must lie between 8 and 2048, got {value}")
    return value


def _check_runs(card: dict[str, Any], data: bytes) -> bool:
    """Serve the model as the zoo will (its session stays cached for the first use) and
    run one blank image through it; returns whether its embedding output is (N, D)."""
    import numpy as np

    try:
        parsed = parse_card(card)
    except CardError as exc:
        raise ModelImportError(f"the card would be invalid: {exc}") from exc
    entry = ModelEntry(card=parsed, directory=None, files={parsed.file.name: data})
    try:
        session = get_session(entry)
    except ModelIntegrityError as exc:
        raise ModelImportError(f"ONNX Runtime cannot load the model: {_first_line(exc)}") from exc
    recipe = parsed.preprocessing
    height, width = recipe.input_size
    shape = (
        (1, height, width, recipe.channels)
        if recipe.layout == "NHWC"
        else (1, recipe.channels, height, width)
    )
    try:
        values = session.run(np.zeros(shape, np.float32))
    except ModelRuntimeError as exc:
        raise ModelImportError(f"the model fails on a blank image: {_first_line(exc)}") from exc
    probabilities = np.asarray(values[PROBABILITIES], dtype=np.float64).reshape(1, -1)
    labels = len(parsed.labels)
    if probabilities.shape[1] not in (1, labels):
        raise ModelImportError(
            f"the model gives {probabilities.shape[1]} scores for {labels} labels"
        )
    if (
        not np.all(np.isfinite(probabilities))
        or probabilities.min() < -1e-6
        or probabilities.max() > 1 + 1e-6
    ):
        raise ModelImportError(
            "the model's output is not a probability after the chosen activation "
            f"(got {probabilities.round(4).tolist()}): check --activation"
        )
    return EMBEDDING in values and np.asarray(values[EMBEDDING]).ndim == 2


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
