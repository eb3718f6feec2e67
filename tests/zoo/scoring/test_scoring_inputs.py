"""What ``zoo score`` reads: a folder (recursive), a CSV or Parquet manifest, an fsspec URI."""

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zoo.errors import ScanError
from zoo.scoring.inputs import list_inputs, read_bytes


def test_a_folder_gives_its_scans_recursively_dicom_without_extension_included(archive):
    names = [item.path.removeprefix(str(archive) + "/") for item in list_inputs(archive)]
    assert "site_b/film" in names and "site_b/deeper/case12.png" in names
    assert "site_b/broken.png" in names  # read later, where it becomes an error row
    assert "site_a/notes.txt" not in names and "site_a/.hidden.png" not in names
    assert names == sorted(names) and len(names) == 26


def test_a_manifest_carries_its_columns_and_resolves_relative_paths(archive):
    items = list_inputs(archive / "manifest.csv")
    assert len(items) == 26
    first = items[0]
    assert first.path == str(archive / "site_a" / "case00.png")
    assert first.carried == {"label": "abnormal", "site": "site_a"}
    table = pa.table({"path": [str(archive / "site_b" / "film")], "label": ["abnormal"]})
    pq.write_table(table, archive / "manifest.parquet")
    (item,) = list_inputs(archive / "manifest.parquet")
    assert item.carried == {"label": "abnormal"} and read_bytes(item.path)[128:132] == b"DICM"


def test_a_uri_reads_through_fsspec(archive):
    memory = fsspec.filesystem("memory")
    memory.pipe("/archive/one.png", (archive / "site_a" / "case00.png").read_bytes())
    memory.pipe("/archive/nested/two", (archive / "site_b" / "film").read_bytes())
    items = list_inputs("memory://archive")
    assert [item.path for item in items] == [
        "memory:///archive/nested/two",
        "memory:///archive/one.png",
    ]
    assert read_bytes(items[1].path) == (archive / "site_a" / "case00.png").read_bytes()


def test_nothing_there_or_no_path_column_is_said(tmp_path):
    with pytest.raises(ScanError, match="no such file or folder"):
        list_inputs(tmp_path / "missing")
    (tmp_path / "m.csv").write_text("file,label\na.png,x\n")
    with pytest.raises(ScanError, match="needs a 'path' column"):
        list_inputs(tmp_path / "m.csv")
