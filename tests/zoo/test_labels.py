"""zoo.labels: a small vocabulary that lines labels up across models."""

from zoo.labels import canonical, label_in, label_tasks
from zoo.registry import Registry


def test_synonyms_fold_to_one_name():
    assert canonical("No Finding") == canonical("notumor") == canonical("normal") == "normal"
    assert canonical("TB") == "tuberculosis"
    assert canonical("mass") == "mass"


def test_models_sharing_a_label_and_a_modality_form_one_task(tmp_path, model_writer):
    root = tmp_path / "models"
    model_writer(root, "mass", labels=("no_finding", "mass"), modality=["CR", "DX"])
    model_writer(root, "three", labels=("normal", "pneumonia", "tb"), modality=["DX"])
    model_writer(root, "ct", labels=("normal", "malignant"), modality=["CT"])
    registry = Registry(root)
    tasks = {t.title: t for t in label_tasks(e.card for e in registry.entries())}
    assert tasks["normal (CR, DX): 2 model(s)"].model_ids == ("mass", "three")
    assert tasks["normal (CT): 1 model(s)"].model_ids == ("ct",)
    assert label_in(registry.card("mass"), "normal") == "no_finding"
    assert label_in(registry.card("three"), "tuberculosis") == "tb"
    assert label_in(registry.card("ct"), "mass") is None
