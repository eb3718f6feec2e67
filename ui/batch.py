"""Many scans at once: uploads and ZIP archives read in memory, an optional labels CSV.

ZIP archives are checked from their central directory before anything is extracted:
member count, total uncompressed size and each member's compression ratio. Member names
are labels for display and for matching the labels CSV; they are never used as paths.
"""

from __future__ import annotations

import csv
import io
import posixpath
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from ui.stats import ScoredSet
from zoo.card import ModelCard
from zoo.errors import ZooError
from zoo.imaging import load_scan
from zoo.labels import LABEL_SEPARATOR, label_in, label_row
from zoo.registry import Registry
from zoo.runtime import predict

MAX_FILES = 500
MAX_TOTAL_BYTES = 500 * 1024 * 1024
MAX_RATIO = 100
MAX_CSV_BYTES = 5 * 1024 * 1024
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_SKIP_PREFIXES = ("__MACOSX/",)
#: Prefix of the labels CSV's extra columns in the scores table.
META = "meta:"


class BatchInputError(ZooError, ValueError):
    """A batch upload (ZIP, labels CSV) breaks a limit or cannot be read."""


@dataclass(frozen=True)
class BatchFile:
    name: str  # display label (a ZIP member name or an upload's name), never a path
    data: bytes


def is_zip(data: bytes) -> bool:
    return data[:4] in ZIP_MAGIC


def read_zip(
    data: bytes,
    archive_name: str = "archive.zip",
    *,
    max_files: int = MAX_FILES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_ratio: float = MAX_RATIO,
) -> list[BatchFile]:
    """The files inside a ZIP held in memory, after checking its directory against the limits."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise BatchInputError(f"{archive_name} is not a readable ZIP archive ({exc}).") from exc
    with archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and not info.filename.startswith(_SKIP_PREFIXES)
            and not posixpath.basename(info.filename).startswith(".")
        ]
        if len(members) > max_files:
            raise BatchInputError(
                f"{archive_name} holds {len(members)} files; at most {max_files} are accepted. "
                "Split it into smaller archives."
            )
        total = sum(info.file_size for info in members)
        if total > max_total_bytes:
            raise BatchInputError(
                f"{archive_name} would expand to {total / 2**20:.0f} MB; at most "
                f"{max_total_bytes / 2**20:.0f} MB are accepted."
            )
        for info in members:
            ratio = info.file_size / max(1, info.compress_size)
            if ratio > max_ratio:
                raise BatchInputError(
                    f"{archive_name}: member '{info.filename}' is compressed {ratio:.0f}:1 "
                    f"(more than {max_ratio:.0f}:1), which looks like a ZIP bomb; refused."
                )
        if any(info.flag_bits & 0x1 for info in members):
            raise BatchInputError(f"{archive_name} is encrypted; upload an unencrypted ZIP.")
        files = []
        for info in members:
            try:
                with archive.open(info) as handle:
                    content = handle.read(info.file_size + 1)
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
                raise BatchInputError(
                    f"{archive_name}: member '{info.filename}' cannot be read ({exc})."
                ) from exc
            if len(content) > info.file_size:
                raise BatchInputError(
                    f"{archive_name}: member '{info.filename}' is larger than its directory says."
                )
            files.append(BatchFile(info.filename, content))
    return files


def collect_files(
    uploads: Iterable[tuple[str, bytes]], *, max_files: int = MAX_FILES
) -> list[BatchFile]:
    """Uploaded files, with ZIP archives expanded in memory; enforces the file-count limit."""
    files: list[BatchFile] = []
    total = 0
    for name, data in uploads:
        found = (
            read_zip(data, name, max_files=max_files) if is_zip(data) else [BatchFile(name, data)]
        )
        files += found
        total += sum(len(f.data) for f in found)
        if len(files) > max_files:
            raise BatchInputError(
                f"{len(files)} files uploaded; at most {max_files} are scored at once."
            )
        if total > MAX_TOTAL_BYTES:
            raise BatchInputError(
                f"The uploads add up to more than {MAX_TOTAL_BYTES / 2**20:.0f} MB; score them "
                "in smaller batches."
            )
    return files


def _label_rows(data: bytes, name: str) -> list[dict[str, str]]:
    """The CSV's rows with lower-cased, stripped column names; checks size and header."""
    if len(data) > MAX_CSV_BYTES:
        raise BatchInputError(f"{name} is larger than {MAX_CSV_BYTES // 2**20} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BatchInputError(f"{name} is not UTF-8 text ({exc}).") from exc
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error as exc:
        raise BatchInputError(f"{name} is not a valid CSV ({exc}).") from exc
    if not rows or not {"path", "label"} <= {(k or "").strip().lower() for k in rows[0]}:
        raise BatchInputError(f"{name} needs a header row with the columns 'path' and 'label'.")
    normalised = [
        {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k} for row in rows
    ]
    return [row for row in normalised if row["path"] and row["label"]]


def read_labels_csv(data: bytes, name: str = "labels.csv") -> dict[str, str]:
    """A ``path,label`` CSV → {path: label}. Paths are only matched against file names."""
    labels = {row["path"]: row["label"] for row in _label_rows(data, name)}
    if not labels:
        raise BatchInputError(f"{name} has no rows with both a path and a label.")
    return labels


def read_labels_metadata(data: bytes, name: str = "labels.csv") -> dict[str, dict[str, str]]:
    """The CSV's other columns (sex, age, scanner, site…) per path: what subgroups slice by."""
    return {
        row["path"]: {k: v for k, v in row.items() if k not in ("path", "label")}
        for row in _label_rows(data, name)
    }


def _key(name: str) -> str:
    return name.replace("\\", "/").strip().lstrip("./")


def match_label(name: str, labels: dict[str, str]) -> str | None:
    """The label of a file: by its full member name, else by its base name (when unique)."""
    return match_row(name, labels)


def match_row(name: str, table: dict[str, Any]) -> Any:
    """A file's entry in a {path: value} table: by full member name, else unique base name."""
    if not table:
        return None
    by_path = {_key(k): v for k, v in table.items()}
    key = _key(name)
    if key in by_path:
        return by_path[key]
    base = posixpath.basename(key)
    candidates = [v for k, v in by_path.items() if posixpath.basename(k) == base]
    unique = {repr(v): v for v in candidates}
    return next(iter(unique.values())) if len(unique) == 1 else None


def score_files(
    files: Sequence[BatchFile],
    model_ids: Sequence[str],
    registry: Registry,
    *,
    labels: dict[str, str] | None = None,
    metadata: dict[str, dict[str, str]] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> pd.DataFrame:
    """One row per (file, model): probabilities, score and predicted label, or the error.

    A file that cannot be read is reported on its rows (``error``) and the rest are scored.
    ``metadata`` (from :func:`read_labels_metadata`) adds each file's extra CSV columns,
    prefixed ``meta:``; ``ood_score``/``ood_flagged`` come from the card's
    out-of-distribution summary when it has one.
    """
    rows: list[dict] = []
    cards = {m: registry.card(m) for m in model_ids}
    for i, item in enumerate(files):
        if progress:
            progress(i, len(files), item.name)
        truth = match_label(item.name, labels or {})
        extra = {f"{META}{k}": v for k, v in (match_row(item.name, metadata or {}) or {}).items()}
        try:
            scan = load_scan(item.data, filename=item.name)
        except ZooError as exc:
            for model_id in model_ids:
                rows.append(
                    {
                        "file": item.name,
                        "model": model_id,
                        "true_label": truth,
                        "error": str(exc),
                        **extra,
                    }
                )
            continue
        for model_id in model_ids:
            row: dict = {
                "file": item.name,
                "model": model_id,
                "true_label": truth,
                "error": None,
                **extra,
            }
            try:
                (pred,) = predict(model_id, [scan], registry=registry)
            except ZooError as exc:
                row["error"] = str(exc)
            else:
                row.update(
                    {
                        "score": pred.score,
                        # a multi-label result: every label at or above its own threshold
                        "predicted": LABEL_SEPARATOR.join(pred.findings) or "none"
                        if pred.label_thresholds
                        else pred.label,
                        "threshold": pred.threshold,
                        **{f"p_{k}": v for k, v in pred.probabilities.items()},
                    }
                )
                row["modality"] = scan.modality
                row["modality_ok"] = scan.modality in cards[model_id].modalities
                if pred.ood is not None:
                    row["ood_score"] = round(pred.ood.score, 3)
                    row["ood_flagged"] = pred.ood.flagged
            rows.append(row)
    if progress:
        progress(len(files), len(files), "")
    frame = pd.DataFrame(rows)
    for column in ("score", "predicted", "threshold", "modality"):
        if column not in frame:
            frame[column] = np.nan
    return frame


def display_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """The scores table as shown: one probabilities column (each model's own labels, not a
    column per label of every model, mostly empty), "—" where a value does not apply."""
    prob_columns = [c for c in frame.columns if c.startswith("p_")]

    def probabilities(row: pd.Series) -> str:
        values = [(c[2:], row[c]) for c in prob_columns if pd.notna(row[c])]
        return " · ".join(f"{label} {value:.3f}" for label, value in values)

    shown = pd.DataFrame({"file": frame["file"], "model": frame["model"]})
    for column in ("true_label", "predicted"):
        if column in frame and frame[column].notna().any():
            shown[column.replace("_", " ")] = frame[column].fillna("—")
    shown["score"] = frame["score"].map(lambda v: "—" if pd.isna(v) else f"{v:.3f}")
    shown["threshold"] = frame["threshold"].map(
        lambda v: "— (top label)" if pd.isna(v) else f"{v:.3f}"
    )
    shown["probabilities"] = frame.apply(probabilities, axis=1) if len(frame) else []
    if "ood_flagged" in frame:
        shown["out of distribution"] = frame["ood_flagged"].map(
            lambda v: "—" if pd.isna(v) else ("flagged" if v else "no")
        )
    if "error" in frame and frame["error"].notna().any():
        shown["error"] = frame["error"].fillna("")
    return shown


def _own_label(card: ModelCard, value: object) -> object:
    """A CSV label in ``card``'s own words when the vocabulary knows it (else unchanged). A
    multi-label row (``Effusion|Mass``) names a single-label model's label when exactly one
    of its parts is one of them: the mass model's "mass" there, so that the model lines up
    with a multi-label one on the cases both can be scored on."""
    if pd.isna(value):
        return value
    text = str(value)
    if LABEL_SEPARATOR in text:
        own = {label_in(card, part) for part in text.split(LABEL_SEPARATOR)} - {None}
        return own.pop() if len(own) == 1 else value
    return label_in(card, text) or value


def labelled_sets(
    frame: pd.DataFrame, registry: Registry
) -> tuple[dict[str, ScoredSet], list[str]]:
    """Per model, the scored files whose true label is one of the model's labels.

    Returns the sets and notes on what was left out (unreadable files, unknown labels).
    """
    sets: dict[str, ScoredSet] = {}
    notes: list[str] = []
    if frame.empty or "true_label" not in frame or frame["true_label"].isna().all():
        return sets, notes
    for model_id, rows in frame.groupby("model", sort=False):
        card = registry.card(str(model_id))
        if card.is_multilabel:
            found, more = _multilabel_set(str(model_id), card, rows)
            if found is not None:
                sets[str(model_id)] = found
            notes += more
            continue
        # the CSV's words, lined up with the model's (zoo.labels: "normal" = "no_finding")
        rows = rows.assign(true_label=rows["true_label"].map(partial(_own_label, card)))
        ok = rows[rows["error"].isna() & rows["true_label"].isin(card.labels)]
        unknown = sorted(set(rows["true_label"].dropna()) - set(card.labels))
        if unknown:
            notes.append(
                f"{model_id}: labels {unknown} are not among its labels {list(card.labels)}; "
                "those files are left out of its metrics."
            )
        unlabelled = int(rows["true_label"].isna().sum())
        if unlabelled:
            notes.append(f"{model_id}: {unlabelled} file(s) have no label in the CSV.")
        if ok.empty:
            continue
        index = {label: i for i, label in enumerate(card.labels)}
        y_true = ok["true_label"].map(index).to_numpy(dtype=np.int64)
        sets[str(model_id)] = _scored(str(model_id), card, ok, y_true)
    return sets, notes


def _scored(model_id: str, card: ModelCard, ok: pd.DataFrame, y_true: np.ndarray) -> ScoredSet:
    meta = [c for c in ok.columns if c.startswith(META)]
    return ScoredSet(
        model_id=model_id,
        card=card,
        case_ids=tuple(ok["file"]),
        y_true=y_true,
        probabilities=ok[[f"p_{label}" for label in card.labels]].to_numpy(dtype=np.float64),
        source="your batch",
        metadata=ok[meta].rename(columns=lambda c: c[len(META) :]).reset_index(drop=True)
        if meta
        else None,
    )


def _multilabel_set(
    model_id: str, card: ModelCard, rows: pd.DataFrame
) -> tuple[ScoredSet | None, list[str]]:
    """A multi-label model's labelled set: each case's labels (``A|B``) as a 0/1 row; cases
    naming a label the model does not predict are left out, and the notes say so."""
    notes: list[str] = []
    ok = rows[rows["error"].isna() & rows["true_label"].notna()]
    parsed = [label_row(str(text), card.labels) for text in ok["true_label"]]
    known = np.array([not unknown for _, unknown in parsed], dtype=bool)
    unknown = sorted({part for _, parts in parsed for part in parts})
    if unknown:
        notes.append(
            f"{model_id}: labels {unknown[:8]} are not among its labels; the "
            f"{int((~known).sum())} file(s) carrying them are left out of its metrics."
        )
    unlabelled = int(rows["true_label"].isna().sum())
    if unlabelled:
        notes.append(f"{model_id}: {unlabelled} file(s) have no label in the CSV.")
    if not known.any():
        return None, notes
    truth = np.stack([row for (row, _), keep in zip(parsed, known, strict=True) if keep])
    return _scored(model_id, card, ok[known], truth), notes


#: A results file opened on the Batch page (``python -m zoo score``'s Parquet) at most.
MAX_RESULTS_BYTES = 200 * 1024 * 1024
#: The columns of a results file that are MedZoo's (the rest were carried from a manifest).
RESULT_COLUMNS = (
    "path", "model", "model_version", "model_sha256", "predicted", "score", "threshold",
    "decision", "ood_score", "ood_flagged", "error", "embedding",
)  # fmt: skip


def results_frame(files: Sequence[tuple[str, bytes]], labels_column: str | None) -> pd.DataFrame:
    """The part files of a ``python -m zoo score`` output (Parquet, read in memory) as the
    Batch page's scores: ``path`` names the file, ``labels_column`` (if any) holds the
    truth, the carried columns become metadata to slice by. Raises BatchInputError."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if sum(len(data) for _, data in files) > MAX_RESULTS_BYTES:
        raise BatchInputError(f"The results are larger than {MAX_RESULTS_BYTES // 2**20} MB.")
    tables = []
    for name, data in files:
        try:
            table = pq.read_table(io.BytesIO(data))
        except (pa.ArrowInvalid, OSError) as exc:
            raise BatchInputError(f"{name} is not a Parquet file of results ({exc}).") from exc
        tables.append(table.drop_columns([c for c in ("embedding",) if c in table.column_names]))
    try:
        frame = pa.concat_tables(tables, promote_options="permissive").to_pandas()
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise BatchInputError(f"These parts do not belong to one results file ({exc}).") from exc
    missing = [c for c in ("path", "model", "error") if c not in frame]
    if missing:
        raise BatchInputError(f"The results lack the columns {missing}: not zoo score's output.")
    if labels_column and labels_column not in frame:
        raise BatchInputError(f"The results have no column {labels_column!r}.")
    carried = [
        c for c in frame.columns
        if c not in RESULT_COLUMNS and not c.startswith("p_") and c != labels_column
    ]  # fmt: skip
    out = frame.rename(columns={"path": "file", **{c: f"{META}{c}" for c in carried}})
    out["true_label"] = frame[labels_column].astype(object) if labels_column else None
    out["error"] = out["error"].astype(object).where(out["error"].notna(), None)
    return out
