"""Writers of tiny image and DICOM files for the training.data tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

SHARED_DATA = Path(__file__).resolve().parents[4] / "shared" / "data"


def write_image(path: Path, value: int = 128, *, size: int = 32, fmt: str | None = None) -> Path:
    """A small grey gradient whose brightness follows ``value``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ramp = np.linspace(0, 1, size, dtype=np.float32)[None, :] * np.ones((size, 1), np.float32)
    pixels = np.clip(value * (0.5 + 0.5 * ramp), 0, 255).astype(np.uint8)
    Image.fromarray(pixels, mode="L").save(path, format=fmt)
    return path


def write_dicom(
    path: Path,
    value: int = 1000,
    *,
    patient_id: str = "P1",
    study_uid: str = "1.2.3.4",
    modality: str = "CR",
    size: int = 32,
) -> Path:
    """A 16-bit MONOCHROME2 DICOM file (Explicit VR Little Endian) with a preamble."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    path.parent.mkdir(parents=True, exist_ok=True)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # digital X-ray
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientID = patient_id
    ds.StudyInstanceUID = study_uid
    ds.Modality = modality
    ds.ViewPosition = "PA"
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    pixels = (np.arange(size * size, dtype=np.uint16).reshape(size, size) % 64) + value
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path
