"""ui.choice: the one rule for which models fit a scan and which one it opens on."""

import math

from ui.choice import (
    UNKNOWN_RESEMBLANCE,
    declared_kind,
    declared_model,
    default_models,
    rank_models,
    scan_modality,
)
from zoo.registry import Registry


def _zoo(tmp_path, model_writer):
    root = tmp_path / "models"
    model_writer(root, "chest-a", modality=["CR", "DX"])
    model_writer(root, "ct-b", modality=["CT"])
    model_writer(root, "chest-c", modality=["CR", "DX", "OT"])
    return Registry(root)


def test_a_tag_puts_its_models_first_ordered_by_resemblance(tmp_path, model_writer):
    zoo = _zoo(tmp_path, model_writer)
    ranked = rank_models(zoo, "DX", {"chest-a": 3.0, "chest-c": 0.5, "ct-b": 0.1})
    assert [f.id for f in ranked] == ["chest-c", "chest-a", "ct-b"]
    assert [f.fits for f in ranked] == [True, True, False]
    assert ranked[2].why == "trained on CT, not DX"


def test_an_untagged_scan_fits_the_models_it_resembles_whatever_their_card_lists(
    tmp_path, model_writer
):
    zoo = _zoo(tmp_path, model_writer)
    ranked = rank_models(zoo, None, {"chest-a": 2.0, "ct-b": 0.8, "chest-c": math.nan})
    assert [f.id for f in ranked] == ["ct-b", "chest-a", "chest-c"]
    assert [f.fits for f in ranked] == [True, False, False]  # OT in a card is no match
    assert ranked[1].why == "the scan does not resemble its training images"
    assert ranked[2].why == UNKNOWN_RESEMBLANCE  # no summary: unknown, not "unlike"


def test_defaults_are_the_fitting_models_else_the_best_two(tmp_path, model_writer):
    zoo = _zoo(tmp_path, model_writer)
    ranked = rank_models(zoo, "CT", {})
    assert [e.id for e in default_models(ranked, 3)] == ["ct-b"]
    ranked = rank_models(zoo, None, {})
    assert [e.id for e in default_models(ranked, 3)] == ["chest-a", "chest-c"]  # zoo order
    assert not any(f.fits for f in ranked)


def test_the_modality_comes_from_the_file_then_the_sample_list(tmp_path):
    assert scan_modality("ct", "MR") == "CT"
    assert scan_modality("OT", "mr") == "MR"
    assert scan_modality("OT", None) is None and scan_modality(None) is None
    (tmp_path / "kinds.csv").write_text("file,modality\nbrain.jpg,MR\n")
    assert declared_kind(tmp_path / "brain.jpg") == "MR"
    assert declared_kind(tmp_path / "other.jpg") is None


def test_every_shipped_sample_declares_its_kind():
    from ui.scans import find_samples

    samples = find_samples()
    assert samples
    for sample in samples:
        assert declared_kind(sample) in {"CT", "MR", "CR", "DX"}, sample.name


def test_a_sample_drawn_for_a_model_opens_on_it_when_it_fits(tmp_path, model_writer):
    zoo = _zoo(tmp_path, model_writer)
    ratios = {"chest-a": 3.0, "chest-c": 0.5, "ct-b": 0.1}
    assert [f.id for f in rank_models(zoo, "DX", ratios, "chest-a")] == [
        "chest-a",
        "chest-c",
        "ct-b",
    ]
    # a model that does not fit the scan's kind is not moved up by the sample's word
    assert rank_models(zoo, "DX", ratios, "ct-b")[0].id == "chest-c"
    (tmp_path / "kinds.csv").write_text("file,modality,model\nkid.jpg,DX,chest-a\nct.jpg,CT,\n")
    assert declared_model(tmp_path / "kid.jpg") == "chest-a"
    assert declared_model(tmp_path / "ct.jpg") is None
    assert declared_model(tmp_path / "absent.jpg") is None


def test_every_model_a_shipped_sample_names_is_shipped():
    from ui.scans import find_samples

    shipped = set(Registry().ids())
    for sample in find_samples():
        assert declared_model(sample) in shipped | {None}, sample.name
