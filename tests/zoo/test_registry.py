import json

import numpy as np
import pytest

from zoo.errors import CardError, ModelNotFoundError
from zoo.registry import Registry, models_dir


class TestRegistry:
    def test_discovers_models(self, zoo_dir):
        registry = Registry(zoo_dir)
        assert registry.ids() == ["binary-test", "multi-test"]
        assert registry.problems == {}
        assert "binary-test" in registry and len(registry) == 2

    def test_broken_card_is_reported_not_fatal(self, zoo_dir):
        (zoo_dir / "binary-test" / "card.json").write_text("{not json")
        registry = Registry(zoo_dir)
        assert registry.ids() == ["multi-test"]
        assert "not valid JSON" in registry.problems["binary-test"]

    def test_folder_name_must_match_id(self, zoo_dir):
        (zoo_dir / "binary-test").rename(zoo_dir / "renamed")
        registry = Registry(zoo_dir)
        assert "differs from its folder name" in registry.problems["renamed"]

    def test_unknown_id_lists_valid_ids(self, zoo_dir):
        with pytest.raises(ModelNotFoundError, match="available: binary-test, multi-test"):
            Registry(zoo_dir).get("nope")

    def test_empty_or_missing_root(self, tmp_path):
        registry = Registry(tmp_path / "absent")
        assert registry.ids() == []
        with pytest.raises(ModelNotFoundError, match="see README"):
            registry.get("x")

    def test_env_override(self, zoo_dir, monkeypatch):
        monkeypatch.setenv("MEDZOO_MODELS_DIR", str(zoo_dir))
        assert models_dir() == zoo_dir
        assert Registry().ids() == ["binary-test", "multi-test"]


class TestValidationPredictions:
    def test_reads_scores_and_metadata(self, zoo_dir):
        preds = Registry(zoo_dir).validation_predictions("multi-test")
        assert preds.probabilities.shape == (40, 3)
        np.testing.assert_allclose(preds.probabilities.sum(axis=1), 1.0, atol=1e-5)
        assert set(preds.metadata) == {"view"}
        assert preds.is_positive("pneumonia").sum() == (preds.y_true == 1).sum()

    def test_missing_column(self, zoo_dir):
        path = zoo_dir / "binary-test" / "validation.csv"
        path.write_text("case_id,label\nc1,normal\n")
        with pytest.raises(CardError, match="lacks columns"):
            Registry(zoo_dir).validation_predictions("binary-test")

    def test_unknown_label(self, zoo_dir):
        path = zoo_dir / "binary-test" / "validation.csv"
        path.write_text("case_id,label,p_normal,p_abnormal\nc1,weird,0.5,0.5\n")
        with pytest.raises(CardError, match="not one of"):
            Registry(zoo_dir).validation_predictions("binary-test")

    def test_no_predictions_declared(self, zoo_dir):
        card_path = zoo_dir / "binary-test" / "card.json"
        card = json.loads(card_path.read_text())
        card["validation_predictions"] = None
        card_path.write_text(json.dumps(card))
        with pytest.raises(CardError, match="ships no validation predictions"):
            Registry(zoo_dir).validation_predictions("binary-test")
