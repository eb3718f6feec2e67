"""A labelled folder of PNGs for the importer's tests."""

from __future__ import annotations

import numpy as np
import pytest
from importing_helpers import png


@pytest.fixture
def labelled_folder(tmp_path):
    """60 PNGs, bright ones 'abnormal' and dark ones 'normal' (with some overlap), and a
    CSV listing them with a group and a 'site' column."""
    folder = tmp_path / "set"
    folder.mkdir()
    rng = np.random.default_rng(1)
    lines = ["path,label,group,site"]
    for i in range(60):
        abnormal = i % 2 == 0
        brightness = int(np.clip(rng.normal(170 if abnormal else 90, 40), 0, 255))
        name = f"case_{i:03d}.png"
        (folder / name).write_bytes(png(brightness))
        label = "abnormal" if abnormal else "normal"
        lines.append(f"{name},{label},patient{i // 2},{'A' if i < 30 else 'B'}")
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return folder
