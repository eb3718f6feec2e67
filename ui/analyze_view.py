"""The Analyze page's view model: everything the report says, computed from the result.

:func:`analysis_view` is pure (no Streamlit): it takes the result, the card of the model
that produced it, the user's label and threshold, and the validation predictions, and
returns the words and figures the page and the PDF render. Nothing here reads a widget.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from ui.pdf import ReportContent
from ui.report import Confidence, confidence, recommendations, risk_level
from ui.stats import ScoredSet, metrics_at
from ui.trust import ood_caption, ood_sentence, tta_sentence
from zoo.card import ModelCard
from zoo.imaging.dicom import read_dataset
from zoo.results import result_objects, summarize, to_bytes
from zoo.runtime import Prediction

#: The level of a model imported without a labelled set: no call is made for it.
NOT_EVALUATED = "Not evaluated"
UNEVALUATED_ADVICE = (
    "This model was imported without a labelled set: its threshold was not chosen on data "
    "and nothing is known of how well it works. Read its output as an uncalibrated score, "
    "not as a call."
)
#: A Streamlit badge colour per risk level.
LEVEL_COLOURS = {"Low": "green", "Borderline": "orange", "High": "red", NOT_EVALUATED: "gray"}


@dataclass(frozen=True)
class FindingRow:
    """One label of a multi-label result, at its own threshold."""

    label: str
    probability: float
    threshold: float

    @property
    def called(self) -> bool:
        return self.probability >= self.threshold


def finding_rows(prediction: Prediction) -> tuple[FindingRow, ...]:
    """Every label of a multi-label result, most probable first (empty for other models)."""
    if not prediction.label_thresholds:
        return ()
    rows = [
        FindingRow(label, prediction.probabilities[label], threshold)
        for label, threshold in prediction.label_thresholds.items()
    ]
    return tuple(sorted(rows, key=lambda row: -row.probability))


#: The headings of :attr:`AnalysisView.verdict`, on screen and in the PDF.
CALL_AT_THRESHOLD = "Call at this threshold"
SCORE_AGAINST_THRESHOLD = "Score against this threshold (no call: it was not chosen on data)"
MOST_PROBABLE = "Most probable label"


@dataclass(frozen=True)
class AnalysisView:
    """One scan's report, as shown (and printed) for the model that produced it."""

    card: ModelCard
    prediction: Prediction
    label: str
    threshold: float
    operating_point: str
    score: float
    level: str
    distance: Confidence | None
    at: dict[str, Any] | None  # validation metrics at the threshold
    validation_cases: int
    advice: list[str]
    out_of_distribution: str | None
    spread: str | None
    calibration_note: str
    #: A multi-label model's every label (the report itself is about ``label``).
    findings: tuple[FindingRow, ...] = ()

    @property
    def flagged(self) -> bool:
        """The scan looks unlike the model's training data: no confident report."""
        return self.out_of_distribution is not None

    @property
    def verdict(self) -> tuple[str, str]:
        """The report's one-line answer, as (heading, answer). A binary result (or one
        finding of a multi-label model) is the call at the threshold shown, which the user
        may have moved from the card's: ``label`` at or above it, ``not <label>`` below
        (not the model's other class: "no_finding" or "benign" would claim more than a
        threshold on one score says). A model whose threshold was never chosen on data
        makes no call: its score is above or below. A multiclass result is its most
        probable label, whatever the threshold."""
        if self.card.is_binary:
            above = self.score >= self.threshold
            if self.level == NOT_EVALUATED:
                return SCORE_AGAINST_THRESHOLD, "above" if above else "below"
            return CALL_AT_THRESHOLD, self.label if above else f"not {self.label}"
        return MOST_PROBABLE, self.prediction.label

    @property
    def confidence_text(self) -> str | None:
        parts = [self.distance.sentence(self.label) if self.distance else None, self.spread]
        return " ".join(p.replace("**", "") for p in parts if p) or None


def analysis_view(
    card: ModelCard,
    prediction: Prediction,
    label: str,
    threshold: float,
    operating_point: str,
    validation: ScoredSet | None,
    *,
    model_fits: bool,
) -> AnalysisView:
    """The report of ``prediction`` (which ``card``'s model produced) at ``threshold``.

    A multi-label model's report is about its finding ``label``, seen as that label against
    the rest (:meth:`zoo.card.ModelCard.finding`); ``findings`` lists every label.
    """
    if prediction.model_id != card.id:
        raise ValueError(f"a result of {prediction.model_id} cannot be shown as {card.id}")
    findings = finding_rows(prediction)
    card, prediction = card.finding(label), prediction.finding(label)
    if validation is not None:
        validation = validation.finding(label)
    score = float(prediction.probabilities[label])
    table = validation.defined_table(label) if validation is not None else None
    distance = None
    if table is not None and validation is not None:
        distance = confidence(score, threshold, *validation.binary(label))
    out_of_distribution = ood_sentence(prediction, card)
    if card.evaluated:
        level = risk_level(score, threshold, distance.margin if distance else None)
        advice = recommendations(
            level,
            label,
            confidence_level=distance.level if distance else None,
            modality_matches=model_fits,
            card=card,
        )
    else:
        level, advice = NOT_EVALUATED, [UNEVALUATED_ADVICE]
    if out_of_distribution:
        advice.insert(
            0,
            "The scan looks unlike this model's training data (out-of-distribution warning): "
            "do not read its output as meaningful.",
        )
    calibration = (
        f"Probabilities calibrated on validation ({card.calibrator.method})."
        if not card.calibrator.is_identity
        else "Probabilities as the model outputs them (no calibration in the card)."
    )
    return AnalysisView(
        card=card,
        prediction=prediction,
        label=label,
        threshold=threshold,
        operating_point=operating_point,
        score=score,
        level=level,
        distance=distance,
        at=metrics_at(table, threshold) if table is not None else None,
        validation_cases=len(table) if table is not None else 0,
        advice=advice,
        out_of_distribution=out_of_distribution,
        spread=tta_sentence(prediction, label, card),
        calibration_note=" ".join(p for p in (calibration, ood_caption(prediction)) if p),
        findings=findings,
    )


def report_content(
    view: AnalysisView,
    *,
    file_name: str,
    scan_summary: dict[str, str],
    images: dict[str, Any],
    figures: dict[str, Any],
    rules: list[str],
) -> ReportContent:
    """The PDF's content: the view's result, named by the result's own model, with the
    figures and card prose of :mod:`ui.figures` (``validation_auc``, ``test_auc``,
    ``limitations``, ``training_source``, ``intended_use``)."""
    prediction = view.prediction
    return ReportContent(
        file_name=file_name,
        scan_summary=scan_summary,
        card=view.card,
        label=view.label,
        score=view.score,
        threshold=view.threshold,
        operating_point=view.operating_point,
        risk_level=view.level,
        verdict=view.verdict,
        probabilities=prediction.probabilities,
        validation_sensitivity=view.at["sensitivity"] if view.at else None,
        validation_specificity=view.at["specificity"] if view.at else None,
        confidence=view.confidence_text,
        recommendations=view.advice,
        rules=rules,
        original=images["original"],
        processed=images["processed"],
        heatmap=images.get("heatmap"),
        latency_ms=prediction.latency_ms,
        model_version=prediction.model_version,
        model_sha256=prediction.model_sha256,
        out_of_distribution=(view.out_of_distribution or "").replace("**", "") or None,
        findings=[(row.label, row.probability, row.threshold, row.called) for row in view.findings],
        **figures,
    )


#: The files of the DICOM results download, by object (names MedZoo chose, never the upload's).
DICOM_FILES = ("report-sr.dcm", "heatmap-sc.dcm", "report-pdf.dcm")


def dicom_results(
    view: AnalysisView, dicom: bytes, heatmap: np.ndarray, method: str, pdf: bytes
) -> bytes:
    """The view's result as the three DICOM objects (SR, heatmap capture, the PDF report
    encapsulated) for the uploaded DICOM ``dicom``, in a ZIP held in memory."""
    source = read_dataset(dicom)
    summary = summarize(view.prediction, view.card.name, view.label, view.threshold)
    objects = result_objects(source, summary, heatmap=heatmap, method=method, pdf=pdf)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, dataset in zip(DICOM_FILES, objects.all(), strict=True):
            archive.writestr(name, to_bytes(dataset))
    return buffer.getvalue()
