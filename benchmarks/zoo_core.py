"""Benchmark of the zoo core: scan loading, preprocessing and statistics.

Run ``python -m benchmarks.zoo_core`` from the repository root; it prints a Markdown table.
Inputs are built in memory: a 1024×1024 chest X-ray JPEG (a real NIH image from
``../shared/data`` enlarged to 1024 px when that folder exists, else a synthetic one), a
512×512 CT slice and a 3000×3000 16-bit radiograph written as DICOM with pydicom.
Times are medians (and 90th percentiles) over repeated runs after a warm-up; compare
rows of one run with each other, not runs on different machines.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from zoo.imaging import load_scan
from zoo.metrics import ThresholdTable, delong_test_paired
from zoo.preprocess import Recipe, preprocess

SHARED_CXR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "chest_xray"

# The MobileNet recipe of the synthetic model: the heaviest preprocessing in the zoo.
RECIPE = Recipe.from_dict(
    {
        "input_size": [224, 224],
        "channels": 3,
        "clahe": {"clip_limit": 2.0, "tile_grid": 8},
        "adaptive_equalization": {"kernel_fraction": 0.125, "clip_limit": 0.01, "blend": 0.5},
        "denoise": {"method": "bilateral", "strength": 5.0},
        "normalization": {"scale": 255.0, "mean": [0.0], "std": [1.0]},
    }
)


def chest_xray_jpeg(size: int = 1024) -> tuple[bytes, str]:
    images = sorted((SHARED_CXR / "images").glob("*.jpg")) if SHARED_CXR.is_dir() else []
    if images:
        grey = np.asarray(Image.open(images[0]).convert("L"))
        source = f"NIH {images[0].name}, enlarged"
    else:
        rng = np.random.default_rng(0)
        grey = (rng.random((size, size)) * 255).astype(np.uint8)
        source = "synthetic noise"
    grey = cv2.resize(grey, (size, size), interpolation=cv2.INTER_CUBIC)
    buffer = io.BytesIO()
    Image.fromarray(grey).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue(), source


def dicom_bytes(pixels: np.ndarray, *, modality: str, ct: bool) -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = (
        "1.2.840.10008.5.1.4.1.1.2" if ct else "1.2.840.10008.5.1.4.1.1.1"
    )
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16 if pixels.dtype == np.uint16 else 12
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if pixels.dtype == np.int16 else 0
    if ct:
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.PixelData = pixels.tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def ct_slice(size: int = 512) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    body = ((yy - size / 2) ** 2 / 0.8 + (xx - size / 2) ** 2) < (size * 0.42) ** 2
    lungs = ((yy - size / 2) ** 2 + (np.abs(xx - size / 2) - size * 0.18) ** 2) < (size * 0.14) ** 2
    hu = np.where(body, 40, -1000) + np.where(lungs, -820, 0)
    noise = np.random.default_rng(1).normal(0, 20, (size, size))
    return np.clip(hu + noise + 1024, 0, 4095).astype(np.int16)


def radiograph_16bit(size: int = 3000) -> np.ndarray:
    ramp = np.linspace(2000, 60000, size, dtype=np.float32)
    noise = np.random.default_rng(2).normal(0, 500, (size, size)).astype(np.float32)
    return np.clip(ramp[np.newaxis] + noise, 0, 65535).astype(np.uint16)


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    fn()  # warm-up: first calls pay for imports and allocator growth
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.9 * len(times)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    jpeg, jpeg_source = chest_xray_jpeg()
    ct = dicom_bytes(ct_slice(), modality="CT", ct=True)
    big = dicom_bytes(radiograph_16bit(), modality="DX", ct=False)
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 10_000)
    score_a = np.clip(0.25 * y + rng.random(10_000) * 0.75, 0, 1)
    score_b = np.clip(0.15 * y + rng.random(10_000) * 0.85, 0, 1)

    def threshold_statistics() -> None:
        table = ThresholdTable(y, score_a)
        table.at(0.5)
        table.at(0.5, prevalence=0.1)
        table.youden_threshold()
        table.threshold_for_sensitivity(0.9)
        table.threshold_for_specificity(0.95)
        table.min_cost_threshold(cost_fn_fp_ratio=5.0)

    cases = [
        (
            f"load + preprocess 1024² chest X-ray JPEG ({jpeg_source})",
            30,
            lambda: preprocess(load_scan(jpeg), RECIPE),
        ),
        ("load + preprocess 512² CT DICOM", 30, lambda: preprocess(load_scan(ct), RECIPE)),
        ("load + preprocess 3000² 16-bit DICOM", 200, lambda: preprocess(load_scan(big), RECIPE)),
        ("load only: 3000² 16-bit DICOM", None, lambda: load_scan(big)),
        ("threshold statistics, 10,000 predictions", 20, threshold_statistics),
        ("DeLong paired test, 10,000 cases", 100, lambda: delong_test_paired(y, score_a, score_b)),
    ]
    print("| case | median ms | p90 ms | target ms | median / target |")
    print("|---|---:|---:|---:|---:|")
    for name, target, fn in cases:
        median, p90 = timed(fn, args.repeats)
        ratio = f"{median / target:.2f}" if target else "—"
        print(f"| {name} | {median:.1f} | {p90:.1f} | {target or '—'} | {ratio} |")


if __name__ == "__main__":
    main()
