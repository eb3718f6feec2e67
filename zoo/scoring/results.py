"""The output: a Parquet dataset (a folder of part files) with one row per (file, model).

Each part is written to a hidden name and renamed when whole, so an interrupted run leaves
only complete parts, and a rerun scores just the (file, model) pairs they lack. Parts of
runs with other models hold other ``p_<label>`` columns: :func:`read_results` reads them
under one schema (missing columns as nulls).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from zoo.errors import ScanError
from zoo.scoring.rows import FIXED, KEY

PART_PREFIX = "part-"


def part_files(out: Path) -> list[Path]:
    if not out.exists():
        return []
    if out.is_file():
        return [out]
    return sorted(p for p in out.glob("*.parquet") if not p.name.startswith("."))


def drop_unreadable_parts(out: Path) -> list[Path]:
    """Remove the parts a killed writer left half-written (no Parquet footer); returns them."""
    dropped = []
    for path in part_files(out) if out.is_dir() else []:
        try:
            pq.read_metadata(path)
        except (pa.ArrowInvalid, OSError):
            path.unlink()
            dropped.append(path)
    return dropped


def done_keys(out: Path) -> set[tuple[str, str]]:
    """The (path, model) pairs the output already holds."""
    files = part_files(out)
    if not files:
        return set()
    table = pads.dataset([str(f) for f in files], format="parquet").to_table(columns=list(KEY))
    return set(zip(table["path"].to_pylist(), table["model"].to_pylist(), strict=True))


def write_part(out: Path, rows: Sequence[dict[str, Any]] | pa.Table) -> Path | None:
    """``rows`` (dicts, or a table :func:`to_table` made) as one new part of ``out``,
    written whole or not at all."""
    if not len(rows):
        return None
    out.mkdir(parents=True, exist_ok=True)
    name = f"{PART_PREFIX}{uuid.uuid4().hex}.parquet"
    staging = out / f".{name}"
    pq.write_table(rows if isinstance(rows, pa.Table) else to_table(rows), staging)
    os.replace(staging, out / name)
    return out / name


def to_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Rows with the union of their columns (a column a row lacks is null there), in one
    order: the fixed columns, the carried ones, the probabilities, the embedding."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))

    def place(column: str) -> int:
        if column in FIXED:
            return 0
        return 2 if column.startswith("p_") else 3 if column == "embedding" else 1

    columns = sorted(seen, key=lambda c: (place(c), FIXED.index(c) if c in FIXED else 0))
    return pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows])


def read_results(
    path: str | Path, columns: Sequence[str] | None = None, *, model: str | None = None
) -> pa.Table:
    """A results file or folder, every part under one schema (``columns`` only, and only
    ``model``'s rows when given); a column some part lacks comes back as nulls there.
    Raises ScanError when there is nothing to read."""
    files = part_files(Path(path))
    if not files:
        raise ScanError(f"{path}: no results (a Parquet file or a folder of them)")
    schemas = [pq.read_schema(f) for f in files]
    try:
        schema = pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ScanError(f"{path}: parts that do not fit together ({exc})") from exc
    dataset = pads.dataset([str(f) for f in files], schema=schema, format="parquet")
    wanted = None if columns is None else [c for c in columns if c in schema.names]
    rows = None if model is None else pads.field("model") == model
    return dataset.to_table(columns=wanted, filter=rows)
