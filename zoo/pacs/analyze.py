"""A study from the PACS through one model, and its results as DICOM objects.

Each image instance is retrieved into memory, read by the zoo's one ingestion path, run,
and turned into three result objects (:mod:`zoo.results`) rendered from the result: the
label of interest is the model's own (its positive label at its card's threshold; for other
models the most probable label). An image MedZoo cannot decode is reported and the rest
go on. With ``store``, every object of the analysis goes back in one STOW-RS request, and
only when every image was analyzed: all or nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from pydicom.dataset import Dataset

from zoo.card import ModelCard
from zoo.errors import (
    ModelIntegrityError,
    PacsAuthError,
    PacsError,
    PacsStoreError,
    PacsUnavailableError,
    ZooError,
)
from zoo.imaging import load_scan
from zoo.pacs.client import InstanceRef, PacsClient
from zoo.registry import Registry
from zoo.results import ResultObjects, ResultSummary, label_of_interest, result_objects, summarize
from zoo.results import to_bytes as dicom_bytes
from zoo.results.overlay import DEFAULT_OPACITY, cam_channel, display_image, overlay
from zoo.results.sheet import result_sheet
from zoo.runtime import Prediction, predict
from zoo.runtime.occlusion import occlusion_map
from zoo.runtime.session import get_session

#: Seconds an occlusion map may take per image (models without an activation output).
OCCLUSION_BUDGET_S = 5.0
GRAD_CAM = "Grad-CAM activation map"
OCCLUSION = "occlusion sensitivity map (model-agnostic)"


@dataclass(frozen=True)
class AnalyzedImage:
    """One image instance's outcome: its result and objects, or why there are none."""

    ref: InstanceRef
    summary: ResultSummary | None = None
    objects: ResultObjects | None = None
    error: str | None = None


@dataclass
class StudyAnalysis:
    """Every image of the study analyzed, what was stored, and how long each step took."""

    images: list[AnalyzedImage]
    stored: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def objects(self) -> list[Dataset]:
        return [ds for image in self.images if image.objects for ds in image.objects.all()]

    @property
    def failed(self) -> list[AnalyzedImage]:
        return [image for image in self.images if image.error]


def analyze_dataset(
    dataset: Dataset, model_id: str, registry: Registry
) -> tuple[ResultSummary, ResultObjects]:
    """One DICOM image (held in memory) through ``model_id``: its result and objects."""
    scan = load_scan(dicom_bytes(dataset), filename="instance.dcm")
    (prediction,) = predict(model_id, [scan], registry=registry, keep_preprocessed=True)
    card = _result_card(registry, prediction)
    label, threshold = label_of_interest(card, prediction)
    summary = summarize(prediction, card.name, label, threshold)
    heat, method = _heat(prediction.finding(label), card, registry, label)
    assert prediction.preprocessed is not None
    drawn = overlay(
        scan.pixels,
        heat,
        prediction.preprocessed,
        card.preprocessing.input_size,
        alpha=DEFAULT_OPACITY,
    )
    original, _ = display_image(scan.pixels)
    pdf = result_sheet(summary, card, original, drawn, method)
    return summary, result_objects(dataset, summary, heatmap=drawn, method=method, pdf=pdf)


def analyze_study(
    client: PacsClient,
    study_uid: str,
    model_id: str,
    registry: Registry,
    *,
    series_uid: str | None = None,
    store: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> StudyAnalysis:
    """Every image of the study (or series) through ``model_id``; with ``store`` the result
    objects go back to the PACS, all of them or none. Raises PacsError (nothing found, too
    many images, server faults) and PacsStoreError (with what, if anything, was stored)."""
    registry.get(model_id)  # an unknown model fails before the PACS is asked anything
    began = time.perf_counter()
    refs = client.image_instances(study_uid, series_uid)
    seconds = {"search": time.perf_counter() - began}
    images: list[AnalyzedImage] = []
    for done, ref in enumerate(refs, start=1):
        step = time.perf_counter()
        try:
            dataset = client.retrieve(ref)
        except (PacsUnavailableError, PacsAuthError):
            raise  # the server, not this image: nothing else would come either
        except PacsError as exc:
            images.append(AnalyzedImage(ref, error=f"not retrieved: {exc}"))
            continue
        seconds["retrieve"] = seconds.get("retrieve", 0.0) + time.perf_counter() - step
        step = time.perf_counter()
        try:
            summary, objects = analyze_dataset(dataset, model_id, registry)
        except ZooError as exc:
            images.append(AnalyzedImage(ref, error=f"not analyzed: {exc}"))
        else:
            images.append(AnalyzedImage(ref, summary, objects))
        seconds["analyze"] = seconds.get("analyze", 0.0) + time.perf_counter() - step
        if progress is not None:
            progress(done, len(refs))
    analysis = StudyAnalysis(images=images, seconds=seconds)
    if store:
        failed = analysis.failed
        if failed:
            raise PacsStoreError(
                f"{len(failed)} of {len(images)} images could not be analyzed "
                f"({failed[0].error}): none of the results stored"
            )
        step = time.perf_counter()
        analysis.stored = client.store(analysis.objects)
        seconds["store"] = time.perf_counter() - step
    seconds["total"] = time.perf_counter() - began
    return analysis


def _result_card(registry: Registry, prediction: Prediction) -> ModelCard:
    card = registry.get(prediction.model_id).card
    if (prediction.model_sha256, prediction.model_version) != (card.file.sha256, card.version):
        raise ModelIntegrityError(f"the result did not come from the installed {card.id}")
    return card


def _heat(
    prediction: Prediction, card: ModelCard, registry: Registry, label: str
) -> tuple[np.ndarray, str]:
    """The model's own activation map of ``label``, else an occlusion map (time-bounded)."""
    cam = cam_channel(prediction, label)
    if cam is not None:
        return cam, GRAD_CAM
    assert prediction.preprocessed is not None
    found = occlusion_map(
        get_session(registry.get(card.id)),
        card,
        prediction.preprocessed.input,
        label,
        time_budget_s=OCCLUSION_BUDGET_S,
    )
    return found.heat, OCCLUSION
