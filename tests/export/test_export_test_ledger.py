"""The test ledger: how many models were scored on a test side, counted once per file."""

import json

from export.test_ledger import LEDGER, case_digest, read_ledger, record_scoring


def test_first_scoring_counts_one_model(tmp_path):
    section = record_scoring(
        tmp_path, model="m", version="1.0.0", sha256="a" * 64, case_ids=["x", "y"]
    )
    assert section["models_scored"] == 1 and section["cases"] == 2
    assert section["history"][0]["shared_cases"] == 2


def test_exporting_the_same_file_again_is_not_a_new_look(tmp_path):
    for _ in range(2):
        section = record_scoring(
            tmp_path, model="m", version="1.0.0", sha256="a" * 64, case_ids=["x"]
        )
    assert section["models_scored"] == 1 and len(read_ledger(tmp_path)) == 1


def test_a_second_training_on_the_same_test_side_makes_two(tmp_path):
    record_scoring(tmp_path, model="m", version="1.0.0", sha256="a" * 64, case_ids=["x", "y", "z"])
    section = record_scoring(
        tmp_path, model="m", version="1.1.0", sha256="b" * 64, case_ids=["y", "z", "w"]
    )
    assert section["models_scored"] == 2
    assert [h["shared_cases"] for h in section["history"]] == [2, 3]


def test_a_disjoint_test_side_starts_afresh(tmp_path):
    record_scoring(tmp_path, model="m", version="1.0.0", sha256="a" * 64, case_ids=["x"])
    section = record_scoring(
        tmp_path, model="m", version="2.0.0", sha256="b" * 64, case_ids=["new"]
    )
    assert section["models_scored"] == 1 and section["history"][0]["version"] == "2.0.0"


def test_the_ledger_holds_digests_not_case_ids(tmp_path):
    record_scoring(
        tmp_path, model="m", version="1.0.0", sha256="a" * 64, case_ids=["patient_007/film.png"]
    )
    text = (tmp_path / LEDGER).read_text()
    assert "patient_007" not in text
    assert json.loads(text)["scorings"][0]["cases"] == [case_digest("patient_007/film.png")]
