"""The time ``python -m pipeline build-zoo`` took, read from what it printed.

Run ``python -m pipeline build-zoo --candidate --models /tmp/rebuild | tee build.log``,
then ``python -m benchmarks.build_zoo_log build.log --json docs/data/build_zoo.json``
on the same machine; ``python -m benchmarks.docs`` tables it in ``docs/performance.md``
beside each shipped card's validation AUC (a rebuild is a new training: how close it comes
is what the recipe, not the weights, reproduces). The build prints one table row per model
and its total; this reads those lines and nothing else.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from benchmarks.memory_walk import machine
from benchmarks.records import write_json

ROW = re.compile(r"^\| (?P<model>[\w.-]+) \| (?P<minutes>[\d.]+) \| (?P<auc>[\d.]+|nan) \|")
TOTAL = re.compile(r"^(?P<count>\d+) model\(s\) built in (?P<hours>[\d.]+) hours, end to end")


def read_log(text: str) -> dict:
    """The models, their minutes and validation AUC, and the total hours, from the log."""
    rows = [
        {"model": m["model"], "minutes": float(m["minutes"]), "validation_auc": float(m["auc"])}
        for m in map(ROW.match, text.splitlines())
        if m and m["model"] != "model"
    ]
    totals = [m for m in map(TOTAL.match, text.splitlines()) if m]
    if not rows or not totals:
        raise ValueError("no finished build-zoo in this log (its table and total line)")
    return {"models": len(rows), "hours": float(totals[-1]["hours"]), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument(
        "--note", default="", help="how the run went (say if anything shared the cores)"
    )
    args = parser.parse_args()
    payload = {"machine": machine(), **read_log(args.log.read_text()), "note": args.note}
    write_json(args.json, payload)
    print(f"{payload['models']} models in {payload['hours']:.2f} hours → {args.json}")


if __name__ == "__main__":
    main()
