"""Activation maps against radiologist boxes: parsing, mapping, scores and the report."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from zoo.metrics import wilson_interval
from zoo.preprocess import preprocess
from zoo.trust.localization import (
    Box,
    boxes_for,
    cam_on_source,
    centre_prior,
    energy_inside,
    full_map_on_source,
    localization_report,
    parse_boxes,
    pointing_hit,
)

SHARED_LABELS = (
    Path(__file__).resolve().parents[3].parent / "shared" / "data" / "chest_xray" / "labels.csv"
)


def one_hot(shape: tuple[int, int], row: int, col: int) -> np.ndarray:
    heat = np.zeros(shape, np.float32)
    heat[row, col] = 1.0
    return heat


def centroid(heat: np.ndarray) -> tuple[float, float]:
    """(row, col) of the map's mass in continuous source coordinates (pixel centres)."""
    rows, cols = np.indices(heat.shape)
    weights = heat / heat.sum()
    return float((weights * (rows + 0.5)).sum()), float((weights * (cols + 0.5)).sum())


# -- parsing ----------------------------------------------------------------------------


class TestParseBoxes:
    def test_real_cells_with_several_boxes(self):
        boxes = parse_boxes(
            "Cardiomegaly:213.5:232.0:206.0:172.0;Pneumothorax:306.5:55.0:86.0:51.5"
        )
        assert boxes == [
            Box("Cardiomegaly", 213.5, 232.0, 206.0, 172.0),
            Box("Pneumothorax", 306.5, 55.0, 86.0, 51.5),
        ]
        assert parse_boxes("Mass:175.5:317.0:44.0:42.0;Nodule:10:20:30:40") == [
            Box("Mass", 175.5, 317.0, 44.0, 42.0),
            Box("Nodule", 10.0, 20.0, 30.0, 40.0),
        ]

    def test_whitespace_and_empty_entries_are_tolerated(self):
        assert parse_boxes(" Mass : 1 : 2 : 3 : 4 ;; ") == [Box("Mass", 1, 2, 3, 4)]

    @pytest.mark.parametrize("empty", ["", "  ", None, float("nan"), ";"])
    def test_empty_cells_give_no_boxes(self, empty):
        assert parse_boxes(empty) == []

    @pytest.mark.parametrize(
        "entry",
        [
            "Mass:175.5:317.0:44.0",  # 4 fields
            "Mass:1:2:3:4:5",  # 6 fields
            "Mass:x:317.0:44.0:42.0",  # not a number
            "Mass:1:2:0:4",  # zero width
            "Mass:1:2:3:-4",  # negative height
            "Mass:nan:2:3:4",  # not finite
            ":1:2:3:4",  # no label
            "Mass 175.5 317.0 44.0 42.0",  # wrong separator
        ],
    )
    def test_malformed_entries_raise_quoting_the_entry(self, entry):
        with pytest.raises(ValueError) as err:
            parse_boxes(f"Nodule:10:20:30:40;{entry}")
        assert repr(entry) in str(err.value)

    def test_a_number_that_is_not_nan_raises(self):
        with pytest.raises(ValueError, match=r"3\.5"):
            parse_boxes(3.5)

    def test_boxes_for_matches_labels_case_insensitively(self):
        boxes = parse_boxes("Mass:1:2:3:4;Nodule:5:6:7:8;mass:9:9:9:9")
        assert boxes_for(boxes, ["MASS"]) == [boxes[0], boxes[2]]
        assert boxes_for(boxes, "nodule") == [boxes[1]]  # a string is one label
        assert boxes_for(boxes, ["Mass", "Nodule"]) == boxes
        assert boxes_for(boxes, ["Effusion"]) == []

    @pytest.mark.shared
    def test_every_cell_of_the_nih_labels_parses(self):
        if not SHARED_LABELS.is_file():
            pytest.skip(f"{SHARED_LABELS} is absent")
        with SHARED_LABELS.open(newline="") as handle:
            cells = [row["boxes"] for row in csv.DictReader(handle)]
        boxes = [parse_boxes(cell) for cell in cells]
        assert sum(map(bool, boxes)) == 657 and sum(map(len, boxes)) == 737
        assert all(b.x + b.w <= 512 and b.y + b.h <= 512 for image in boxes for b in image)


# -- maps on the source grid -------------------------------------------------------------


class TestMapsOnSource:
    def test_letterboxed_peak_lands_where_the_scan_was(self):
        scan = np.random.default_rng(0).random((100, 60)).astype(np.float32)  # tall
        prepared = preprocess(scan, {"input_size": [32, 32], "channels": 1, "aspect": "pad"})
        top, left, bottom, right = prepared.content_box
        assert (top, bottom) == (0, 32) and left > 0  # padded left and right
        cam = one_hot((8, 8), 6, 5)  # cell centre at input (row 26, col 22)
        heat = full_map_on_source(cam, prepared, (32, 32), scan.shape)
        assert heat.shape == (100, 60) and heat.dtype == np.float32
        assert heat.min() >= 0.0 and heat.max() <= 1.0
        expected = ((26 - top) * 100 / (bottom - top), (22 - left) * 60 / (right - left))
        row, col = centroid(heat)
        assert row == pytest.approx(expected[0], abs=1.0)
        assert col == pytest.approx(expected[1], abs=1.0)
        # ignoring the letterbox would put it at col 22 * 60 / 32 = 41
        assert abs(col - 22 * 60 / 32) > 8
        lesion = Box("Mass", expected[1] - 4, expected[0] - 4, 8, 8)
        assert pointing_hit(heat, [lesion])
        assert not pointing_hit(heat, [Box("Mass", 22 * 60 / 32 - 4, expected[0] - 4, 8, 8)])

    def test_crop_leaves_zeros_outside_the_source_box(self):
        scan = np.zeros((40, 100), np.float32)
        prepared = preprocess(scan, {"input_size": [32, 32], "channels": 1, "aspect": "crop"})
        cam = np.random.default_rng(1).random((8, 8)).astype(np.float32)
        heat = full_map_on_source(cam, prepared, (32, 32), scan.shape)
        part, (top, left, bottom, right) = cam_on_source(cam, prepared, (32, 32), scan.shape)
        assert (top, bottom) == (0, 40) and 0 < left < right < 100
        assert np.array_equal(heat[:, left:right], part)
        assert not heat[:, :left].any() and not heat[:, right:].any()
        assert heat[:, left:right].max() > 0.9

    def test_centre_prior_peaks_at_the_centre_with_sigma_a_quarter_of_the_shorter_side(self):
        prior = centre_prior((41, 61))
        assert prior.shape == (41, 61) and prior.dtype == np.float32
        assert np.unravel_index(np.argmax(prior), prior.shape) == (20, 30)
        assert prior[20, 30] == pytest.approx(1.0)
        assert np.allclose(prior, prior[::-1]) and np.allclose(prior, prior[:, ::-1])
        sigma = 41 / 4
        assert prior[20, 30 + 10] == pytest.approx(math.exp(-0.5 * (10 / sigma) ** 2), rel=1e-5)
        # mass within one sigma of the centre, the image spanning +-2 sigma by +-3 sigma
        big = centre_prior((401, 601))
        sigma = 401 / 4
        inner = Box("c", 300.5 - sigma, 200.5 - sigma, 2 * sigma, 2 * sigma)
        one, two, three = (math.erf(k / math.sqrt(2)) for k in (1, 2, 3))
        assert energy_inside(big, [inner]) == pytest.approx(one * one / (two * three), abs=0.005)

    def test_even_sided_centre_prior_points_at_the_exact_centre(self):
        prior = centre_prior((40, 60))
        assert pointing_hit(prior, [Box("c", 30, 20, 0.01, 0.01)])  # tie of 4 -> centroid


# -- scores -----------------------------------------------------------------------------


class TestPointing:
    box = Box("Mass", 10, 10, 10, 10)  # columns and rows 10..19

    def test_peak_inside_hits_and_outside_misses(self):
        assert pointing_hit(one_hot((40, 40), 15, 12), [self.box])
        assert pointing_hit(one_hot((40, 40), 19, 19), [self.box])
        assert not pointing_hit(one_hot((40, 40), 30, 30), [self.box])
        assert not pointing_hit(one_hot((40, 40), 15, 12), [])

    def test_tolerance_is_the_distance_from_the_box(self):
        heat = one_hot((40, 40), 15, 29)  # centre (29.5, 15.5): 9.5 px right of the box
        assert not pointing_hit(heat, [self.box], tolerance_px=9)
        assert pointing_hit(heat, [self.box], tolerance_px=9.5)
        corner = one_hot((40, 40), 29, 29)  # 9.5 px right and below: 13.4 px away
        assert not pointing_hit(corner, [self.box], tolerance_px=13)
        assert pointing_hit(corner, [self.box], tolerance_px=15)

    def test_ties_point_at_their_centroid(self):
        plateau = np.zeros((40, 40))
        plateau[12:16, 12:18] = 1.0
        assert pointing_hit(plateau, [self.box])
        two_peaks = one_hot((40, 40), 2, 2) + one_hot((40, 40), 26, 26)
        # each peak is in a box but the centroid (14.5, 14.5) lies between them
        assert not pointing_hit(two_peaks, [Box("a", 0, 0, 5, 5), Box("b", 25, 25, 5, 5)])
        assert pointing_hit(two_peaks, [self.box])
        # a flat map points at the centre, never at every box
        assert not pointing_hit(np.ones((40, 40)), [Box("a", 0, 0, 5, 5)])

    def test_bad_maps_raise(self):
        with pytest.raises(ValueError, match="finite"):
            pointing_hit(np.array([[np.nan, 1.0]]), [self.box])
        with pytest.raises(ValueError, match="shape"):
            energy_inside(np.ones(5), [self.box])


class TestEnergy:
    def test_uniform_map_scores_the_boxes_area_share(self):
        heat = np.ones((100, 50))
        assert energy_inside(heat, [Box("a", 10, 20, 30, 40)]) == pytest.approx(1200 / 5000)

    def test_overlapping_boxes_count_once_and_half_pixels_follow_pixel_centres(self):
        heat = np.ones((20, 20))
        overlapping = [Box("a", 0, 0, 10, 10), Box("b", 5, 0, 10, 10)]
        assert energy_inside(heat, overlapping) == pytest.approx(150 / 400)
        # [1.5, 3.5) holds the centres of columns 1 and 2
        assert energy_inside(heat, [Box("a", 1.5, 0, 2, 20)]) == pytest.approx(40 / 400)
        # [1.6, 3.6) holds the centres of columns 2 and 3, not column 1
        columns = [np.zeros((20, 20)) for _ in range(5)]
        for col, column in enumerate(columns):
            column[:, col] = 1.0
        shifted = Box("a", 1.6, 0, 2, 20)
        assert [energy_inside(c, [shifted]) for c in columns] == [0.0, 0.0, 1.0, 1.0, 0.0]
        assert energy_inside(heat, [Box("a", -5, -5, 100, 100)]) == pytest.approx(1.0)

    def test_peak_inside_gives_high_energy_outside_low(self):
        rows, cols = np.indices((64, 64))
        blob = np.exp(-((rows - 20) ** 2 + (cols - 40) ** 2) / (2 * 3.0**2))
        box = Box("Mass", 32, 12, 16, 16)  # centred on (row 20, col 40)
        assert pointing_hit(blob, [box])
        assert energy_inside(blob, [box]) > 0.95
        moved = np.roll(blob, 25, axis=0)
        assert not pointing_hit(moved, [box]) and energy_inside(moved, [box]) < 0.01

    def test_zero_and_negative_mass(self):
        box = Box("a", 0, 0, 5, 5)
        assert energy_inside(np.zeros((10, 10)), [box]) == 0.0
        heat = np.zeros((10, 10))
        heat[1, 1], heat[8, 8] = 1.0, -0.5  # negative values carry no mass
        assert energy_inside(heat, [box]) == 1.0
        assert energy_inside(-np.ones((10, 10)), [box]) == 0.0
        assert energy_inside(np.ones((10, 10)), []) == 0.0


# -- report -----------------------------------------------------------------------------


def report_set() -> tuple[list[np.ndarray], list[list[Box]]]:
    """Five 20x20 images; the centre prior peaks at (10, 10) in source pixels."""
    corner, centre = Box("Mass", 2, 2, 4, 4), Box("Mass", 8, 8, 4, 4)
    heats = [
        one_hot((20, 20), 3, 4),  # in the corner box: hit, energy 1
        one_hot((20, 20), 15, 15),  # far from it: miss, energy 0
        one_hot((20, 20), 3, 3),  # box at the centre, peak in the corner: miss, 0
        one_hot((20, 20), 3, 3),  # no boxes: left out
        np.ones((20, 20)),  # flat: points at the centre box: hit, energy 16 / 400
    ]
    return heats, [[corner], [corner], [centre], [], [centre]]


def prior_energy(box: Box) -> float:
    sigma, c = 20 / 4, 9.5
    rows, cols = np.indices((20, 20))
    prior = np.exp(-((rows - c) ** 2 + (cols - c) ** 2) / (2 * sigma**2))
    r0, c0 = int(box.y), int(box.x)
    return float(prior[r0 : r0 + int(box.h), c0 : c0 + int(box.w)].sum() / prior.sum())


class TestReport:
    def test_hand_checked_numbers(self):
        heats, boxes = report_set()
        report = localization_report(heats, boxes, n_boot=500, seed=3)
        json.dumps(report, allow_nan=False)
        assert report["n"] == 4 and report["n_without_boxes"] == 1
        assert report["box_area_share"] == pytest.approx(16 / 400)
        model, prior = report["model"], report["centre_prior"]
        assert model["pointing_hits"] == 2 and model["pointing_hit_rate"] == 0.5
        # Wilson 95% for 2 / 4: 0.5 +- 1.96 sqrt(1/16 + 1.96^2/64) / (1 + 1.96^2/4)
        assert model["pointing_hit_rate_ci"] == pytest.approx([0.15, 0.85], abs=1e-4)
        assert model["pointing_hit_rate_ci"] == pytest.approx(list(wilson_interval(2, 4)), abs=1e-4)
        assert model["energy_inside"] == pytest.approx((1 + 0 + 0 + 0.04) / 4)
        low, high = model["energy_inside_ci"]
        assert 0.0 <= low < model["energy_inside"] < high <= 1.0
        # the prior misses the corner boxes and hits the centre ones
        assert prior["pointing_hits"] == 2
        corner, centre = boxes[0][0], boxes[2][0]
        expected = (2 * prior_energy(corner) + 2 * prior_energy(centre)) / 4
        assert prior["energy_inside"] == pytest.approx(expected, abs=1e-4)
        assert (
            prior["energy_inside_ci"][0] <= prior["energy_inside"] <= prior["energy_inside_ci"][1]
        )

    def test_seeded_and_tolerance_passed_on(self):
        heats, boxes = report_set()
        first = localization_report(heats, boxes, n_boot=200, seed=1)
        assert first == localization_report(heats, boxes, n_boot=200, seed=1)
        lenient = localization_report(heats, boxes, tolerance_px=15, n_boot=200)
        assert lenient["tolerance_px"] == 15 and lenient["model"]["pointing_hits"] == 4

    def test_no_boxed_images_gives_nones_not_nan(self):
        report = localization_report([np.ones((8, 8))], [[]])
        json.dumps(report, allow_nan=False)
        assert report["n"] == 0 and report["n_without_boxes"] == 1
        assert report["model"]["pointing_hit_rate"] is None
        assert report["model"]["pointing_hit_rate_ci"] == [None, None]
        assert report["centre_prior"]["energy_inside_ci"] == [None, None]

    def test_lengths_must_match(self):
        with pytest.raises(ValueError, match="2 heat maps but 1"):
            localization_report([np.ones((8, 8))] * 2, [[Box("a", 0, 0, 1, 1)]])
