from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


def test_home_lists_models(zoo_dir, monkeypatch):
    monkeypatch.setenv("MEDZOO_MODELS_DIR", str(zoo_dir))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert "Research and teaching only" in at.sidebar.warning[0].value
    table = at.table[0].value
    assert sorted(table.index) == ["binary-test", "multi-test"]


def test_home_without_models_says_how_to_get_some(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDZOO_MODELS_DIR", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert any("No models are installed" in info.value for info in at.info)


def test_home_shows_auc_ci_links_and_broken_cards(zoo_dir, monkeypatch):
    # the AUC is computed from the validation predictions the card ships (one function
    # for every page), not copied from a number typed into the card
    from ui.figures import headline_auc
    from zoo.evaluation import evaluate
    from zoo.registry import Registry

    registry = Registry(zoo_dir)
    predictions = registry.validation_predictions("binary-test")
    expected = headline_auc(
        evaluate(registry.card("binary-test"), predictions.y_true, predictions.probabilities)
    )
    (zoo_dir / "broken").mkdir()
    (zoo_dir / "broken" / "card.json").write_text("{")
    monkeypatch.setenv("MEDZOO_MODELS_DIR", str(zoo_dir))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    table = at.table[0].value
    assert table.loc["binary-test", "validation AUC (95% CI)"] == expected != "n/a"
    assert table.loc["binary-test", "test AUC (95% CI)"] == "n/a"  # it ships no test side
    assert any("broken" in e.value for e in at.error)
    links = [link.proto.page for link in at.get("page_link")]
    assert links == ["analyze", "compare", "thresholds", "metrics", "batch", "model_zoo"]
