"""Rescale and VOI transforms against the DICOM formulas and pydicom."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.pixels import apply_modality_lut, apply_windowing

from zoo.errors import ScanError
from zoo.imaging import WINDOW_PRESETS, Window
from zoo.imaging.windowing import (
    apply_minmax,
    apply_rescale,
    apply_window,
    file_window,
    resolve_window,
)


def _voi_ds(center, width, function="LINEAR", bits=16) -> Dataset:
    ds = Dataset()
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsStored = bits
    ds.PixelRepresentation = 1
    ds.WindowCenter = center
    ds.WindowWidth = width
    ds.VOILUTFunction = function
    return ds


class TestResolveWindow:
    def test_none_means_file(self):
        assert resolve_window(None) is None

    @pytest.mark.parametrize("name", ["none", "minmax", "MinMax", "min-max"])
    def test_minmax_names(self, name):
        assert resolve_window(name) == "minmax"

    @pytest.mark.parametrize("name", ["lung", "LUNG", " Soft-Tissue ", "soft tissue"])
    def test_preset_names(self, name):
        assert resolve_window(name).name in WINDOW_PRESETS

    def test_presets(self):
        assert WINDOW_PRESETS["lung"] == Window(-600.0, 1500.0, "lung")
        assert WINDOW_PRESETS["mediastinum"] == Window(50.0, 350.0, "mediastinum")
        assert WINDOW_PRESETS["bone"] == Window(300.0, 2000.0, "bone")
        assert WINDOW_PRESETS["brain"] == Window(40.0, 80.0, "brain")
        assert WINDOW_PRESETS["soft_tissue"] == Window(40.0, 400.0, "soft_tissue")
        for key, window in WINDOW_PRESETS.items():
            assert window.name == key and window.width > 1

    def test_window_passes_through(self):
        window = Window(10, 20, "mine")
        assert resolve_window(window) is window

    def test_unknown_raises_with_valid_list(self):
        with pytest.raises(ScanError, match=r"unknown window preset 'lungg'.*bone.*minmax"):
            resolve_window("lungg")

    @pytest.mark.parametrize("width", [0, -5, float("nan"), float("inf")])
    def test_bad_width_raises(self, width):
        with pytest.raises(ScanError, match=r"width > 0"):
            resolve_window(Window(0, width))

    def test_wrong_type_raises(self):
        with pytest.raises(ScanError, match=r"got int"):
            resolve_window(3)


class TestApplyWindow:
    @pytest.mark.parametrize(
        ("center", "width", "function"),
        [
            (40, 400, "LINEAR"),
            (-600, 1500, "LINEAR"),
            (0.5, 2, "LINEAR"),
            (40, 400, "LINEAR_EXACT"),
            (100, 37.5, "LINEAR_EXACT"),
            (40, 400, "SIGMOID"),
        ],
    )
    def test_matches_pydicom(self, center, width, function):
        arr = np.linspace(-2000, 3000, 5001).astype(np.int16).reshape(1, -1)
        ds = _voi_ds(center, width, function)
        ref = apply_windowing(arr, ds)  # float64, range of a 16-bit signed store
        lo, hi = -(2**15), 2**15 - 1
        expected = (ref - lo) / (hi - lo)
        out = apply_window(arr, Window(center, width), function=function)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, expected, atol=2e-6)

    def test_linear_boundaries(self):
        c, w = 40.0, 400.0
        lo_edge = c - 0.5 - (w - 1) / 2
        hi_edge = c - 0.5 + (w - 1) / 2
        arr = np.array([lo_edge - 1, lo_edge, c - 0.5, hi_edge, hi_edge + 1], np.float32)
        out = apply_window(arr, Window(c, w))
        np.testing.assert_allclose(out, [0, 0, 0.5, 1, 1], atol=1e-6)

    def test_width_one_is_threshold(self):
        arr = np.array([9.4, 9.5, 9.6, 100], np.float32)
        np.testing.assert_array_equal(apply_window(arr, Window(10, 1)), [0, 0, 1, 1])

    def test_copy_false_reuses_float32(self):
        arr = np.arange(10, dtype=np.float32)
        out = apply_window(arr, Window(5, 10), copy=False)
        assert out is arr

    def test_copy_true_leaves_input(self):
        arr = np.arange(10, dtype=np.float32)
        apply_window(arr, Window(5, 10))
        np.testing.assert_array_equal(arr, np.arange(10))


class TestApplyMinmax:
    def test_range(self):
        out, window = apply_minmax(np.array([[10, 20], [30, 50]], np.int16))
        np.testing.assert_allclose(out, [[0, 0.25], [0.5, 1]])
        assert window == Window(30.0, 40.0, "minmax")

    def test_constant_gives_zeros(self):
        out, _ = apply_minmax(np.full((3, 3), 7, np.uint16))
        assert (out == 0).all()

    def test_non_finite_ignored(self):
        out, _ = apply_minmax(np.array([np.nan, 1.0, np.inf, 3.0], np.float32))
        np.testing.assert_allclose(out, [0, 0, 0, 1])


class TestApplyRescale:
    def test_matches_pydicom(self):
        ds = Dataset()
        ds.RescaleSlope = "2.5"
        ds.RescaleIntercept = "-1024"
        arr = np.arange(-100, 4000, 7, dtype=np.int16).reshape(1, -1)
        out = apply_rescale(arr, ds)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, apply_modality_lut(arr, ds), rtol=1e-6)

    def test_absent_returns_float32_values(self):
        arr = np.arange(6, dtype=np.uint16).reshape(2, 3)
        out = apply_rescale(arr, Dataset())
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, arr)

    def test_functional_groups(self):
        ds = Dataset()
        item = Dataset()
        item.RescaleSlope = 2
        item.RescaleIntercept = 5
        shared = Dataset()
        shared.PixelValueTransformationSequence = [item]
        ds.SharedFunctionalGroupsSequence = [shared]
        out = apply_rescale(np.array([1, 2], np.uint16), ds)
        np.testing.assert_array_equal(out, [7, 9])

    def test_non_numeric_slope_raises(self):
        ds = Dataset()
        ds.add_new(0x00281053, "LO", "abc")  # Rescale Slope with a bad value
        ds.add_new(0x00281052, "LO", "0")
        with pytest.raises(ScanError, match=r"\(0028,1053\) Rescale Slope.*'abc'"):
            apply_rescale(np.ones(3, np.uint16), ds)


class TestFileWindow:
    def test_first_of_multiple_values(self):
        ds = _voi_ds([400, 40], [1500, 80])
        assert file_window(ds) == (Window(400.0, 1500.0, "file"), "LINEAR")

    def test_missing(self):
        assert file_window(Dataset()) is None

    @pytest.mark.parametrize("width", [0, -3, 0.5])
    def test_unusable_width_falls_back(self, width):
        assert file_window(_voi_ds(40, width)) is None

    def test_unknown_function_is_linear(self):
        assert file_window(_voi_ds(40, 400, "CUBIC"))[1] == "LINEAR"
