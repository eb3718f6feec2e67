"""The result as a Comprehensive SR holding a TID 1500 measurement report (highdicom).

One measurement group, made by MedZoo as the observing device, with the model as the
algorithm (id, version, and SHA-256 of its file as a parameter): each label's probability
(unit "no units"), the threshold, the call for the label of interest (present/absent) and
the out-of-distribution flag. Labels are coded in a private scheme, ``99MEDZOO``: they are
the model's own words, not SNOMED concepts.
"""

from __future__ import annotations

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from zoo import __version__
from zoo.results.summary import MANUFACTURER, RESEARCH_ONLY, RESULT_SERIES_PREFIX, ResultSummary

SCHEME = "99MEDZOO"
NO_UNITS = hd.sr.CodedConcept("1", "UCUM", "no units")
#: Series numbers of the result objects (distinct from a scanner's usual 1-99).
SERIES_NUMBER = {"report": 9901, "heatmap": 9902, "pdf": 9903}


def _code(value: str, meaning: str) -> hd.sr.CodedConcept:
    return hd.sr.CodedConcept(value=value, scheme_designator=SCHEME, meaning=meaning[:64])


def structured_report(source: Dataset, summary: ResultSummary) -> hd.sr.ComprehensiveSR:
    """The SR of ``summary`` for the image ``source`` (its header is enough)."""
    labels = list(summary.probabilities)
    measurements = [
        hd.sr.Measurement(
            name=_code(f"P{i}", f"Probability of {label}"),
            value=round(float(summary.probabilities[label]), 6),
            unit=NO_UNITS,
        )
        for i, label in enumerate(labels)
    ]
    if summary.threshold is not None:  # a multiclass model calls its most probable label
        measurements.append(
            hd.sr.Measurement(
                name=_code("THRESHOLD", f"Decision threshold for {summary.label}"),
                value=round(summary.threshold, 6),
                unit=NO_UNITS,
            )
        )
    evaluations = [
        hd.sr.QualitativeEvaluation(
            name=_code(f"C{labels.index(summary.label)}", f"{summary.label} at the threshold"),
            value=codes.SCT.Present if summary.called else codes.SCT.Absent,
        )
    ]
    if summary.ood_flagged is not None:
        evaluations.append(
            hd.sr.QualitativeEvaluation(
                name=_code("OOD", "Unlike the model's training images (out of distribution)"),
                value=codes.SCT.Yes if summary.ood_flagged else codes.SCT.No,
            )
        )
    algorithm = hd.sr.AlgorithmIdentification(
        name=summary.model_id,
        version=summary.model_version,
        parameters=[f"SHA-256 {summary.model_sha256}", summary.call, RESEARCH_ONLY],
    )
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=generate_uid(), identifier=f"{summary.model_id} result"
        ),
        finding_type=_code(f"L{labels.index(summary.label)}", summary.label),
        algorithm_id=algorithm,
        measurements=measurements,
        qualitative_evaluations=evaluations,
        source_images=[hd.sr.SourceImageForMeasurementGroup.from_source_image(source)],
    )
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=generate_uid(),
            name=MANUFACTURER,
            manufacturer_name=MANUFACTURER,
            model_name=summary.model_id[:64],
        ),
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=codes.LN.ImagingProcedure
        if hasattr(codes.LN, "ImagingProcedure")
        else hd.sr.CodedConcept("363679005", "SCT", "Imaging"),
        imaging_measurements=[group],
    )
    sr = hd.sr.ComprehensiveSR(
        evidence=[source],
        content=report[0],
        series_instance_uid=generate_uid(),
        series_number=SERIES_NUMBER["report"],
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        is_complete=True,
        series_description=f"{RESULT_SERIES_PREFIX}{summary.model_id} (research use only)"[:64],
    )
    sr.SoftwareVersions = __version__
    scheme = Dataset()  # the private scheme of the labels, declared
    scheme.CodingSchemeDesignator = SCHEME
    scheme.CodingSchemeName = "MedZoo model labels"
    scheme.CodingSchemeResponsibleOrganization = MANUFACTURER
    sr.CodingSchemeIdentificationSequence = [scheme]
    return sr
