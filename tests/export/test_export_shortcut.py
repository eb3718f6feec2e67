"""The collection-shortcut measurement on embeddings whose answer is known."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn")

from export.shortcut import shortcut_report
from training.data import LabelledSet

LABELS = ("normal", "pneumonia", "tuberculosis")
SPEC = {"column": "collection", "label": "normal", "target": "tuberculosis", "nuisance": "tinted"}


def _held_out(embedding_gap: float, seed: int = 0):
    """60 normals from two collections and 20 TB images; the collections differ by ``gap``."""
    rng = np.random.default_rng(seed)
    collection = ["nih"] * 30 + ["tb_xray"] * 30 + ["tb_xray"] * 20
    y = np.array([0] * 60 + [2] * 20)
    embedding = rng.normal(size=(80, 16))
    embedding[30:60, 0] += embedding_gap
    labelled = LabelledSet(
        paths=[f"/x/{i}.png" for i in range(80)],
        labels=[LABELS[k] for k in y],
        groups=[f"g{i}" for i in range(80)],
        metadata=pd.DataFrame({"collection": collection, "tinted": [0] * 70 + [1] * 10}),
        class_names=LABELS,
    )
    probabilities = np.full((80, 3), 0.1)
    probabilities[np.arange(80), y] = 0.8
    return labelled, y, probabilities, embedding


def test_the_probe_finds_an_embedding_that_encodes_the_collection():
    report = shortcut_report(SPEC, *_held_out(embedding_gap=6.0), LABELS)
    assert report["probe"]["auc"] > 0.95
    assert report["probe"]["accuracy"]["value"] > 0.9


def test_the_probe_is_near_chance_when_the_collections_look_alike():
    report = shortcut_report(SPEC, *_held_out(embedding_gap=0.0), LABELS)
    assert 0.25 < report["probe"]["auc"] < 0.75


def test_scores_are_reported_per_collection_and_per_nuisance_value():
    report = shortcut_report(SPEC, *_held_out(embedding_gap=0.0), LABELS)
    assert set(report["by_collection"]) == {"nih", "tb_xray"}
    assert report["by_collection"]["nih"]["n"] == 30
    assert report["by_collection"]["nih"]["predicted_tuberculosis"]["value"] == 0.0
    recall = report["tuberculosis_recall_by_tinted"]
    assert recall["0"]["value"] == recall["1"]["value"] == 1.0
    probe_line, shares_line, recall_line = report["summary"]
    assert "nih and tb_xray" in probe_line
    assert "0.0% of nih" in shares_line
    assert "100% where tinted = 0" in recall_line


def test_a_set_without_the_column_is_skipped_with_a_reason():
    labelled, y, p, e = _held_out(embedding_gap=0.0)
    report = shortcut_report({**SPEC, "column": "scanner"}, labelled, y, p, e, LABELS)
    assert "scanner" in report["skipped"]
