"""The full-download NIH loader against NIH's own files for all 112,120 ChestX-ray14 images
(``../shared/data/chest_xray/nih_metadata``: labels and boxes, no images): the loader reads
the real Data_Entry and BBox lists; the images present here are found, the rest dropped."""

from __future__ import annotations

import gzip

import pytest

from training.data import load_nih_boxes, load_nih_data_entry, nih_data_entry


@pytest.fixture
def nih(shared_data):
    folder = shared_data / "chest_xray" / "nih_metadata"
    if not folder.is_dir():
        pytest.skip(f"NIH's metadata files are not at {folder}")
    return folder


def test_data_entry_lists_every_chestxray14_image_and_the_present_ones_load(nih, shared_data):
    path = nih_data_entry(nih)
    assert path.name == "Data_Entry_2017_v2020.csv.gz"
    with gzip.open(path, "rt") as handle:
        listed = sum(1 for _ in handle) - 1
    assert listed == 112_120
    images = shared_data / "chest_xray" / "images"
    mass = load_nih_data_entry(path, images, positive_finding="Mass", missing="drop")
    assert 0 < len(mass.paths) <= len(list(images.iterdir()))
    assert set(mass.labels) == {"no_finding", "mass"}
    assert all(p.parent == images for p in mass.paths)
    # the images here are NIH's, re-encoded as JPEG under the same stem
    metadata = mass.metadata
    stems = [name.rsplit(".", 1)[0] for name in metadata["image"]]
    findings = dict(zip(stems, metadata["findings"], strict=True))
    for path, label in zip(mass.paths, mass.labels, strict=True):
        assert ("Mass" in findings[path.stem].split("|")) == (label == "mass")
    assert all(len(g) == 8 and g.isdigit() for g in mass.groups)  # patients, zero-padded
    assert {"view", "age", "sex"} <= set(mass.metadata.columns)


def test_the_box_list_gives_each_image_its_radiologists_boxes(nih):
    boxes = load_nih_boxes(nih / "BBox_List_2017.csv.gz")
    assert sum(len(found) for found in boxes.values()) == 984
    assert len(boxes) == 880
    finding, *box = boxes["00013118_008.png"][0]
    assert finding == "Atelectasis"
    assert box == pytest.approx([225.0847, 547.0192, 86.7797, 79.1865], 1e-4)
    every = [box for found in boxes.values() for _, *box in found]
    assert all(0 <= x < 1024 and 0 <= y < 1024 and w > 0 and h > 0 for x, y, w, h in every)
