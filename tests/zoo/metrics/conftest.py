"""Fixtures for the metric tests: random binary data with ties, and pROC's aSAH reference.

The pROC reference (GPL data and values produced by R's pROC) is not part of the
project; it lives in the ``shared`` folder beside the repository
(``../shared/reference/proc-asah``) and the tests that need it are skipped without it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

PROC_RELATIVE = Path("shared") / "reference" / "proc-asah"
SKIP_REASON = "../shared/reference/proc-asah not found: pROC reference tests need the shared folder"


def repo_root() -> Path:
    """The repository root: the nearest ancestor holding both ``zoo/`` and ``tests/``."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "zoo").is_dir() and (parent / "tests").is_dir():
            return parent
    raise RuntimeError(f"no repository root above {here}")


def proc_dir() -> Path:
    """``../shared/reference/proc-asah`` relative to the repository root."""
    return repo_root().parent / PROC_RELATIVE


def binary_data(
    n: int, *, seed: int, ties: bool = True, prevalence: float = 0.3
) -> tuple[np.ndarray, np.ndarray]:
    """Labels with both classes and informative scores, rounded to force ties."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(int)
    y[:2] = [0, 1]
    s = rng.normal(size=n) + 1.2 * y
    if ties:
        s = np.round(s, 1)
    return y, s


@pytest.fixture(scope="session")
def make_binary():
    """The :func:`binary_data` factory (a fixture, so test modules need not import conftest)."""
    return binary_data


@pytest.fixture(scope="session")
def proc() -> dict[str, Any]:
    """aSAH columns and pROC's expected values; skips when the shared folder is absent."""
    folder = proc_dir()
    if not (folder / "aSAH.csv").is_file():
        pytest.skip(SKIP_REASON)
    import pandas as pd

    data = pd.read_csv(folder / "aSAH.csv")
    outcome = data["outcome"].to_numpy()
    assert set(outcome) == {"Good", "Poor"}
    return {
        "y": (outcome == "Poor").astype(int),  # Good = control (0), Poor = case (1)
        "female": data["gender"].to_numpy() == "Female",
        "scores": {k: data[k].to_numpy(dtype=float) for k in ("wfns", "s100b", "ndka")},
        "expected": json.loads((folder / "expected.json").read_text()),
        "placements": json.loads((folder / "expected_placements.json").read_text()),
    }
