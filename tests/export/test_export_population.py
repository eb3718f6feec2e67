"""What a change of population does, written into a shipped card (the three-class chest
model on a small pediatric-like folder; the real check runs in build-zoo)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score

from export.population import add_population_sections, population_lines
from training.recipe import load_recipe
from zoo.card import parse_card
from zoo.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
LABELS = ["normal", "normal", "bacterial", "viral", "bacterial", "viral"]


@pytest.fixture
def pediatric_folder(tmp_path: Path) -> Path:
    """Six chest-like films in the pediatric set's layout, and one file that is no image."""
    folder = tmp_path / "shared" / "pediatric_cxr"
    (folder / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = ["image,label,patient_id,group,source"]
    x = np.mgrid[0:224, 0:224][1]
    for i, label in enumerate(LABELS):
        lungs = 120 + 60 * np.sin(x / 35.0 + i) - 40 * (abs(x - 112) < 12)
        film = np.clip(lungs + rng.normal(0, 8 + 4 * i, (224, 224)), 0, 255).astype(np.uint8)
        Image.fromarray(film).save(folder / "images" / f"film{i}.png")
        rows.append(f"images/film{i}.png,{label},p{i},p{i},test")
    (folder / "images" / "broken.png").write_bytes(b"not a png")
    rows.append("images/broken.png,normal,p9,p9,test")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    return tmp_path / "shared"


def test_the_card_gains_both_sections_from_the_served_model(tmp_path, pediatric_folder):
    model_dir = tmp_path / "models" / "multiclass-cxr"
    shutil.copytree(ROOT / "zoo" / "models" / "multiclass-cxr", model_dir)
    recipe_card = json.loads(json.dumps(load_recipe("multiclass-cxr").card))
    # every film of the small folder, not only the pediatric recipe's test side
    recipe_card["population_shift"]["populations"][0].pop("test_side_of", None)
    card = add_population_sections(model_dir, recipe_card, shared_dir=pediatric_folder)
    assert json.loads((model_dir / "card.json").read_text()) == card
    parse_card(card)

    shift = card["population_shift"]
    assert shift["question"] == "pneumonia against normal"
    (children,) = shift["populations"]
    assert (children["n"], children["positives"], children["unreadable"]) == (6, 4, 1)
    assert 0.0 <= children["auc"]["value"] <= 1.0

    # the own-test figure is the served test predictions' pneumonia-vs-normal AUC
    own = Registry(model_dir.parent).held_out_predictions("multiclass-cxr", "test")
    names = np.array([own.labels[i] for i in own.y_true])
    kept = np.isin(names, ["normal", "pneumonia"])
    expected = roc_auc_score(names[kept] == "pneumonia", own.scores_for("pneumonia")[kept])
    assert shift["own_test"]["auc"]["value"] == pytest.approx(expected)
    assert shift["own_test"]["n"] == int(kept.sum())

    collections = card["by_collection"]
    assert collections["column"] == "source × view" and collections["side"] == "test"
    assert "adleberg/medical-ai · AP" in {row["value"] for row in collections["rows"]}
    assert sum(row["n"] for row in collections["rows"]) == int(kept.sum())
    # the TB collection brings normals only: its AUC is undefined, not invented
    tb = next(row for row in collections["rows"] if "TB" in row["value"])
    assert tb["positives"] == 0 and "auc" not in tb
    assert any("AUC undefined" in line for line in population_lines(card))
