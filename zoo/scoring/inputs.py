"""What to score: a folder (recursive), a CSV or Parquet manifest with a ``path`` column,
an fsspec URI (``s3://``, ``gs://``, ``memory://``...) of either, or the image instances
of a PACS query (``dicomweb:modality=CR&since=2024-01-01``, the server from
``MEDZOO_PACS_*``: see :mod:`zoo.pacs.settings`).

A manifest's other columns (``label``, ``group``, metadata) are carried into the output;
its relative paths are taken from the manifest's folder. Files in a folder are taken when
their name says image or DICOM, or has no extension (DICOM often has none).
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from zoo.errors import ScanError

#: File names a folder's walk takes (lower case), besides names without an extension.
SCAN_SUFFIXES = frozenset(
    {".dcm", ".dicom", ".dic", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}
)
MANIFEST_SUFFIXES = (".csv", ".parquet", ".pq")


@dataclass(frozen=True)
class InputItem:
    """One file to score: where it is (a local path or a URI) and the columns to carry."""

    path: str
    carried: dict[str, Any] = field(default_factory=dict)


#: A PACS query as input: ``dicomweb:`` and the filters of ``zoo pacs search``.
DICOMWEB = "dicomweb:"
#: Where an instance of a PACS query is read from (study, series, instance UIDs).
DICOMWEB_ITEM = "dicomweb://"
_QUERY_KEYS = {"patient", "modality", "since", "until", "accession", "study"}


def list_inputs(source: str | Path) -> list[InputItem]:
    """Every file ``source`` names, in a stable order. Raises ScanError when it names
    nothing readable."""
    text = str(source)
    if text.startswith(DICOMWEB) and not text.startswith(DICOMWEB_ITEM):
        return _pacs_query(text[len(DICOMWEB) :])
    fs, root = fsspec.core.url_to_fs(text)
    if not fs.exists(root):
        raise ScanError(f"{text}: no such file or folder")
    if fs.isdir(root):
        return [InputItem(_joined(text, root, path)) for path in _scan_files(fs, root)]
    if root.lower().endswith(MANIFEST_SUFFIXES):
        return _manifest(fs, root, text)
    return [InputItem(text)]


def read_bytes(path: str) -> bytes:
    """A file's bytes: from the local disk, through fsspec, or from the PACS."""
    if path.startswith(DICOMWEB_ITEM):
        from zoo.pacs.client import InstanceRef
        from zoo.results import to_bytes

        study, series, sop = path[len(DICOMWEB_ITEM) :].split("/")
        return to_bytes(_pacs_client().retrieve(InstanceRef(study, series, sop)))
    with fsspec.open(path, "rb") as handle:
        return handle.read()


@functools.cache
def _pacs_client() -> Any:
    """One client per process (each Ray actor makes its own), signed in from the
    environment."""
    from zoo.pacs import PacsClient, PacsSettings

    return PacsClient(PacsSettings.from_environment())


def _pacs_query(query: str) -> list[InputItem]:
    """The image instances of the studies a query finds, each carrying its study UID."""
    from datetime import date
    from urllib.parse import parse_qsl

    filters = dict(parse_qsl(query, keep_blank_values=False))
    unknown = set(filters) - _QUERY_KEYS
    if unknown:
        raise ScanError(f"dicomweb: unknown filters {sorted(unknown)}; use {sorted(_QUERY_KEYS)}")
    client = _pacs_client()
    if "study" in filters:
        studies = [filters["study"]]
    else:
        try:
            since, until = (
                date.fromisoformat(filters[k]) if k in filters else None for k in ("since", "until")
            )
        except ValueError as exc:
            raise ScanError(f"dicomweb: dates are YYYY-MM-DD ({exc})") from None
        found = client.search(
            patient_id=filters.get("patient"),
            modality=filters.get("modality"),
            since=since,
            until=until,
            accession=filters.get("accession"),
        )
        studies = [study.study_uid for study in found]
    refs, _ = client.images_of(studies, most=10**7)
    if not refs:
        raise ScanError("dicomweb: the query finds no image")
    return [
        InputItem(
            f"{DICOMWEB_ITEM}{r.study_uid}/{r.series_uid}/{r.sop_uid}", {"study": r.study_uid}
        )
        for r in refs
    ]


def _scan_files(fs: Any, root: str) -> Iterator[str]:
    for path in sorted(fs.find(root)):
        name = posixpath.basename(path)
        if name.startswith("."):
            continue
        suffix = posixpath.splitext(name)[1].lower()
        if not suffix or suffix in SCAN_SUFFIXES:
            yield path


def _joined(text: str, root: str, path: str) -> str:
    """``path`` (as the filesystem lists it) in the form the user gave ``text``: a URI
    stays a URI, a local path stays a path."""
    protocol = text.split("://", 1)[0] + "://" if "://" in text else ""
    return path if not protocol or path.startswith(protocol) else protocol + path


def _manifest(fs: Any, root: str, text: str) -> list[InputItem]:
    with fs.open(root, "rb") as handle:
        try:
            table = (
                pacsv.read_csv(handle) if root.lower().endswith(".csv") else pq.read_table(handle)
            )
        except (pa.ArrowInvalid, OSError) as exc:
            raise ScanError(f"{text}: cannot read the manifest ({exc})") from exc
    if "path" not in table.column_names:
        raise ScanError(f"{text}: a manifest needs a 'path' column (got {table.column_names})")
    folder = posixpath.dirname(root)
    items = []
    for row in table.to_pylist():
        path = str(row.pop("path") or "")
        if not path:
            continue
        if "://" not in path and not posixpath.isabs(path):
            path = _joined(text, folder, posixpath.join(folder, path))
        items.append(InputItem(path, row))
    if not items:
        raise ScanError(f"{text}: the manifest lists no file")
    return items
