"""``python -m zoo``: list models, predict on files, evaluate on a labelled set, describe a
scan, import an outside model, work with a PACS (search, analyze, store results).

Exit status: 0 on success; 2 on bad input (the reason on stderr). A batch with some
unreadable files still scores the others, reports each bad one, and exits 2.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from zoo.errors import ZooError

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ZooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m zoo",
        description="MedZoo model zoo (research and teaching only; not for diagnosis).",
    )
    parser.add_argument("--models-dir", type=Path, help="model folder (default: zoo/models)")
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="the models with task, modality, labels, size")
    listing.add_argument("--json", action="store_true", help="one JSON object per model")
    listing.set_defaults(handler=_list)

    predicting = commands.add_parser("predict", help="score scans with one model")
    predicting.add_argument("--model", required=True, help="model id (see 'list')")
    predicting.add_argument("--json", action="store_true", help="one JSON object per line")
    predicting.add_argument("--threshold", type=float, help="override the card's threshold")
    _add_scan_options(predicting)
    predicting.add_argument("files", nargs="+", type=Path)
    predicting.set_defaults(handler=_predict)

    evaluating = commands.add_parser(
        "evaluate", help="metrics on a labelled set, or from a results file of zoo score"
    )
    evaluating.add_argument("--model", help="the model to run on --labels' files")
    evaluating.add_argument("--labels", type=Path, help="CSV with columns path,label")
    evaluating.add_argument(
        "--scores", type=Path, help="a results file (or folder) of python -m zoo score"
    )
    evaluating.add_argument(
        "--labels-column", default="label", help="with --scores: the column of true labels"
    )
    evaluating.add_argument("--by", help="with --scores: slice each model's figures by this")
    evaluating.add_argument("--out", type=Path, help="write per-file scores to this CSV")
    evaluating.add_argument("--threshold", type=float, help="override the card's threshold")
    evaluating.add_argument("--json", action="store_true", help="print the metrics as JSON")
    _add_scan_options(evaluating)
    evaluating.set_defaults(handler=_evaluate)

    info = commands.add_parser("info", help="what a scan is (no patient identifiers)")
    info.add_argument("--json", action="store_true")
    _add_scan_options(info)
    info.add_argument("file", type=Path)
    info.set_defaults(handler=_info)

    from zoo.importing.cli import add_import_command

    add_import_command(commands)
    from zoo.pacs.cli import add_pacs_command
    from zoo.scoring.cli import add_score_command

    add_pacs_command(commands)
    add_score_command(commands)
    return parser


def _add_scan_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--window", help="DICOM window preset (lung, bone, brain, ...)")
    parser.add_argument("--frame", type=int, help="frame of a multi-frame DICOM (from 0)")


def _registry(args: argparse.Namespace) -> Any:
    from zoo.registry import Registry

    registry = Registry(args.models_dir)
    for folder, problem in registry.problems.items():
        print(f"warning: model folder {folder!r} skipped: {problem}", file=sys.stderr)
    return registry


def _list(args: argparse.Namespace) -> int:
    registry = _registry(args)
    rows = [
        {
            "id": e.card.id,
            "task": e.card.task,
            "modality": list(e.card.modalities),
            "labels": list(e.card.labels),
            "bytes": e.card.file.bytes,
            "version": e.card.version,
        }
        for e in registry.entries()
    ]
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return EXIT_OK
    if not rows:
        print(f"No models in {registry.root}. See README.md ('Build the zoo') to make some.")
        return EXIT_OK
    _print_table(
        ["id", "task", "modality", "labels", "size"],
        [
            [
                r["id"],
                r["task"],
                ",".join(r["modality"]),
                ", ".join(r["labels"]),
                f"{r['bytes'] / 1e6:.1f} MB",
            ]
            for r in rows
        ],
    )
    return EXIT_OK


def _load(path: Path, args: argparse.Namespace) -> Any:
    from zoo.imaging import load_scan

    try:
        data = path.read_bytes()
    except OSError as exc:
        from zoo.errors import ScanError

        raise ScanError(f"{path}: cannot read the file ({exc.strerror})") from exc
    return load_scan(data, filename=path.name, frame=args.frame, window=args.window)


def _score_files(
    args: argparse.Namespace, paths: Sequence[Path]
) -> tuple[list[tuple[Path, Any]], list[tuple[Path, str]]]:
    from zoo.runtime import predict

    registry = _registry(args)
    registry.get(args.model)  # an unknown id fails before any file is read
    scored: list[tuple[Path, Any]] = []
    failed: list[tuple[Path, str]] = []
    for path in paths:
        try:
            scan = _load(path, args)
            (prediction,) = predict(args.model, [scan], registry=registry, threshold=args.threshold)
        except ZooError as exc:
            failed.append((path, str(exc)))
            print(f"error: {path}: {exc}", file=sys.stderr)
            continue
        scored.append((path, prediction))
    return scored, failed


def _predict(args: argparse.Namespace) -> int:
    scored, failed = _score_files(args, args.files)
    for path, p in scored:
        if args.json:
            record = {
                "file": str(path),
                "model": p.model_id,
                "probabilities": p.probabilities,
                "label": p.label,
                "score": p.score,
                "threshold": p.threshold,
            }
            if p.label_thresholds:  # a multi-label model: each label at its own threshold
                record |= {"findings": list(p.findings), "thresholds": p.label_thresholds}
            print(json.dumps(record))
        elif p.label_thresholds:
            probs = ", ".join(
                f"{k}={v:.3f}/{p.label_thresholds[k]:.3f}" for k, v in p.probabilities.items()
            )
            print(f"{path}: findings {', '.join(p.findings) or 'none'}  [{probs}]")
        else:
            probs = ", ".join(f"{k}={v:.3f}" for k, v in p.probabilities.items())
            used = "" if p.threshold is None else f" (threshold {p.threshold:.3f})"
            print(f"{path}: {p.label}{used}  [{probs}]")
    return EXIT_BAD_INPUT if failed else EXIT_OK


def _evaluate(args: argparse.Namespace) -> int:
    from zoo.errors import ScanError
    from zoo.evaluation import evaluate
    from zoo.labels import label_row

    if args.scores is not None:
        return _evaluate_scores(args)
    if args.model is None or args.labels is None:
        raise ScanError("give --model and --labels, or --scores (a results file)")

    rows = _read_label_csv(args.labels)
    label_of = {args.labels.parent / path: label for path, label in rows}
    registry = _registry(args)
    card = registry.card(args.model)
    if card.is_multilabel:  # a case's labels joined by '|'
        unknown = sorted({part for _, text in rows for part in label_row(text, card.labels)[1]})
    else:
        unknown = sorted({label for _, label in rows} - set(card.labels))
    if unknown:
        raise ScanError(
            f"{args.labels}: labels {unknown} are not among the model's {list(card.labels)}"
        )
    scored, failed = _score_files(args, list(label_of))
    if not scored:
        raise ScanError("no file in the labelled set could be scored")
    y_true = np.array(
        [
            label_row(label_of[path], card.labels)[0]
            if card.is_multilabel
            else card.labels.index(label_of[path])
            for path, _ in scored
        ]
    )
    probabilities = np.array([[p.probabilities[k] for k in card.labels] for _, p in scored])
    threshold = card.default_threshold if args.threshold is None else args.threshold
    report = evaluate(card, y_true, probabilities, threshold=threshold)
    if args.out:
        _write_scores(args.out, card.labels, scored, label_of)
    if args.json:
        print(json.dumps({"model": card.id, "n": len(scored), "failed": len(failed), **report}))
    else:
        print(f"{card.id} on {len(scored)} scans ({len(failed)} unreadable)")
        _print_table(["metric", "value", "95% CI"], _report_rows(report))
    return EXIT_BAD_INPUT if failed else EXIT_OK


def _evaluate_scores(args: argparse.Namespace) -> int:
    from zoo.scoring.evaluate import evaluate_results

    report = evaluate_results(args.scores, _registry(args), args.labels_column, args.by)
    if args.json:
        print(json.dumps(report))
        return EXIT_OK
    for model_id, entry in report["models"].items():
        print(f"{model_id} on {entry['n']} labelled files ({entry['left_out']} left out)")
        if "metrics" in entry:
            _print_table(["metric", "value", "95% CI"], _report_rows(entry))
    for model_id, section in report.get("subgroups", {}).items():
        print(f"{model_id} by {section['column']} (threshold {_fmt(section['threshold'])}):")
        _print_table(["value", "n", "positives", "AUC", "sensitivity", "specificity"],
                     _subgroup_rows(section["rows"]))  # fmt: skip
        for gap in (section.get("gaps") or {}).values():
            if gap and gap.get("flagged"):
                print(
                    f"  flagged: {gap['metric']} {gap['best']} {_fmt(gap['best_estimate'])} vs "
                    f"{gap['worst']} {_fmt(gap['worst_estimate'])} (difference 95% CI "
                    f"{_fmt(gap['ci_low'])}–{_fmt(gap['ci_high'])}, {gap['method']})"
                )
    for test in report["comparisons"]:
        print(
            f"paired DeLong, '{test['label']}': {test['model_a']} {_fmt(test['auc_a'])} vs "
            f"{test['model_b']} {_fmt(test['auc_b'])} on {test['cases']} files, "
            f"p = {_fmt(test['p_value'], '{:.4f}')}"
        )
    return EXIT_OK


def _read_label_csv(path: Path) -> list[tuple[str, str]]:
    from zoo.errors import ScanError

    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"path", "label"} <= set(reader.fieldnames):
                raise ScanError(f"{path}: needs the columns path,label (got {reader.fieldnames})")
            rows = [(row["path"], row["label"]) for row in reader]
    except (OSError, UnicodeDecodeError) as exc:
        raise ScanError(f"{path}: cannot read the labels CSV ({exc})") from exc
    if not rows:
        raise ScanError(f"{path}: the labels CSV has no rows")
    return rows


def _write_scores(
    out: Path, labels: Sequence[str], scored: list[tuple[Path, Any]], label_of: dict[Path, str]
) -> None:
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", *[f"p_{k}" for k in labels], "predicted"])
        for path, p in scored:
            probs = [f"{p.probabilities[k]:.6f}" for k in labels]
            predicted = "|".join(p.findings) if p.label_thresholds else p.label
            writer.writerow([str(path), label_of[path], *probs, predicted])


def _subgroup_rows(rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    """One line per slice: each figure with its 95% CI (n/a where a slice lacks a class)."""

    def with_ci(row: dict[str, Any], name: str) -> str:
        value = row.get(name)
        if value is None:
            return "n/a"
        return f"{_fmt(value)} ({_fmt(row.get(f'{name}_low'))}–{_fmt(row.get(f'{name}_high'))})"

    figures = ("auc", "sensitivity", "specificity")
    return [
        [str(row["value"]), str(row["n"]), str(row["positives"])]
        + [with_ci(row, name) for name in figures]
        for row in rows
    ]


def _report_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, value in report["metrics"].items():
        if isinstance(value, dict):
            ci = value.get("ci")
            # a set with one class has no AUC: value and bounds come back as None
            text = f"{_fmt(ci[0])}–{_fmt(ci[1])}" if ci and None not in ci else "n/a" if ci else ""
            rows.append([name, _fmt(value.get("value")), text])
        else:
            rows.append([name, _fmt(value), ""])
    return rows


def _fmt(value: Any, pattern: str = "{:.3f}") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return "nan" if np.isnan(value) else pattern.format(value)
    return str(value)


def _info(args: argparse.Namespace) -> int:
    from zoo.imaging import describe_scan

    description = describe_scan(_load(args.file, args))
    if args.json:
        print(json.dumps({"file": str(args.file), **description}, default=str))
    else:
        _print_table(["field", "value"], [[k, str(v)] for k, v in description.items()])
    return EXIT_OK


def _print_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO | None = None
) -> None:
    out = out or sys.stdout
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=False)]
    for row in (header, ["-" * w for w in widths], *rows):
        print(
            "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)).rstrip(), file=out
        )
