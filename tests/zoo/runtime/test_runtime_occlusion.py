"""Occlusion sensitivity finds where a model looks, within its time bound."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from zoo.card import file_entry
from zoo.registry import Registry
from zoo.runtime import get_session
from zoo.runtime.occlusion import occlusion_map


def corner_model(tmp_path, model_writer):
    """A binary model whose logit is the mean brightness of the top-left quarter only."""
    folder = model_writer(tmp_path / "models", "corner")
    import json

    mask = np.zeros((1, 32, 32, 1), np.float32)
    mask[:, :16, :16, :] = 1.0 / (16 * 16)
    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["input", "mask"], ["weighted"]),
            helper.make_node("ReduceSum", ["weighted", "axes"], ["mean"], keepdims=0),
            helper.make_node("Sub", ["mean", "half"], ["centred"]),
            helper.make_node("Mul", ["centred", "gain"], ["logit"]),
            helper.make_node("Sigmoid", ["logit"], ["probabilities"]),
        ],
        "corner",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 32, 32, 1])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 1])],
        [
            numpy_helper.from_array(mask, "mask"),
            numpy_helper.from_array(np.array([1, 2, 3], np.int64), "axes"),
            numpy_helper.from_array(np.array(0.5, np.float32), "half"),
            numpy_helper.from_array(np.array(10.0, np.float32), "gain"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    data = model.SerializeToString()
    (folder / "model.onnx").write_bytes(data)
    card = json.loads((folder / "card.json").read_text())
    card["file"] = file_entry(data, opset=17)
    card["outputs"] = {"probabilities": "probabilities"}
    card["preprocessing"].update(channels=1, layout="NHWC", input_size=[32, 32])
    (folder / "card.json").write_text(json.dumps(card))
    return Registry(tmp_path / "models").get("corner")


def test_the_map_lights_up_where_the_model_looks(tmp_path, model_writer):
    entry = corner_model(tmp_path, model_writer)
    image = np.full((1, 32, 32, 1), 0.1, np.float32)
    image[:, :16, :16] = 0.9  # covering it with the image's mean (0.3) lowers the score
    result = occlusion_map(get_session(entry), entry.card, image, entry.card.positive_label)
    assert result.complete and result.runs == result.planned
    heat = result.heat
    assert heat.shape == (32, 32) and heat.max() == pytest.approx(1.0)
    assert heat[:12, :12].mean() > 0.5 and heat[20:, 20:].max() == 0.0


def test_a_map_cut_short_by_its_time_bound_says_so(tmp_path, model_writer):
    entry = corner_model(tmp_path, model_writer)
    image = np.full((1, 32, 32, 1), 0.9, np.float32)
    result = occlusion_map(
        get_session(entry), entry.card, image, entry.card.positive_label, batch=4, time_budget_s=0
    )
    assert result.runs == 4 and not result.complete
