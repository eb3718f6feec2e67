"""Data flows one way: training → export → pipeline (orchestration above both); zoo → ui →
pages. No module imports one above it."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: package → the packages above it, which it must never import
ABOVE = {
    "training": {"export", "pipeline", "ui", "pages"},
    "export": {"pipeline", "ui", "pages"},
    "zoo": {"training", "export", "pipeline", "ui", "pages"},
    "ui": {"training", "export", "pipeline", "pages"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ABOVE))
def test_no_module_imports_a_layer_above_it(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & ABOVE[package])
        for path in (ROOT / package).rglob("*.py")
        if imported_packages(path) & ABOVE[package]
    }
    assert not offenders, offenders
