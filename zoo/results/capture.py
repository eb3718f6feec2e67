"""The heatmap over the image as a Secondary Capture (highdicom), labelled as an
activation map of the model, so a viewer shows it beside the source it references."""

from __future__ import annotations

import highdicom as hd
import numpy as np
from highdicom.enum import PatientOrientationValuesBiped
from highdicom.spatial import get_closest_patient_orientation
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from zoo import __version__
from zoo.results.summary import MANUFACTURER, RESEARCH_ONLY, RESULT_SERIES_PREFIX, ResultSummary

SERIES_NUMBER = 9902


def heatmap_capture(
    source: Dataset, overlay_rgb: np.ndarray, summary: ResultSummary, method: str
) -> hd.sc.SCImage:
    """``overlay_rgb`` (H, W, 3 uint8: the heatmap drawn over the image) as a Secondary
    Capture of ``source``'s patient and study; ``method`` names the map (Grad-CAM, occlusion)."""
    pixels = np.ascontiguousarray(overlay_rgb, dtype=np.uint8)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"the overlay must be (H, W, 3) RGB, got {pixels.shape}")
    capture = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=source,
        pixel_array=pixels,
        photometric_interpretation="RGB",
        bits_allocated=8,
        coordinate_system="PATIENT",
        series_instance_uid=generate_uid(),
        series_number=SERIES_NUMBER,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        patient_orientation=_orientation(source),
    )
    about = f"Activation map ({method}) for {summary.label} by {summary.model_id}"
    capture.SeriesDescription = f"{RESULT_SERIES_PREFIX}activation map (research use only)"
    capture.DerivationDescription = f"{about} v{summary.model_version}"[:1024]
    capture.ImageComments = f"{about}. {summary.model_line}. {RESEARCH_ONLY}"[:10240]
    capture.BurnedInAnnotation = "NO"
    if "Laterality" not in capture:  # type 2C: the source's, or present and empty
        capture.Laterality = source.get("Laterality") or None
    capture.SoftwareVersions = __version__
    return capture


def _orientation(source: Dataset) -> tuple[str, str]:
    """The source's row and column directions: its Patient Orientation, else the nearest
    to its Image Orientation (Patient) (CT, MR), else the radiographic convention for a
    frontal film (rows towards the patient's left, columns towards the feet)."""
    given = [str(v) for v in source.get("PatientOrientation") or []]
    valid = {v.value for v in PatientOrientationValuesBiped}
    if len(given) == 2 and all(part and set(part) <= valid for part in given):
        return given[0], given[1]
    cosines = source.get("ImageOrientationPatient")
    if cosines is not None and len(cosines) == 6:
        row, column = np.asarray(cosines[:3], float), np.asarray(cosines[3:], float)
        direction = np.column_stack([row, column, np.cross(row, column)])
        nearest = get_closest_patient_orientation(direction)
        return nearest[0].value, nearest[1].value
    return "L", "F"
