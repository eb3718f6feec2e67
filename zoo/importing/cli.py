"""``python -m zoo import``: bring an outside model into the zoo, evaluated when asked.

Asks on the terminal only for what the file does not say; without a terminal, a missing
answer ends the import with the flag to pass.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from zoo.errors import ModelImportError
from zoo.importing.convert import model_bytes, model_format
from zoo.importing.importer import Ask, ImportRequest, install, prepare_import, refuse_to_ask


def add_import_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "import",
        help="add an outside model (ONNX, Keras, PyTorch) to the zoo, with a card",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("model", type=Path, help="ONNX file, Keras model, or PyTorch model")
    parser.add_argument("--id", required=True, dest="model_id", help="the new model's id")
    parser.add_argument("--labels", required=True, help="L1,L2,... in the order of the outputs")
    parser.add_argument("--positive", help="a binary model's positive label")
    parser.add_argument(
        "--select", help="a multi-label model: import this one label as a binary model"
    )
    parser.add_argument(
        "--multilabel",
        action="store_true",
        help="each label on its own (a sigmoid per label), each with its own threshold; "
        "read from the graph when it ends in a sigmoid",
    )
    parser.add_argument("--modality", default="OT", help="DICOM modality codes, e.g. CR,DX")
    parser.add_argument("--body-part", default="unknown")
    parser.add_argument("--name", help="display name (default: the id)")
    parser.add_argument("--recipe", type=Path, help="preprocessing recipe JSON (card schema)")
    parser.add_argument("--input-size", type=int, help="pixels per side")
    parser.add_argument("--color", choices=("grey", "rgb"))
    parser.add_argument("--scale", type=float, help="x * scale, x in [0, 1]")
    parser.add_argument("--mean", help="per-channel mean(s), comma-separated")
    parser.add_argument("--std", help="per-channel std(s), comma-separated")
    parser.add_argument("--layout", choices=("NCHW", "NHWC"), help="if the shape cannot tell")
    parser.add_argument("--activation", choices=("softmax", "sigmoid", "none"))
    parser.add_argument("--output", help="the graph output holding the class scores")
    parser.add_argument("--architecture", help="PyTorch state dicts: densenet121-xrv, ...")
    parser.add_argument("--source", help="where the model and its training data come from")
    parser.add_argument("--licence", help="the model's licence")
    parser.add_argument("--citation", help="how to cite it")
    parser.add_argument("--evaluate", type=Path, help="CSV path,label[,group][,metadata...]")
    parser.add_argument("--models-dir", type=Path, dest="import_models_dir")
    parser.add_argument("--replace", action="store_true", help="overwrite a model of that id")
    parser.set_defaults(handler=run_import)


def run_import(args: argparse.Namespace) -> int:
    from zoo.registry import models_dir

    started = time.perf_counter()
    target = args.import_models_dir or args.models_dir or models_dir()
    data = model_bytes(args.model, architecture=args.architecture, input_size=args.input_size)
    request = ImportRequest(
        model_id=args.model_id,
        labels=tuple(label.strip() for label in args.labels.split(",")),
        positive=args.positive,
        select=args.select,
        multilabel=args.multilabel,
        modalities=tuple(m.strip().upper() for m in args.modality.split(",") if m.strip()),
        body_part=args.body_part,
        name=args.name,
        recipe=_recipe(args.recipe),
        input_size=args.input_size,
        color=args.color,
        normalization=_normalization(args),
        activation=args.activation,
        output=args.output,
        source_name=args.model.name,
        source_format=model_format(args.model),
        source=args.source,
        licence=args.licence,
        citation=args.citation,
        layout=args.layout,
    )
    prepared = prepare_import(data, request, _terminal_ask())
    if args.evaluate:
        from zoo.importing.evaluation import evaluate_import
        from zoo.importing.labelled import labelled_items

        items = labelled_items(args.evaluate)
        prepared = evaluate_import(prepared, items, set_name=args.evaluate.name, progress=_progress)
    folder = install(prepared, target, replace_existing=args.replace)
    card = prepared.card
    print(f"imported {card['id']} into {folder} in {time.perf_counter() - started:.1f} s")
    print(f"  input: {card['preprocessing']['input_size']} {card['preprocessing']['layout']}, "
          f"output: {card['provenance']['output_transform']} → probabilities")  # fmt: skip
    if card["metrics"]:
        metric = card["metrics"]["validation"]
        print(f"  on {card['provenance']['evaluated_on']}: " + _headline(metric))
    else:
        print("  not evaluated: the dashboard shows no figures for it (see --evaluate)")
    return 0


def _headline(metrics: dict) -> str:
    """AUC with its CI for a binary model, macro AUC (with its CI for a multi-label one) and
    accuracy for a multiclass one."""
    auc, accuracy = metrics.get("auc"), metrics.get("accuracy")
    parts = []
    if isinstance(auc, dict) and auc.get("ci"):
        parts.append(f"AUC {auc['value']:.3f} (95% CI {auc['ci'][0]:.3f}–{auc['ci'][1]:.3f})")
    elif isinstance(metrics.get("macro_auc_ci"), dict) and metrics["macro_auc_ci"].get("ci"):
        macro = metrics["macro_auc_ci"]
        low, high = macro["ci"]
        parts.append(f"macro AUC {macro['value']:.3f} (95% CI {low:.3f}–{high:.3f})")
    elif isinstance(metrics.get("macro_auc"), float):
        parts.append(f"macro AUC {metrics['macro_auc']:.3f}")
    if isinstance(accuracy, dict) and accuracy.get("ci"):
        low, high = accuracy["ci"]
        parts.append(f"accuracy {accuracy['value']:.3f} (95% CI {low:.3f}–{high:.3f})")
    return ", ".join(parts) or "see the card"


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty() or done == total:
        end = "\n" if done == total else ""
        print(f"\r  scored {done}/{total}", end=end, file=sys.stderr)


def _terminal_ask() -> Ask:
    if not sys.stdin.isatty():
        return refuse_to_ask

    def ask(question: str, choices: Sequence[str]) -> str:
        hint = f" [{'/'.join(choices)}]" if choices else ""
        while True:
            answer = input(f"{question}{hint} ").strip()
            if not choices or answer in choices:
                return answer
            print(f"please answer one of {', '.join(choices)}", file=sys.stderr)

    return ask


def _recipe(path: Path | None) -> dict | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelImportError(f"--recipe {path.name}: cannot read it as JSON ({exc})") from exc
    if isinstance(data, dict) and "preprocessing" in data:  # a whole card or training recipe
        data = data["preprocessing"]
    if not isinstance(data, dict):
        raise ModelImportError(f"--recipe {path.name}: must be a JSON object")
    return data


def _normalization(args: argparse.Namespace) -> dict | None:
    if args.scale is None and args.mean is None and args.std is None:
        return None
    return {
        "scale": 1.0 if args.scale is None else args.scale,
        "mean": _numbers(args.mean, "--mean") if args.mean else [0.0],
        "std": _numbers(args.std, "--std") if args.std else [1.0],
    }


def _numbers(text: str, flag: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise ModelImportError(f"{flag} takes numbers separated by commas, got {text!r}") from None
