"""The shared loaders on the real data sets in ../shared/data (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.data import (
    group_split,
    load_chest_pretraining,
    load_multiclass_cxr,
    load_shared_brain_mri,
    load_shared_chest_xray,
    load_shared_lung_ct,
    load_shared_pediatric_cxr,
    load_shared_tb_xray,
)

pytestmark = pytest.mark.shared


def test_documented_counts(shared_data: Path):
    mass = load_shared_chest_xray(shared_data / "chest_xray", task="mass")
    assert mass.counts() == {"no_finding": 1146, "mass": 65}
    pneumonia = load_shared_chest_xray(shared_data, task="pneumonia")
    assert pneumonia.counts() == {"no_finding": 1146, "pneumonia": 431}
    lung = load_shared_lung_ct(shared_data / "lung_ct")
    assert lung.counts() == {"normal": 309, "benign": 77, "malignant": 403}
    assert load_shared_lung_ct(shared_data, classes=("benign", "malignant")).counts() == {
        "benign": 77,
        "malignant": 403,
    }
    brain = load_shared_brain_mri(shared_data / "brain_mri")
    # ../shared/data/README.md: the Testing split (975) plus the Training split (5,036)
    assert brain.counts() == {
        "glioma": 1478,
        "meningioma": 1422,
        "notumor": 1572,
        "pituitary": 1539,
    }
    assert len(brain.labels) == 6011
    tb = load_shared_tb_xray(shared_data / "tb_xray")
    assert tb.counts() == {"normal": 531, "tuberculosis": 521}
    tinted = tb.metadata["tinted"].to_numpy() == 1
    assert tinted.any() and {tb.labels[i] for i in np.flatnonzero(tinted)} == {"tuberculosis"}
    multi = load_multiclass_cxr(shared_data)
    assert multi.counts() == {"normal": 1146 + 531, "pneumonia": 431, "tuberculosis": 521}
    assert set(multi.metadata["collection"]) == {"nih", "tb_xray"}
    pediatric = load_shared_pediatric_cxr(shared_data)
    # ../shared/data/README.md: normal 1,188 / bacterial 2,051 / viral 1,112
    assert pediatric.counts() == {
        "normal": 1188,
        "bacterial_pneumonia": 2051,
        "viral_pneumonia": 1112,
    }


def test_pediatric_split_keeps_each_patient_on_one_side(shared_data: Path):
    data = load_shared_pediatric_cxr(shared_data)
    split = group_split(data, validation_fraction=0.2, test_fraction=0.2, seed=0)
    patients = np.asarray(data.metadata["patient_id"], dtype=object)
    sides = [set(patients[side]) for side in (split.train, split.validation, split.test)]
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])


def test_chest_xray_split_is_patient_disjoint(shared_data: Path):
    data = load_shared_chest_xray(shared_data, task="mass")
    split = group_split(data, validation_fraction=0.2, seed=0)
    patients = np.asarray(data.metadata["patient_id"], dtype=object)
    assert not set(patients[split.train]) & set(patients[split.validation])
    assert len(split.train) + len(split.validation) == len(data)
    val = data.subset(split.validation).counts()
    assert 10 <= val["mass"] <= 16  # about 20 % of the 65 masses


def test_pretraining_films_leave_out_every_held_out_patient(shared_data: Path):
    from training.datasets import held_out_removed, recipe_split
    from training.recipe import load_recipe

    downstream = ["multiclass-cxr", "inceptionv3-cxr-mass", "pediatric-cxr"]
    every = load_chest_pretraining(shared_data)
    assert len(every) == 2142 + 1052 + 4351  # every chest film of the README
    kept = held_out_removed(every, downstream, shared_data)
    patient = {p.resolve(): g for p, g in zip(every.paths, every.groups, strict=True)}
    for recipe_id in downstream:
        other, split = recipe_split(load_recipe(recipe_id), data_dir=shared_data, run_dir=Path("."))
        held = np.concatenate([split.validation, split.test])
        held_patients = {patient[Path(other.paths[i]).resolve()] for i in held}
        assert held_patients and not held_patients & set(kept.groups), recipe_id
    assert set(kept.labels) == set(every.class_names)  # every class keeps films to learn


def test_every_nih_film_has_a_view_once_nihs_metadata_is_read(shared_data: Path):
    films = load_shared_chest_xray(shared_data, task="pneumonia")
    assert set(films.metadata["view"]) == {"AP", "PA"}
