"""The PDF report as an Encapsulated PDF object.

Written with pydicom by hand: highdicom makes SR, SC and segmentation objects but no
encapsulated documents. The modules are those of the Encapsulated PDF IOD (PS3.3 A.45.1):
Patient and General Study copied from the source, Encapsulated Document Series and
Encapsulated Document, General Equipment and SC Equipment, SOP Common.
"""

from __future__ import annotations

from datetime import datetime

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

from zoo import __version__
from zoo.results.summary import MANUFACTURER, RESULT_SERIES_PREFIX, ResultSummary

ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
SERIES_NUMBER = 9903
#: Patient and General Study attributes copied from the source, so the report is filed with it.
PATIENT_AND_STUDY = (
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
    "StudyDescription",
    "SpecificCharacterSet",
)


def encapsulated_pdf(source: Dataset, pdf: bytes, summary: ResultSummary) -> Dataset:
    """``pdf`` (the report's bytes) wrapped for ``source``'s patient and study."""
    if not pdf.startswith(b"%PDF"):
        raise ValueError("the report to encapsulate is not a PDF")
    now = datetime.now()
    ds = Dataset()
    for keyword in PATIENT_AND_STUDY:
        if keyword in source:
            setattr(ds, keyword, source.data_element(keyword).value)
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex"):
        ds.setdefault(keyword, "")  # type 2: present, may be empty
    for keyword in ("StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID"):
        ds.setdefault(keyword, "")
    ds.setdefault("AccessionNumber", "")
    ds.SOPClassUID = ENCAPSULATED_PDF
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "DOC"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = SERIES_NUMBER
    ds.SeriesDescription = f"{RESULT_SERIES_PREFIX}report (research use only)"
    ds.Manufacturer = MANUFACTURER
    ds.ConversionType = "WSD"  # workstation
    ds.SoftwareVersions = __version__
    ds.InstanceNumber = 1
    ds.ContentDate = now.strftime("%Y%m%d")
    ds.ContentTime = now.strftime("%H%M%S")
    ds.AcquisitionDateTime = now.strftime("%Y%m%d%H%M%S")
    ds.BurnedInAnnotation = "YES"  # the PDF names the patient's scan file and findings
    ds.DocumentTitle = f"MedZoo report: {summary.model_id} v{summary.model_version}"[:64]
    ds.ConceptNameCodeSequence = []
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = pdf + (b"\0" if len(pdf) % 2 else b"")
    ds.EncapsulatedDocumentLength = len(pdf)
    ds.InstanceCreationDate, ds.InstanceCreationTime = ds.ContentDate, ds.ContentTime
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    return ds
