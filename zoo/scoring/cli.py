"""``python -m zoo score``: every file of a folder, manifest or URI through one or more
models, into Parquet; ``--engine ray`` on Ray Data. Rerun the same command to finish an
interrupted run: only what the output lacks is scored."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_score_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "score", help="score a whole archive into Parquet (local, or on Ray)"
    )
    parser.add_argument("--model", action="append", required=True, dest="models")
    parser.add_argument(
        "--input", required=True, help="a folder, a CSV/Parquet manifest (path column), a URI"
    )
    parser.add_argument("--out", required=True, type=Path, help="results (a Parquet folder)")
    parser.add_argument("--engine", choices=("local", "ray"), default="local")
    parser.add_argument("--address", help="an existing Ray cluster (default: a local one)")
    parser.add_argument("--workers", type=int, default=2, help="Ray actors (one CPU each)")
    parser.add_argument(
        "--batch-size", type=int, default=64, help="files per batch (and per output part)"
    )
    parser.add_argument("--embeddings", action="store_true", help="add each file's embedding")
    parser.set_defaults(handler=_score)


def _score(args: argparse.Namespace) -> int:
    import sys

    from zoo.registry import Registry
    from zoo.scoring.engines import print_progress, score_local, score_ray
    from zoo.scoring.inputs import list_inputs

    registry = Registry(args.models_dir)
    for model_id in args.models:
        registry.get(model_id)  # an unknown model fails before anything is read
    items = list_inputs(args.input)
    if args.engine == "ray":
        summary = score_ray(
            items,
            args.models,
            args.out,
            registry,
            address=args.address,
            workers=args.workers,
            batch_size=args.batch_size,
            embeddings=args.embeddings,
            progress=print_progress,
        )
    else:
        summary = score_local(
            items,
            args.models,
            args.out,
            registry,
            batch_size=args.batch_size,
            embeddings=args.embeddings,
            progress=print_progress,
        )
    print(
        f"scored {summary.scored} files ({summary.skipped} already in {args.out}) in "
        f"{summary.seconds:.1f} s: {summary.images_per_second:.1f} images/s",
        file=sys.stderr,
    )
    return 0
