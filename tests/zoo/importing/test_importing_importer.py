"""Importing an ONNX classifier: what the graph says is read, what it cannot say is asked,
the card is valid and unevaluated, and the model serves like a shipped one."""

import json

import numpy as np
import pytest
from importing_helpers import classifier, png

from zoo.errors import ModelImportError
from zoo.imaging import load_scan
from zoo.importing import ImportRequest, install, prepare_import
from zoo.importing.importer import UNEVALUATED_NOTE
from zoo.registry import Registry
from zoo.runtime import predict

UNIT = {"scale": 1.0, "mean": [0.0], "std": [1.0]}


def request(**changes) -> ImportRequest:
    base = {"model_id": "outside", "labels": ("normal", "abnormal"), "normalization": UNIT}
    return ImportRequest(**{**base, **changes})


def never_asked(question, choices):
    raise AssertionError(f"asked: {question}")


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_layout_size_and_channels_are_read_from_the_graph(layout):
    model = classifier(layout=layout, channels=1, size=48, head="softmax")
    prepared = prepare_import(model.SerializeToString(), request(), never_asked)
    recipe = prepared.card["preprocessing"]
    assert (recipe["layout"], recipe["input_size"], recipe["channels"]) == (layout, [48, 48], 1)
    assert recipe["color"] == "grey"


def test_a_softmax_at_the_end_is_kept_and_logits_of_one_score_get_a_sigmoid():
    ended = prepare_import(classifier(head="softmax").SerializeToString(), request(), never_asked)
    assert ended.card["provenance"]["output_transform"] == "none"
    one = classifier(classes=1)
    single = prepare_import(one.SerializeToString(), request(), never_asked)
    assert single.card["provenance"]["output_transform"] == "sigmoid"


def test_logits_of_several_scores_are_asked_about_and_the_answer_is_used():
    asked = []

    def answer(question, choices):
        asked.append(question)
        return "softmax"

    prepared = prepare_import(classifier(classes=3).SerializeToString(),
                              request(labels=("a", "b", "c")), answer)  # fmt: skip
    assert len(asked) == 1 and "logits" in asked[0]
    assert prepared.card["provenance"]["output_transform"] == "softmax"


def test_without_a_terminal_what_cannot_be_read_ends_the_import_naming_the_flag():
    with pytest.raises(ModelImportError, match="--input-size"):
        prepare_import(classifier(size=None, head="softmax").SerializeToString(), request())
    with pytest.raises(ModelImportError, match="--scale/--mean/--std"):
        prepare_import(classifier(head="softmax").SerializeToString(), request(normalization=None))
    with pytest.raises(ModelImportError, match="--activation"):
        prepare_import(classifier().SerializeToString(), request())


def test_label_count_must_match_the_scores():
    with pytest.raises(ModelImportError, match="gives 3 scores for 2 labels"):
        prepare_import(classifier(classes=3).SerializeToString(), request())


def test_logits_answered_sigmoid_make_a_multilabel_model_each_label_at_its_own_threshold():
    prepared = prepare_import(
        classifier(classes=3).SerializeToString(),
        request(labels=("a", "b", "c")),
        lambda question, choices: "sigmoid",
    )
    card = prepared.parsed()
    assert card.task == "multilabel" and card.positive_label is None
    assert card.label_thresholds == {"a": 0.5, "b": 0.5, "c": 0.5}


def test_the_unevaluated_card_says_so_and_the_model_serves(tmp_path):
    prepared = prepare_import(classifier(head="softmax").SerializeToString(), request())
    card = prepared.card
    assert card["metrics"] == {} and UNEVALUATED_NOTE in card["limitations"]
    assert card["provenance"] == {
        "kind": "imported",
        "imported_from": "model.onnx",
        "format": "onnx",
        "evaluated": False,
        "output_transform": "none",
    }
    folder = install(prepared, tmp_path / "models")
    assert sorted(p.name for p in folder.iterdir()) == ["card.json", "model.onnx"]
    registry = Registry(tmp_path / "models")
    assert registry.problems == {}
    dark, bright = (load_scan(png(v), filename="x.png") for v in (20, 240))
    low, high = predict("outside", [dark, bright], registry=registry)
    assert low.probabilities["abnormal"] < high.probabilities["abnormal"]
    assert high.model_sha256 == card["file"]["sha256"]


def test_a_failed_install_leaves_the_zoo_as_it_was(tmp_path):
    root = tmp_path / "models"
    install(prepare_import(classifier().SerializeToString(), request(activation="softmax")), root)
    before = (root / "outside" / "card.json").read_text()
    again = prepare_import(classifier(seed=5).SerializeToString(), request(activation="softmax"))
    with pytest.raises(ModelImportError, match="already exists"):
        install(again, root)
    assert (root / "outside" / "card.json").read_text() == before
    assert sorted(p.name for p in root.iterdir()) == ["outside"]  # no staging left behind
    install(again, root, replace_existing=True)
    replaced = json.loads((root / "outside" / "card.json").read_text())
    assert replaced["file"]["sha256"] == again.card["file"]["sha256"]
    assert sorted(p.name for p in root.iterdir()) == ["outside"]


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"model_id": "../escape"}, "--id"),
        ({"labels": ("only",)}, "two distinct"),
        ({"labels": ("<script>", "b")}, "letters, digits"),
        ({"positive": "maybe"}, "not one of"),
    ],
)
def test_bad_requests_are_refused_before_the_file_is_read(changes, match):
    with pytest.raises(ModelImportError, match=match):
        prepare_import(b"not even onnx", request(**changes))


def test_a_recipe_that_contradicts_the_graph_is_refused():
    recipe = {"input_size": [64, 64], "channels": 1, "color": "grey", "layout": "NCHW"}
    with pytest.raises(ModelImportError, match=r"input size \[64, 64\] differs"):
        prepare_import(
            classifier(size=32, head="softmax").SerializeToString(), request(recipe=recipe)
        )


def test_outputs_named_like_the_served_ones_are_renamed_not_duplicated():
    model = classifier(head="softmax")
    model.graph.node[-1].output[0] = "probabilities"
    model.graph.output[0].name = "probabilities"
    prepared = prepare_import(model.SerializeToString(), request())
    import onnxruntime as ort

    session = ort.InferenceSession(prepared.onnx_bytes, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    assert names[0] == "probabilities" and names.count("probabilities") == 1
    out = session.run(None, {"image": np.ones((1, 1, 32, 32), np.float32)})[0]
    assert out.sum() == pytest.approx(1.0)
