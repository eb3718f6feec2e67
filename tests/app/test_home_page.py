from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


def test_home_lists_models(zoo_dir, monkeypatch):
    monkeypatch.setenv("MEDZOO_MODELS_DIR", str(zoo_dir))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert "Research and teaching only" in at.sidebar.warning[0].value
    table = at.dataframe[0].value
    assert sorted(table["id"]) == ["binary-test", "multi-test"]


def test_home_without_models_says_how_to_get_some(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDZOO_MODELS_DIR", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert any("No models are installed" in info.value for info in at.info)
