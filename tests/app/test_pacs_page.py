"""The PACS page against a real Orthanc: search (no patient identifiers unless asked),
analyze a study with a shipped model, store the results back, all in one session."""

from __future__ import annotations

import copy
from pathlib import Path

import pydicom
import pytest
from app_helpers import ok, texts
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from zoo.pacs import PacsClient, PacsSettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pacs_env(orthanc, monkeypatch):
    monkeypatch.setenv("MEDZOO_PACS_URL", orthanc.dicomweb)
    monkeypatch.setenv("MEDZOO_PACS_USER", orthanc.user)
    monkeypatch.setenv("MEDZOO_PACS_PASSWORD", orthanc.password)
    return orthanc


def a_cr_study(orthanc) -> pydicom.Dataset:
    film = copy.deepcopy(pydicom.dcmread(get_testdata_file("RG1_UNCI.dcm")))
    film.StudyInstanceUID, film.SOPInstanceUID = generate_uid(), generate_uid()
    film.file_meta.MediaStorageSOPInstanceUID = film.SOPInstanceUID
    film.StudyDescription = "**bold** [link](http://x)"  # shown as typed, never as Markdown
    client = PacsClient(
        PacsSettings(orthanc.dicomweb, user=orthanc.user, password=orthanc.password)
    )
    client.store([film])
    return film


def test_without_a_pacs_the_page_says_how_to_add_one(open_page, monkeypatch):
    for name in ("URL", "USER", "PASSWORD", "TOKEN"):
        monkeypatch.delenv(f"MEDZOO_PACS_{name}", raising=False)
    at = open_page("pacs")
    assert "MEDZOO_PACS_URL" in at.info[0].value


def test_search_analyze_and_store_a_study(open_page, pacs_env, monkeypatch):
    monkeypatch.setenv("MEDZOO_MODELS_DIR", str(ROOT / "zoo" / "models"))
    film = a_cr_study(pacs_env)
    at = open_page("pacs")
    assert pacs_env.password not in texts(at)
    at.selectbox(key="pacs_mod").set_value("CR")
    at.button[0].click()  # the search form's submit
    ok(at.run())
    table = at.dataframe[0].value
    assert film.StudyInstanceUID in list(table["study"])
    assert "patient id" not in table.columns and str(film.PatientID) not in texts(at)
    at.toggle(key="pacs_identifiers").set_value(True)
    ok(at.run())
    assert str(film.PatientID) in list(at.dataframe[0].value["patient id"])

    study = at.selectbox(key="pacs_study")
    study.select_index(next(i for i, o in enumerate(study.options) if film.StudyInstanceUID in o))
    ok(at.run())
    model = at.selectbox(key="pacs_model")
    model.select_index(next(i for i, o in enumerate(model.options) if "(multiclass-cxr," in o))
    at.button(key="pacs_analyze").click()
    ok(at.run())
    page = texts(at)
    assert "Image 1:" in page and "multiclass-cxr v1.0.0" in page
    assert "[link](http://x)" not in page or "\\[link\\]" in page
    at.button(key="pacs_store").click()
    ok(at.run())
    assert "Stored 3 result objects in the PACS." in [s.value for s in at.success]


def test_a_searchs_studies_go_through_the_batch_path(open_page, pacs_env, monkeypatch):
    monkeypatch.setenv("MEDZOO_MODELS_DIR", str(ROOT / "zoo" / "models"))
    film = a_cr_study(pacs_env)
    at = open_page("pacs")
    at.text_input(key="pacs_patient").set_value(str(film.PatientID))
    at.button[0].click()
    ok(at.run())
    model = at.selectbox(key="pacs_model")
    model.select_index(next(i for i, o in enumerate(model.options) if "(multiclass-cxr," in o))
    ok(at.run())
    at.button(key="pacs_batch").click()
    at.run()
    assert not at.exception, [e.stack_trace for e in at.exception]
    ok(at)
    (done,) = [s.value for s in at.success]
    count = int(done.split()[1])
    assert count >= 1
    at.switch_page("pages/batch.py").run()
    ok(at)
    page = texts(at)
    assert f"{count} file(s) × 1 model(s)" in page
    assert str(film.PatientID) not in page  # files are named by UIDs
