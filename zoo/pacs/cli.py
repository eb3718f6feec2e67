"""``python -m zoo pacs``: find studies on a DICOMweb server, analyze one, store the results.

The server and its credentials come from MEDZOO_PACS_URL, MEDZOO_PACS_USER,
MEDZOO_PACS_PASSWORD and MEDZOO_PACS_TOKEN (``--url`` overrides the first). Patient
identifiers are printed only with ``--identifiers``; credentials never.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path


def add_pacs_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "pacs", help="search a DICOMweb PACS, analyze a study, store the results back"
    )
    parser.add_argument("--url", help="the server's DICOMweb root (default: $MEDZOO_PACS_URL)")
    verbs = parser.add_subparsers(dest="pacs_command", required=True)

    search = verbs.add_parser("search", help="studies matching the filters")
    search.add_argument("--patient", help="patient id")
    search.add_argument("--modality", help="a modality in the study (CR, DX, CT, MR...)")
    search.add_argument("--since", type=date.fromisoformat, help="studies on or after YYYY-MM-DD")
    search.add_argument("--until", type=date.fromisoformat, help="studies on or before")
    search.add_argument("--accession", help="accession number")
    search.add_argument("--identifiers", action="store_true", help="show patient identifiers")
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=_search)

    analyze = verbs.add_parser("analyze", help="a study's images through one model")
    analyze.add_argument("--study", required=True, help="StudyInstanceUID")
    analyze.add_argument("--series", help="only this SeriesInstanceUID")
    analyze.add_argument("--model", required=True, help="model id")
    analyze.add_argument("--store", action="store_true", help="send the result objects back")
    analyze.add_argument("--out", type=Path, help="write the result objects into this folder")
    analyze.add_argument("--json", action="store_true")
    analyze.set_defaults(handler=_analyze)


def _client(args: argparse.Namespace):
    from zoo.pacs import PacsClient, PacsSettings

    return PacsClient(PacsSettings.from_environment(url=args.url))


def _search(args: argparse.Namespace) -> int:
    studies = _client(args).search(
        patient_id=args.patient,
        modality=args.modality,
        since=args.since,
        until=args.until,
        accession=args.accession,
    )
    rows = [study.row(identifiers=args.identifiers) for study in studies]
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    if not rows:
        print("No study matches.")
        return 0
    for row in rows:
        print("  ".join(f"{key}: {value}" for key, value in row.items()))
    return 0


def _analyze(args: argparse.Namespace) -> int:
    from zoo.pacs.analyze import analyze_study
    from zoo.registry import Registry
    from zoo.results import to_bytes

    client = _client(args)
    analysis = analyze_study(
        client,
        args.study,
        args.model,
        Registry(args.models_dir),
        series_uid=args.series,
        store=args.store,
        progress=_progress,
    )
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        for image in analysis.images:
            if image.objects is None:
                continue
            for kind, ds in zip(("sr", "heatmap", "pdf"), image.objects.all(), strict=True):
                # named by UIDs MedZoo made, never by anything the server sent
                (args.out / f"{image.ref.sop_uid}-{kind}.dcm").write_bytes(to_bytes(ds))
    for image in analysis.images:
        line = image.summary.call if image.summary else image.error
        if args.json:
            print(json.dumps({"instance": image.ref.sop_uid, "result": line}))
        else:
            print(f"{image.ref.sop_uid}: {line}")
    if args.store:
        print(f"stored {len(analysis.stored)} result objects", file=sys.stderr)
    return 2 if analysis.failed else 0


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty() or done == total:
        print(f"\r  analyzed {done}/{total}", end="\n" if done == total else "", file=sys.stderr)
