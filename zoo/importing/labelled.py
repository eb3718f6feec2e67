"""A labelled set as the importer reads it: ``path,label[,group][,more columns]``.

Paths are relative to the CSV's folder (or absolute). ``group`` names the patient, study or
block a case belongs to (the out-of-distribution fit splits by it); every further column
becomes metadata to slice the figures by (view, site, sex, ...). Files are read when they
are scored, a batch at a time.
"""

from __future__ import annotations

import csv
from pathlib import Path

from zoo.errors import ModelImportError
from zoo.importing.evaluation import LabelledItem

#: Rows read from one CSV at most.
MAX_ROWS = 200_000


def labelled_items(path: str | Path) -> list[LabelledItem]:
    """The cases listed in the CSV at ``path``."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            if not {"path", "label"} <= set(header):
                raise ModelImportError(f"{path.name}: needs the columns path,label (got {header})")
            rows = []
            for row in reader:
                rows.append(row)
                if len(rows) > MAX_ROWS:
                    raise ModelImportError(f"{path.name}: more than {MAX_ROWS:,} rows")
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ModelImportError(f"{path.name}: cannot read the labelled CSV ({exc})") from exc
    if not rows:
        raise ModelImportError(f"{path.name}: the labelled CSV has no rows")
    extra = [c for c in header if c not in ("path", "label", "group")]
    items = []
    for number, row in enumerate(rows, start=2):
        if not row.get("path") or not row.get("label"):
            raise ModelImportError(f"{path.name}, line {number}: path and label are required")
        file = path.parent / row["path"]
        items.append(
            LabelledItem(
                case_id=row["path"],
                filename=file.name,
                read=file.read_bytes,
                label=row["label"].strip(),
                group=(row.get("group") or "").strip() or None,
                metadata={c: (row.get(c) or "").strip() for c in extra},
            )
        )
    return items
