"""Which DICOM attributes are safe to show, and which identify a person.

:data:`DESCRIPTIVE_KEYWORDS` is an allow-list: only these attributes ever reach
``Scan.metadata``. Anything not on it (private tags, free text, sequences, every
attribute a future standard adds) is dropped, which is safer than removing a
known list of identifiers and keeping the rest.

:data:`PHI_KEYWORDS` lists the identifying attributes, after the DICOM PS3.15
Annex E *Basic Application Level Confidentiality Profile* (Table E.1-1): patient
identity and characteristics (including *Patient's Sex* and *Patient's Age*,
which belong to the Patient module), people and institutions, instance UIDs,
dates and times, device identity, and free-text descriptions (*Study/Series
Description*, *Protocol Name*, comments), which the profile removes because
people type names into them. They are read only when ``include_phi=True`` and
then go to ``metadata["phi"]``. The two lists never overlap (a test checks it).

Nothing here logs: values are neither printed nor passed to ``logging``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

#: Descriptive, non-identifying attributes copied to ``Scan.metadata``.
DESCRIPTIVE_KEYWORDS: tuple[str, ...] = (
    # what and how it was imaged
    "Modality",
    "SOPClassUID",  # the kind of object (a standard UID), not the instance
    "ImageType",
    "BodyPartExamined",
    "ViewPosition",
    "Laterality",
    "ImageLaterality",
    "PatientPosition",
    "PatientOrientation",
    "PresentationIntentType",
    "Manufacturer",
    "ManufacturerModelName",
    # acquisition parameters
    "KVP",
    "XRayTubeCurrent",
    "ExposureTime",
    "Exposure",
    "ConvolutionKernel",
    "SliceThickness",
    "SpacingBetweenSlices",
    "MagneticFieldStrength",
    "RepetitionTime",
    "EchoTime",
    "FlipAngle",
    # pixel description
    "Rows",
    "Columns",
    "NumberOfFrames",
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "PlanarConfiguration",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "PixelSpacing",
    "ImagerPixelSpacing",
    "RescaleSlope",
    "RescaleIntercept",
    "RescaleType",
    "WindowCenter",
    "WindowWidth",
    "VOILUTFunction",
    "LossyImageCompression",
    "BurnedInAnnotation",
    "PatientIdentityRemoved",
)

#: Identifying attributes (PS3.15 Annex E basic profile), kept out of metadata.
PHI_KEYWORDS: frozenset[str] = frozenset(
    {
        # patient identity
        "PatientName",
        "PatientID",
        "IssuerOfPatientID",
        "OtherPatientIDs",
        "OtherPatientIDsSequence",
        "OtherPatientNames",
        "PatientBirthName",
        "PatientMotherBirthName",
        "PatientBirthDate",
        "PatientBirthTime",
        "PatientAddress",
        "PatientTelephoneNumbers",
        "MedicalRecordLocator",
        "CountryOfResidence",
        "RegionOfResidence",
        "MilitaryRank",
        "BranchOfService",
        "ResponsiblePerson",
        "ResponsibleOrganization",
        "PatientInsurancePlanCodeSequence",
        "ReferencedPatientSequence",
        # patient characteristics (Patient module)
        "PatientSex",
        "PatientAge",
        "PatientSize",
        "PatientWeight",
        "EthnicGroup",
        "Occupation",
        "PatientReligiousPreference",
        "SmokingStatus",
        "PregnancyStatus",
        "MedicalAlerts",
        "Allergies",
        "AdditionalPatientHistory",
        "PatientComments",
        "PatientState",
        "AdmissionID",
        "AdmittingDiagnosesDescription",
        # people
        "ReferringPhysicianName",
        "ReferringPhysicianAddress",
        "ReferringPhysicianTelephoneNumbers",
        "PhysiciansOfRecord",
        "PerformingPhysicianName",
        "NameOfPhysiciansReadingStudy",
        "OperatorsName",
        "RequestingPhysician",
        "ScheduledPerformingPhysicianName",
        # institution
        "InstitutionName",
        "InstitutionAddress",
        "InstitutionalDepartmentName",
        "InstitutionCodeSequence",
        # study / order identifiers
        "AccessionNumber",
        "StudyID",
        "RequestedProcedureID",
        "PerformedProcedureStepID",
        "ScheduledProcedureStepID",
        "RequestAttributesSequence",
        # instance UIDs
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPInstanceUID",
        "MediaStorageSOPInstanceUID",
        "FrameOfReferenceUID",
        "SynchronizationFrameOfReferenceUID",
        "InstanceCreatorUID",
        "IrradiationEventUID",
        "ReferencedSOPInstanceUID",
        "DeviceUID",
        # dates and times
        "StudyDate",
        "SeriesDate",
        "AcquisitionDate",
        "ContentDate",
        "StudyTime",
        "SeriesTime",
        "AcquisitionTime",
        "ContentTime",
        "AcquisitionDateTime",
        "InstanceCreationDate",
        "InstanceCreationTime",
        "PerformedProcedureStepStartDate",
        "PerformedProcedureStepStartTime",
        "PerformedProcedureStepEndDate",
        "PerformedProcedureStepEndTime",
        "TimezoneOffsetFromUTC",
        # device identity
        "StationName",
        "DeviceSerialNumber",
        "DetectorID",
        "PlateID",
        "CassetteID",
        "GantryID",
        "SoftwareVersions",
        # free text that may name people
        "StudyDescription",
        "SeriesDescription",
        "ProtocolName",
        "PerformedProcedureStepDescription",
        "RequestedProcedureDescription",
        "ImageComments",
        "DerivationDescription",
        "AcquisitionComments",
        "AcquisitionDeviceProcessingDescription",
        "ContrastBolusAgent",
    }
)


def _plain(value: Any) -> Any:
    """Convert a pydicom value to a str/int/float/list, or None to skip it."""
    if value is None or isinstance(value, (bytes, bytearray, memoryview)):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if hasattr(value, "__iter__") and not hasattr(value, "keys"):
        items = []
        for v in value:
            plain = _plain(v)
            if plain is None or isinstance(plain, list):
                return None  # a sequence of datasets or nested values: skip
            items.append(plain)
        return items
    return str(value)


def descriptive_metadata(ds: Dataset) -> dict[str, Any]:
    """Return the allow-listed descriptive attributes of ``ds``.

    Parameters
    ----------
    ds : Dataset

    Returns
    -------
    dict
        Keyword → plain Python value (str, int, float or list of those);
        *SOP Class UID* is given by name (``"CT Image Storage"``). Attributes
        that are absent, empty or unreadable are left out.
    """
    out: dict[str, Any] = {}
    for keyword in DESCRIPTIVE_KEYWORDS:
        try:
            if keyword not in ds:
                continue
            value = ds[keyword].value
            if keyword == "SOPClassUID" and value:
                value = getattr(value, "name", str(value))
            plain = _plain(value)
        except Exception:  # a malformed tag is skipped, not fatal
            continue
        if plain not in (None, "", []):
            out[keyword] = plain
    return out


def _raw_text(elem: Any, encodings: list[str]) -> str:
    """Text of an element read without pydicom's value conversion."""
    from pydicom.charset import decode_bytes

    value = elem.value
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        text = decode_bytes(bytes(value), encodings, _DELIMITERS)
    else:
        text = str(value)
    return text.strip(" \x00")


_DELIMITERS = {0x5C, 0x3D, 0x5E}  # backslash, '=', '^': reset ISO 2022 escapes


def phi_metadata(ds: Dataset) -> dict[str, str]:
    """Return the identifying attributes of ``ds`` (and its file meta) as strings.

    Only called for ``include_phi=True``. Values are read raw
    (:meth:`~pydicom.dataset.Dataset.get_item`) and decoded here, so pydicom
    never validates them: its validation warnings quote the offending value and
    go to the ``pydicom`` logger. Sequences are summarised by their item count.
    """
    from pydicom.charset import convert_encodings
    from pydicom.datadict import dictionary_VR, tag_for_keyword

    try:
        encodings = convert_encodings(ds.get("SpecificCharacterSet"))
    except Exception:  # unknown character set: use the default
        encodings = ["iso8859"]
    out: dict[str, str] = {}
    sources = [ds]
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        sources.append(meta)
    for keyword in sorted(PHI_KEYWORDS):
        tag = tag_for_keyword(keyword)
        if tag is None:
            continue
        for source in sources:
            try:
                elem = source.get_item(tag)
                if elem is None:
                    continue
                vr = elem.VR or dictionary_VR(tag)
                if vr == "SQ":
                    value = elem.value
                    count = len(value) if isinstance(value, list) else None
                    text = "<sequence>" if count is None else f"<sequence of {count}>"
                else:
                    text = _raw_text(elem, encodings)
            except Exception:  # unreadable value: skip it
                continue
            if text:
                out[keyword] = text
                break
    return out
