import numpy as np
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from zoo.evaluation import evaluate
from zoo.registry import Registry


@pytest.fixture
def registry(zoo_dir):
    return Registry(zoo_dir)


class TestEvaluateBinary:
    def test_report(self, registry):
        card = registry.card("binary-test")
        rng = np.random.default_rng(3)
        y = rng.integers(0, 2, 200)
        p = np.clip(0.3 * y + rng.random(200) * 0.7, 0, 1)
        report = evaluate(card, y, np.column_stack([1 - p, p]), threshold=0.5)
        m = report["metrics"]
        assert m["auc"]["value"] == pytest.approx(roc_auc_score(y, p))
        low, high = m["auc"]["ci"]
        assert low < m["auc"]["value"] < high
        tp = int(((p >= 0.5) & (y == 1)).sum())
        assert m["sensitivity"]["value"] == pytest.approx(tp / y.sum())
        assert m["sensitivity"]["ci"][0] < m["sensitivity"]["value"] < m["sensitivity"]["ci"][1]
        assert np.array(report["confusion_matrix"]).sum() == 200

    def test_one_class_gives_nan_auc(self, registry):
        card = registry.card("binary-test")
        y = np.ones(10, dtype=int)
        report = evaluate(card, y, np.tile([0.2, 0.8], (10, 1)))
        assert np.isnan(report["metrics"]["auc"]["value"])
        assert np.isnan(report["metrics"]["specificity"]["value"])


class TestEvaluateMulticlass:
    def test_report(self, registry):
        card = registry.card("multi-test")
        rng = np.random.default_rng(4)
        y = rng.integers(0, 3, 300)
        logits = rng.normal(size=(300, 3)) + 2 * np.eye(3)[y]
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        report = evaluate(card, y, probs)
        m = report["metrics"]
        assert m["accuracy"]["value"] == pytest.approx(accuracy_score(y, probs.argmax(1)))
        assert m["macro_auc"] == pytest.approx(roc_auc_score(y, probs, multi_class="ovr"))
        assert set(report["per_class"]) == {"normal", "pneumonia", "tuberculosis"}
        assert np.array(report["confusion_matrix"]).shape == (3, 3)
