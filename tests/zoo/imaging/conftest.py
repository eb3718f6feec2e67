"""Fixtures for the imaging tests: small synthetic DICOM and image files."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

#: Identifying values put into synthetic datasets; none may leak into metadata.
PHI_VALUES: dict[str, str] = {
    "PatientName": "Zebediah^Quimby",
    "PatientID": "PID-7741903",
    "PatientBirthDate": "19470312",
    "PatientAddress": "17 Larkspur Lane, Oxbridge",
    "PatientTelephoneNumbers": "555-0199-4471",
    "OtherPatientIDs": "OTHER-55213",
    "PatientSex": "F",
    "PatientAge": "077Y",
    "InstitutionName": "Saint Wolfgang Infirmary",
    "InstitutionAddress": "1 Hospital Road, Oxbridge",
    "ReferringPhysicianName": "Featherstonehaugh^Aurelius",
    "PerformingPhysicianName": "Cholmondeley^Beatrix",
    "OperatorsName": "Marjoribanks^Ptolemy",
    "AccessionNumber": "ACC99887766",
    "StudyInstanceUID": "1.2.826.0.1.3680043.8.498.11111111111111111",
    "SeriesInstanceUID": "1.2.826.0.1.3680043.8.498.22222222222222222",
    "StudyDate": "20190704",
    "StudyTime": "101530",
    "DeviceSerialNumber": "SN-ZX-000123987",
    "StationName": "CTSTATION-ORION",
    "StudyDescription": "Chest for Zebediah",
}


def dicom_bytes(
    arr: np.ndarray,
    *,
    photometric: str | None = None,
    transfer_syntax: str = ExplicitVRLittleEndian,
    with_meta: bool = True,
    phi: bool = False,
    **attrs: Any,
) -> bytes:
    """Encode ``arr`` (H, W), (F, H, W) or (H, W, 3) as an uncompressed DICOM file.

    ``with_meta=False`` writes a bare dataset (no preamble, no "DICM", no
    file meta), as old or non-conformant writers do.
    """
    arr = np.asarray(arr)
    colour = arr.ndim == 3 and arr.shape[-1] == 3
    frames = arr.shape[0] if arr.ndim == 3 and not colour else 1
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "CT"
    ds.Manufacturer = "ACME Imaging"
    ds.BodyPartExamined = "CHEST"
    ds.Rows, ds.Columns = int(arr.shape[-3 if colour else -2]), int(arr.shape[-2 if colour else -1])
    ds.SamplesPerPixel = 3 if colour else 1
    ds.PhotometricInterpretation = photometric or ("RGB" if colour else "MONOCHROME2")
    if colour:
        ds.PlanarConfiguration = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    bits = arr.dtype.itemsize * 8
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 1 if arr.dtype.kind == "i" else 0
    if phi:
        for keyword, value in PHI_VALUES.items():
            setattr(ds, keyword, value)
    for keyword, value in attrs.items():
        setattr(ds, keyword, value)
    ds.PixelData = np.ascontiguousarray(arr).tobytes()
    bio = io.BytesIO()
    if with_meta:
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = transfer_syntax
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(bio, enforce_file_format=True)
    else:
        pydicom.dcmwrite(bio, ds, implicit_vr=True, little_endian=True, enforce_file_format=False)
    return bio.getvalue()


def image_bytes(img: Image.Image, fmt: str, **save: Any) -> bytes:
    """Encode a Pillow image in memory."""
    bio = io.BytesIO()
    img.save(bio, fmt, **save)
    return bio.getvalue()


def ramp(height: int = 32, width: int = 48, dtype: Any = np.uint16, top: int = 4095):
    """A deterministic (H, W) ramp from 0 to ``top``."""
    values = np.linspace(0, top, height * width).reshape(height, width)
    return np.round(values).astype(dtype)


def testdata_file(name: str) -> str:
    """Path of a pydicom test file, without pydicom's download attempts."""
    from pydicom.data import get_testdata_file

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"pydicom test file {name} is not installed")
    return str(path)


@pytest.fixture
def make_dicom() -> Callable[..., bytes]:
    return dicom_bytes


@pytest.fixture
def make_image() -> Callable[..., bytes]:
    return image_bytes


@pytest.fixture
def testdata() -> Callable[[str], str]:
    return testdata_file


@pytest.fixture
def make_ramp() -> Callable[..., np.ndarray]:
    return ramp


@pytest.fixture
def phi_values() -> dict[str, str]:
    return dict(PHI_VALUES)
