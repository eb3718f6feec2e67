"""The published card schema (zoo/card.schema.json, copied to docs/): every card passes it,
and what only the schema checks is refused with the field named."""

import json
from pathlib import Path

import jsonschema
import pytest

from zoo.card import SCHEMA_PATH, card_validator, parse_card
from zoo.errors import CardError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "zoo" / "models").glob("*/card.json"))


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text()))


def test_the_published_copy_is_the_one_the_zoo_reads():
    assert (ROOT / "docs" / "card.schema.json").read_text() == SCHEMA_PATH.read_text()


@pytest.mark.parametrize("path", SHIPPED, ids=[p.parent.name for p in SHIPPED])
def test_every_shipped_card_passes_the_schema(path):
    errors = [e.message for e in card_validator().iter_errors(json.loads(path.read_text()))]
    assert errors == []


def test_test_fixture_cards_pass_it_too(zoo_dir):
    for path in zoo_dir.glob("*/card.json"):
        parse_card(json.loads(path.read_text()))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: c.update(latency_ms=-1), "latency_ms"),
        (lambda c: c.update(modality="C-T!"), "modality"),
        (lambda c: c.update(changelog=[{"date": "2026-01-01"}]), "changelog.0"),
        (lambda c: c.update(validation_predictions="../../etc/passwd"), "validation_predictions"),
        (lambda c: c.update(provenance={"kind": "found on a USB stick"}), "provenance.kind"),
        (lambda c: c["training_data"].update(licence="   "), "training_data.licence"),
    ],
)
def test_what_only_the_schema_checks_is_refused_naming_the_field(zoo_dir, change, field):
    card = json.loads((zoo_dir / "binary-test" / "card.json").read_text())
    change(card)
    with pytest.raises(CardError, match=rf"^{field}: .*\(card\.schema\.json\)"):
        parse_card(card)
