"""Faults while the app runs: broken models and cards, hostile or vanishing uploads.

Every case must end in an ``st.error``/``st.warning`` a user can act on, no exception, and
a page that still works: a good upload afterwards gets its report. ZIP bombs (ratio, member
count) and non-ZIPs are in test_batch_page.py; here are the cases it does not cover.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np
import pydicom
import pytest
from app_helpers import errors, failures_expander, keyed, ok, png_bytes, texts, write_model_dir
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from zoo.imaging.limits import DEFAULT_MAX_BYTES

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom on crafted headers


def upload(at, name: str, data: bytes, key: str = "analyze_upload"):
    at.file_uploader(key=key).set_value((name, data, "application/octet-stream"))
    return ok(at.run())


def risk_scores(at) -> list[str]:
    return [m.value for m in at.metric if m.label.startswith(("Risk score", "P("))]


def assert_works(at, seed: int, key: str = "analyze_upload") -> None:
    """A new, good upload gets a report with no error: the page recovered."""
    upload(at, f"good-{seed}.png", png_bytes(seed), key)
    assert not errors(at), errors(at)
    assert risk_scores(at)


def pick(at, model_id: str):
    """Choose ``model_id`` in the Analyze page's model box (options are labelled by id)."""
    box = keyed(at.selectbox, "analyze_model")
    box.select_index(next(i for i, o in enumerate(box.options) if f"({model_id}," in o))
    return ok(at.run())


# -- models and cards --------------------------------------------------------------------


def test_model_deleted_while_running_is_refused_and_the_others_still_work(open_page, zoo_dir):
    at = open_page("compare")
    upload(at, "first.png", png_bytes(1), key="compare_upload")
    assert len(risk_scores(at)) == 2  # both models, side by side
    (zoo_dir / "binary-test" / "model.onnx").unlink()
    upload(at, "second.png", png_bytes(2), key="compare_upload")
    assert len(errors(at)) == 1
    message = errors(at)[0]
    assert "binary-test" in message and "missing" in message and "What to do" in message
    assert len(risk_scores(at)) == 1  # multi-test, in the same page run
    assert "multi-test" in texts(at) or at.dataframe[0].value["model"].tolist() == ["multi-test"]


def test_model_corrupted_while_running_is_refused_then_recovers(open_page, zoo_dir):
    model = zoo_dir / "binary-test" / "model.onnx"
    original = model.read_bytes()
    at = open_page("analyze")
    assert_works(at, 1)  # binary-test, its session now cached
    corrupted = bytearray(original)
    corrupted[len(corrupted) // 2] ^= 0xFF  # same size: only the bytes differ
    model.write_bytes(bytes(corrupted))
    upload(at, "after.png", png_bytes(2))
    assert errors(at) and "SHA-256" in errors(at)[0] and "refused" in errors(at)[0]
    assert "What to do" in errors(at)[0]
    assert not risk_scores(at)
    pick(at, "multi-test")
    assert not errors(at) and risk_scores(at)  # the other model works
    model.write_bytes(original)  # repaired: accepted again without a restart
    pick(at, "binary-test")
    assert_works(at, 3)


def test_card_with_a_wrong_sha256_refuses_only_that_model(open_page, zoo_dir):
    folder = write_model_dir(zoo_dir, "a-wrong-hash")  # sorts first: the default choice
    card_path = folder / "card.json"
    card = json.loads(card_path.read_text())
    card["file"]["sha256"] = "0" * 64
    card_path.write_text(json.dumps(card))
    at = open_page("analyze")
    upload(at, "scan.png", png_bytes(4))
    assert errors(at) and "a-wrong-hash" in errors(at)[0] and "SHA-256" in errors(at)[0]
    assert "differs from its card" in errors(at)[0] or "refused" in errors(at)[0]
    pick(at, "binary-test")
    assert not errors(at) and risk_scores(at)
    at.switch_page("pages/model_zoo.py").run()
    ok(at)


# -- uploads -----------------------------------------------------------------------------


def test_cancelled_upload_leaves_a_working_page(open_page):
    at = open_page("analyze")
    assert_works(at, 5)
    at.file_uploader(key="analyze_upload").clear()  # the file is gone before the next run
    ok(at.run())
    assert not errors(at) and not risk_scores(at)
    assert any("Upload a scan to start" in i.value for i in at.info)
    # set and cleared before any run: the run sees no file at all
    at.file_uploader(key="analyze_upload").set_value(("x.png", png_bytes(6), "image/png"))
    at.file_uploader(key="analyze_upload").clear()
    ok(at.run())
    assert not errors(at) and not risk_scores(at)
    assert_works(at, 7)


def test_cancelled_batch_upload_disables_scoring(open_page):
    at = open_page("batch")
    at.file_uploader(key="batch_files").set_value([("a.png", png_bytes(8), "image/png")])
    ok(at.run())
    assert not at.button(key="batch_go").disabled
    at.file_uploader(key="batch_files").clear()
    ok(at.run())
    assert at.button(key="batch_go").disabled and not errors(at)


def _huge_dicom(rows: int, columns: int) -> bytes:
    """A DICOM whose header declares rows × columns pixels but holds ten bytes of them."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = CTImageStorage
    ds.Modality = "CR"
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.PixelData = np.arange(5, dtype=np.uint16).tobytes()
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


@pytest.mark.parametrize("side", [60_000, 5_000])  # over the pixel budget, and within it
def test_dicom_with_huge_dimensions_and_little_data(open_page, side):
    at = open_page("analyze")
    upload(at, "huge.dcm", _huge_dicom(side, side))
    assert errors(at) and "huge.dcm" in errors(at)[0] and "What to do" in errors(at)[0]
    assert f"{side} × {side}" in errors(at)[0]
    assert_works(at, 9)


@pytest.mark.parametrize(
    ("extra", "message"),
    [(0, "header is damaged"), (1, "too large")],  # at the limit: read; one byte over: refused
)
def test_upload_at_the_200_mb_limit(open_page, extra, message):
    # Streamlit refuses bigger uploads itself (server.maxUploadSize = 200, in MiB); load_scan
    # has the same limit, so an upload that gets through is read (here: not an image).
    data = bytearray(DEFAULT_MAX_BYTES + extra)
    data[:8] = b"\x89PNG\r\n\x1a\n"
    at = open_page("analyze")
    upload(at, "big.png", bytes(data))
    del data
    assert errors(at) and message in errors(at)[0], errors(at)
    at.file_uploader(key="analyze_upload").clear()
    ok(at.run())
    assert_works(at, 10)


# -- ZIPs on Batch -----------------------------------------------------------------------


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def declare_size(data: bytes, size: int) -> bytes:
    """The ZIP with its (single) member's uncompressed size in the central directory set."""
    at = data.index(b"PK\x01\x02")
    return data[: at + 24] + struct.pack("<I", size) + data[at + 28 :]


def score(at):
    at.button(key="batch_go").click()
    return ok(at.run())


def test_zip_member_names_with_dot_dot_are_labels_not_paths(open_page, tmp_path, monkeypatch):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)  # a name used as a path would land in a or tmp_path
    names = ["../escape.png", "../../twice.png", "/absolute.png", "ok/inner.png"]
    data = zip_of({name: png_bytes(i) for i, name in enumerate(names)})
    at = open_page("batch")
    at.file_uploader(key="batch_files").set_value(("evil.zip", data, "application/zip"))
    ok(at.run())
    score(at)
    table = at.dataframe[-1].value
    assert set(table["file"]) == set(names)
    assert table["score"].notna().all()
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix == ".png"]
    assert written == []
    assert_works_batch(at)


def assert_works_batch(at) -> None:
    at.file_uploader(key="batch_files").set_value([("fine.png", png_bytes(11), "image/png")])
    ok(at.run())
    score(at)
    assert not errors(at)
    assert at.dataframe[-1].value["file"].tolist() == ["fine.png"]


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        (600 * 2**20, "would expand to 600 MB"),  # a bomb by its directory: refused unread
        # one that understates: reading stops at the declared size, which fails the CRC
        (10, "member 'scan.png' cannot be read (Bad CRC-32"),
    ],
)
def test_zip_whose_directory_lies_about_sizes(open_page, declared, message):
    data = declare_size(zip_of({"scan.png": png_bytes(12, (300, 300))}), declared)
    at = open_page("batch")
    at.file_uploader(key="batch_files").set_value(("lying.zip", data, "application/zip"))
    ok(at.run())
    score(at)
    assert errors(at) and message in errors(at)[0], errors(at)
    assert_works_batch(at)


def test_nested_zip_is_not_expanded(open_page):
    inner = zip_of({"zeros.png": b"\0" * 2_000_000})  # itself a bomb (about 1000:1)
    data = zip_of({"inner.zip": inner, "scan.png": png_bytes(13)})
    at = open_page("batch")
    at.file_uploader(key="batch_files").set_value(("outer.zip", data, "application/zip"))
    ok(at.run())
    score(at)
    table = at.dataframe[-1].value
    assert float(table.set_index("file").loc["scan.png", "score"]) >= 0
    assert "1 file(s) could not be scored" in failures_expander(at).label  # inner.zip: not a scan
