"""Tests for training.synthetic: procedural chest radiographs, CT slices and brain MRI."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from training import synthetic
from training.synthetic import (
    CHEST_LESIONS,
    KINDS,
    LABELS,
    MODALITIES,
    NEGATIVE_LABEL,
    Box,
    SyntheticScan,
    brain_mri,
    chest_radiograph,
    ct_slice,
    format_boxes,
    generate,
    parse_boxes,
    patient_groups,
    to_png_bytes,
    write_dataset,
)

SMALL = 64  # image side for tests that do not look at lesions closely
PAIRED = 128  # image side for tests that compare lesions with their background
POSITIVE_LABELS = {
    kind: [label for label in labels if label != NEGATIVE_LABEL[kind]]
    for kind, labels in LABELS.items()
}


def scan_of(kind: str, label: str, seed: int, size: int = PAIRED) -> SyntheticScan:
    """One scan of ``kind`` and class ``label`` from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    if kind == "chest":
        return chest_radiograph(rng, size=size, abnormal=label == "abnormal")
    if kind == "ct":
        return ct_slice(rng, size=size, kind=label)
    return brain_mri(rng, size=size, kind=label)


def box_mask(boxes: tuple[Box, ...], size: int) -> np.ndarray:
    inside = np.zeros((size, size), bool)
    for box in boxes:
        inside[box.y : box.y + box.h, box.x : box.x + box.w] = True
    return inside


def box_centre(box: Box) -> tuple[float, float]:
    return box.x + box.w / 2.0, box.y + box.h / 2.0


class TestDeterminism:
    @pytest.mark.parametrize("kind", KINDS)
    def test_same_seed_gives_identical_arrays_labels_and_boxes(self, kind: str) -> None:
        first = generate(kind, 6, seed=11, size=SMALL)
        second = generate(kind, 6, seed=11, size=SMALL)
        np.testing.assert_array_equal(first[0], second[0])
        assert first[1] == second[1]
        assert first[2] == second[2]

    @pytest.mark.parametrize("kind", KINDS)
    def test_different_seeds_give_different_images(self, kind: str) -> None:
        first, _, _ = generate(kind, 4, seed=1, size=SMALL)
        second, _, _ = generate(kind, 4, seed=2, size=SMALL)
        assert not np.array_equal(first, second)
        assert np.abs(first - second).mean() > 0.01

    @pytest.mark.parametrize("kind", KINDS)
    def test_images_in_one_set_differ_from_each_other(self, kind: str) -> None:
        images, _, _ = generate(kind, 4, seed=3, size=SMALL)
        for i in range(len(images) - 1):
            assert not np.array_equal(images[i], images[i + 1])

    @pytest.mark.parametrize("kind", KINDS)
    def test_single_scan_functions_are_seeded_by_the_generator(self, kind: str) -> None:
        label = POSITIVE_LABELS[kind][0]
        first = scan_of(kind, label, seed=5, size=SMALL)
        second = scan_of(kind, label, seed=5, size=SMALL)
        np.testing.assert_array_equal(first.image, second.image)
        assert first.boxes == second.boxes

    def test_successive_draws_from_one_generator_differ(self) -> None:
        rng = np.random.default_rng(0)
        first = ct_slice(rng, size=SMALL, kind="normal")
        second = ct_slice(rng, size=SMALL, kind="normal")
        assert not np.array_equal(first.image, second.image)


class TestShapesAndRange:
    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("size", [synthetic.MIN_SIZE, 65, 96])
    def test_generate_returns_float32_images_in_unit_range(self, kind: str, size: int) -> None:
        images, labels, boxes = generate(kind, 5, seed=0, size=size)
        assert images.shape == (5, size, size)
        assert images.dtype == np.float32
        assert np.isfinite(images).all()
        assert images.min() >= 0.0
        assert images.max() <= 1.0
        assert len(labels) == len(boxes) == 5

    @pytest.mark.parametrize(
        ("make", "modality"),
        [(chest_radiograph, "CR"), (ct_slice, "CT"), (brain_mri, "MR")],
    )
    def test_single_scans_default_to_224_pixels_with_their_modality(self, make, modality) -> None:
        scan = make(np.random.default_rng(0))
        assert scan.image.shape == (224, 224)
        assert scan.image.dtype == np.float32
        assert 0.0 <= scan.image.min() <= scan.image.max() <= 1.0
        assert scan.modality == modality

    @pytest.mark.parametrize("kind", KINDS)
    def test_images_are_not_flat(self, kind: str) -> None:
        images, _, _ = generate(kind, 3, seed=0, size=SMALL)
        assert (images.reshape(3, -1).std(axis=1) > 0.1).all()

    def test_generate_with_zero_images(self) -> None:
        images, labels, boxes = generate("chest", 0, seed=0, size=SMALL)
        assert images.shape == (0, SMALL, SMALL)
        assert labels == [] and boxes == []

    @pytest.mark.parametrize("size", [16, 31, 40.5])
    def test_too_small_or_fractional_sizes_are_refused(self, size) -> None:
        with pytest.raises(ValueError, match="size"):
            generate("ct", 1, seed=0, size=size)
        with pytest.raises(ValueError, match="size"):
            chest_radiograph(np.random.default_rng(0), size=size)


class TestLabels:
    def test_documented_label_sets(self) -> None:
        assert LABELS == {
            "chest": ("normal", "abnormal"),
            "ct": ("normal", "benign", "malignant"),
            "brain": ("glioma", "meningioma", "notumor", "pituitary"),
        }
        assert MODALITIES == {"chest": "CR", "ct": "CT", "brain": "MR"}
        assert all(NEGATIVE_LABEL[kind] in LABELS[kind] for kind in KINDS)

    @pytest.mark.parametrize("kind", KINDS)
    def test_generated_labels_and_box_labels_come_from_the_documented_sets(self, kind: str) -> None:
        _, labels, boxes = generate(kind, 16, seed=4, size=SMALL)
        assert set(labels) == set(LABELS[kind])
        for label, image_boxes in zip(labels, boxes, strict=True):
            if label == NEGATIVE_LABEL[kind]:
                assert image_boxes == ()
                continue
            assert image_boxes
            expected = set(CHEST_LESIONS) if kind == "chest" else {label}
            assert {box.label for box in image_boxes} <= expected

    @pytest.mark.parametrize("kind", ["ct", "brain"])
    def test_kind_argument_sets_the_label(self, kind: str) -> None:
        for label in LABELS[kind]:
            assert scan_of(kind, label, seed=0, size=SMALL).label == label

    def test_chest_arguments_set_label_and_lesion_kind(self) -> None:
        rng = np.random.default_rng(0)
        assert chest_radiograph(rng, size=SMALL, abnormal=False).label == "normal"
        assert chest_radiograph(rng, size=SMALL, abnormal=False).boxes == ()
        for lesion in CHEST_LESIONS:
            scan = chest_radiograph(rng, size=SMALL, lesion=lesion)
            assert scan.label == "abnormal"
            assert {box.label for box in scan.boxes} == {lesion}

    def test_unspecified_classes_are_drawn_at_random(self) -> None:
        rng = np.random.default_rng(0)
        assert {chest_radiograph(rng, size=SMALL).label for _ in range(12)} == set(LABELS["chest"])
        assert {brain_mri(rng, size=SMALL).label for _ in range(16)} == set(LABELS["brain"])

    def test_bad_arguments_are_refused(self) -> None:
        rng = np.random.default_rng(0)
        with pytest.raises(ValueError, match="kind"):
            ct_slice(rng, kind="glioma")
        with pytest.raises(ValueError, match="kind"):
            brain_mri(rng, kind="normal")
        with pytest.raises(ValueError, match="lesion"):
            chest_radiograph(rng, lesion="effusion")
        with pytest.raises(ValueError, match="contradicts"):
            chest_radiograph(rng, abnormal=False, lesion="mass")
        with pytest.raises(ValueError, match="kind"):
            generate("knee", 1, seed=0)
        with pytest.raises(ValueError, match="negative"):
            generate("ct", -1, seed=0)
        with pytest.raises(ValueError, match="seed"):
            generate("ct", 1, seed=-3)


class TestBoxes:
    @pytest.mark.parametrize("kind", KINDS)
    def test_boxes_lie_inside_the_image(self, kind: str) -> None:
        _, labels, boxes = generate(kind, 24, seed=9, size=SMALL, positive_fraction=1.0)
        assert all(label != NEGATIVE_LABEL[kind] for label in labels)
        for box in (box for image_boxes in boxes for box in image_boxes):
            assert box.w >= 1 and box.h >= 1
            assert box.x >= 0 and box.x + box.w <= SMALL
            assert box.y >= 0 and box.y + box.h <= SMALL

    @pytest.mark.parametrize(
        ("kind", "label"),
        [(kind, label) for kind in KINDS for label in POSITIVE_LABELS[kind]],
    )
    def test_the_lesion_changes_the_box_region_and_little_else(self, kind: str, label: str) -> None:
        # The same seed draws the same anatomy, pose and noise with or without the lesion.
        for seed in range(3):
            lesion = scan_of(kind, label, seed)
            normal = scan_of(kind, NEGATIVE_LABEL[kind], seed)
            inside = box_mask(lesion.boxes, PAIRED)
            difference = lesion.image - normal.image
            assert np.abs(difference[inside]).mean() > 0.05
            assert np.abs(difference[inside]).mean() > 10 * np.abs(difference[~inside]).mean()
            if label != "glioma":  # gliomas have a dark necrotic core; the others are bright
                assert lesion.image[inside].mean() > normal.image[inside].mean() + 0.03

    def test_chest_masses_are_larger_than_nodules(self) -> None:
        def median_area(lesion: str) -> float:
            rng = np.random.default_rng(0)
            scans = [chest_radiograph(rng, size=PAIRED, lesion=lesion) for _ in range(8)]
            return float(np.median([box.w * box.h for scan in scans for box in scan.boxes]))

        assert median_area("mass") > 3 * median_area("nodule")

    def test_malignant_ct_nodules_are_larger_than_benign_ones(self) -> None:
        def mean_area(kind: str) -> float:
            scans = [scan_of("ct", kind, seed) for seed in range(8)]
            return float(np.mean([box.w * box.h for scan in scans for box in scan.boxes]))

        assert mean_area("malignant") > 2 * mean_area("benign")

    def test_pituitary_tumours_sit_on_the_midline_in_the_lower_centre(self) -> None:
        for seed in range(6):
            (box,) = scan_of("brain", "pituitary", seed).boxes
            x, y = box_centre(box)
            assert abs(x - PAIRED / 2) < 0.12 * PAIRED
            assert y > 0.55 * PAIRED

    def test_gliomas_sit_in_one_hemisphere(self) -> None:
        for seed in range(6):
            (box,) = scan_of("brain", "glioma", seed).boxes
            x, _ = box_centre(box)
            assert abs(x - PAIRED / 2) > 0.08 * PAIRED


class TestBoxText:
    def test_format_and_parse_round_trip(self) -> None:
        boxes = (Box(1, 2, 3, 4, "mass"), Box(10, 20, 5, 6, "nodule"))
        assert format_boxes(boxes) == "mass:1:2:3:4;nodule:10:20:5:6"
        assert parse_boxes(format_boxes(boxes)) == boxes
        assert format_boxes(()) == ""
        assert parse_boxes("") == ()

    @pytest.mark.parametrize("text", ["mass:1:2:3", "mass:1:2:3:x", "a:b"])
    def test_malformed_boxes_are_refused(self, text: str) -> None:
        with pytest.raises(ValueError, match="box"):
            parse_boxes(text)


class TestClassBalance:
    @pytest.mark.parametrize("fraction", [0.0, 0.1, 0.35, 1.0])
    def test_chest_positive_fraction_is_honoured(self, fraction: float) -> None:
        _, labels, _ = generate("chest", 40, seed=2, size=SMALL, positive_fraction=fraction)
        assert abs(labels.count("abnormal") - fraction * 40) <= 1

    def test_chest_defaults_to_half_abnormal(self) -> None:
        _, labels, _ = generate("chest", 20, seed=2, size=SMALL)
        assert labels.count("abnormal") == 10

    @pytest.mark.parametrize("kind", ["ct", "brain"])
    def test_other_kinds_default_to_uniform_classes(self, kind: str) -> None:
        _, labels, _ = generate(kind, 26, seed=5, size=SMALL)
        counts = Counter(labels)
        assert set(counts) == set(LABELS[kind])
        assert max(counts.values()) - min(counts.values()) <= 1

    def test_positive_fraction_splits_evenly_between_positive_classes(self) -> None:
        _, labels, _ = generate("ct", 40, seed=1, size=SMALL, positive_fraction=0.5)
        assert Counter(labels) == {"normal": 20, "benign": 10, "malignant": 10}

    def test_labels_are_shuffled(self) -> None:
        _, labels, _ = generate("chest", 20, seed=2, size=SMALL)
        assert labels != sorted(labels) and labels != sorted(labels, reverse=True)

    @pytest.mark.parametrize("fraction", [-0.1, 1.5])
    def test_fractions_outside_the_unit_interval_are_refused(self, fraction: float) -> None:
        with pytest.raises(ValueError, match="positive_fraction"):
            generate("chest", 4, seed=0, size=SMALL, positive_fraction=fraction)


class TestPatientGroups:
    def test_groups_are_runs_of_one_to_three_images(self) -> None:
        groups = patient_groups(60, seed=7)
        assert len(groups) == 60
        runs = Counter(groups)
        assert 1 < len(runs) < 60
        assert max(runs.values()) <= 3
        order = list(dict.fromkeys(groups))
        assert groups == sorted(groups, key=order.index)  # each group is one consecutive run

    def test_groups_are_seeded_and_prefix_stable(self) -> None:
        assert patient_groups(30, seed=1) == patient_groups(30, seed=1)
        assert patient_groups(30, seed=1)[:10] == patient_groups(10, seed=1)
        assert patient_groups(30, seed=1) != patient_groups(30, seed=2)


class TestPng:
    def test_png_bytes_decode_to_the_rounded_image(self) -> None:
        image = generate("brain", 1, seed=0, size=SMALL)[0][0]
        decoded = cv2.imdecode(np.frombuffer(to_png_bytes(image), np.uint8), cv2.IMREAD_UNCHANGED)
        assert decoded.dtype == np.uint8
        np.testing.assert_array_equal(decoded, np.round(image * 255).astype(np.uint8))

    def test_png_bytes_refuse_colour_images(self) -> None:
        with pytest.raises(ValueError, match="H×W"):
            to_png_bytes(np.zeros((4, 4, 3), np.float32))


class TestWriteDataset:
    @pytest.fixture(scope="class")
    def written(self, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
        folder = tmp_path_factory.mktemp("synthetic_ct")
        csv_path = write_dataset(folder, "ct", 12, seed=3, size=48, positive_fraction=0.5)
        with csv_path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return folder, rows

    def test_csv_lives_in_the_folder_with_the_documented_columns(self, written) -> None:
        folder, rows = written
        with (folder / "labels.csv").open(newline="", encoding="utf-8") as handle:
            assert next(csv.reader(handle)) == ["path", "label", "group", "boxes"]
        assert len(rows) == 12

    def test_rows_match_the_files_on_disk(self, written) -> None:
        folder, rows = written
        on_disk = {path.relative_to(folder).as_posix() for path in folder.rglob("*.png")}
        assert on_disk == {row["path"] for row in rows}
        for row in rows:
            assert row["path"].split("/")[0] == row["label"]  # class-per-folder layout

    def test_pngs_are_readable_greyscale_images(self, written) -> None:
        folder, rows = written
        for row in rows:
            pixels = cv2.imread(str(folder / row["path"]), cv2.IMREAD_UNCHANGED)
            assert pixels is not None
            assert pixels.shape == (48, 48)
            assert pixels.dtype == np.uint8

    def test_contents_match_generate(self, written) -> None:
        folder, rows = written
        images, labels, boxes = generate("ct", 12, seed=3, size=48, positive_fraction=0.5)
        assert [row["label"] for row in rows] == labels
        assert [parse_boxes(row["boxes"]) for row in rows] == boxes
        assert [row["group"] for row in rows] == patient_groups(12, seed=3)
        first = cv2.imread(str(folder / rows[0]["path"]), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(first, np.round(images[0] * 255).astype(np.uint8))

    def test_some_images_share_a_patient_group(self, written) -> None:
        _, rows = written
        assert len({row["group"] for row in rows}) < len(rows)

    def test_rows_with_lesions_have_boxes(self, written) -> None:
        _, rows = written
        for row in rows:
            assert bool(row["boxes"]) == (row["label"] != "normal")


class TestDependencies:
    def test_importing_the_module_does_not_import_tensorflow(self) -> None:
        code = "import sys, training.synthetic; sys.exit('tensorflow' in sys.modules)"
        root = Path(__file__).resolve().parents[2]
        completed = subprocess.run([sys.executable, "-c", code], cwd=root, check=False)
        assert completed.returncode == 0
