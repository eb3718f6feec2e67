"""``python -m pipeline``: train a recipe, export a run into the zoo, rebuild the zoo.

    python -m pipeline train RECIPE [--data DIR] [--epochs N] [--smoke]
    python -m pipeline export RUN_DIR --to zoo/models/ID [--int8 | --int8-weights | --fp16]
    python -m pipeline trust RUN_DIR --to zoo/models/ID [--shared DIR] [--no-heatmaps]
    python -m pipeline build-zoo [--smoke] [--only ID ...] [--models DIR] [--candidate]

RECIPE is a path or a shipped recipe id (``training/recipes/<id>.json``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train one recipe into runs/<id>/")
    train.add_argument("recipe")
    train.add_argument("--data", type=Path, help="data folder (overrides the recipe's)")
    train.add_argument("--epochs", type=int)
    train.add_argument("--smoke", action="store_true", help="one epoch on tiny synthetic data")
    train.add_argument("--no-search", action="store_true", help="skip the hyperparameter search")
    train.add_argument("--runs", type=Path, default=Path("runs"))
    train.add_argument(
        "--strategy",
        choices=("default", "mirrored", "multiworker"),
        default="default",
        help="tf.distribute: mirrored = every GPU here; multiworker = the machines in TF_CONFIG",
    )
    train.add_argument(
        "--stream",
        type=Path,
        dest="stream_dir",
        help="write the preprocessed inputs here as TFRecord shards and stream them "
        "(for sets too large for memory, such as ChestX-ray14)",
    )
    export = commands.add_parser("export", help="export a run folder into the zoo")
    export.add_argument("run_dir", type=Path)
    export.add_argument("--to", required=True, type=Path, dest="target")
    export.add_argument("--data", type=Path)
    export.add_argument(
        "--candidate",
        action="store_true",
        help="validation figures only, the test side left unscored: for choosing between "
        "trainings; without it the model ships and its test side is scored once",
    )
    variant = export.add_mutually_exclusive_group()
    variant.add_argument("--int8", action="store_const", const="int8", dest="variant")
    variant.add_argument("--fp16", action="store_const", const="float16", dest="variant")
    variant.add_argument(
        "--int8-weights",
        action="store_const",
        const="int8-weights",
        dest="variant",
        help="int8 weights, float32 arithmetic: a quarter of the size, float32's outputs",
    )
    trust = commands.add_parser(
        "trust",
        help="measure an exported model's trust signals (heatmap check, calibration, OOD, "
        "TTA, localization, subgroups) and write them into its card",
    )
    trust.add_argument("run_dir", type=Path)
    trust.add_argument("--to", required=True, type=Path, dest="target")
    trust.add_argument("--data", type=Path)
    trust.add_argument(
        "--shared", type=Path, help="folder of other kinds of scans (default ../shared/data)"
    )
    trust.add_argument(
        "--no-heatmaps", action="store_true", help="skip the GradientTape heatmap check"
    )
    populations = commands.add_parser(
        "populations",
        help="score a shipped model on other populations and on each collection of its "
        "test side, as its recipe's card asks, and write the figures into its card",
    )
    populations.add_argument("model_dir", type=Path)
    populations.add_argument(
        "--shared", type=Path, help="the shared data folder (default ../shared/data)"
    )
    card_text = commands.add_parser(
        "card-text",
        help="refresh a shipped card's prose (limitations, what was tried, population) and "
        "quality targets from its recipe; its figures stay as export measured them",
    )
    card_text.add_argument("model_dir", type=Path)
    build = commands.add_parser("build-zoo", help="train and export every shipped recipe")
    build.add_argument("--smoke", action="store_true")
    build.add_argument("--only", nargs="*", help="recipe ids to rebuild (default: all)")
    build.add_argument("--models", type=Path, default=Path("zoo/models"))
    build.add_argument(
        "--candidate",
        action="store_true",
        help="score validation only (no test side): to time the build or check that it "
        "reproduces the zoo, into another --models folder",
    )
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except (ValueError, FileNotFoundError) as exc:  # DataError, ZooError, bad recipes
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:  # the serving-only install has no TensorFlow
        print(
            f"error: {exc.name} is not installed; training and export need "
            "`python3 -m pip install -r requirements-train.txt`",
            file=sys.stderr,
        )
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "train":
        from training.recipe import load_recipe

        recipe = load_recipe(args.recipe)  # a bad name is reported before TensorFlow loads
        from training.train import train as run_training

        started = time.perf_counter()
        run_dir = run_training(
            recipe,
            data_dir=args.data,
            epochs=args.epochs,
            smoke=args.smoke,
            runs_dir=args.runs,
            search=not args.no_search,
            strategy=args.strategy,
            stream_dir=args.stream_dir,
        )
        print(f"trained {args.recipe} in {time.perf_counter() - started:.0f} s → {run_dir}")
        return 0
    if args.command == "export":
        from export.package import export_run

        summary = export_run(
            args.run_dir,
            args.target,
            variant=args.variant or "float32",
            data_dir=args.data,
            progress=lambda line: print(line, flush=True),
            ship=not args.candidate,
        )
        _print_summary(summary)
        return 0
    if args.command == "trust":
        from export.trust import add_trust, summary_lines

        started = time.perf_counter()
        card = add_trust(
            args.run_dir,
            args.target,
            data_dir=args.data,
            shared_dir=args.shared,
            heatmaps=not args.no_heatmaps,
            progress=lambda line: print(line, flush=True),
        )
        for line in summary_lines(card):
            print(f"  {line}")
        print(f"trust signals of {card['id']} written in {time.perf_counter() - started:.0f} s")
        return 0
    if args.command == "populations":
        from export.population import add_population_sections, population_lines
        from training.recipe import load_recipe

        card_id = json.loads((args.model_dir / "card.json").read_text())["id"]
        card = add_population_sections(
            args.model_dir,
            load_recipe(card_id).card,
            shared_dir=args.shared,
            progress=lambda line: print(line, flush=True),
        )
        for line in population_lines(card):
            print(f"  {line}")
        return 0
    if args.command == "card-text":
        from export.card_text import refresh_card_text
        from training.recipe import load_recipe

        card_id = json.loads((args.model_dir / "card.json").read_text())["id"]
        card = refresh_card_text(args.model_dir, load_recipe(card_id).card)
        print(f"card text of {card['id']} v{card['version']} refreshed from its recipe")
        return 0
    from pipeline.build_zoo import build_zoo

    build_zoo(smoke=args.smoke, only=args.only, models_dir=args.models, candidate=args.candidate)
    return 0


def _print_summary(summary: dict) -> None:
    card, result = summary["card"], summary["export"]
    validation = card["metrics"]["validation"]
    headline = validation.get("auc") or {"value": validation.get("macro_auc")}
    print(
        f"exported {card['id']}: {card['file']['bytes'] / 1e6:.1f} MB, opset {result.opset}, "
        f"parity {result.max_probability_error:.1e}, CAM r={result.cam_correlation:.4f}, "
        f"AUC {headline['value']:.3f}, {card['latency_ms']} ms/image"
    )
    print(f"  nodes: {sorted(result.node_counts.items(), key=lambda kv: -kv[1])[:6]}")


if __name__ == "__main__":
    sys.exit(main())
