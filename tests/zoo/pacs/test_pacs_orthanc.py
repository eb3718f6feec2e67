"""A real Orthanc with DICOMweb on loopback: pydicom-data's CR films stored, found by QIDO,
retrieved, analyzed, their results stored back and found again; and the faults (server
down, bad credentials, 403, a server that never answers, non-image objects, a series too
large, an image MedZoo cannot decode), each a clear message with nothing half-stored."""

from __future__ import annotations

import copy
import http.server
import logging
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from zoo.errors import (
    PacsAuthError,
    PacsError,
    PacsStoreError,
    PacsUnavailableError,
    ScanError,
)
from zoo.pacs import PacsClient, PacsSettings
from zoo.pacs.analyze import analyze_study
from zoo.registry import Registry

ROOT = Path(__file__).resolve().parents[3]
MODELS = ROOT / "zoo" / "models"
MODEL = "multiclass-cxr"  # a custom-CNN-sized chest model with a Grad-CAM output


def cr_film(name: str = "RG1_UNCI.dcm") -> Dataset:
    """A chest CR film from pydicom-data (real, public test data)."""
    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"pydicom-data's {name} is not installed (requirements-app-test.txt)")
    return pydicom.dcmread(path)


def in_new_study(dataset: Dataset) -> Dataset:
    """``dataset`` as an instance of a study of its own (each test files into its own)."""
    copied = copy.deepcopy(dataset)
    copied.StudyInstanceUID = generate_uid()
    copied.SeriesInstanceUID = generate_uid()
    copied.SOPInstanceUID = generate_uid()
    copied.file_meta.MediaStorageSOPInstanceUID = copied.SOPInstanceUID
    return copied


def tiny_image(study: Dataset, series_uid: str) -> Dataset:
    """An 8x8 Secondary Capture in ``study`` (for a series of many images)."""
    ds = Dataset()
    for keyword in ("PatientID", "PatientName", "StudyInstanceUID", "StudyDate"):
        setattr(ds, keyword, study.get(keyword, ""))
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, generate_uid()
    ds.SeriesInstanceUID, ds.Modality = series_uid, "OT"
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation = 7, 0
    ds.PixelData = np.arange(64, dtype=np.uint8).tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def test_search_analyze_store_and_find_the_results_again(client):
    film = in_new_study(cr_film())
    assert client.store([film]) == [film.SOPInstanceUID]
    found = {s.study_uid: s for s in client.search(modality="CR")}
    assert film.StudyInstanceUID in found
    assert "patient id" not in found[film.StudyInstanceUID].row()  # no identifiers unless asked
    assert found[film.StudyInstanceUID].row(identifiers=True)["patient id"] == film.PatientID

    analysis = analyze_study(client, film.StudyInstanceUID, MODEL, Registry(MODELS), store=True)
    (image,) = analysis.images
    card = Registry(MODELS).card(MODEL)
    assert image.summary.model_sha256 == card.file.sha256 and image.error is None
    assert sorted(analysis.stored) == sorted(ds.SOPInstanceUID for ds in image.objects.all())

    report = next(
        client.retrieve(ref)
        for ref in _all_instances(client, film.StudyInstanceUID)
        if ref.sop_uid == image.objects.report.SOPInstanceUID
    )
    assert report.Modality == "SR" and report.StudyInstanceUID == film.StudyInstanceUID
    assert report.PatientID == film.PatientID  # filed with its source
    # a second analysis leaves MedZoo's own results out: one image, the film
    assert [r.sop_uid for r in client.image_instances(film.StudyInstanceUID)] == [
        film.SOPInstanceUID
    ]


def _all_instances(client, study_uid):
    from zoo.pacs.client import InstanceRef

    found = client._web.search_for_instances(study_instance_uid=study_uid)
    return [
        InstanceRef(
            study_uid,
            str(Dataset.from_json(item).SeriesInstanceUID),
            str(Dataset.from_json(item).SOPInstanceUID),
        )
        for item in found
    ]


def test_non_image_objects_are_left_out_and_an_sr_only_study_says_so(client):
    film = in_new_study(cr_film())
    sr = pydicom.dcmread(get_testdata_file("test-SR.dcm"))
    sr.StudyInstanceUID, sr.SOPInstanceUID = film.StudyInstanceUID, generate_uid()
    sr.file_meta.MediaStorageSOPInstanceUID = sr.SOPInstanceUID
    client.store([film, sr])
    assert [r.sop_uid for r in client.image_instances(film.StudyInstanceUID)] == [
        film.SOPInstanceUID
    ]
    lonely = pydicom.dcmread(get_testdata_file("test-SR.dcm"))
    lonely.StudyInstanceUID, lonely.SOPInstanceUID = generate_uid(), generate_uid()
    lonely.file_meta.MediaStorageSOPInstanceUID = lonely.SOPInstanceUID
    client.store([lonely])
    with pytest.raises(PacsError, match="holds no image to analyze"):
        client.image_instances(lonely.StudyInstanceUID)


def test_a_series_of_too_many_images_asks_for_another_way(client):
    film = in_new_study(cr_film())
    series = generate_uid()
    client.store([tiny_image(film, series) for _ in range(60)])
    with pytest.raises(PacsError, match="holds 60 images; MedZoo analyzes at most 50"):
        analyze_study(client, film.StudyInstanceUID, MODEL, Registry(MODELS), series_uid=series)


def test_an_image_that_cannot_be_decoded_is_reported_and_nothing_is_stored(client):
    film = in_new_study(cr_film())
    broken = in_new_study(cr_film())
    broken.StudyInstanceUID = film.StudyInstanceUID
    broken.PixelData = broken.PixelData[: len(broken.PixelData) // 3]  # truncated
    client.store([film, broken])
    analysis = analyze_study(client, film.StudyInstanceUID, MODEL, Registry(MODELS))
    errors = {image.ref.sop_uid: image.error for image in analysis.images}
    assert errors[film.SOPInstanceUID] is None
    assert errors[broken.SOPInstanceUID].startswith("not analyzed:")
    before = len(_all_instances(client, film.StudyInstanceUID))
    with pytest.raises(PacsStoreError, match=r"1 of 2 images could not be analyzed.*none of"):
        analyze_study(client, film.StudyInstanceUID, MODEL, Registry(MODELS), store=True)
    assert len(_all_instances(client, film.StudyInstanceUID)) == before  # nothing half-stored


def test_wrong_credentials_a_server_down_and_a_silent_server_each_say_so(orthanc, caplog):
    wrong = PacsClient(PacsSettings(orthanc.dicomweb, user=orthanc.user, password="wrong-pw"))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PacsAuthError, match="refused the credentials") as caught:
        wrong.search()
    assert "wrong-pw" not in str(caught.value) and "wrong-pw" not in caplog.text

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PacsUnavailableError, match="cannot reach the PACS"):
        PacsClient(PacsSettings(f"http://127.0.0.1:{port}/dicom-web")).search()

    with socket.socket() as silent:  # accepts, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/dicom-web"
        settings = PacsSettings(url, token="bearer-secret", timeout=0.5)
        with pytest.raises(PacsUnavailableError, match=r"did not answer within 0\.5 s"):
            PacsClient(settings).search(patient_id="PATIENT-123")
    assert "bearer-secret" not in caplog.text and "PATIENT-123" not in caplog.text


def test_a_forbidden_answer_says_the_account_may_not():
    class Forbidden(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(403)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Forbidden)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/dicom-web"
        with pytest.raises(PacsAuthError, match="does not allow this account"):
            PacsClient(PacsSettings(url, user="u", password="p")).search()
    finally:
        server.shutdown()


def test_the_command_line_searches_and_analyzes_without_printing_identifiers(
    orthanc, client, tmp_path
):
    film = in_new_study(cr_film("RG3_UNCI.dcm"))
    client.store([film])
    env = {
        "MEDZOO_PACS_URL": orthanc.dicomweb,
        "MEDZOO_PACS_USER": orthanc.user,
        "MEDZOO_PACS_PASSWORD": orthanc.password,
        "PATH": "/usr/bin:/bin",
    }

    def zoo(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "zoo", "--models-dir", str(MODELS), "pacs", *args]
        return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)

    searched = zoo("search", "--modality", "CR")
    assert searched.returncode == 0 and film.StudyInstanceUID in searched.stdout
    assert str(film.PatientID) not in searched.stdout
    analyzed = zoo(
        "analyze", "--study", film.StudyInstanceUID, "--model", MODEL, "--store",
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert analyzed.returncode == 0, analyzed.stderr
    assert "stored 3 result objects" in analyzed.stderr
    assert orthanc.password not in analyzed.stdout + analyzed.stderr
    written = sorted(p.name.rsplit("-", 1)[1] for p in (tmp_path / "out").iterdir())
    assert written == ["heatmap.dcm", "pdf.dcm", "sr.dcm"]


def test_a_pacs_query_is_an_input_of_zoo_score(orthanc, client, tmp_path, monkeypatch):
    from zoo.imaging import load_scan
    from zoo.results import to_bytes
    from zoo.runtime import predict
    from zoo.scoring import inputs
    from zoo.scoring.engines import score_local
    from zoo.scoring.results import read_results

    for name, value in (("URL", orthanc.dicomweb), ("USER", orthanc.user),
                        ("PASSWORD", orthanc.password)):  # fmt: skip
        monkeypatch.setenv(f"MEDZOO_PACS_{name}", value)
    inputs._pacs_client.cache_clear()
    film = in_new_study(cr_film("RG3_UNCI.dcm"))
    client.store([film])
    items = inputs.list_inputs(f"dicomweb:study={film.StudyInstanceUID}")
    assert [item.carried["study"] for item in items] == [film.StudyInstanceUID]
    registry = Registry(MODELS)
    score_local(items, [MODEL], tmp_path / "out", registry)
    (row,) = read_results(tmp_path / "out").to_pylist()
    assert row["error"] is None and row["path"].startswith("dicomweb://")
    (expected,) = predict(MODEL, [load_scan(to_bytes(film))], registry=registry)
    for label, value in expected.probabilities.items():
        assert row[f"p_{label}"] == pytest.approx(value, abs=1e-6)
    with pytest.raises(ScanError, match="unknown filters"):
        inputs.list_inputs("dicomweb:colour=red")
    inputs._pacs_client.cache_clear()
