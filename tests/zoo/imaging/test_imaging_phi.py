"""Patient and staff identifiers never reach metadata, messages or logs."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from pydicom.datadict import tag_for_keyword

from zoo.errors import ScanError
from zoo.imaging import describe_scan, load_scan
from zoo.imaging.phi import DESCRIPTIVE_KEYWORDS, PHI_KEYWORDS


def _searchable(phi_values: dict[str, str]) -> list[str]:
    """Values long enough to search for as substrings ("F" is everywhere)."""
    return [v for v in phi_values.values() if len(v) >= 4]


class TestLists:
    def test_allow_list_and_phi_list_do_not_overlap(self):
        assert not set(DESCRIPTIVE_KEYWORDS) & PHI_KEYWORDS

    @pytest.mark.parametrize("keyword", sorted(set(DESCRIPTIVE_KEYWORDS) | PHI_KEYWORDS))
    def test_keywords_are_dicom_keywords(self, keyword):
        assert tag_for_keyword(keyword) is not None

    @pytest.mark.parametrize(
        "keyword",
        [
            "PatientName",
            "PatientID",
            "PatientBirthDate",
            "PatientSex",
            "PatientAge",
            "InstitutionName",
            "ReferringPhysicianName",
            "AccessionNumber",
            "StudyInstanceUID",
            "SOPInstanceUID",
            "StudyDate",
            "DeviceSerialNumber",
            "StationName",
            "StudyDescription",
        ],
    )
    def test_required_phi(self, keyword):
        assert keyword in PHI_KEYWORDS


class TestMetadata:
    def test_no_phi_values_by_default(self, make_dicom, make_ramp, phi_values, caplog):
        caplog.set_level(logging.DEBUG)
        data = make_dicom(make_ramp(), phi=True)
        scan = load_scan(data, filename="case.dcm")
        text = repr(scan.metadata) + repr(describe_scan(scan)) + repr(scan)
        for keyword in phi_values:
            assert keyword not in scan.metadata
        for value in _searchable(phi_values):
            assert value not in text
        assert "phi" not in scan.metadata
        assert scan.metadata["Modality"] == "CT"
        assert scan.metadata["BodyPartExamined"] == "CHEST"
        assert scan.metadata["Manufacturer"] == "ACME Imaging"
        for value in _searchable(phi_values):
            assert value not in caplog.text

    def test_phi_only_on_request(self, make_dicom, make_ramp, phi_values, caplog):
        caplog.set_level(logging.DEBUG)
        scan = load_scan(make_dicom(make_ramp(), phi=True), include_phi=True)
        phi = scan.metadata["phi"]
        for keyword, value in phi_values.items():
            assert phi[keyword] == value
        # identifiers stay in the sub-dict, never at the top level
        top = {k: v for k, v in scan.metadata.items() if k != "phi"}
        assert not set(top) & set(phi_values)
        for value in _searchable(phi_values):
            assert value not in repr(top)
            assert value not in repr(describe_scan(scan))
            assert value not in caplog.text
        assert "MediaStorageSOPInstanceUID" in phi  # from the file meta

    def test_error_messages_carry_no_phi(self, make_dicom, phi_values, caplog):
        caplog.set_level(logging.DEBUG)
        data = make_dicom(np.zeros((4, 4), np.uint16), phi=True)[:-10]  # truncated
        with pytest.raises(ScanError) as info:
            load_scan(data)
        for value in _searchable(phi_values):
            assert value not in str(info.value)
            assert value not in caplog.text

    def test_image_files_have_empty_phi(self, make_image):
        from PIL import Image

        scan = load_scan(make_image(Image.new("L", (3, 3)), "PNG"), include_phi=True)
        assert scan.metadata["phi"] == {}

    def test_exif_not_copied(self, make_image):
        from PIL import Image

        img = Image.new("RGB", (8, 8), (10, 20, 30))
        exif = img.getexif()
        exif[0x013B] = "Zebediah Quimby"  # Artist
        exif[0x0132] = "2019:07:04 10:15:30"  # DateTime
        scan = load_scan(make_image(img, "JPEG", exif=exif.tobytes()), include_phi=True)
        assert "Zebediah" not in repr(scan.metadata)
        assert "2019:07:04" not in repr(scan.metadata)

    def test_invalid_phi_values_are_not_logged(self, make_dicom, make_ramp, caplog):
        import warnings

        # Values pydicom's validation rejects; it would quote them in a warning
        # sent to the "pydicom" logger if they were converted.
        bad = {"PatientBirthDate": "BIRTH-1947-03-12", "StudyTime": "TEN-FIFTEEN"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = make_dicom(make_ramp(), **bad)  # writing warns; not our concern
        caplog.clear()
        caplog.set_level(logging.DEBUG)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scan = load_scan(data, include_phi=True)
        assert scan.metadata["phi"]["PatientBirthDate"] == bad["PatientBirthDate"]
        warned = " ".join(str(w.message) for w in caught)
        for value in bad.values():
            assert value not in caplog.text and value not in warned
