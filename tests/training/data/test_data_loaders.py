"""Every loader on small fixture folders, and its error messages."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from data_fixtures import write_dicom, write_image

from training.data import (
    DataError,
    LabelledSet,
    findings_labels,
    load_class_folders,
    load_csv,
    load_dicom_folder,
    load_multiclass_cxr,
    load_nih_data_entry,
    load_shared_brain_mri,
    load_shared_chest_xray,
    load_shared_lung_ct,
    load_shared_tb_xray,
    load_split_folders,
    split_findings,
)

# ---------------------------------------------------------------- LabelledSet


def test_labelled_set_helpers():
    data = LabelledSet(
        paths=[Path(f"/d/{i}.png") for i in range(5)],
        labels=["b", "a", "b", "b", "a"],
        groups=["g1", "g1", "g2", "g3", "g3"],
        metadata=pd.DataFrame({"view": list("PAPAP")}),
        class_names=("a", "b", "c"),
    )
    assert len(data) == 5
    assert data.label_indices().tolist() == [1, 0, 1, 1, 0]
    assert data.counts() == {"a": 2, "b": 3, "c": 0}
    assert data.one_hot().shape == (5, 3)
    sub = data.subset([4, 0])
    assert sub.labels == ["a", "b"]
    assert sub.metadata["view"].tolist() == ["P", "P"]
    assert sub.class_names == ("a", "b", "c")
    assert data.subset(np.array([True, False, False, False, True])).groups == ["g1", "g3"]
    assert data.item_ids()[0] == "0.png"
    relabelled = data.relabel({"a": None})
    assert relabelled.labels == ["b", "b", "b"] and relabelled.class_names == ("b", "c")
    assert "5 items, 3 groups" in data.describe()


def test_labelled_set_rejects_inconsistent_input():
    with pytest.raises(DataError, match="one entry per item"):
        LabelledSet([Path("a.png")], ["x", "y"], ["g"])
    with pytest.raises(DataError, match="not among class_names"):
        LabelledSet([Path("a.png")], ["x"], ["g"], class_names=("y",))
    with pytest.raises(DataError, match="metadata has 2 rows"):
        LabelledSet([Path("a.png")], ["x"], ["g"], pd.DataFrame({"v": [1, 2]}))


# ---------------------------------------------------------------- class folders


def test_class_folders(class_tree: Path):
    data = load_class_folders(class_tree)
    assert data.class_names == ("normal", "pneumonia")
    assert data.counts() == {"normal": 3, "pneumonia": 2}
    assert all(p.is_file() for p in data.paths)
    assert "pneumonia/sub/00000007_001.jpeg" in data.item_ids()
    assert len(set(data.groups)) == 5  # each file its own group by default
    grouped = load_class_folders(class_tree, group_pattern=r"^(\d+)_")
    assert grouped.groups.count("00000007") == 2
    ordered = load_class_folders(class_tree, class_names=("pneumonia", "normal", "covid"))
    assert ordered.class_names == ("pneumonia", "normal", "covid")


def test_class_folders_find_extensionless_dicom(tmp_path: Path):
    write_image(tmp_path / "a" / "x.png")
    write_dicom(tmp_path / "b" / "IM0001")
    data = load_class_folders(tmp_path)
    assert data.counts() == {"a": 1, "b": 1}


def test_class_folder_errors(tmp_path: Path, class_tree: Path):
    with pytest.raises(DataError, match="does not exist"):
        load_class_folders(tmp_path / "nope")
    (tmp_path / "flat").mkdir()
    write_image(tmp_path / "flat" / "x.png")
    with pytest.raises(DataError, match="no class folders"):
        load_class_folders(tmp_path / "flat")
    (class_tree / "covid").mkdir()
    with pytest.raises(DataError, match=r"'covid'.* hold no images"):
        load_class_folders(class_tree)
    with pytest.raises(DataError, match="not among the classes"):
        load_class_folders(class_tree, class_names=("normal",))
    (class_tree / "covid").rmdir()
    with pytest.raises(DataError, match="does not match the file name"):
        load_class_folders(class_tree, group_pattern=r"^patient(\d+)")


# ---------------------------------------------------------------- split folders


def test_split_folders(tmp_path: Path):
    for split, n in (("train", 3), ("val", 2), ("test", 1)):
        for cls in ("normal", "tb"):
            for i in range(n):
                write_image(tmp_path / split / cls / f"{split}{i}.png", 50 + 40 * i)
    (tmp_path / "notes").mkdir()
    splits = load_split_folders(tmp_path)
    assert list(splits) == ["train", "validation", "test"]
    assert splits["train"].counts() == {"normal": 3, "tb": 3}
    assert splits["validation"].counts() == {"normal": 2, "tb": 2}
    assert all(s.class_names == ("normal", "tb") for s in splits.values())
    assert not set(splits["train"].groups) & set(splits["validation"].groups)


def test_split_folders_classes_missing_from_a_split(tmp_path: Path):
    write_image(tmp_path / "train" / "a" / "1.png")
    write_image(tmp_path / "train" / "b" / "1.png")
    write_image(tmp_path / "validation" / "a" / "2.png")
    splits = load_split_folders(tmp_path)
    assert splits["validation"].counts() == {"a": 1, "b": 0}


def test_split_folder_errors(tmp_path: Path):
    write_image(tmp_path / "validation" / "a" / "v1.png")
    with pytest.raises(DataError, match=r"no train/ folder .*'validation'"):
        load_split_folders(tmp_path)
    write_image(tmp_path / "train" / "a" / "1.png")
    write_image(tmp_path / "val" / "a" / "2.png")
    with pytest.raises(DataError, match=r"'val'.*look like the validation split"):
        load_split_folders(tmp_path)
    shutil.rmtree(tmp_path / "val")
    write_image(tmp_path / "validation" / "b" / "3.png")
    with pytest.raises(DataError, match=r"'b' have no images"):
        load_split_folders(tmp_path)
    write_image(tmp_path / "train" / "b" / "p7_1.png")
    write_image(tmp_path / "validation" / "b" / "p7_2.png")
    with pytest.raises(DataError, match="group 'p7' appears in both"):
        load_split_folders(tmp_path, group_pattern=r"^([^_.]+)")


# ---------------------------------------------------------------- CSV


def test_csv(tmp_path: Path):
    write_image(tmp_path / "img" / "a.png")
    write_image(tmp_path / "img" / "b.png")
    absolute = write_image(tmp_path / "elsewhere" / "c.png")
    (tmp_path / "labels.csv").write_text(
        f"file,diagnosis,patient,view\nimg/a.png,tb,p1,PA\nimg/b.png,normal,p1,AP\n"
        f"{absolute},normal,p2,PA\n"
    )
    data = load_csv(
        tmp_path / "labels.csv",
        path_column="file",
        label_column="diagnosis",
        group_column="patient",
    )
    assert data.labels == ["tb", "normal", "normal"]
    assert data.groups == ["p1", "p1", "p2"]
    assert data.paths[0] == tmp_path / "img" / "a.png"
    assert data.paths[2] == absolute
    assert list(data.metadata.columns) == ["view"]
    assert data.class_names == ("normal", "tb")


def test_csv_errors(tmp_path: Path):
    write_image(tmp_path / "a.png")
    csv = tmp_path / "labels.csv"
    csv.write_text("path,label\na.png,x\nmissing1.png,y\nmissing2.png,y\n")
    with pytest.raises(DataError, match=r"2 of 3 image files .*missing1.png'"):
        load_csv(csv)
    with pytest.raises(
        DataError, match=r"no column\(s\) 'diagnosis'.*columns are \['path', 'label'\]"
    ):
        load_csv(csv, label_column="diagnosis")
    with pytest.raises(DataError, match="does not exist"):
        load_csv(tmp_path / "nope.csv")
    csv.write_text("path,label\n")
    with pytest.raises(DataError, match="has no rows"):
        load_csv(csv)
    csv.write_text("path,label\na.png,\n")
    with pytest.raises(DataError, match="empty 'path' or 'label' on line"):
        load_csv(csv)


# ---------------------------------------------------------------- NIH Data_Entry


NIH_HEADER = (
    "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,"
    "View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]\n"
)
NIH_CSV = (
    NIH_HEADER
    + """00000001_000.png,Cardiomegaly,0,1,58,M,PA,2682,2749,0.143,0.143
00000001_001.png,Cardiomegaly|Mass,1,1,58,M,PA,2894,2729,0.143,0.143
00000002_000.png,No Finding,0,2,81,M,PA,2500,2048,0.171,0.171
00000003_000.png,Mass,0,3,74,F,AP,2500,2048,0.168,0.168
00000003_001.png,No Finding,1,3,74,F,PA,2048,2500,0.168,0.168
00000004_000.png,Nodule|Mass,0,4,82,M,AP,2048,2500,0.168,0.168
"""
)


@pytest.fixture
def nih(tmp_path: Path) -> tuple[Path, Path]:
    csv = tmp_path / "Data_Entry_2017.csv"
    csv.write_text(NIH_CSV)
    images = tmp_path / "nih"
    for i, name in enumerate(
        ["00000001_000", "00000001_001", "00000002_000", "00000003_000", "00000003_001"]
    ):
        # like the download: images_001/images/, images_002/images/
        write_image(images / f"images_00{1 + i // 3}" / "images" / f"{name}.png", 40 * i)
    write_image(images / "images_002" / "images" / "00000004_000.png")
    return csv, images


def test_nih_data_entry(nih):
    csv, images = nih
    data = load_nih_data_entry(csv, images)
    assert data.class_names == ("no_finding", "mass")
    by_image = dict(zip(data.metadata["image"], data.labels, strict=True))
    assert by_image == {
        "00000001_001.png": "mass",
        "00000002_000.png": "no_finding",
        "00000003_000.png": "mass",
        "00000003_001.png": "no_finding",
        "00000004_000.png": "mass",
    }
    assert data.groups[0] == "00000001"
    assert data.groups.count("00000003") == 2
    assert set(data.metadata.columns) >= {"patient_id", "findings", "view", "age", "sex"}
    assert all(p.is_file() for p in data.paths)
    exclusive = load_nih_data_entry(csv, images, exclusive=True)
    assert exclusive.counts() == {"no_finding": 2, "mass": 1}
    pa = load_nih_data_entry(csv, images, views=["PA"])
    assert pa.counts() == {"no_finding": 2, "mass": 1}
    nodules = load_nih_data_entry(csv, images, positive_finding=["Nodule", "Mass"])
    assert nodules.class_names == ("no_finding", "nodule")


def test_nih_data_entry_partial_download(nih):
    csv, images = nih
    (images / "images_002" / "images" / "00000004_000.png").unlink()
    with pytest.raises(DataError, match=r"1 of 5 images .* '00000004_000.png'.*missing='drop'"):
        load_nih_data_entry(csv, images)
    data = load_nih_data_entry(csv, images, missing="drop")
    assert len(data) == 4


def test_nih_data_entry_errors(nih, tmp_path: Path):
    csv, images = nih
    bad = tmp_path / "bad.csv"
    bad.write_text("Image Index,Labels\n")
    with pytest.raises(DataError, match=r"no column.*'Finding Labels'"):
        load_nih_data_entry(bad, images)
    with pytest.raises(DataError, match=r"NIH images folder .* does not exist"):
        load_nih_data_entry(csv, tmp_path / "nowhere")
    with pytest.raises(DataError, match="no images found"):
        load_nih_data_entry(csv, images, positive_finding="Hernia", views=["LL"])


def test_findings_helpers():
    assert split_findings("Mass|Nodule") == {"Mass", "Nodule"}
    assert split_findings("No Finding") == {"No Finding"}
    labels = findings_labels(["Mass", "No Finding", "Effusion", "Mass|Effusion"], "Mass")
    assert labels == ["mass", "no_finding", None, "mass"]
    labels = findings_labels(["Mass|Effusion", "Mass"], "Mass", exclusive=True)
    assert labels == [None, "mass"]


# ---------------------------------------------------------------- DICOM


def test_dicom_folder(tmp_path: Path):
    root = tmp_path / "dicom"
    write_dicom(root / "normal" / "case1" / "IM0001", patient_id="A")
    write_dicom(root / "normal" / "case1" / "IM0002", patient_id="A")
    write_dicom(root / "pneumonia" / "b.dcm", patient_id="B")
    write_dicom(root / "pneumonia" / "c", patient_id="", study_uid="9.9")
    write_image(root / "pneumonia" / "not_dicom.png")
    (root / "pneumonia" / "notes").write_text("text, no DICOM")
    (root / "DICOMDIR").write_bytes(b"")
    data = load_dicom_folder(root)
    assert data.counts() == {"normal": 2, "pneumonia": 2}
    assert data.groups[0] == data.groups[1] and data.groups[0].startswith("patient-")
    assert "A" not in data.groups[0]  # patient ids are hashed
    assert data.groups[3].startswith("study-")
    assert data.metadata["modality"].tolist() == ["CR"] * 4
    assert data.metadata["rows"].tolist() == [32] * 4
    per_file = load_dicom_folder(root, group_by="file")
    assert len(set(per_file.groups)) == 4

    def by_name(path: Path) -> str | None:
        return None if path.name == "c" else ("first" if path.name == "IM0001" else "other")

    custom = load_dicom_folder(root, label_from=by_name)
    assert custom.counts() == {"first": 1, "other": 2}


def test_dicom_folder_errors(tmp_path: Path):
    write_image(tmp_path / "only_png" / "a" / "x.png")
    with pytest.raises(DataError, match="no DICOM files"):
        load_dicom_folder(tmp_path / "only_png")
    write_dicom(tmp_path / "flat" / "IM1")
    with pytest.raises(DataError, match=r"lie directly in .* one subfolder per class"):
        load_dicom_folder(tmp_path / "flat")
    with pytest.raises(DataError, match="group_by must be"):
        load_dicom_folder(tmp_path / "flat", group_by="series")
    with pytest.raises(DataError, match="does not exist"):
        load_dicom_folder(tmp_path / "missing")


# ---------------------------------------------------------------- shared layouts (fake)


def _fake_shared(root: Path) -> Path:
    chest = root / "chest_xray"
    rows = [
        ("images/1_0.jpg", "00000001", "No Finding", "PA", ""),
        ("images/1_1.jpg", "00000001", "Mass|Nodule", "PA", "Mass:1:2:3:4"),
        ("images/2_0.jpg", "00000002", "Pneumonia", "AP", ""),
        ("images/3_0.jpg", "00000003", "Effusion", "PA", ""),
    ]
    for image, *_ in rows:
        write_image(chest / image)
    pd.DataFrame(rows, columns=["image", "patient_id", "findings", "view", "boxes"]).assign(
        source="nih"
    ).to_csv(chest / "labels.csv", index=False)
    tb = root / "tb_xray"
    for name, label, tinted in (("t1", "tuberculosis", 1), ("n1", "normal", 0)):
        write_image(tb / "images" / f"{name}.jpg")
        with (tb / "labels.csv").open("a") as handle:
            if handle.tell() == 0:
                handle.write("image,label,group,tinted,source\n")
            handle.write(f"images/{name}.jpg,{label},{name},{tinted},kaggle\n")
    return root


def test_shared_layouts_on_fake_folders(tmp_path: Path):
    root = _fake_shared(tmp_path / "shared")
    mass = load_shared_chest_xray(root, task="mass")
    assert mass.labels == ["no_finding", "mass"]
    assert mass.groups == ["00000001", "00000001"]
    assert mass.metadata["boxes"].tolist() == ["", "Mass:1:2:3:4"]
    assert load_shared_chest_xray(root / "chest_xray", task="Pneumonia").counts() == {
        "no_finding": 1,
        "pneumonia": 1,
    }
    with pytest.raises(DataError, match=r"unknown chest X-ray task 'hernia'.*'effusion'"):
        load_shared_chest_xray(root, task="hernia")
    tb = load_shared_tb_xray(root)
    assert tb.metadata["tinted"].tolist() == [1, 0]
    multi = load_multiclass_cxr(root)
    assert multi.class_names == ("normal", "pneumonia", "tuberculosis")
    assert multi.counts() == {"normal": 2, "pneumonia": 1, "tuberculosis": 1}
    assert multi.metadata["collection"].tolist() == ["nih", "nih", "tb_xray", "tb_xray"]
    assert multi.groups == ["nih:00000001", "nih:00000002", "tb_xray:t1", "tb_xray:n1"]
    assert multi.item_ids()[0] == "chest_xray/images/1_0.jpg"


def test_shared_layout_errors(tmp_path: Path):
    root = _fake_shared(tmp_path / "shared")
    (root / "chest_xray" / "images" / "2_0.jpg").unlink()
    with pytest.raises(DataError, match=r"1 of 2 image files .*2_0.jpg"):
        load_shared_chest_xray(root, task="pneumonia")
    with pytest.raises(DataError, match=r"no labels.csv"):
        load_shared_lung_ct(root)
    with pytest.raises(DataError, match="does not exist"):
        load_shared_brain_mri(tmp_path / "absent")
    with pytest.raises(DataError, match="no images found"):
        load_shared_chest_xray(root, task="mass", views=["AP"])


def test_missing_chest_views_come_from_nihs_own_data_entry(tmp_path: Path):
    root = _fake_shared(tmp_path / "shared")
    chest = root / "chest_xray"
    labels = pd.read_csv(chest / "labels.csv", dtype=str, keep_default_na=False)
    labels.loc[labels["image"] == "images/2_0.jpg", "view"] = ""  # a collection without views
    labels.to_csv(chest / "labels.csv", index=False)
    (chest / "nih_metadata").mkdir()
    pd.DataFrame(
        {
            "Image Index": ["2_0.png", "9_9.png"],
            "Finding Labels": ["Pneumonia", "No Finding"],
            "View Position": ["AP", "PA"],
        }
    ).to_csv(chest / "nih_metadata" / "Data_Entry_2017_v2020.csv.gz", index=False)
    pneumonia = load_shared_chest_xray(root, task="pneumonia")
    assert pneumonia.metadata["view"].tolist() == ["PA", "AP"]  # 1_0 kept its own view
    (chest / "nih_metadata" / "Data_Entry_2017_v2020.csv.gz").unlink()  # no file: left empty
    assert load_shared_chest_xray(root, task="pneumonia").metadata["view"].tolist() == ["PA", ""]
