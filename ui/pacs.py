"""The PACS page's logic: which server (secrets or environment), a search's table, and an
analysis kept in this session until the user stores it or starts another.

Patient identifiers appear only when the user asks (:meth:`StudySummary.row`); the
server's address is shown without credentials; what a study says about itself (its
description) is shown as plain text only.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from ui.batch import MAX_FILES, BatchFile, score_files
from ui.state import BatchResult, set_batch
from zoo.errors import PacsAuthError, PacsError, PacsUnavailableError
from zoo.pacs import PacsClient, PacsSettings, StudySummary
from zoo.pacs.analyze import StudyAnalysis
from zoo.registry import Registry
from zoo.results import to_bytes

_STUDIES = "pacs_studies"
_ANALYSIS = "pacs_analysis"
OBJECT_FILES = ("sr", "heatmap", "pdf")


@dataclass(frozen=True)
class Analyzed:
    """An analysis of one study by one model, waiting to be looked at or stored."""

    study_uid: str
    model_id: str
    result: StudyAnalysis
    stored: bool = False


def secrets_table() -> Mapping[str, object]:
    """The ``[pacs]`` table of Streamlit secrets, or nothing (no secrets file is fine)."""
    try:
        table = st.secrets.get("pacs", {})
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return {}
    return dict(table) if isinstance(table, Mapping) else {}


def settings() -> PacsSettings | None:
    """The configured server, or None when there is none (the page says how to add one)."""
    try:
        return PacsSettings.from_environment(os.environ, secrets_table())
    except PacsError:
        return None


def studies_table(studies: list[StudySummary], *, identifiers: bool) -> pd.DataFrame:
    return pd.DataFrame([study.row(identifiers=identifiers) for study in studies])


def study_label(study: StudySummary) -> str:
    what = study.description or "no description"
    return f"{study.date or 'no date'} · {','.join(study.modalities)} · {what} · {study.study_uid}"


def remember_studies(studies: list[StudySummary]) -> None:
    st.session_state[_STUDIES] = studies
    st.session_state.pop(_ANALYSIS, None)


def found_studies() -> list[StudySummary] | None:
    return st.session_state.get(_STUDIES)


def remember_analysis(analysis: Analyzed) -> None:
    st.session_state[_ANALYSIS] = analysis


def analysis() -> Analyzed | None:
    return st.session_state.get(_ANALYSIS)


def objects_zip(result: StudyAnalysis) -> bytes:
    """Every result object of the analysis, named by the instance analyzed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, image in enumerate(result.images, start=1):
            if image.objects is None:
                continue
            for kind, dataset in zip(OBJECT_FILES, image.objects.all(), strict=True):
                archive.writestr(f"image{number:03d}-{kind}.dcm", to_bytes(dataset))
    return buffer.getvalue()


def score_on_batch(
    client: PacsClient, studies: list[StudySummary], model_ids: list[str], registry: Registry
) -> int:
    """Every image of ``studies`` (at most the Batch page's limit) scored by ``model_ids``
    through the Batch page's path, into this session's batch (Batch, Compare and Metrics
    show it); returns how many images were scored. Images are held in memory only."""
    refs, notes = client.images_of([s.study_uid for s in studies], most=MAX_FILES)
    files = []
    for ref in refs:
        try:
            data = to_bytes(client.retrieve(ref))
        except (PacsUnavailableError, PacsAuthError):
            raise  # the server, not this image: nothing else would come either
        except PacsError as exc:
            notes.append(f"{ref.sop_uid}: {exc}")
            continue
        # named by UIDs: study/instance, never by anything a user typed
        files.append(BatchFile(f"{ref.study_uid}/{ref.sop_uid}.dcm", data))
    frame = score_files(files, model_ids, registry)
    digest = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()[:12]
    set_batch(BatchResult(frame, {}, tuple(notes), digest))
    return len(files)
