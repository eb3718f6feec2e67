"""Loaders that turn a folder or a label file into a :class:`LabelledSet`.

Two families:

* the four real data sets under ``../shared/data`` (``load_shared_*``,
  :func:`load_multiclass_cxr`), each a folder with ``images/`` and ``labels.csv``;
* the layouts users bring: class-per-folder (:func:`load_class_folders`),
  ``train/ validation/ test/`` folders (:func:`load_split_folders`), a CSV
  (:func:`load_csv`), the full NIH ChestX-ray14 download
  (:func:`load_nih_data_entry`) and folders of DICOM files (:func:`load_dicom_folder`).

Nothing here decodes pixels; :func:`training.data.cache.load_arrays` does that once.
Every loader checks that the files it lists exist and raises :class:`DataError` otherwise.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pandas as pd

from training.data.dataset import LabelledSet, check_not_empty, check_paths_exist
from training.data.errors import DataError, listing

#: File name endings taken as images without looking inside (others are sniffed).
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".dcm", ".dicom"}
)

#: The NIH label of a study without findings.
NO_FINDING = "No Finding"

SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "validation": "validation",
    "val": "validation",
    "valid": "validation",
    "test": "test",
    "testing": "test",
}

SHARED_DATASETS = ("chest_xray", "lung_ct", "brain_mri", "tb_xray", "pediatric_cxr")


# --------------------------------------------------------------------------- helpers


def shared_data_root() -> Path | None:
    """``../shared/data`` next to the repository (or ``$MEDZOO_SHARED_DATA``), if present."""
    env = os.environ.get("MEDZOO_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[3] / "shared" / "data")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


def _require_dir(root: str | os.PathLike[str], what: str = "data folder") -> Path:
    path = Path(root).expanduser()
    if not path.exists():
        raise DataError(f"{what} {str(path)!r} does not exist")
    if not path.is_dir():
        raise DataError(f"{what} {str(path)!r} is not a folder")
    return path


def _read_csv(path: Path, required: Sequence[str], what: str) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{what} {str(path)!r} does not exist")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {what} {str(path)!r}: {exc}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(
            f"{what} {str(path)!r} has no column(s) {listing(missing)}; "
            f"its columns are {list(frame.columns)}"
        )
    if frame.empty:
        raise DataError(f"{what} {str(path)!r} has no rows")
    return frame


def _dataset_dir(root: str | os.PathLike[str], name: str) -> Path:
    """Accept either the data set folder itself or the ``shared/data`` folder above it."""
    path = _require_dir(root, f"{name} folder")
    if (path / "labels.csv").is_file():
        return path
    if (path / name / "labels.csv").is_file():
        return path / name
    raise DataError(f"no labels.csv in {str(path)!r} (nor in {str(path / name)!r})")


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in path.relative_to(root).parts)


def _looks_like_image(path: Path) -> bool:
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return True
    from zoo.imaging.sniff import sniff_format

    try:
        with path.open("rb") as handle:
            head = handle.read(132)
    except OSError:
        return False
    return sniff_format(head) is not None


def _image_files(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursively, sorted), by name ending or content."""
    files = [
        p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not _is_hidden(p, folder) and _looks_like_image(p)
    ]
    return files


def _label_name(text: str) -> str:
    """``'No Finding'`` → ``'no_finding'``."""
    return re.sub(r"[^0-9a-z]+", "_", text.strip().lower()).strip("_")


def _groups_from_pattern(paths: Sequence[Path], root: Path, pattern: str | None) -> list[str]:
    """Each file is its own group, unless ``pattern`` (a regex) captures a group id."""
    relative = [p.relative_to(root).as_posix() for p in paths]
    if pattern is None:
        return relative
    regex = re.compile(pattern)
    groups = []
    for rel, path in zip(relative, paths, strict=True):
        match = regex.search(path.name)
        if match is None:
            raise DataError(f"group_pattern {pattern!r} does not match the file name {rel!r}")
        groups.append(match.group(1) if regex.groups else match.group(0))
    return groups


# --------------------------------------------------------------------------- findings


def split_findings(text: str) -> frozenset[str]:
    """``'Mass|Nodule'`` → ``frozenset({'Mass', 'Nodule'})`` (NIH ``|``-separated findings)."""
    return frozenset(part.strip() for part in str(text).split("|") if part.strip())


def findings_labels(
    findings: Iterable[str],
    positive: str | Sequence[str],
    *,
    negative: str | Sequence[str] = NO_FINDING,
    positive_label: str | None = None,
    negative_label: str | None = None,
    exclusive: bool = False,
) -> list[str | None]:
    """Label NIH studies for a one-versus-normal task.

    A study whose findings include any of ``positive`` becomes ``positive_label``
    (default: the first positive finding in snake case, ``'mass'``); one whose findings
    are exactly one of ``negative`` becomes ``negative_label`` (``'no_finding'``); all
    others become None (drop them). With ``exclusive=True`` a positive study must have
    no finding outside ``positive``.
    """
    pos_list = [positive] if isinstance(positive, str) else list(positive)
    neg_list = [negative] if isinstance(negative, str) else list(negative)
    if not pos_list or not neg_list:
        raise DataError("findings_labels needs at least one positive and one negative finding")
    positives, negatives = set(pos_list), set(neg_list)
    pos_label = positive_label or _label_name(pos_list[0])
    neg_label = negative_label or _label_name(neg_list[0])
    labels: list[str | None] = []
    for text in findings:
        found = split_findings(text)
        if found & positives and (not exclusive or found <= positives):
            labels.append(pos_label)
        elif len(found) == 1 and found <= negatives:
            labels.append(neg_label)
        else:
            labels.append(None)
    return labels


def _finding_vocabulary(findings: Iterable[str]) -> set[str]:
    vocabulary: set[str] = set()
    for text in findings:
        vocabulary |= split_findings(text)
    return vocabulary


def _match_finding(task: str, vocabulary: set[str]) -> str:
    by_key = {_label_name(name): name for name in vocabulary if name != NO_FINDING}
    key = _label_name(task)
    if key not in by_key:
        raise DataError(f"unknown chest X-ray task {task!r}; choose a finding: {sorted(by_key)}")
    return by_key[key]


# --------------------------------------------------------------------------- shared sets


def _shared_frame(root: str | os.PathLike[str], name: str, required: Sequence[str]):
    folder = _dataset_dir(root, name)
    frame = _read_csv(folder / "labels.csv", ["image", *required], f"{name} labels.csv")
    if name == "chest_xray":
        frame = _views_from_nih(folder, frame)
    return folder, frame


def _views_from_nih(folder: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """Fill the chest films' missing view positions from NIH's own Data_Entry file (one
    collection came without them, and AP against PA is the first thing to check)."""
    metadata = folder / "nih_metadata"
    if "view" not in frame or not metadata.is_dir():
        return frame
    missing = frame["view"].isna() | (frame["view"].astype(str).str.strip() == "")
    if not missing.any():
        return frame
    try:
        entry = pd.read_csv(nih_data_entry(metadata), usecols=["Image Index", "View Position"])
    except (DataError, ValueError):
        return frame
    stem_of = entry["Image Index"].map(lambda name: Path(name).stem)
    view_of = dict(zip(stem_of, entry["View Position"], strict=True))
    stems = frame["image"].map(lambda p: Path(str(p)).stem)
    frame = frame.copy()
    frame.loc[missing, "view"] = stems[missing].map(view_of)
    return frame


def _from_frame(
    folder: Path,
    frame: pd.DataFrame,
    labels: Sequence[str | None],
    groups: Sequence[str],
    class_names: Sequence[str],
    where: str,
    drop_columns: Sequence[str] = ("image", "label"),
) -> LabelledSet:
    keep = [i for i, label in enumerate(labels) if label is not None]
    rows = frame.iloc[keep].reset_index(drop=True)
    paths = [folder / rel for rel in rows["image"]]
    check_paths_exist(paths, where)
    metadata = rows.drop(columns=[c for c in drop_columns if c in rows.columns])
    labelled = LabelledSet(
        paths=paths,
        labels=[labels[i] for i in keep],  # type: ignore[misc]
        groups=[groups[i] for i in keep],
        metadata=metadata,
        class_names=tuple(class_names),
        root=folder,
    )
    return check_not_empty(labelled, where)


def load_shared_chest_xray(
    root: str | os.PathLike[str],
    *,
    task: str = "mass",
    exclusive: bool = False,
    views: Sequence[str] | None = None,
) -> LabelledSet:
    """NIH ChestX-ray8 subset: ``task`` (a finding such as ``"mass"``) versus No Finding.

    Studies whose findings include the task's finding are ``task``; ``No Finding``
    studies are ``"no_finding"``; the rest are dropped. Groups are patient ids.
    ``views`` (e.g. ``("PA",)``) keeps only those view positions. Class order:
    ``("no_finding", task)``, the positive class last.
    """
    folder, frame = _shared_frame(root, "chest_xray", ["patient_id", "findings", "view"])
    finding = _match_finding(task, _finding_vocabulary(frame["findings"]))
    positive_label = _label_name(task)
    labels = findings_labels(
        frame["findings"],
        finding,
        positive_label=positive_label,
        negative_label="no_finding",
        exclusive=exclusive,
    )
    if views is not None:
        wanted = {v.upper() for v in views}
        labels = [
            lab if view.upper() in wanted else None
            for lab, view in zip(labels, frame["view"], strict=True)
        ]
    return _from_frame(
        folder,
        frame,
        labels,
        list(frame["patient_id"]),
        ("no_finding", positive_label),
        f"{folder / 'labels.csv'} (task {task!r})",
        drop_columns=("image",),
    )


def load_shared_lung_ct(
    root: str | os.PathLike[str],
    *,
    classes: Sequence[str] = ("normal", "benign", "malignant"),
) -> LabelledSet:
    """IQ-OTH/NCCD lung CT slices, keeping ``classes`` (in that order); groups are blocks."""
    folder, frame = _shared_frame(root, "lung_ct", ["label", "block"])
    _check_classes(classes, frame["label"], "lung_ct")
    wanted = set(classes)
    labels = [lab if lab in wanted else None for lab in frame["label"]]
    return _from_frame(
        folder, frame, labels, list(frame["block"]), classes, str(folder / "labels.csv")
    )


def load_shared_brain_mri(
    root: str | os.PathLike[str],
    *,
    classes: Sequence[str] = ("glioma", "meningioma", "notumor", "pituitary"),
) -> LabelledSet:
    """Brain tumour MRI, four classes; groups join near-identical images."""
    folder, frame = _shared_frame(root, "brain_mri", ["label", "group"])
    _check_classes(classes, frame["label"], "brain_mri")
    wanted = set(classes)
    labels = [lab if lab in wanted else None for lab in frame["label"]]
    return _from_frame(
        folder, frame, labels, list(frame["group"]), classes, str(folder / "labels.csv")
    )


def load_shared_tb_xray(root: str | os.PathLike[str]) -> LabelledSet:
    """Tuberculosis versus normal chest X-rays; metadata has ``tinted`` (0/1) and ``source``."""
    folder, frame = _shared_frame(root, "tb_xray", ["label", "group"])
    _check_classes(("normal", "tuberculosis"), frame["label"], "tb_xray")
    labelled = _from_frame(
        folder,
        frame,
        list(frame["label"]),
        list(frame["group"]),
        ("normal", "tuberculosis"),
        str(folder / "labels.csv"),
    )
    if "tinted" in labelled.metadata:
        labelled.metadata["tinted"] = (
            pd.to_numeric(labelled.metadata["tinted"], errors="coerce").fillna(0).astype(int)
        )
    return labelled


#: the pediatric set's labels as the zoo names them: both pneumonias say what they are
PEDIATRIC_LABELS = {
    "normal": "normal",
    "bacterial": "bacterial_pneumonia",
    "viral": "viral_pneumonia",
}


def load_shared_pediatric_cxr(root: str | os.PathLike[str]) -> LabelledSet:
    """Pediatric chest films (Kermany et al.): normal, bacterial and viral pneumonia.

    Groups join a patient's films and near-identical images. Labels are renamed as
    :data:`PEDIATRIC_LABELS` says; metadata keeps ``patient_id`` and ``source``.
    """
    folder, frame = _shared_frame(root, "pediatric_cxr", ["label", "patient_id", "group"])
    _check_classes(tuple(PEDIATRIC_LABELS), frame["label"], "pediatric_cxr")
    labels = [PEDIATRIC_LABELS.get(lab) for lab in frame["label"]]
    return _from_frame(
        folder,
        frame,
        labels,
        list(frame["group"]),
        tuple(PEDIATRIC_LABELS.values()),
        str(folder / "labels.csv"),
    )


#: The pretraining classes of :func:`load_chest_pretraining`, one per film.
PRETRAINING_CLASSES = (
    "normal",
    "pneumonia",
    "bacterial_pneumonia",
    "viral_pneumonia",
    "tuberculosis",
    "mass_or_nodule",
    "other_finding",
)


def _pretraining_class(findings: str) -> str:
    """An NIH film's one pretraining class: the rarest, most local finding wins."""
    found = split_findings(findings)
    if not found or found == {NO_FINDING}:
        return "normal"
    if found & {"Mass", "Nodule"}:
        return "mass_or_nodule"
    if "Pneumonia" in found:
        return "pneumonia"
    return "other_finding"


def load_chest_pretraining(root: str | os.PathLike[str]) -> LabelledSet:
    """Every chest film of ``../shared/data`` for pretraining one chest backbone.

    NIH films (each finding, one class per film: mass or nodule first, then pneumonia, then
    any other finding), the TB set and the pediatric set, in the classes of
    :data:`PRETRAINING_CLASSES`. Groups keep each set's own (patients, near-duplicates),
    prefixed by the set; metadata has ``collection``.
    """
    root = _require_dir(root, "shared data folder")
    nih_folder, nih = _shared_frame(root, "chest_xray", ["patient_id", "findings", "view"])
    nih_set = _from_frame(
        nih_folder,
        nih,
        [_pretraining_class(f) for f in nih["findings"]],
        list(nih["patient_id"]),
        PRETRAINING_CLASSES,
        str(nih_folder / "labels.csv"),
        drop_columns=("image", "findings", "boxes"),
    )
    parts = [
        _as_collection(nih_set, "nih"),
        _as_collection(load_shared_tb_xray(root), "tb_xray"),
        _as_collection(load_shared_pediatric_cxr(root), "pediatric_cxr"),
    ]
    return LabelledSet.concat(parts, PRETRAINING_CLASSES)


def _check_classes(classes: Sequence[str], present: Iterable[str], name: str) -> None:
    available = sorted(set(present))
    unknown = [c for c in classes if c not in available]
    if unknown or not classes:
        raise DataError(f"{name} has no class(es) {listing(unknown)}; its classes are {available}")


def load_multiclass_cxr(shared_root: str | os.PathLike[str]) -> LabelledSet:
    """Normal / pneumonia / tuberculosis chest X-rays from two collections.

    NIH ``No Finding`` → normal, NIH studies with Pneumonia → pneumonia (chest_xray);
    tb_xray tuberculosis → tuberculosis and its normals → normal. The ``collection``
    metadata column (``"nih"`` or ``"tb_xray"``) lets the collection shortcut be measured
    (all tuberculosis comes from one collection). Groups are prefixed with the collection.
    """
    root = _require_dir(shared_root, "shared data folder")
    nih_folder, nih = _shared_frame(root, "chest_xray", ["patient_id", "findings", "view"])
    labels = findings_labels(
        nih["findings"], "Pneumonia", positive_label="pneumonia", negative_label="normal"
    )
    nih_set = _from_frame(
        nih_folder,
        nih,
        labels,
        list(nih["patient_id"]),
        ("normal", "pneumonia", "tuberculosis"),
        str(nih_folder / "labels.csv"),
        drop_columns=("image",),
    )
    parts = [_as_collection(nih_set, "nih"), _as_collection(load_shared_tb_xray(root), "tb_xray")]
    return LabelledSet.concat(parts, ("normal", "pneumonia", "tuberculosis"))


def _as_collection(labelled: LabelledSet, name: str) -> LabelledSet:
    """``labelled`` as one collection of several: groups prefixed with ``name`` (so groups
    of two sets never merge) and a ``collection`` metadata column."""
    labelled.groups = [f"{name}:{g}" for g in labelled.groups]
    labelled.metadata.insert(0, "collection", name)
    return labelled


# --------------------------------------------------------------------------- user layouts


def _class_folder_set(
    root: Path,
    *,
    class_names: Sequence[str] | None,
    group_pattern: str | None,
    allow_empty_classes: bool,
    group_root: Path | None = None,
) -> LabelledSet:
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))
    if not folders:
        raise DataError(
            f"no class folders in {str(root)!r}: expected one subfolder per class "
            "(e.g. normal/ and pneumonia/) holding the images"
        )
    names = [p.name for p in folders]
    if class_names is not None:
        unknown = sorted(set(names) - set(class_names))
        if unknown:
            raise DataError(
                f"folders {listing(unknown)} in {str(root)!r} are not among the classes "
                f"{list(class_names)}"
            )
    paths: list[Path] = []
    labels: list[str] = []
    empty = []
    for folder in folders:
        files = _image_files(folder)
        if not files:
            empty.append(folder.name)
        paths += files
        labels += [folder.name] * len(files)
    if empty and not allow_empty_classes:
        raise DataError(f"class folder(s) {listing(empty)} in {str(root)!r} hold no images")
    check_not_empty(LabelledSet(paths, labels, labels), repr(str(root)))
    return LabelledSet(
        paths=paths,
        labels=labels,
        groups=_groups_from_pattern(paths, group_root or root, group_pattern),
        metadata=pd.DataFrame({"file": [p.relative_to(root).as_posix() for p in paths]}),
        class_names=tuple(class_names) if class_names is not None else tuple(names),
        root=root,
    )


def load_class_folders(
    root: str | os.PathLike[str],
    *,
    class_names: Sequence[str] | None = None,
    group_pattern: str | None = None,
) -> LabelledSet:
    """One subfolder per class (``root/normal/*.png``, ``root/pneumonia/*.png``...).

    Images are found recursively, by name ending or, for files without a known ending
    (DICOM is often saved without one), by content. Each file is its own group unless
    ``group_pattern``, a regular expression searched in the file name, captures the
    group id in its first group, e.g. ``r"^(\\d+)_"`` for NIH patient ids.
    ``class_names`` fixes the class order (default: sorted folder names).
    """
    folder = _require_dir(root)
    return _class_folder_set(
        folder, class_names=class_names, group_pattern=group_pattern, allow_empty_classes=False
    )


def load_split_folders(
    root: str | os.PathLike[str],
    *,
    class_names: Sequence[str] | None = None,
    group_pattern: str | None = None,
) -> dict[str, LabelledSet]:
    """``root/train/<class>/``, ``root/validation/<class>/`` (or ``val/``), ``root/test/<class>/``.

    Returns split name (``"train"``, ``"validation"``, ``"test"``) → set; the classes
    (sorted union of the class folders, unless ``class_names``) are the same in every
    split, and every class must have training images. Groups must not straddle splits.
    """
    folder = _require_dir(root)
    found: dict[str, Path] = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        name = SPLIT_ALIASES.get(sub.name.lower())
        if name is None:
            continue
        if name in found:
            raise DataError(
                f"both {found[name].name!r} and {sub.name!r} in {str(folder)!r} look like the "
                f"{name} split; keep one"
            )
        found[name] = sub
    if "train" not in found:
        present = sorted(p.name for p in folder.iterdir() if p.is_dir())
        raise DataError(
            f"no train/ folder in {str(folder)!r} (found {present}); expected train/, "
            "validation/ (or val/) and optionally test/, each with one subfolder per class"
        )
    if class_names is None:
        union = {
            c.name
            for sub in found.values()
            for c in sub.iterdir()
            if c.is_dir() and not c.name.startswith((".", "__"))
        }
        class_names = tuple(sorted(union))
    splits = {
        name: _class_folder_set(
            sub,
            class_names=class_names,
            group_pattern=group_pattern,
            allow_empty_classes=True,
            group_root=folder,
        )
        for name, sub in sorted(
            found.items(), key=lambda kv: ("train", "validation", "test").index(kv[0])
        )
    }
    missing = [name for name, n in splits["train"].counts().items() if n == 0]
    if missing:
        raise DataError(f"class(es) {listing(missing)} have no images in {str(found['train'])!r}")
    seen: dict[str, str] = {}
    for name, labelled in splits.items():
        for group in set(labelled.groups):
            if group in seen:
                raise DataError(
                    f"group {group!r} appears in both the {seen[group]} and {name} splits"
                )
            seen.setdefault(group, name)
    return splits


def load_csv(
    csv_path: str | os.PathLike[str],
    *,
    path_column: str = "path",
    label_column: str = "label",
    group_column: str | None = None,
    class_names: Sequence[str] | None = None,
) -> LabelledSet:
    """A CSV with one row per image; relative paths are relative to the CSV's folder.

    Without ``group_column`` each image is its own group (only right when no patient has
    two images). The other columns become metadata.
    """
    path = Path(csv_path).expanduser()
    required = [path_column, label_column] + ([group_column] if group_column else [])
    frame = _read_csv(path, required, "label file")
    blank = [
        i + 2
        for i, (p, lab) in enumerate(zip(frame[path_column], frame[label_column], strict=True))
        if not p.strip() or not lab.strip()
    ]
    if blank:
        raise DataError(
            f"{str(path)!r}: empty {path_column!r} or {label_column!r} on line(s) {listing(blank)}"
        )
    base = path.parent
    paths = [Path(p) if Path(p).is_absolute() else base / p for p in frame[path_column]]
    check_paths_exist(paths, repr(str(path)))
    labels = [lab.strip() for lab in frame[label_column]]
    if class_names is None:
        class_names = tuple(sorted(set(labels)))
    groups = (
        list(frame[group_column])
        if group_column
        else [Path(p).as_posix() for p in frame[path_column]]
    )
    metadata = frame.drop(columns=list(dict.fromkeys(required)))
    return LabelledSet(paths, labels, groups, metadata, tuple(class_names), root=base)


def load_nih_data_entry(
    csv_path: str | os.PathLike[str],
    images_dir: str | os.PathLike[str],
    *,
    positive_finding: str | Sequence[str] = "Mass",
    negative_finding: str = NO_FINDING,
    positive_label: str | None = None,
    negative_label: str | None = None,
    exclusive: bool = False,
    views: Sequence[str] | None = None,
    missing: str = "raise",
) -> LabelledSet:
    """The full NIH ChestX-ray14 download: ``Data_Entry_2017.csv`` plus its PNG folders.

    ``images_dir`` may hold the PNGs directly or in subfolders (the download unpacks to
    ``images_001/images/ ... images_012/images/``). Studies with ``positive_finding``
    (any of them, if several) versus ``negative_finding``; the rest are dropped. Groups are
    patient ids. ``missing="drop"`` skips images absent from ``images_dir`` (a partial
    download) instead of raising.
    """
    if missing not in ("raise", "drop"):
        raise DataError(f"missing must be 'raise' or 'drop', got {missing!r}")
    path = Path(csv_path).expanduser()
    frame = _read_csv(path, ["Image Index", "Finding Labels", "Patient ID"], "NIH Data_Entry file")
    images = _require_dir(images_dir, "NIH images folder")
    labels = findings_labels(
        frame["Finding Labels"],
        positive_finding,
        negative=negative_finding,
        positive_label=positive_label,
        negative_label=negative_label,
        exclusive=exclusive,
    )
    if views is not None:
        if "View Position" not in frame:
            raise DataError(f"{str(path)!r} has no 'View Position' column to filter views by")
        wanted = {v.upper() for v in views}
        labels = [
            lab if v.upper() in wanted else None
            for lab, v in zip(labels, frame["View Position"], strict=True)
        ]
    keep = [i for i, lab in enumerate(labels) if lab is not None]
    rows = frame.iloc[keep].reset_index(drop=True)
    names = list(rows["Image Index"])
    direct = [images / name for name in names]
    if all(p.is_file() for p in direct):
        paths: list[Path | None] = list(direct)
    else:  # subfolders, or images re-encoded under the same stem (00000002_000.jpg)
        index = {p.name: p for p in images.rglob("*") if p.is_file()}
        stems = {p.stem: p for p in index.values() if _looks_like_image(p)}
        paths = [index.get(name) or stems.get(Path(name).stem) for name in names]
    absent = [name for name, p in zip(names, paths, strict=True) if p is None]
    if absent and missing == "raise":
        raise DataError(
            f"{len(absent)} of {len(names)} images listed in {str(path)!r} are not under "
            f"{str(images)!r}: {listing(absent)} (pass missing='drop' for a partial download)"
        )
    present = [i for i, p in enumerate(paths) if p is not None]
    rows = rows.iloc[present].reset_index(drop=True)
    kept_labels = [labels[keep[i]] for i in present]
    patient = [_nih_patient(p) for p in rows["Patient ID"]]
    metadata = pd.DataFrame(
        {
            "image": rows["Image Index"],
            "patient_id": patient,
            "findings": rows["Finding Labels"],
        }
    )
    for source, target in (
        ("View Position", "view"),
        ("Follow-up #", "follow_up"),
        ("Patient Age", "age"),
        ("Patient Gender", "sex"),
    ):
        if source in rows:
            metadata[target] = rows[source].to_numpy()
    if positive_label is None:
        first = positive_finding if isinstance(positive_finding, str) else positive_finding[0]
        positive_label = _label_name(first)
    labelled = LabelledSet(
        paths=[paths[i] for i in present],  # type: ignore[misc]
        labels=kept_labels,  # type: ignore[arg-type]
        groups=patient,
        metadata=metadata,
        class_names=(negative_label or _label_name(negative_finding), positive_label),
        root=images,
    )
    return check_not_empty(
        labelled, f"{str(path)!r} for {positive_finding!r} vs {negative_finding!r}"
    )


#: NIH's file names, newest first: the 2020 revision of Data_Entry, compressed or not.
NIH_DATA_ENTRY_NAMES = (
    "Data_Entry_2017_v2020.csv.gz",
    "Data_Entry_2017_v2020.csv",
    "Data_Entry_2017.csv.gz",
    "Data_Entry_2017.csv",
)


def nih_data_entry(folder: str | os.PathLike[str]) -> Path:
    """The Data_Entry file in ``folder`` (the 2020 revision first)."""
    root = Path(folder).expanduser()
    for name in NIH_DATA_ENTRY_NAMES:
        if (root / name).is_file():
            return root / name
    raise DataError(
        f"no NIH Data_Entry file in {str(root)!r} (looked for {listing(NIH_DATA_ENTRY_NAMES)})"
    )


def load_nih_boxes(
    path: str | os.PathLike[str],
) -> dict[str, list[tuple[str, float, float, float, float]]]:
    """NIH's ``BBox_List_2017.csv(.gz)``: per image, its radiologists' boxes as (finding,
    x, y, width, height) in the original 1024-pixel image. Its header names the four box
    numbers in one field (``Bbox [x,y,w,h]``), so columns are taken by position."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"NIH box list {str(path)!r} does not exist")
    try:
        frame = pd.read_csv(path, header=0, usecols=range(6), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise DataError(f"cannot read NIH box list {str(path)!r}: {exc}") from exc
    boxes: dict[str, list[tuple[str, float, float, float, float]]] = {}
    for number, row in enumerate(frame.itertuples(index=False), start=2):
        image, finding, *numbers = (str(v).strip() for v in row)
        try:
            x, y, w, h = (float(v) for v in numbers)
        except ValueError:
            raise DataError(
                f"{str(path)!r}, line {number}: box {numbers} is not four numbers"
            ) from None
        boxes.setdefault(image, []).append((finding, x, y, w, h))
    if not boxes:
        raise DataError(f"NIH box list {str(path)!r} has no rows")
    return boxes


def _nih_patient(value: str) -> str:
    value = str(value).strip()
    return value.zfill(8) if value.isdigit() else value


def load_dicom_folder(
    root: str | os.PathLike[str],
    *,
    label_from: str | Callable[[Path], str | None] = "folder",
    group_by: str = "patient",
) -> LabelledSet:
    """Every DICOM file under ``root``, decided by content (names may lack ``.dcm``).

    ``label_from="folder"`` takes each file's label from its top folder under ``root``
    (``root/pneumonia/case1/IM0001``); a callable maps the file path to a label, or to None
    to skip the file. ``group_by``: ``"patient"`` (PatientID, else StudyInstanceUID),
    ``"study"`` or ``"file"``. Identifiers are hashed, so groups (and saved splits) carry
    no patient id. Metadata: modality, view, body part, photometric, rows, columns, frames.
    """
    if group_by not in ("patient", "study", "file"):
        raise DataError(f"group_by must be 'patient', 'study' or 'file', got {group_by!r}")
    if not (callable(label_from) or label_from == "folder"):
        raise DataError(f"label_from must be 'folder' or a callable, got {label_from!r}")
    folder = _require_dir(root, "DICOM folder")
    paths: list[Path] = []
    labels: list[str] = []
    groups: list[str] = []
    rows: list[dict[str, object]] = []
    loose: list[str] = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or _is_hidden(path, folder) or path.name.upper() == "DICOMDIR":
            continue
        header = _dicom_header(path)
        if header is None:
            continue
        rel = path.relative_to(folder)
        if callable(label_from):
            label = label_from(path)
            if label is None:
                continue
        else:
            if len(rel.parts) < 2:
                loose.append(rel.as_posix())
                continue
            label = rel.parts[0]
        paths.append(path)
        labels.append(str(label))
        groups.append(_dicom_group(header, rel, group_by))
        rows.append(
            {
                "modality": str(header.get("Modality", "") or ""),
                "view": str(header.get("ViewPosition", "") or ""),
                "body_part": str(header.get("BodyPartExamined", "") or ""),
                "photometric": str(header.get("PhotometricInterpretation", "") or ""),
                "rows": int(header.get("Rows", 0) or 0),
                "columns": int(header.get("Columns", 0) or 0),
                "frames": int(header.get("NumberOfFrames", 1) or 1),
            }
        )
    if loose and not paths:
        raise DataError(
            f"DICOM files {listing(loose)} lie directly in {str(folder)!r}; with "
            "label_from='folder' put them in one subfolder per class, or pass a callable"
        )
    labelled = LabelledSet(paths, labels, groups, pd.DataFrame(rows), root=folder)
    return check_not_empty(labelled, f"{str(folder)!r} (no DICOM files with pixel data)")


def _dicom_header(path: Path):
    """The file's DICOM header without pixel data, or None if it is not a DICOM image."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    from zoo.imaging.sniff import sniff_format

    try:
        with path.open("rb") as handle:
            head = handle.read(132)
    except OSError:
        return None
    kind = sniff_format(head)
    if kind not in (None, "dicom"):
        return None
    try:
        header = pydicom.dcmread(path, stop_before_pixels=True, force=kind is None)
    except (InvalidDicomError, OSError, ValueError, TypeError, AttributeError, KeyError, EOFError):
        return None
    except Exception:  # pydicom raises assorted errors on non-DICOM bytes read with force
        return None
    if "Rows" not in header or "Columns" not in header:
        return None
    return header


def _dicom_group(header, rel: Path, group_by: str) -> str:
    value = ""
    if group_by == "patient":
        value = str(header.get("PatientID", "") or "") or str(
            header.get("StudyInstanceUID", "") or ""
        )
        prefix = "patient" if header.get("PatientID") else "study"
    elif group_by == "study":
        value = str(header.get("StudyInstanceUID", "") or "")
        prefix = "study"
    if not value:
        return f"file:{rel.as_posix()}"
    return f"{prefix}-{hashlib.sha1(value.encode()).hexdigest()[:12]}"
