"""``python -m pipeline populations``: what a change of population does, and how the
model fares on each collection of its own test side, written into the card.

Both come from the shipped file as served. The own-test figures are computed from the
test predictions the export wrote (the test side is not scored again); the other
population's scans go through the serving path (decoding, the one preprocessing,
ONNX Runtime, calibration) like a user's upload. The recipe's card says what to ask:

- ``population_shift``: ``{"group": {...}, "populations": [{"name", "set", "cases",
  "controls", "task"?, "test_side_of"?}]}``: the group's question on the model's own test
  side and on each other population (a ``../shared/data`` set the model never saw; with
  ``test_side_of``, only the films on that recipe's test side);
- ``by_collection``: ``{"group": {...}, "column": "source"}`` (or ``"columns": ["source",
  "view"]``, each combination): the question on each value of test-side columns.

Groups are :class:`zoo.label_groups.LabelGroup` specs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from training.data import loaders
from training.data.dataset import LabelledSet
from zoo.card import parse_card
from zoo.label_groups import LabelGroup, group_report, sliced_reports
from zoo.registry import Registry
from zoo.scoring.inputs import InputItem
from zoo.scoring.rows import score_batch

BATCH = 64


def add_population_sections(
    model_dir: str | Path,
    recipe_card: Mapping[str, Any],
    *,
    shared_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write the recipe's ``population_shift`` and ``by_collection`` sections into the
    card of ``model_dir``; returns the card."""
    step = progress or (lambda message: None)
    model_dir = Path(model_dir)
    card = json.loads((model_dir / "card.json").read_text())
    registry = Registry(model_dir.parent)
    own = registry.held_out_predictions(card["id"], "test")
    own_labels = [own.labels[i] for i in own.y_true]
    if spec := recipe_card.get("by_collection"):
        group = LabelGroup.from_spec(spec["group"])
        columns = spec["columns"] if "columns" in spec else [spec["column"]]
        table = _test_columns(own, columns, card["id"], shared_dir)
        values = [
            " · ".join(str(v) for v in parts if _known(v)) or "(missing)"
            for parts in zip(*(table[c] for c in columns), strict=True)
        ]
        card["by_collection"] = {
            "question": group.describe(),
            "group": dict(spec["group"]),
            "column": " × ".join(columns),
            "side": "test",
            "rows": sliced_reports(group, own_labels, own.probabilities, own.labels, values),
        }
    if spec := recipe_card.get("population_shift"):
        group = LabelGroup.from_spec(spec["group"])
        own_report = group_report(group, own_labels, own.probabilities, own.labels)
        rows = []
        for population in spec["populations"]:
            step(f"scoring {population['name']} through {card['id']} as served")
            labelled = _population(population, shared_dir)
            probabilities, scored = _served(registry, card["id"], labelled, own.labels)
            asked = replace(
                group, cases=tuple(population["cases"]), controls=tuple(population["controls"])
            )
            names = np.asarray(labelled.labels, dtype=object)[scored]
            rows.append(
                {
                    "population": population["name"],
                    "data": population.get("description", population["set"]),
                    "unreadable": int((~scored).sum()),
                    **group_report(asked, names, probabilities, own.labels),
                }
            )
        card["population_shift"] = {
            "question": group.describe(),
            "group": dict(spec["group"]),
            "own_test": own_report,
            "populations": rows,
            "note": "Own test: the model's held-out test side (the predictions export wrote). "
            "Other populations: never seen in training, scored through the serving path.",
        }
    parse_card(card)
    (model_dir / "card.json").write_text(json.dumps(card, indent=2))
    return card


def _known(value: Any) -> bool:
    return str(value).strip() not in ("", "nan", "None")


def _test_columns(
    own: Any, columns: list[str], model_id: str, shared_dir: str | Path | None
) -> dict[str, list[Any]]:
    """Each column's value for every test case: from the test predictions, and where they
    lack one (a view the export did not know yet), from the recipe's data as loaded now."""
    table = {c: list(own.metadata.get(c, [""] * len(own.case_ids))) for c in columns}
    if all(_known(v) for values in table.values() for v in values):
        return table
    from training.datasets import load_labelled
    from training.recipe import load_recipe

    root = Path(shared_dir) if shared_dir else loaders.shared_data_root()
    try:
        labelled = load_labelled(load_recipe(model_id), data_dir=root, run_dir=Path("."))
    except (loaders.DataError, ValueError):  # no recipe or no data here: keep what is known
        return table
    ids = labelled.item_ids()
    for column in columns:
        if column not in labelled.metadata:
            continue
        now = dict(zip(ids, labelled.metadata[column], strict=True))
        table[column] = [
            value if _known(value) else now.get(case, value)
            for case, value in zip(own.case_ids, table[column], strict=True)
        ]
    return table


def _population(spec: Mapping[str, Any], shared_dir: str | Path | None) -> LabelledSet:
    """The population's films (a ``../shared/data`` set, as a recipe names one); with
    ``test_side_of``, only those on that recipe's test side (say, films a pretrained
    backbone was kept away from)."""
    from training.datasets import shared_set, split_paths

    labelled = shared_set({"task": "pneumonia", **spec}, shared_dir)  # NIH: pneumonia vs normal
    if owner := spec.get("test_side_of"):
        test = set(split_paths(owner, shared_dir, ("test",)))
        labelled = labelled.subset(np.array([Path(p).resolve() in test for p in labelled.paths]))
    return labelled


def _served(
    registry: Registry, model_id: str, labelled: LabelledSet, labels: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities of the scans that could be read, which scans those were)."""
    rows = []
    paths = [str(p) for p in labelled.paths]
    for start in range(0, len(paths), BATCH):
        items = [InputItem(path) for path in paths[start : start + BATCH]]
        rows.extend(score_batch(items, [model_id], registry))
    scored = np.array([row["error"] is None for row in rows])
    probabilities = np.array(
        [[row[f"p_{label}"] for label in labels] for row in rows if row["error"] is None]
    )
    return probabilities, scored


def population_lines(card: Mapping[str, Any]) -> list[str]:
    """One line per figure the step wrote (the CLI prints them)."""
    lines = []
    if shift := card.get("population_shift"):
        lines.append(f"{shift['question']}: own test {_auc_text(shift['own_test'])}")
        for row in shift["populations"]:
            lines.append(f"  on {row['population']}: {_auc_text(row)}")
    if collections := card.get("by_collection"):
        lines.append(f"{collections['question']} by {collections['column']} (test side):")
        for row in collections["rows"]:
            lines.append(f"  {row['value']}: {_auc_text(row)}")
    return lines


def _auc_text(report: Mapping[str, Any]) -> str:
    cases = f"{report['n']} films, {report['positives']} positive"
    if "auc" not in report:
        return f"AUC undefined ({cases})"
    low, high = report["auc"]["ci"]
    return f"AUC {report['auc']['value']:.3f} ({low:.3f}-{high:.3f}; {cases})"
