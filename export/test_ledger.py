"""How many models have been scored on a test side: the ledger a model folder keeps.

A test side stays a test side only while nothing is chosen on it. Each time export scores
a model on its held-out test images (which it does only for a model that ships into the
zoo), the folder's ``test_ledger.json`` gains an entry: the model's version and SHA-256,
the date, and a short digest of every test case (a model that replaces another starts
from its predecessor's ledger, so the count carries over). The card's ``metrics.test_scorings``
says how many models (distinct files) have been scored on cases of this test side, and
how many cases each shared with it, so a reader can tell a once-looked-at test side from
one that has become a second validation set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

LEDGER = "test_ledger.json"


def case_digest(case_id: str) -> str:
    """Eight hex digits of a case id's SHA-256: enough to count shared cases, and no
    file names or patient ids in the ledger."""
    return hashlib.sha256(case_id.encode("utf-8")).hexdigest()[:8]


def read_ledger(folder: Path) -> list[dict[str, Any]]:
    path = Path(folder) / LEDGER
    if not path.exists():
        return []
    return list(json.loads(path.read_text())["scorings"])


def record_scoring(
    folder: Path,
    *,
    model: str,
    version: str,
    sha256: str,
    case_ids: Sequence[str],
    when: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Add this model's test scoring to the folder's ledger (once per file) and return the
    card's ``test_scorings`` section for it."""
    folder = Path(folder)
    scorings = read_ledger(folder)
    digests = sorted({case_digest(c) for c in case_ids})
    if not any(entry["sha256"] == sha256 for entry in scorings):
        entry: dict[str, Any] = {
            "model": model,
            "version": version,
            "sha256": sha256,
            "date": when or date.today().isoformat(),
            "cases": digests,
        }
        if note:
            entry["note"] = note
        scorings.append(entry)
        (folder / LEDGER).write_text(json.dumps({"scorings": scorings}, indent=1) + "\n")
    return test_scorings(scorings, digests)


def test_scorings(scorings: Sequence[dict[str, Any]], digests: Sequence[str]) -> dict[str, Any]:
    """The card's section: every model scored on cases of this test side, with how many."""
    mine = set(digests)
    history = []
    for entry in scorings:
        shared = len(mine & set(entry["cases"]))
        if shared:
            history.append(
                {
                    "model": entry.get("model", ""),
                    "version": entry["version"],
                    "sha256": entry["sha256"],
                    "date": entry["date"],
                    "shared_cases": shared,
                    **({"note": entry["note"]} if entry.get("note") else {}),
                }
            )
    return {
        "models_scored": len(history),
        "cases": len(mine),
        "history": history,
        "ledger": LEDGER,
        "rule": "Only a model that ships is scored on the test side; choices between "
        "trainings, recipes and variants are made on validation.",
    }
