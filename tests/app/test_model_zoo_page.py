"""Model zoo page: every card rendered; broken cards listed with their problem."""

import json

from app_helpers import texts


def test_every_card_is_rendered(open_page, zoo_dir):
    at = open_page("model_zoo")
    summary = at.dataframe[0].value
    assert sorted(summary["id"]) == ["binary-test", "multi-test"]
    assert {"licence", "size (MB)", "opset", "SHA-256"} <= set(summary.columns)
    assert [e.label for e in at.expander][:2] == [
        "**Test model binary-test** — `binary-test` v1.0.0",
        "**Test model multi-test** — `multi-test` v1.0.0",
    ]
    page = texts(at)
    for needle in (
        "Intended use",
        "Not a real model.",
        "CC0",
        "Training data (provenance)",
        "Operating points",
        "ONNX opset",
    ):
        assert needle in page
    sha = json.loads((zoo_dir / "binary-test" / "card.json").read_text())["file"]["sha256"]
    assert any(sha in c.value for c in at.code)


def test_broken_card_is_listed_with_its_problem(open_page, zoo_dir):
    broken = zoo_dir / "broken-model"
    broken.mkdir()
    (broken / "card.json").write_text('{"schema_version": 1, "id": "broken-model"}')
    at = open_page("model_zoo")
    assert any("broken-model" in e.value and "What to do" in e.value for e in at.error)
    assert sorted(at.dataframe[0].value["id"]) == ["binary-test", "multi-test"]


def test_empty_zoo(open_page, tmp_path):
    at = open_page("model_zoo", models_dir=tmp_path)
    assert any("python -m pipeline build-zoo" in i.value for i in at.info)
