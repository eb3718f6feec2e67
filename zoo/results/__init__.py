"""A result as DICOM objects that a viewer files beside the scan they came from.

Three objects per analysis, each referencing the source study, series and instance, with
new UIDs and MedZoo as the manufacturer: a Comprehensive SR holding a TID 1500
measurement report (:mod:`zoo.results.report_sr`), a Secondary Capture of the heatmap
over the image (:mod:`zoo.results.capture`) and the PDF report encapsulated
(:mod:`zoo.results.encapsulated`). Each is rendered from a :class:`ResultSummary`, which is
built from the result itself (:func:`summarize`): never from a widget's value.

The objects carry the source's patient and study modules, as they must to be filed with
it; nothing here logs or shows them.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from zoo.results.summary import ResultSummary, label_of_interest, summarize

__all__ = [
    "ResultObjects",
    "ResultSummary",
    "label_of_interest",
    "result_objects",
    "summarize",
    "to_bytes",
]


@dataclass(frozen=True)
class ResultObjects:
    """The three objects of one analysis."""

    report: Dataset
    heatmap: Dataset
    pdf: Dataset

    def all(self) -> list[Dataset]:
        return [self.report, self.heatmap, self.pdf]


def result_objects(
    source: Dataset,
    summary: ResultSummary,
    *,
    heatmap: np.ndarray,
    method: str,
    pdf: bytes,
) -> ResultObjects:
    """The three objects of ``summary`` for the image ``source`` (its header is enough):
    ``heatmap`` is the map drawn over the image (uint8 RGB) and ``method`` its name,
    ``pdf`` the report's bytes."""
    # highdicom loads here, when objects are made: serving pays for it only then
    from zoo.results.capture import heatmap_capture
    from zoo.results.encapsulated import encapsulated_pdf
    from zoo.results.report_sr import structured_report

    with warnings.catch_warnings():
        # highdicom warns about odd values it copies from the source (a one-part person
        # name): the source's business, not the user's, and nothing MedZoo can fix
        warnings.simplefilter("ignore", UserWarning)
        return ResultObjects(
            report=structured_report(source, summary),
            heatmap=heatmap_capture(source, heatmap, summary, method),
            pdf=encapsulated_pdf(source, pdf, summary),
        )


def to_bytes(dataset: Dataset) -> bytes:
    """A DICOM file (Part 10, with its preamble and meta header) in memory."""
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
