"""Frame sizes read from compressed codestream headers, and the bombs they stop."""

from __future__ import annotations

import io
import time
import tracemalloc

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.encaps import get_frame

from zoo.errors import ScanError
from zoo.imaging import load_scan
from zoo.imaging.codestream import frame_dimensions


def _first_frame(path: str) -> bytes:
    ds = pydicom.dcmread(path)
    return get_frame(ds.PixelData, 0, number_of_frames=int(ds.get("NumberOfFrames") or 1))


def _patch_j2k_siz(data: bytes, *, width=None, height=None, components=None) -> bytes:
    """Rewrite the SIZ marker of the (single) JPEG 2000 codestream in ``data``."""
    siz = data.index(b"\xff\x4f\xff\x51") + 2
    out = bytearray(data)
    if width is not None:
        out[siz + 6 : siz + 10] = width.to_bytes(4, "big")
    if height is not None:
        out[siz + 10 : siz + 14] = height.to_bytes(4, "big")
    if components is not None:
        out[siz + 38 : siz + 40] = components.to_bytes(2, "big")
    return bytes(out)


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


class TestFrameDimensions:
    @pytest.mark.parametrize(("mode", "components"), [("L", 1), ("RGB", 3)])
    def test_jpeg(self, make_image, mode, components):
        data = make_image(Image.new(mode, (37, 21)), "JPEG")
        assert frame_dimensions(data) == (21, 37, components)

    def test_progressive_jpeg(self, make_image):
        data = make_image(Image.new("L", (40, 30)), "JPEG", progressive=True)
        assert frame_dimensions(data) == (30, 40, 1)

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("MR_small_jp2klossless.dcm", (64, 64, 1)),  # JPEG 2000
            ("US1_J2KR.dcm", (480, 640, 3)),
            ("MR_small_jpeg_ls_lossless.dcm", (64, 64, 1)),  # JPEG-LS (SOF55)
            ("SC_rgb_jpeg_gdcm.dcm", (100, 100, 3)),  # JPEG lossless (SOF3)
            ("JPGExtended.dcm", (1024, 256, 1)),  # JPEG extended (SOF1)
        ],
    )
    def test_dicom_frames(self, testdata, name, expected):
        assert frame_dimensions(_first_frame(testdata(name))) == expected

    @pytest.mark.parametrize(
        "data",
        [b"", b"\xff\xd8", b"\xff\xd8\xff\xda\x00\x02", b"\x00" * 100, b"\xff\xd8" + b"\xff" * 50],
    )
    def test_unknown_or_damaged_gives_none(self, data):
        assert frame_dimensions(data) is None

    def test_rle_gives_none(self, testdata):
        assert frame_dimensions(_first_frame(testdata("MR_small_RLE.dcm"))) is None


class TestCodestreamBombs:
    def test_size_mismatch_refused_before_decoding(self, testdata):
        data = _patch_j2k_siz(
            _read(testdata("MR_small_jp2klossless.dcm")), width=60000, height=60000
        )
        tracemalloc.start()
        try:
            start = time.perf_counter()
            with pytest.raises(ScanError, match=r"compressed frame is 60000 × 60000.*64 × 64"):
                load_scan(data)
            elapsed = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert elapsed < 1.0 and peak < 50e6

    def test_component_bomb_refused(self, testdata):
        data = _patch_j2k_siz(_read(testdata("MR_small_jp2klossless.dcm")), components=16000)
        with pytest.raises(ScanError, match=r"too large.*64 × 64 × 16000 samples"):
            load_scan(data)

    def test_jpeg_sof_mismatch_refused(self, testdata):
        ds = pydicom.dcmread(testdata("SC_rgb_jpeg_dcmtk.dcm"))
        ds.Rows = 99  # the JPEG stream says 100
        bio = io.BytesIO()
        ds.save_as(bio)
        with pytest.raises(ScanError, match=r"100 × 100 pixels but .* say 99 × 100"):
            load_scan(bio.getvalue())

    def test_matching_frames_still_decode(self, testdata):
        scan = load_scan(testdata("US1_J2KR.dcm"))
        assert scan.pixels.shape == (480, 640, 3)
        assert np.isfinite(scan.pixels).all()
