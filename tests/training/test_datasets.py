"""Recipe data sections resolve to labelled sets and splits."""

import dataclasses

import numpy as np
import pytest
from PIL import Image

from training.datasets import load_labelled, prepare
from training.recipe import load_recipe


def write_split_folders(root, per_class=3):
    for side in ("train", "validation"):
        for label, value in (("absent", 30), ("present", 220)):
            folder = root / side / label
            folder.mkdir(parents=True)
            for i in range(per_class):
                Image.fromarray(np.full((40, 40), value + i, dtype=np.uint8)).save(
                    folder / f"{side}{i}.png"
                )


def test_split_folders_keep_the_users_split(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_split_folders(tmp_path / "data")
    recipe = load_recipe("mobilenetv3-synthetic")
    recipe = dataclasses.replace(
        recipe,
        data={"source": "split_folders", "path": str(tmp_path / "data")},
        preprocessing=dataclasses.replace(recipe.preprocessing, input_size=(32, 32)),
    )
    data = prepare(recipe, run_dir=tmp_path / "run")
    paths = [str(p) for p in data.labelled.paths]
    assert all("/train/" in paths[i] for i in data.split.train)
    assert all("/validation/" in paths[i] for i in data.split.validation)
    assert data.inputs.shape == (12, 32, 32, 3)
    assert (tmp_path / "run" / "split.csv").is_file()


def test_unknown_labels_need_a_label_map(tmp_path):
    recipe = load_recipe("mobilenetv3-synthetic")
    recipe = dataclasses.replace(recipe, data={"source": "synthetic", "kind": "chest", "n": 8})
    with pytest.raises(ValueError, match="label_map"):
        load_labelled(recipe, run_dir=tmp_path)


def test_shared_recipe_without_shared_data_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDZOO_SHARED_DATA", str(tmp_path / "nowhere"))
    recipe = load_recipe("customcnn-lung-ct")
    with pytest.raises(ValueError, match="--data"):
        load_labelled(recipe, run_dir=tmp_path, data_dir=tmp_path / "nowhere")
