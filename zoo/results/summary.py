"""What a result says, as the DICOM objects state it: taken from the result alone."""

from __future__ import annotations

from dataclasses import dataclass

from zoo.card import ModelCard
from zoo.runtime import Prediction

#: The line every result object carries.
RESEARCH_ONLY = "Research use only; not for diagnosis."
MANUFACTURER = "MedZoo"
#: How the series of MedZoo's result objects begin their description (so a later analysis
#: of the study leaves them out).
RESULT_SERIES_PREFIX = "MedZoo "


@dataclass(frozen=True)
class ResultSummary:
    """One model's result on one image: the model that produced it, the label of interest,
    every label's probability, the threshold used and the call at it, the OOD flag. A
    multiclass model has no threshold (None): its call is its most probable label."""

    model_id: str
    model_name: str
    model_version: str
    model_sha256: str
    label: str
    probabilities: dict[str, float]
    threshold: float | None
    ood_flagged: bool | None

    @property
    def score(self) -> float:
        return self.probabilities[self.label]

    @property
    def called(self) -> bool:
        if self.threshold is None:
            return self.label == max(self.probabilities, key=self.probabilities.__getitem__)
        return self.score >= self.threshold

    @property
    def call(self) -> str:
        """The decision in words."""
        if self.threshold is None:
            return f"{self.label}: most probable label" if self.called else "not the most probable"
        side = ">=" if self.called else "<"
        verdict = "present" if self.called else "absent"
        return (
            f"{self.label} {verdict} (P = {self.score:.3f} {side} threshold {self.threshold:.3f})"
        )

    @property
    def model_line(self) -> str:
        return f"{self.model_id} v{self.model_version} (SHA-256 {self.model_sha256})"


def summarize(
    prediction: Prediction, model_name: str, label: str, threshold: float | None
) -> ResultSummary:
    """The summary of ``prediction`` for ``label`` at ``threshold``; model id, version and
    file hash are the result's own."""
    if label not in prediction.probabilities:
        raise ValueError(f"the result of {prediction.model_id} has no label {label!r}")
    return ResultSummary(
        model_id=prediction.model_id,
        model_name=model_name,
        model_version=prediction.model_version,
        model_sha256=prediction.model_sha256,
        label=label,
        probabilities=dict(prediction.probabilities),
        threshold=None if threshold is None else float(threshold),
        ood_flagged=None if prediction.ood is None else bool(prediction.ood.flagged),
    )


def label_of_interest(card: ModelCard, prediction: Prediction) -> tuple[str, float | None]:
    """What a result is about when no one picked a label: a binary model's positive label at
    its card's threshold; a multi-label model's most probable label at that label's own; a
    multiclass model's most probable label (no threshold)."""
    if card.is_binary:
        return card.positive_label, card.default_threshold  # type: ignore[return-value]
    if card.is_multilabel:
        return prediction.label, card.label_thresholds[prediction.label]
    return prediction.label, None
