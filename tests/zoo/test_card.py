import json

import pytest

from zoo.card import parse_card
from zoo.errors import CardError


@pytest.fixture
def card_data(zoo_dir):
    return json.loads((zoo_dir / "binary-test" / "card.json").read_text())


class TestParseCard:
    def test_valid_card(self, card_data):
        card = parse_card(card_data)
        assert card.id == "binary-test"
        assert card.is_binary and card.positive_index == 1
        assert card.preprocessing.input_size == (32, 32)
        assert card.operating_points == {"youden": 0.4}
        assert card.raw["changelog"][0]["version"] == "1.0.0"

    @pytest.mark.parametrize(
        ("field", "value", "match"),
        [
            ("schema_version", 99, "schema_version must be 1"),
            ("id", "Bad Id!", "lowercase"),
            ("task", "regression", "task must be"),
            ("labels", ["only"], "at least 2"),
            ("labels", ["a", "a"], "unique"),
            ("positive_label", "maybe", "positive_label must be one of"),
            ("modality", 3, "modality"),
            ("preprocessing", {"input_size": [1, 1]}, "preprocessing: input_size"),
            ("thresholds", {"default": 1.5}, r"thresholds.default must lie in \[0, 1\]"),
            ("thresholds", {"default": "0.5"}, "thresholds.default must be a number"),
            ("limitations", [], "limitations"),
            ("outputs", {"probs": "x"}, "unknown keys"),
            ("intended_use", "", "intended_use"),
        ],
    )
    def test_bad_field_is_named(self, card_data, field, value, match):
        card_data[field] = value
        with pytest.raises(CardError, match=match):
            parse_card(card_data)

    @pytest.mark.parametrize("key", ["source", "licence", "citation", "split"])
    def test_provenance_required(self, card_data, key):
        del card_data["training_data"][key]
        with pytest.raises(CardError, match=f"training_data.{key}"):
            parse_card(card_data)

    @pytest.mark.parametrize(
        ("change", "match"),
        [
            ({"name": "../model.onnx"}, "plain file name"),
            ({"sha256": "abc"}, "64 lowercase hex"),
            ({"bytes": 0}, "positive integer"),
            ({"opset": "17"}, "opset"),
            ({"dequantize_weights_at_load": "yes"}, "true or false"),
        ],
    )
    def test_bad_file_section(self, card_data, change, match):
        card_data["file"].update(change)
        with pytest.raises(CardError, match=match):
            parse_card(card_data)

    def test_multiclass_must_not_name_positive(self, zoo_dir):
        data = json.loads((zoo_dir / "multi-test" / "card.json").read_text())
        data["positive_label"] = "pneumonia"
        with pytest.raises(CardError, match="must be null for a multiclass"):
            parse_card(data)

    def test_not_an_object(self):
        with pytest.raises(CardError, match="JSON object"):
            parse_card([1, 2])
