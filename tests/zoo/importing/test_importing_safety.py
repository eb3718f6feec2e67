"""Crafted ONNX files are refused with their reason before ONNX Runtime sees them."""

import numpy as np
import onnx
import pytest
from importing_helpers import classifier
from onnx import TensorProto, helper, numpy_helper

from zoo.errors import ModelImportError
from zoo.importing.safety import Limits, load_untrusted


def test_a_plain_classifier_passes():
    model = load_untrusted(classifier().SerializeToString())
    assert model.graph.output[0].name == "logits"


def test_external_data_pointing_at_a_system_file_is_refused():
    model = classifier()
    weights = next(t for t in model.graph.initializer if t.name == "W")
    weights.ClearField("raw_data")
    weights.ClearField("float_data")
    weights.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "../../../../etc/passwd"), ("offset", "0"), ("length", "8")):
        entry = weights.external_data.add()
        entry.key, entry.value = key, value
    with pytest.raises(ModelImportError, match=r"external file \('../../../../etc/passwd'\)"):
        load_untrusted(model.SerializeToString())


def test_a_huge_declared_tensor_is_refused():
    model = classifier()
    huge = TensorProto(name="huge", data_type=TensorProto.FLOAT, dims=[1_000_000, 1_000_000])
    model.graph.initializer.append(huge)
    with pytest.raises(ModelImportError, match=r"huge.*declares.*limit"):
        load_untrusted(model.SerializeToString())


def test_a_tensor_holding_less_than_it_declares_is_refused():
    model = classifier()
    short = numpy_helper.from_array(np.zeros(4, np.float32), "short")
    short.dims[:] = [400]
    model.graph.initializer.append(short)
    with pytest.raises(ModelImportError, match="declares 400 elements but holds 4"):
        load_untrusted(model.SerializeToString())


def test_an_unknown_operator_domain_is_refused():
    model = classifier()
    model.graph.node.append(helper.make_node("Steal", ["logits"], ["loot"], domain="evil.ops"))
    model.opset_import.append(helper.make_opsetid("evil.ops", 1))
    with pytest.raises(ModelImportError, match=r"custom operator domains \['evil.ops'\]"):
        load_untrusted(model.SerializeToString())


@pytest.mark.parametrize("keep", [0.2, 0.5, 0.9])
def test_a_truncated_file_is_refused(keep):
    data = classifier().SerializeToString()
    with pytest.raises(ModelImportError):
        load_untrusted(data[: int(len(data) * keep)])


def test_not_onnx_at_all_is_refused():
    with pytest.raises(ModelImportError, match=r"not a readable ONNX file|holds no graph"):
        load_untrusted(b"\x89PNG\r\n\x1a\n" + bytes(200))


def test_size_and_node_limits():
    data = classifier().SerializeToString()
    with pytest.raises(ModelImportError, match="the limit is"):
        load_untrusted(data, Limits(max_bytes=100))
    with pytest.raises(ModelImportError, match="nodes; the limit is 2"):
        load_untrusted(data, Limits(max_nodes=2))


def test_an_absurd_input_side_is_refused():
    model = classifier(size=100_000)
    with pytest.raises(ModelImportError, match="sides above 4096"):
        load_untrusted(model.SerializeToString())


def test_the_checker_has_the_last_word():
    model = classifier()
    model.graph.node[1].input[0] = "nowhere"
    with pytest.raises(ModelImportError, match="checker"):
        load_untrusted(onnx.ModelProto.SerializeToString(model))
