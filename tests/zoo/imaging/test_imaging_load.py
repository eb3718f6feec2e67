"""The load_scan entry point: sources, sniffing, budgets, bad input, summary."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

import zoo.imaging as imaging
from zoo.errors import ScanError
from zoo.imaging import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    describe_scan,
    load_scan,
    sniff_format,
)

NOT_AN_IMAGE = "not a PNG, JPEG, TIFF, BMP, WebP or DICOM file"


class TestPublicApi:
    def test_exports(self):
        assert set(imaging.__all__) == {
            "DEFAULT_MAX_BYTES",
            "DEFAULT_MAX_PIXELS",
            "UNTAGGED",
            "WINDOW_PRESETS",
            "Scan",
            "Window",
            "describe_scan",
            "load_scan",
            "sniff_format",
        }
        assert DEFAULT_MAX_PIXELS == 50_000_000
        assert DEFAULT_MAX_BYTES == 200 * 1024 * 1024

    def test_no_logging_in_package(self):
        import inspect

        for module in (imaging.dicom, imaging.raster, imaging.phi, imaging.load):
            source = inspect.getsource(module)
            assert "import logging" not in source and "print(" not in source


class TestSniffFormat:
    @pytest.mark.parametrize(
        ("head", "fmt"),
        [
            (b"\x89PNG\r\n\x1a\n", "png"),
            (b"\xff\xd8\xff\xe0", "jpeg"),
            (b"II*\x00", "tiff"),
            (b"MM\x00*", "tiff"),
            (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
            (b"GIF89a", "gif"),
            (b"BM" + bytes(12) + (40).to_bytes(4, "little"), "bmp"),
        ],
    )
    def test_magic(self, head, fmt):
        assert sniff_format(head + bytes(200)) == fmt

    def test_dicom_prefix(self):
        assert sniff_format(bytes(128) + b"DICM" + bytes(10)) == "dicom"

    def test_dicom_wins_over_tiff_preamble(self):
        # dual-personality files: the preamble is a TIFF header
        assert sniff_format(b"II*\x00" + bytes(124) + b"DICM" + bytes(10)) == "dicom"

    @pytest.mark.parametrize(
        "data",
        [b"", b"BM but just text", b"hello world" * 20, b"%PDF-1.7\n", b"PK\x03\x04"],
    )
    def test_none(self, data):
        assert sniff_format(data) is None

    def test_extension_is_not_used(self, make_image):
        png = make_image(Image.new("L", (4, 4)), "PNG")
        assert load_scan(png, filename="scan.dcm").source_format == "png"


class TestSources:
    def test_path_and_bytes_agree(self, tmp_path, make_image):
        data = make_image(Image.fromarray(np.eye(8, dtype=np.uint8) * 255), "PNG")
        path = tmp_path / "eye.png"
        path.write_bytes(data)
        np.testing.assert_array_equal(load_scan(path).pixels, load_scan(data).pixels)
        np.testing.assert_array_equal(load_scan(str(path)).pixels, load_scan(data).pixels)

    def test_bytearray_and_memoryview(self, make_image):
        data = make_image(Image.new("L", (4, 4), 9), "PNG")
        assert load_scan(bytearray(data)).pixels.shape == (4, 4)
        assert load_scan(memoryview(data)).pixels.shape == (4, 4)

    def test_path_name_used_in_messages(self, tmp_path):
        path = tmp_path / "notes.txt"
        path.write_text("just some text, not an image at all")
        with pytest.raises(ScanError, match=f"'notes.txt' is {NOT_AN_IMAGE}"):
            load_scan(path)

    def test_missing_path(self, tmp_path):
        with pytest.raises(ScanError, match=r"'nope.dcm' does not exist"):
            load_scan(tmp_path / "nope.dcm")

    def test_directory(self, tmp_path):
        with pytest.raises(ScanError, match=r"is not a file"):
            load_scan(tmp_path)

    def test_wrong_source_type(self):
        with pytest.raises(TypeError, match=r"source must be bytes or a path"):
            load_scan(12345)

    def test_wrong_frame_type(self):
        with pytest.raises(TypeError, match=r"frame must be an int"):
            load_scan(b"x", frame="2")

    @pytest.mark.parametrize("limit", [0, -1, 1.5, True])
    def test_bad_limits(self, limit):
        with pytest.raises(ValueError, match=r"must be a positive integer"):
            load_scan(b"x", max_pixels=limit)


class TestBadInput:
    def test_empty(self):
        with pytest.raises(ScanError, match=r"'a.dcm' is empty \(0 bytes\)"):
            load_scan(b"", filename="a.dcm")

    def test_empty_file_on_disk(self, tmp_path):
        (tmp_path / "empty.png").write_bytes(b"")
        with pytest.raises(ScanError, match=r"'empty.png' is empty \(0 bytes\)"):
            load_scan(tmp_path / "empty.png")

    def test_random_bytes(self):
        data = np.random.default_rng(1).integers(0, 256, 4096, np.uint8).tobytes()
        with pytest.raises(ScanError, match=NOT_AN_IMAGE):
            load_scan(data, filename="noise.bin")

    def test_plain_text(self):
        with pytest.raises(ScanError, match=NOT_AN_IMAGE):
            load_scan(b"Patient report\nNothing to see here.\n" * 20)

    def test_zip(self):
        bio = io.BytesIO()
        with zipfile.ZipFile(bio, "w") as zf:
            zf.writestr("scan.dcm", b"\x00" * 300)
        with pytest.raises(ScanError, match=f"{NOT_AN_IMAGE} \\(it looks like a ZIP"):
            load_scan(bio.getvalue(), filename="study.zip")

    def test_pdf(self):
        data = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 5
        with pytest.raises(ScanError, match=f"{NOT_AN_IMAGE} \\(it looks like a PDF"):
            load_scan(data, filename="report.pdf")

    def test_wrong_extension_hint(self):
        with pytest.raises(ScanError, match=r"name ends in .png but the content"):
            load_scan(b"GIF? no. " * 40, filename="x.png")

    def test_over_max_bytes(self, make_image):
        data = make_image(Image.new("L", (64, 64)), "PNG")
        with pytest.raises(ScanError, match=r"'big.png' is too large.*over the limit"):
            load_scan(data, filename="big.png", max_bytes=len(data) - 1)
        assert load_scan(data, max_bytes=len(data)).pixels.shape == (64, 64)

    def test_over_max_bytes_on_disk_not_read(self, tmp_path):
        path = tmp_path / "huge.dcm"
        with path.open("wb") as fh:
            fh.seek(10_000_000)
            fh.write(b"\x00")  # sparse 10 MB file
        with pytest.raises(ScanError, match=r"'huge.dcm' is too large"):
            load_scan(path, max_bytes=1_000_000)


class TestDescribeScan:
    def test_dicom(self, testdata):
        summary = describe_scan(load_scan(testdata("CT_small.dcm"), window="lung"))
        assert summary == {
            "format": "dicom",
            "modality": "CT",
            "photometric": "MONOCHROME2",
            "size": [128, 128],
            "channels": 1,
            "frames": 1,
            "frame": 0,
            "window": {"name": "lung", "center": -600.0, "width": 1500.0},
            "spacing": summary["spacing"],
        }
        assert len(summary["spacing"]) == 2 and summary["spacing"][0] > 0

    def test_image(self, make_image):
        rgb = np.zeros((5, 7, 3), np.uint8)
        rgb[..., 0] = 200
        summary = describe_scan(load_scan(make_image(Image.fromarray(rgb), "PNG")))
        assert summary["format"] == "png" and summary["modality"] == "OT"
        assert summary["size"] == [5, 7] and summary["channels"] == 3
        assert summary["window"] is None and summary["spacing"] is None
