"""A small labelled archive for the scoring tests: PNGs in nested folders (bright ones
'abnormal'), an extension-less DICOM, a corrupt file, and a manifest naming them."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[3]


def png(value: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((40, 40), value, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def archive(tmp_path) -> Path:
    folder = tmp_path / "archive"
    (folder / "site_a").mkdir(parents=True)
    (folder / "site_b" / "deeper").mkdir(parents=True)
    rng = np.random.default_rng(4)
    lines = ["path,label,site"]
    for i in range(24):
        abnormal = i % 2 == 0
        value = int(np.clip(rng.normal(170 if abnormal else 90, 40), 0, 255))
        where = "site_a" if i < 12 else "site_b/deeper"
        name = f"{where}/case{i:02d}.png"
        (folder / name).write_bytes(png(value))
        lines.append(f"{name},{'abnormal' if abnormal else 'No Finding'},{where.split('/')[0]}")
    (folder / "site_b" / "film").write_bytes((ROOT / "zoo/samples/cxr_cr_chest.dcm").read_bytes())
    (folder / "site_b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (folder / "site_a" / "notes.txt").write_text("not a scan")
    (folder / "site_a" / ".hidden.png").write_bytes(png(10))
    lines += ["site_b/film,abnormal,site_b", "site_b/broken.png,normal,site_b"]
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n")
    return folder
