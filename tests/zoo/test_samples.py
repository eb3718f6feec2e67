"""The sample scans shipped for the app's gallery: small, attributed and readable."""

from pathlib import Path

import numpy as np

from zoo.imaging import load_scan

SAMPLES = Path(__file__).resolve().parents[2] / "zoo" / "samples"
SCANS = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".jpg", ".png", ".dcm"))


def test_at_most_twelve_from_shared_under_two_megabytes():
    # ../shared/data's README: at most 12 of its images, under 2 MB together (the DICOM
    # sample comes from the pydicom-data package, not from there)
    copied = [p for p in SCANS if p.suffix != ".dcm"]
    assert 0 < len(copied) <= 12
    assert sum(p.stat().st_size for p in SCANS) < 2_000_000


def test_every_sample_is_attributed():
    attribution = (SAMPLES / "ATTRIBUTION.md").read_text()
    for path in SCANS:
        assert f"`{path.name}`" in attribution


def test_every_sample_loads():
    for path in SCANS:
        scan = load_scan(path.read_bytes(), filename=path.name)
        assert scan.pixels.dtype == np.float32 and min(scan.shape) >= 128
        assert scan.pixels.min() >= 0.0 and scan.pixels.max() <= 1.0


def test_the_dicom_sample_is_a_chest_radiograph():
    scan = load_scan(SAMPLES / "cxr_cr_chest.dcm")
    assert scan.source_format == "dicom" and scan.modality == "CR"
    assert scan.photometric == "MONOCHROME1"
