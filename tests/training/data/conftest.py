"""Fixtures for the training.data tests: small class folders and the real data sets."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_fixtures import SHARED_DATA, write_image


@pytest.fixture
def class_tree(tmp_path: Path) -> Path:
    """``root/normal`` (3 PNG) and ``root/pneumonia`` (2 JPEG + a README that is skipped)."""
    root = tmp_path / "cls"
    for i in range(3):
        write_image(root / "normal" / f"{i:08d}_000.png", 60 + i)
    write_image(root / "pneumonia" / "00000007_000.jpg", 200)
    write_image(root / "pneumonia" / "sub" / "00000007_001.jpeg", 210)
    (root / "pneumonia" / "README.txt").write_text("not an image")
    (root / "normal" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    return root


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "chest_xray" / "labels.csv").is_file():
        pytest.skip(f"the real data sets are not at {SHARED_DATA} (../shared/data is absent)")
    return SHARED_DATA
