"""DICOM decoding: pydicom's test files, VOI, colour, transfer syntaxes, errors."""

from __future__ import annotations

import io
import os
import time
import tracemalloc
import warnings

import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate
from pydicom.pixels import apply_color_lut, apply_modality_lut
from pydicom.uid import UID

from zoo.errors import ScanError
from zoo.imaging import WINDOW_PRESETS, Window, load_scan
from zoo.imaging import dicom as zoo_dicom

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _all_testdata_files() -> list[str]:
    """Every file ``pydicom.data.get_testdata_files("*")`` lists, offline.

    Offline, get_testdata_files spends ~15 s trying to download the few
    pydicom-data files that are not installed, then returns the same list; the
    download step is switched off for the call (pydicom's own test switch).
    """
    from pydicom.data import download, get_testdata_files

    saved = getattr(download, "_SIMULATE_NETWORK_OUTAGE", False)
    download._SIMULATE_NETWORK_OUTAGE = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            files = get_testdata_files("*")
    finally:
        download._SIMULATE_NETWORK_OUTAGE = saved
    return sorted({f for f in files if os.path.isfile(f)}, key=lambda f: (os.path.basename(f), f))


def _has_pixel_data(path: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, force=True, stop_before_pixels=False)
            return any(k in ds for k in zoo_dicom._PIXEL_KEYWORDS)
    except Exception:
        return False


ALL_FILES = _all_testdata_files()
PIXEL_FILES = [f for f in ALL_FILES if _has_pixel_data(f)]
OTHER_FILES = [f for f in ALL_FILES if f not in PIXEL_FILES]

# Real files that are broken on purpose or need a decoder this app leaves out.
EXPECTED_ERRORS = {
    "JPEG-lossy.dcm": "12-bit|could not decode",  # 12-bit JPEG: GPL libjpeg only
    "JPGExtended.dcm": "12-bit|could not decode",
    "JPEG2000-embedded-sequence-delimiter.dcm": "the file is damaged",
    "MR_truncated.dcm": "truncated",
    "meta_missing_tsyntax.dcm": "lacks",
    "nested_priv_SQ.dcm": "lacks",
}


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


class TestRealFiles:
    """Every pydicom test file decodes to a plausible image or raises ScanError."""

    def test_listing_found_files(self):
        assert len(PIXEL_FILES) > 100

    @pytest.mark.parametrize("path", PIXEL_FILES, ids=os.path.basename)
    def test_pixel_file_decodes_or_scan_error(self, path):
        name = os.path.basename(path)
        try:
            scan = load_scan(path)
        except ScanError as exc:
            assert name in str(exc)
            expected = EXPECTED_ERRORS.get(name)
            assert expected is not None, f"unexpected ScanError: {exc}"
            assert any(part in str(exc) for part in expected.split("|"))
            return
        assert name not in EXPECTED_ERRORS, "expected a ScanError"
        px = scan.pixels
        assert px.dtype == np.float32
        assert px.ndim in (2, 3)
        if px.ndim == 3:
            assert px.shape[2] == 3
        assert px.shape[0] >= 1 and px.shape[1] >= 1
        assert np.isfinite(px).all()
        assert px.min() >= 0.0 and px.max() <= 1.0
        assert scan.source_format == "dicom"
        assert 0 <= scan.frame_index < scan.frame_count

    @pytest.mark.parametrize("path", OTHER_FILES, ids=os.path.basename)
    def test_file_without_pixels_raises_scan_error(self, path):
        with pytest.raises(ScanError) as info:
            load_scan(path)
        message = str(info.value)
        assert os.path.basename(path) in message
        assert "no pixel data" in message or "not a PNG, JPEG" in message


class TestModalityLut:
    def test_ct_small_rescale_matches_pydicom(self, testdata):
        path = testdata("CT_small.dcm")
        ds = pydicom.dcmread(path)
        hu = apply_modality_lut(ds.pixel_array, ds)  # float64 reference
        c, w = 40.0, 400.0
        expected = np.clip((hu - (c - 0.5)) / (w - 1) + 0.5, 0, 1)
        scan = load_scan(path, window=Window(c, w))
        np.testing.assert_allclose(scan.pixels, expected, atol=1e-5)
        assert scan.modality == "CT"

    def test_rescale_is_applied_before_window(self, make_dicom, make_ramp):
        raw = make_ramp(8, 8, np.uint16, 2000)
        data = make_dicom(raw, RescaleSlope=2, RescaleIntercept=-1000)
        scan = load_scan(data, window=Window(center=0, width=1001))
        hu = raw.astype(np.float64) * 2 - 1000
        expected = np.clip((hu + 0.5) / 1000 + 0.5, 0, 1)
        np.testing.assert_allclose(scan.pixels, expected, atol=1e-5)

    def test_enhanced_ct_uses_functional_groups(self, testdata):
        path = testdata("eCT_Supplemental.dcm")
        scan = load_scan(path, frame=1)
        assert scan.frame_count == 2 and scan.frame_index == 1
        assert scan.window is not None and scan.window.name == "file"


class TestVoi:
    def test_file_window_is_default(self, make_dicom, make_ramp):
        data = make_dicom(make_ramp(), WindowCenter=[1000, 50], WindowWidth=[500, 10])
        scan = load_scan(data)
        assert scan.window == Window(1000.0, 500.0, "file")

    def test_no_window_means_minmax(self, make_dicom, make_ramp):
        scan = load_scan(make_dicom(make_ramp()))
        assert scan.window is not None and scan.window.name == "minmax"
        assert scan.pixels.min() == 0.0 and scan.pixels.max() == 1.0

    @pytest.mark.parametrize("name", ["none", "minmax"])
    def test_minmax_overrides_file_window(self, make_dicom, make_ramp, name):
        data = make_dicom(make_ramp(), WindowCenter=10, WindowWidth=5)
        scan = load_scan(data, window=name)
        assert scan.window.name == "minmax"
        assert scan.pixels.min() == 0.0 and scan.pixels.max() == 1.0

    def test_lung_and_bone_presets_differ_as_expected(self, make_dicom):
        hu = np.array([[-1000, -600, 40, 300, 1300]], dtype=np.int16)
        data = make_dicom(hu, RescaleSlope=1, RescaleIntercept=0)
        lung = load_scan(data, window="lung")
        bone = load_scan(data, window="bone")
        assert lung.window == WINDOW_PRESETS["lung"]
        assert bone.window == WINDOW_PRESETS["bone"]
        # air is mid-grey-dark in the lung window, black in the bone window
        assert lung.pixels[0, 0] > 0.1 and bone.pixels[0, 0] == 0.0
        # soft tissue is nearly white in the lung window, dark grey in bone
        assert lung.pixels[0, 2] > 0.9 and bone.pixels[0, 2] < 0.4
        assert bone.pixels[0, 4] == 1.0
        for scan in (lung, bone):
            c, w = scan.window.center, scan.window.width
            expected = np.clip((hu - (c - 0.5)) / (w - 1) + 0.5, 0, 1)
            np.testing.assert_allclose(scan.pixels, expected, atol=1e-6)

    def test_unknown_preset_raises(self, make_dicom, make_ramp):
        with pytest.raises(ScanError, match=r"unknown window preset 'lungs'.*lung"):
            load_scan(make_dicom(make_ramp()), window="lungs")

    def test_voi_lut_sequence(self, testdata):
        path = testdata("vlut_04.dcm")
        ds = pydicom.dcmread(path)
        from pydicom.pixels import apply_voi

        expected = apply_voi(ds.pixel_array, ds) / 65535.0
        scan = load_scan(path)
        assert scan.window is None
        np.testing.assert_allclose(scan.pixels, expected, atol=1e-6)

    def test_modality_lut_sequence(self, testdata):
        scan = load_scan(testdata("mlut_18.dcm"))
        assert scan.pixels.min() == 0.0 and scan.pixels.max() == 1.0


class TestMonochrome1:
    def test_inverted_after_window(self, make_dicom, make_ramp):
        raw = make_ramp(16, 16, np.uint16, 1000)
        mono2 = load_scan(make_dicom(raw, WindowCenter=500, WindowWidth=800))
        mono1 = load_scan(
            make_dicom(
                raw,
                photometric="MONOCHROME1",
                WindowCenter=500,
                WindowWidth=800,
            )
        )
        np.testing.assert_allclose(mono1.pixels, 1.0 - mono2.pixels, atol=1e-7)
        assert mono1.photometric == "MONOCHROME1"

    def test_real_monochrome1_file(self, testdata):
        path = testdata("RG3_UNCI.dcm")
        ds = pydicom.dcmread(path)
        assert ds.PhotometricInterpretation == "MONOCHROME1"
        c, w = float(ds.WindowCenter), float(ds.WindowWidth)
        expected = 1 - np.clip((ds.pixel_array - (c - 0.5)) / (w - 1) + 0.5, 0, 1)
        scan = load_scan(path)
        np.testing.assert_allclose(scan.pixels, expected, atol=1e-5)


class TestFrames:
    def test_frame_choice(self, testdata):
        path = testdata("emri_small.dcm")
        ds = pydicom.dcmread(path)
        frame3 = ds.pixel_array[3].astype(np.float64)
        expected = (frame3 - frame3.min()) / (frame3.max() - frame3.min())
        scan = load_scan(path, frame=3)
        assert scan.frame_count == 10 and scan.frame_index == 3
        np.testing.assert_allclose(scan.pixels, expected, atol=1e-6)

    def test_default_frame_is_first(self, testdata):
        scan = load_scan(testdata("emri_small.dcm"))
        assert scan.frame_index == 0
        np.testing.assert_array_equal(
            scan.pixels, load_scan(testdata("emri_small.dcm"), frame=0).pixels
        )

    @pytest.mark.parametrize("frame", [10, 99, -1])
    def test_out_of_range_frame_raises(self, testdata, frame):
        with pytest.raises(ScanError, match=r"frame -?\d+ is out of range.*0 to 9"):
            load_scan(testdata("emri_small.dcm"), frame=frame)

    def test_single_frame_rejects_frame_1(self, testdata):
        with pytest.raises(ScanError, match=r"1 frame.*valid frames are 0"):
            load_scan(testdata("CT_small.dcm"), frame=1)

    @pytest.mark.parametrize(
        "name",
        [
            "emri_small_RLE.dcm",
            "emri_small_big_endian.dcm",
            "emri_small_jpeg_2k_lossless.dcm",
            "emri_small_jpeg_ls_lossless.dcm",
        ],
    )
    def test_compressed_frame_matches_uncompressed(self, testdata, name):
        expected = load_scan(testdata("emri_small.dcm"), frame=7).pixels
        np.testing.assert_array_equal(load_scan(testdata(name), frame=7).pixels, expected)


class TestTransferSyntaxes:
    @pytest.mark.parametrize(
        "name",
        [
            "MR_small_RLE.dcm",  # RLE Lossless
            "MR_small_bigendian.dcm",  # Explicit VR Big Endian
            "MR_small_implicit.dcm",  # Implicit VR Little Endian
            "MR_small_jp2klossless.dcm",  # JPEG 2000 lossless
            "MR_small_jpeg_ls_lossless.dcm",  # JPEG-LS lossless
        ],
    )
    def test_lossless_equals_uncompressed(self, testdata, name):
        expected = load_scan(testdata("MR_small.dcm")).pixels
        scan = load_scan(testdata(name))
        np.testing.assert_array_equal(scan.pixels, expected)
        assert (
            scan.metadata["TransferSyntax"]
            == pydicom.dcmread(testdata(name)).file_meta.TransferSyntaxUID.name
        )

    def test_jpeg_lossless(self, testdata):
        scan = load_scan(testdata("SC_rgb_jpeg_gdcm.dcm"))
        np.testing.assert_array_equal(scan.pixels, load_scan(testdata("SC_rgb.dcm")).pixels)
        assert "Lossless" in scan.metadata["TransferSyntax"]

    def test_jpeg_lossless_grey(self, testdata):
        scan = load_scan(testdata("JPGLosslessP14SV1_1s_1f_8b.dcm"))
        assert scan.pixels.shape == (768, 1024)

    def test_jpeg_ls_near_lossless(self, testdata):
        assert load_scan(testdata("JPEGLSNearLossless_16.dcm")).pixels.shape == (50, 10)

    def test_jpeg2000_lossy(self, testdata):
        scan = load_scan(testdata("MR2_J2KI.dcm"))
        reference = load_scan(testdata("MR2_UNCI.dcm")).pixels
        assert scan.pixels.shape == reference.shape == (1024, 1024)
        assert np.abs(scan.pixels - reference).mean() < 0.01

    def test_deflated(self, testdata):
        scan = load_scan(testdata("image_dfl.dcm"))
        assert scan.metadata["TransferSyntax"] == "Deflated Explicit VR Little Endian"
        assert scan.pixels.shape == (512, 512) and scan.pixels.max() == 1.0

    def test_jpeg_12_bit_names_missing_plugin(self, testdata):
        with pytest.raises(ScanError, match=r"JPEG Extended.*pylibjpeg-libjpeg"):
            load_scan(testdata("JPGExtended.dcm"))

    def test_unsupported_transfer_syntax_named(self, make_dicom, make_ramp):
        ds = pydicom.dcmread(io.BytesIO(make_dicom(make_ramp(8, 8, np.uint8, 255))))
        ds.file_meta.TransferSyntaxUID = UID("1.2.840.10008.1.2.4.100")  # MPEG2
        ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + bytes(60)])
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
        bio = io.BytesIO()
        ds.save_as(bio, enforce_file_format=True)
        with pytest.raises(
            ScanError, match=r"1\.2\.840\.10008\.1\.2\.4\.100 \(MPEG2.*not supported.*video"
        ):
            load_scan(bio.getvalue(), filename="clip.dcm")

    def test_missing_plugin_is_named(self, testdata, monkeypatch):
        class _Unavailable:
            is_available = False
            missing_dependencies = ("pylibjpeg - requires pylibjpeg-libjpeg>=2.1",)

        monkeypatch.setattr(zoo_dicom, "get_decoder", lambda uid: _Unavailable())
        with pytest.raises(
            ScanError, match=r"1\.2\.840\.10008\.1\.2\.4\.50 \(JPEG Baseline.*libjpeg"
        ):
            load_scan(testdata("SC_rgb_jpeg.dcm"))


class TestColour:
    def test_rgb(self, testdata):
        scan = load_scan(testdata("SC_rgb.dcm"))
        ds = pydicom.dcmread(testdata("SC_rgb.dcm"))
        np.testing.assert_allclose(scan.pixels, ds.pixel_array / 255.0, atol=1e-6)
        assert scan.photometric == "RGB" and scan.is_color

    @pytest.mark.parametrize(
        "name", ["SC_ybr_full_uncompressed.dcm", "SC_ybr_full_422_uncompressed.dcm"]
    )
    def test_ybr_converted_to_rgb(self, testdata, name):
        scan = load_scan(testdata(name))
        reference = load_scan(testdata("SC_rgb.dcm")).pixels
        assert scan.pixels.shape == reference.shape == (100, 100, 3)
        assert np.abs(scan.pixels - reference).max() < 0.03  # YBR rounding
        assert scan.photometric.startswith("YBR_FULL")

    def test_ybr_jpeg_baseline(self, testdata):
        scan = load_scan(testdata("SC_rgb_dcmtk_+eb+cy+np.dcm"))
        reference = load_scan(testdata("SC_rgb.dcm")).pixels
        assert np.abs(scan.pixels - reference).mean() < 0.02  # lossy

    def test_16_bit_rgb_scaled_by_bits_stored(self, testdata):
        scan = load_scan(testdata("SC_rgb_16bit.dcm"))
        assert scan.pixels.max() == 1.0 and scan.is_color

    def test_palette_colour(self, testdata):
        path = testdata("OBXXXX1A.dcm")
        ds = pydicom.dcmread(path)
        expected = apply_color_lut(ds.pixel_array, ds) / 65535.0
        scan = load_scan(path)
        assert scan.photometric == "PALETTE COLOR" and scan.is_color
        np.testing.assert_allclose(scan.pixels, expected, atol=1e-6)

    def test_palette_8_bit_entries_in_16_bit_lut(self, testdata):
        little = load_scan(testdata("OBXXXX1A.dcm")).pixels
        big = load_scan(testdata("OBXXXX1A_expb.dcm")).pixels
        assert big.max() == 1.0
        assert np.abs(little - big).max() < 1 / 200

    def test_identical_channels_become_grey(self, make_dicom, make_ramp):
        grey = make_ramp(8, 8, np.uint8, 255)
        scan = load_scan(make_dicom(np.stack([grey] * 3, axis=-1)))
        assert scan.pixels.shape == (8, 8)
        np.testing.assert_allclose(scan.pixels, grey / 255.0, atol=1e-7)

    def test_window_preset_ignored_for_colour(self, testdata):
        scan = load_scan(testdata("SC_rgb.dcm"), window="lung")
        assert scan.window is None and scan.is_color


class TestWithoutPreamble:
    def test_meta_without_preamble(self, testdata):
        data = _read(testdata("CT_small.dcm"))
        assert data[128:132] == b"DICM"
        stripped = data[132:]  # file meta group (0002) first, no preamble
        scan = load_scan(stripped)
        np.testing.assert_array_equal(scan.pixels, load_scan(data).pixels)

    def test_bare_dataset_no_extension(self, make_dicom, make_ramp):
        data = make_dicom(make_ramp(), with_meta=False, WindowCenter=2000, WindowWidth=4000)
        assert data[128:132] != b"DICM" and data[:2] == b"\x08\x00"
        scan = load_scan(data, filename=None)
        assert scan.source_format == "dicom"
        assert scan.metadata["TransferSyntax"] == "Implicit VR Little Endian"
        expected = load_scan(make_dicom(make_ramp(), WindowCenter=2000, WindowWidth=4000))
        np.testing.assert_array_equal(scan.pixels, expected.pixels)

    def test_real_file_without_extension(self, testdata, tmp_path):
        target = tmp_path / "IM000001"
        target.write_bytes(_read(testdata("MR_small.dcm")))
        assert load_scan(target).pixels.shape == (64, 64)


class TestBadDicom:
    def test_no_pixel_data(self, testdata):
        with pytest.raises(ScanError, match=r"'rtplan.dcm' is a DICOM file with no pixel"):
            load_scan(testdata("rtplan.dcm"))

    def test_truncated_pixel_data(self, testdata):
        data = _read(testdata("CT_small.dcm"))[:-1000]
        with pytest.raises(ScanError, match=r"ct.dcm.*pixel data is truncated"):
            load_scan(data, filename="ct.dcm")

    def test_huge_dimensions_little_data_refused_without_allocating(self, make_dicom):
        ds = pydicom.dcmread(io.BytesIO(make_dicom(np.zeros((1, 5), np.uint16))))
        ds.Rows = ds.Columns = 60000
        bio = io.BytesIO()
        ds.save_as(bio)
        tracemalloc.start()
        try:
            start = time.perf_counter()
            with pytest.raises(ScanError, match=r"truncated.*60000 × 60000"):
                load_scan(bio.getvalue())
            elapsed = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 50e6 and elapsed < 1.0

    def test_compressed_over_budget_refused_before_decoding(self, testdata):
        ds = pydicom.dcmread(testdata("MR_small_jp2klossless.dcm"))
        ds.Rows = ds.Columns = 20000
        bio = io.BytesIO()
        ds.save_as(bio)
        tracemalloc.start()
        try:
            with pytest.raises(ScanError, match=r"too large.*20000 × 20000"):
                load_scan(bio.getvalue())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 50e6

    def test_over_max_pixels(self, testdata):
        with pytest.raises(ScanError, match=r"too large.*128 × 128.*limit of 1,000"):
            load_scan(testdata("CT_small.dcm"), max_pixels=1000)

    def test_bad_bits_allocated_names_tag(self, make_dicom, make_ramp):
        ds = pydicom.dcmread(io.BytesIO(make_dicom(make_ramp())))
        ds.BitsAllocated = 12
        bio = io.BytesIO()
        ds.save_as(bio)
        with pytest.raises(ScanError, match=r"\(0028,0100\) BitsAllocated is 12"):
            load_scan(bio.getvalue())

    def test_missing_rows_names_tag(self, make_dicom, make_ramp):
        ds = pydicom.dcmread(io.BytesIO(make_dicom(make_ramp())))
        del ds.Rows
        bio = io.BytesIO()
        ds.save_as(bio)
        with pytest.raises(ScanError, match=r"\(0028,0010\) Rows"):
            load_scan(bio.getvalue())

    def test_native_data_under_compressed_syntax_is_read(self, make_dicom, make_ramp):
        # decompressed by a tool that kept the compressed Transfer Syntax UID
        raw = make_ramp(8, 8, np.uint16, 4000)
        data = make_dicom(raw)
        native, rle = b"1.2.840.10008.1.2.1\x00", b"1.2.840.10008.1.2.5\x00"
        assert data.count(native) == 1
        scan = load_scan(data.replace(native, rle))
        np.testing.assert_array_equal(scan.pixels, load_scan(data).pixels)

    def test_encapsulated_data_under_native_syntax_raises(self, testdata):
        data = _read(testdata("MR_small_jp2klossless.dcm"))
        j2k = b"1.2.840.10008.1.2.4.90"
        assert data.count(j2k) == 1
        patched = data.replace(j2k, b"1.2.840.10008.1.2.1\x00\x00\x00")
        with pytest.raises(ScanError, match=r"compressed \(encapsulated\).*uncompressed"):
            load_scan(patched)


class TestSpacingAndMetadata:
    def test_pixel_spacing(self, testdata):
        scan = load_scan(testdata("CT_small.dcm"))
        ds = pydicom.dcmread(testdata("CT_small.dcm"))
        assert scan.pixel_spacing == (float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1]))

    def test_imager_pixel_spacing(self, make_dicom, make_ramp):
        scan = load_scan(make_dicom(make_ramp(), ImagerPixelSpacing=[0.143, 0.15]))
        assert scan.pixel_spacing == (0.143, 0.15)

    def test_metadata_descriptive(self, testdata):
        meta = load_scan(testdata("CT_small.dcm")).metadata
        assert meta["Modality"] == "CT"
        assert meta["Rows"] == 128 and meta["Columns"] == 128
        assert meta["SOPClassUID"] == "CT Image Storage"
        assert meta["Format"] == "DICOM"
        assert "PatientName" not in meta and "phi" not in meta


class TestPluginOrder:
    @pytest.mark.parametrize(
        ("uid", "expected"),
        [
            ("1.2.840.10008.1.2.4.50", ["pillow"]),  # JPEG Baseline
            ("1.2.840.10008.1.2.4.70", ["gdcm"]),  # JPEG Lossless: gdcm only
            ("1.2.840.10008.1.2.4.80", ["pyjpegls"]),  # JPEG-LS
            ("1.2.840.10008.1.2.4.90", ["pylibjpeg", "pillow"]),  # JPEG 2000
            ("1.2.840.10008.1.2.5", ["pylibjpeg", "pydicom"]),  # RLE
        ],
    )
    def test_gdcm_never_a_fallback(self, uid, expected):
        decoder = pydicom.pixels.get_decoder(UID(uid))
        order = zoo_dicom._plugin_order(decoder)
        assert order == [p for p in expected if p in decoder.available_plugins]
