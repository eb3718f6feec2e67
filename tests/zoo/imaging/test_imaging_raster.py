"""Image files through Pillow: every mode, EXIF, frames, truncation, bombs."""

from __future__ import annotations

import struct
import time
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image

from zoo.errors import ScanError
from zoo.imaging import load_scan


def _gradient(height: int = 24, width: int = 40) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return ((x * 5 + y * 3) % 256).astype(np.uint8)


def _colour(height: int = 24, width: int = 40) -> np.ndarray:
    g = _gradient(height, width)
    return np.stack([g, 255 - g, np.full_like(g, 77)], axis=-1)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG declaring width × height grey pixels with a tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


class TestGreyModes:
    @pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "BMP", "WEBP"])
    def test_l(self, make_image, fmt):
        grey = _gradient()
        save = {"lossless": True} if fmt == "WEBP" else {}
        scan = load_scan(make_image(Image.fromarray(grey), fmt, **save))
        assert scan.pixels.shape == grey.shape and scan.pixels.dtype == np.float32
        assert scan.modality == "OT" and scan.window is None
        # WebP has no grey mode: Pillow reads RGB, whose equal channels give grey
        assert scan.photometric == ("RGB" if fmt == "WEBP" else "MONOCHROME2")
        assert scan.source_format == fmt.lower()
        if fmt in ("PNG", "TIFF", "BMP", "WEBP"):
            np.testing.assert_allclose(scan.pixels, grey / 255.0, atol=1e-7)
        else:
            assert np.abs(scan.pixels - grey / 255.0).mean() < 0.02

    def test_png_16_bit_range_preserved(self, make_image):
        values = np.array([[0, 1, 256, 4095], [30000, 65534, 65535, 12345]], np.uint16)
        img = Image.fromarray(values)
        assert img.mode.startswith("I;16")
        scan = load_scan(make_image(img, "PNG"))
        np.testing.assert_allclose(scan.pixels, values / 65535.0, rtol=1e-6, atol=1e-9)
        assert scan.pixels[1, 2] == 1.0 and scan.pixels[0, 0] == 0.0
        assert scan.metadata["Mode"].startswith("I")

    def test_tiff_16_bit(self, make_image):
        values = (np.arange(64, dtype=np.uint16) * 1000).reshape(8, 8)
        scan = load_scan(make_image(Image.fromarray(values), "TIFF"))
        np.testing.assert_allclose(scan.pixels, values / 65535.0, rtol=1e-6)

    def test_mode_i_within_16_bit_divides_by_65535(self, make_image):
        values = (np.arange(16, dtype=np.int32) * 4000).reshape(4, 4)
        img = Image.fromarray(values, mode="I")
        scan = load_scan(make_image(img, "TIFF"))
        np.testing.assert_allclose(scan.pixels, values / 65535.0, rtol=1e-6)

    def test_mode_i_outside_16_bit_is_stretched(self, make_image):
        values = np.array([[-5000, 0], [100000, 200000]], dtype=np.int32)
        scan = load_scan(make_image(Image.fromarray(values, mode="I"), "TIFF"))
        expected = (values - values.min()) / (values.max() - values.min())
        np.testing.assert_allclose(scan.pixels, expected, rtol=1e-6)

    def test_mode_f(self, make_image):
        values = np.array([[-1.5, 0.0], [2.5, np.nan]], dtype=np.float32)
        scan = load_scan(make_image(Image.fromarray(values, mode="F"), "TIFF"))
        assert np.isfinite(scan.pixels).all()
        assert scan.pixels.min() == 0.0 and scan.pixels.max() == 1.0

    def test_mode_f_in_unit_range_kept(self, make_image):
        values = np.array([[0.25, 0.5], [0.75, 0.125]], dtype=np.float32)
        scan = load_scan(make_image(Image.fromarray(values, mode="F"), "TIFF"))
        np.testing.assert_array_equal(scan.pixels, values)

    def test_mode_1(self, make_image):
        img = Image.fromarray(_gradient() > 128)
        assert img.mode == "1"
        scan = load_scan(make_image(img, "PNG"))
        np.testing.assert_array_equal(scan.pixels, (_gradient() > 128).astype(np.float32))

    def test_la_drops_alpha(self, make_image):
        grey = _gradient()
        img = Image.fromarray(grey).convert("LA")
        img.putalpha(Image.fromarray(np.full_like(grey, 10)))
        scan = load_scan(make_image(img, "PNG"))
        np.testing.assert_allclose(scan.pixels, grey / 255.0, atol=1e-7)


class TestColourModes:
    @pytest.mark.parametrize("fmt", ["PNG", "TIFF", "BMP"])
    def test_rgb(self, make_image, fmt):
        rgb = _colour()
        scan = load_scan(make_image(Image.fromarray(rgb), fmt))
        assert scan.pixels.shape == rgb.shape and scan.is_color
        np.testing.assert_allclose(scan.pixels, rgb / 255.0, atol=1e-7)
        assert scan.photometric == "RGB"

    def test_rgba_drops_alpha(self, make_image):
        rgb = _colour()
        rgba = np.concatenate([rgb, np.full((*rgb.shape[:2], 1), 3, np.uint8)], -1)
        scan = load_scan(make_image(Image.fromarray(rgba), "PNG"))
        np.testing.assert_allclose(scan.pixels, rgb / 255.0, atol=1e-7)

    def test_palette_colour(self, make_image):
        img = Image.fromarray(_colour()).quantize(colors=16)
        assert img.mode == "P"
        scan = load_scan(make_image(img, "PNG"))
        expected = np.asarray(img.convert("RGB")) / 255.0
        np.testing.assert_allclose(scan.pixels, expected, atol=1e-7)
        assert scan.photometric == "PALETTE COLOR"

    def test_palette_grey_becomes_grey(self, make_image):
        img = Image.fromarray(_gradient()).convert("P")
        scan = load_scan(make_image(img, "GIF"))
        assert scan.pixels.ndim == 2 and scan.source_format == "gif"

    @pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
    def test_cmyk(self, make_image, fmt):
        img = Image.fromarray(_colour()).convert("CMYK")
        scan = load_scan(make_image(img, fmt))
        assert scan.pixels.shape == (24, 40, 3) and scan.photometric == "CMYK"
        expected = np.asarray(img.convert("RGB")) / 255.0
        tolerance = 0.1 if fmt == "JPEG" else 1e-6
        assert np.abs(scan.pixels - expected).mean() < tolerance

    def test_identical_channels_become_grey(self, make_image):
        grey = _gradient()
        img = Image.fromarray(np.stack([grey] * 3, axis=-1))
        for fmt in ("PNG", "JPEG"):
            scan = load_scan(make_image(img, fmt))
            assert scan.pixels.ndim == 2, fmt
            assert scan.photometric == "RGB"  # the source's interpretation

    def test_webp_lossless(self, make_image):
        rgb = _colour()
        scan = load_scan(make_image(Image.fromarray(rgb), "WEBP", lossless=True))
        np.testing.assert_allclose(scan.pixels, rgb / 255.0, atol=1e-7)


class TestOrientationAndFrames:
    def test_exif_orientation_applied(self, make_image):
        img = Image.fromarray(_gradient(20, 60))
        exif = img.getexif()
        exif[0x0112] = 6  # rotate 90° clockwise to display
        scan = load_scan(make_image(img, "JPEG", exif=exif.tobytes()))
        assert scan.pixels.shape == (60, 20)

    def test_no_orientation_keeps_shape(self, make_image):
        scan = load_scan(make_image(Image.fromarray(_gradient(20, 60)), "JPEG"))
        assert scan.pixels.shape == (20, 60)

    def _multipage_tiff(self, make_image) -> bytes:
        pages = [Image.fromarray(np.full((8, 8), v, np.uint8)) for v in (10, 120, 250)]
        return make_image(pages[0], "TIFF", save_all=True, append_images=pages[1:])

    def test_tiff_frame_choice(self, make_image):
        data = self._multipage_tiff(make_image)
        scan = load_scan(data, frame=2)
        assert scan.frame_count == 3 and scan.frame_index == 2
        np.testing.assert_allclose(scan.pixels, 250 / 255.0)
        assert load_scan(data).frame_index == 0

    def test_tiff_frame_out_of_range(self, make_image):
        with pytest.raises(ScanError, match=r"frame 3 is out of range.*0 to 2"):
            load_scan(self._multipage_tiff(make_image), frame=3)

    def test_gif_frames(self, make_image):
        frames = [Image.fromarray(np.full((6, 6), v, np.uint8)).convert("P") for v in (0, 200)]
        data = make_image(frames[0], "GIF", save_all=True, append_images=frames[1:])
        scan = load_scan(data, frame=1)
        assert scan.frame_count == 2
        np.testing.assert_allclose(scan.pixels, 200 / 255.0, atol=1e-6)

    def test_window_preset_ignored(self, make_image):
        data = make_image(Image.fromarray(_gradient()), "PNG")
        scan = load_scan(data, window="lung")
        assert scan.window is None
        np.testing.assert_array_equal(scan.pixels, load_scan(data).pixels)


class TestBadImages:
    def test_truncated_png(self, make_image):
        data = make_image(Image.fromarray(_colour(200, 200)), "PNG")
        with pytest.raises(ScanError, match=r"'x.png'.*PNG data is truncated or damaged"):
            load_scan(data[: len(data) // 2], filename="x.png")

    def test_truncated_jpeg(self, make_image):
        data = make_image(Image.fromarray(_colour(200, 200)), "JPEG")
        with pytest.raises(ScanError, match=r"JPEG data is truncated or damaged"):
            load_scan(data[: len(data) // 2])

    def test_damaged_header(self):
        with pytest.raises(ScanError, match=r"looks like a PNG file but its header"):
            load_scan(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)

    def test_png_bomb_refused_before_decoding(self):
        data = _png_header_only(30000, 30000)
        before = Image.MAX_IMAGE_PIXELS
        tracemalloc.start()
        try:
            start = time.perf_counter()
            with pytest.raises(ScanError, match=r"too large.*30000 × 30000"):
                load_scan(data, filename="bomb.png")
            elapsed = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert elapsed < 1.0 and peak < 50e6
        assert before == Image.MAX_IMAGE_PIXELS  # global state untouched

    def test_caller_budget_applies_not_pillow_limit(self):
        # 12000 × 12000 = 144 M pixels: above Pillow's warning limit (89 M),
        # below its error limit; with a 10 M budget ours refuses first.
        with pytest.raises(ScanError, match=r"limit of 10,000,000"):
            load_scan(_png_header_only(12000, 12000), max_pixels=10_000_000)

    def test_colour_counts_three_samples(self, make_image):
        data = make_image(Image.fromarray(_colour(100, 100)), "PNG")
        with pytest.raises(ScanError, match=r"100 × 100 × 3 samples"):
            load_scan(data, max_pixels=20_000)
        assert load_scan(data, max_pixels=30_000).is_color
