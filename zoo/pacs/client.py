"""QIDO-RS search, WADO-RS retrieve and STOW-RS store through ``dicomweb-client``.

Every failure becomes a :class:`~zoo.errors.PacsError` whose message is made here from the
status code and the server's display URL: never from the library's exception text, which
holds the request URL and with it the search (a patient id) or, for a URL with
credentials, the password.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from zoo.errors import PacsAuthError, PacsError, PacsStoreError, PacsUnavailableError
from zoo.pacs.settings import PacsSettings
from zoo.results.summary import RESULT_SERIES_PREFIX

# the library logs each request (URL and headers) at DEBUG: never with MedZoo's credentials
logging.getLogger("dicomweb_client").setLevel(logging.WARNING)

#: Images analyzed from one study at most; more belong to the Batch page or a scoring run.
MAX_INSTANCES = 50
#: Studies one search returns at most.
MAX_STUDIES = 200
#: SOP classes that hold no image to analyze (prefixes): SR, presentation states, key
#: objects, encapsulated documents, RT objects, segmentations, waveforms.
NON_IMAGE_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.88.",
    "1.2.840.10008.5.1.4.1.1.11.",
    "1.2.840.10008.5.1.4.1.1.104.",
    "1.2.840.10008.5.1.4.1.1.481.",
    "1.2.840.10008.5.1.4.1.1.66.",
    "1.2.840.10008.5.1.4.1.1.9.",
)
_STUDY_FIELDS = (
    "StudyInstanceUID",
    "StudyDate",
    "StudyDescription",
    "ModalitiesInStudy",
    "NumberOfStudyRelatedInstances",
    "AccessionNumber",
    "PatientID",
    "PatientName",
)

T = TypeVar("T")


@dataclass(frozen=True)
class StudySummary:
    """One study found by a search. ``patient_id``, ``patient_name`` and ``accession``
    identify the patient: :meth:`row` leaves them out unless asked."""

    study_uid: str
    date: str
    description: str
    modalities: tuple[str, ...]
    instances: int | None
    accession: str = ""
    patient_id: str = ""
    patient_name: str = ""

    def row(self, *, identifiers: bool = False) -> dict[str, Any]:
        row: dict[str, Any] = {
            "study": self.study_uid,
            "date": self.date,
            "modalities": ",".join(self.modalities),
            "images": self.instances,
            "description": self.description,
        }
        if identifiers:
            row |= {
                "patient id": self.patient_id,
                "patient name": self.patient_name,
                "accession": self.accession,
            }
        return row


@dataclass(frozen=True)
class InstanceRef:
    """Where one image instance lives."""

    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class: str = ""


class PacsClient:
    """A DICOMweb server, signed in with :class:`PacsSettings`' credentials."""

    def __init__(self, settings: PacsSettings) -> None:
        self.settings = settings
        session = requests.Session()
        if settings.token:
            session.headers["Authorization"] = f"Bearer {settings.token}"
        elif settings.user:
            session.auth = (settings.user, settings.password or "")
        self._web = DICOMwebClient(url=settings.url, session=session, timeout=settings.timeout)
        # the library retries every failure, refused connections included, five times with
        # exponential waits (30 s before "server down"): one attempt, and the user decides
        self._web.set_http_retry_params(retry=False)

    def __repr__(self) -> str:
        return f"PacsClient({self.settings.display_url}, auth: {self.settings.auth_kind})"

    # -- QIDO-RS -------------------------------------------------------------------------

    def search(
        self,
        *,
        patient_id: str | None = None,
        modality: str | None = None,
        since: date | None = None,
        until: date | None = None,
        accession: str | None = None,
        limit: int = MAX_STUDIES,
    ) -> list[StudySummary]:
        """Studies matching every filter given (dates inclusive), newest first."""
        filters: dict[str, Any] = {}
        if patient_id:
            filters["PatientID"] = patient_id
        if modality:
            filters["ModalitiesInStudy"] = modality.upper()
        if accession:
            filters["AccessionNumber"] = accession
        if since or until:
            low = since.strftime("%Y%m%d") if since else ""
            high = until.strftime("%Y%m%d") if until else ""
            filters["StudyDate"] = f"{low}-{high}"
        found = self._call(
            "search for studies",
            lambda: self._web.search_for_studies(
                search_filters=filters, fields=_STUDY_FIELDS, limit=limit
            ),
        )
        studies = [_study(Dataset.from_json(item)) for item in found]
        return sorted(studies, key=lambda s: s.date, reverse=True)

    def image_instances(
        self, study_uid: str, series_uid: str | None = None, *, most: int = MAX_INSTANCES
    ) -> list[InstanceRef]:
        """The study's (or series') image instances: objects without pixels (reports,
        presentation states, documents) are left out. Raises PacsError when there is no
        image, or more than ``most``."""
        found = self._call(
            "list the study's instances",
            lambda: self._web.search_for_instances(
                study_instance_uid=study_uid,
                series_instance_uid=series_uid,
                fields=("SOPClassUID", "Rows", "SeriesInstanceUID", "SeriesDescription"),
                get_remaining=True,
            ),
        )
        refs, skipped = [], 0
        for item in found:
            ds = Dataset.from_json(item)
            sop_class = str(ds.get("SOPClassUID", ""))
            ours = str(ds.get("SeriesDescription", "")).startswith(RESULT_SERIES_PREFIX)
            if "Rows" not in ds or sop_class.startswith(NON_IMAGE_CLASSES) or ours:
                skipped += 1  # no pixels, or MedZoo's own heatmap from an earlier analysis
                continue
            refs.append(
                InstanceRef(
                    study_uid=study_uid,
                    series_uid=str(ds.get("SeriesInstanceUID", series_uid or "")),
                    sop_uid=str(ds.SOPInstanceUID),
                    sop_class=sop_class,
                )
            )
        where = "series" if series_uid else "study"
        if not refs:
            raise PacsError(
                f"the {where} holds no image to analyze"
                + (
                    f" ({skipped} other objects: reports, presentation states, results…)"
                    if skipped
                    else ""
                )
            )
        if len(refs) > most:
            raise PacsError(
                f"the {where} holds {len(refs)} images; MedZoo analyzes at most {most} at once. "
                "Pick one series (--series), or score them all on the Batch page."
            )
        return refs

    def images_of(
        self, study_uids: Sequence[str], *, most: int
    ) -> tuple[list[InstanceRef], list[str]]:
        """The image instances of several studies (a search's results), at most ``most`` in
        all; and a note per study left out (no image, or past the limit)."""
        refs: list[InstanceRef] = []
        notes: list[str] = []
        for study_uid in study_uids:
            room = most - len(refs)
            if room <= 0:
                notes.append(f"{study_uid}: left out (more than {most} images in all)")
                continue
            try:
                refs += self.image_instances(study_uid, most=room)
            except PacsUnavailableError:
                raise
            except PacsError as exc:
                notes.append(f"{study_uid}: {exc}")
        return refs, notes

    # -- WADO-RS -------------------------------------------------------------------------

    def retrieve(self, ref: InstanceRef) -> Dataset:
        """One instance, whole (held in memory, never written to disk)."""
        return self._call(
            "retrieve an image",
            lambda: self._web.retrieve_instance(ref.study_uid, ref.series_uid, ref.sop_uid),
        )

    # -- STOW-RS -------------------------------------------------------------------------

    def store(self, datasets: Sequence[Dataset]) -> list[str]:
        """All ``datasets`` in one STOW-RS request; the SOP instance UIDs stored. Raises
        PacsStoreError naming what the server refused (and what it kept, if anything)."""
        if not datasets:
            return []
        wanted = [str(ds.SOPInstanceUID) for ds in datasets]
        study = str(datasets[0].StudyInstanceUID)
        if any(str(ds.StudyInstanceUID) != study for ds in datasets):
            raise PacsStoreError("the result objects belong to different studies: none stored")
        try:
            response = self._call(
                "store the results",
                lambda: self._web.store_instances(datasets, study_instance_uid=study),
            )
        except PacsError as exc:
            count = len(wanted)
            raise PacsStoreError(f"{exc}: none of the {count} result objects stored") from None
        stored = [
            str(item.ReferencedSOPInstanceUID)
            for item in response.get("ReferencedSOPSequence", [])
            if "ReferencedSOPInstanceUID" in item
        ]
        failed = [
            str(item.ReferencedSOPInstanceUID)
            for item in response.get("FailedSOPSequence", [])
            if "ReferencedSOPInstanceUID" in item
        ]
        if failed or set(stored) != set(wanted):
            raise PacsStoreError(
                f"the PACS refused {len(failed) or len(set(wanted) - set(stored))} of "
                f"{len(wanted)} result objects; it kept {len(stored)} "
                f"({', '.join(stored) or 'none'}): remove those in the PACS before storing again"
            )
        return stored

    # -- errors ---------------------------------------------------------------------------

    def _call(self, what: str, call: Callable[[], T]) -> T:
        where = self.settings.display_url
        try:
            return call()
        except requests.exceptions.Timeout:
            raise PacsUnavailableError(
                f"the PACS at {where} did not answer within {self.settings.timeout:g} s "
                f"(trying to {what})"
            ) from None
        except requests.exceptions.ConnectionError:
            raise PacsUnavailableError(
                f"cannot reach the PACS at {where} (trying to {what}): is it running, and "
                "is the URL right?"
            ) from None
        except requests.exceptions.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status == 401:
                raise PacsAuthError(
                    f"the PACS at {where} refused the credentials "
                    f"({self.settings.auth_kind}): check MEDZOO_PACS_USER/PASSWORD or TOKEN"
                ) from None
            if status == 403:
                raise PacsAuthError(
                    f"the PACS at {where} does not allow this account to {what}"
                ) from None
            raise PacsError(f"the PACS at {where} answered {status} when asked to {what}") from None
        except (requests.exceptions.RequestException, ValueError, InvalidDicomError) as exc:
            raise PacsError(
                f"the PACS at {where} gave an answer MedZoo cannot read (trying to {what}: "
                f"{type(exc).__name__})"
            ) from None


def _study(ds: Dataset) -> StudySummary:
    modalities = ds.get("ModalitiesInStudy", [])
    modalities = [modalities] if isinstance(modalities, str) else list(modalities)
    count = ds.get("NumberOfStudyRelatedInstances")
    return StudySummary(
        study_uid=str(ds.get("StudyInstanceUID", "")),
        date=str(ds.get("StudyDate", "")),
        description=str(ds.get("StudyDescription", "")),
        modalities=tuple(str(m) for m in modalities),
        instances=int(count) if count not in (None, "") else None,
        accession=str(ds.get("AccessionNumber", "")),
        patient_id=str(ds.get("PatientID", "")),
        patient_name=str(ds.get("PatientName", "")),
    )
