"""Bounded fuzzing: any bytes give a valid Scan or a ScanError, nothing else."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from zoo.errors import ScanError
from zoo.imaging import Scan, load_scan

pytestmark = pytest.mark.filterwarnings("ignore")

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,  # write nothing into the repository
    derandomize=True,  # the same examples on every run and machine
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MAX_PIXELS = 4_000_000  # keeps a mutated header from asking for much memory


def _seed_png() -> bytes:
    y, x = np.mgrid[0:24, 0:32]
    rgb = np.stack([x * 8, y * 10, (x + y) * 4], -1).astype(np.uint8)
    bio = io.BytesIO()
    Image.fromarray(rgb).save(bio, "PNG")
    return bio.getvalue()


def _seed_jpeg() -> bytes:
    y, x = np.mgrid[0:24, 0:32]
    bio = io.BytesIO()
    Image.fromarray(((x * 8 + y * 3) % 256).astype(np.uint8)).save(bio, "JPEG")
    return bio.getvalue()


def _seed_dicom() -> bytes:
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = CTImageStorage
    ds.Modality = "CT"
    ds.Rows, ds.Columns = 12, 10
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.PixelData = (np.arange(120, dtype=np.uint16) * 30).tobytes()
    bio = io.BytesIO()
    pydicom.dcmwrite(bio, ds, enforce_file_format=True)
    return bio.getvalue()


def _seed_rle_dicom() -> bytes:
    from pydicom.data import get_testdata_file

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = get_testdata_file("MR_small_RLE.dcm", download=False)
    with open(path, "rb") as fh:
        return fh.read()


SEEDS = {
    "png": _seed_png(),
    "jpeg": _seed_jpeg(),
    "dicom": _seed_dicom(),
    "dicom_rle": _seed_rle_dicom(),
}


def _check(data: bytes) -> None:
    try:
        scan = load_scan(data, filename="fuzz.bin", max_pixels=MAX_PIXELS)
    except ScanError:
        return
    assert isinstance(scan, Scan)
    px = scan.pixels
    assert px.dtype == np.float32 and px.ndim in (2, 3)
    assert np.isfinite(px).all()
    assert px.size == 0 or (px.min() >= 0.0 and px.max() <= 1.0)


@st.composite
def _mutated(draw, seed: bytes) -> bytes:
    data = bytearray(seed)
    flips = draw(
        st.lists(
            st.tuples(st.integers(0, len(seed) - 1), st.integers(0, 255)),
            min_size=0,
            max_size=8,
        )
    )
    for position, value in flips:
        data[position] = value
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


class TestFuzz:
    @FUZZ
    @given(st.binary(max_size=4096))
    def test_arbitrary_bytes(self, data):
        _check(data)

    @FUZZ
    @given(st.binary(min_size=1, max_size=512))
    def test_arbitrary_bytes_after_dicom_preamble(self, tail):
        _check(bytes(128) + b"DICM" + tail)

    @pytest.mark.parametrize("kind", sorted(SEEDS))
    def test_mutations(self, kind):
        @FUZZ
        @given(_mutated(SEEDS[kind]))
        def run(data):
            _check(data)

        run()

    @pytest.mark.parametrize("kind", sorted(SEEDS))
    def test_seeds_decode(self, kind):
        assert load_scan(SEEDS[kind]).pixels.size > 0


class TestLongFuzzFindings:
    """Inputs that benchmarks/fuzz_scan.py found; each must now end in a ScanError."""

    def test_rescale_slope_overflowing_float32_is_refused(self):
        import pydicom

        ds = pydicom.dcmread(io.BytesIO(SEEDS["dicom"]))
        ds.RescaleSlope = "1e+308"  # pixels were inf, then NaN after the window
        bio = io.BytesIO()
        ds.save_as(bio)
        with pytest.raises(ScanError, match="Rescale Slope"):
            load_scan(bio.getvalue())

    @pytest.mark.parametrize(("bits_allocated", "bits_stored"), [(8, 1), (8, 7), (32, 8), (64, 8)])
    def test_jpeg_lossless_with_an_inconsistent_layout_does_not_abort(
        self, bits_allocated, bits_stored
    ):
        # python-gdcm aborted the whole process here (SIGABRT): run it in a child, so that a
        # regression fails this test instead of killing the test run
        import os
        import subprocess
        import sys
        from pathlib import Path

        from pydicom.data import get_testdata_file

        path = get_testdata_file("JPGLosslessP14SV1_1s_1f_8b.dcm", download=False)
        if path is None:
            pytest.skip("pydicom-data's JPGLosslessP14SV1_1s_1f_8b.dcm is not installed")
        code = (
            "import io, sys, warnings, pydicom\n"
            "warnings.simplefilter('ignore')\n"
            "from zoo.errors import ScanError\n"
            "from zoo.imaging import load_scan\n"
            f"ds = pydicom.dcmread({path!r})\n"
            f"ds.BitsStored = {bits_stored}\n"
            f"ds.BitsAllocated = {bits_allocated}\n"
            "bio = io.BytesIO()\n"
            "ds.save_as(bio)\n"
            "try:\n"
            "    load_scan(bio.getvalue())\n"
            "except ScanError as exc:\n"
            "    print('ScanError', exc)\n"
        )
        root = Path(__file__).resolve().parents[3]
        env = {**os.environ, "PYTHONPATH": str(root)}
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, timeout=120, env=env, cwd=root
        )
        assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
        assert result.stdout.startswith(b"ScanError"), result.stdout
