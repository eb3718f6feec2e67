"""Unit tests of the ui helpers that the pages build on (no Streamlit app needed)."""

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from app_helpers import dicom_bytes, png_bytes

from ui import heatmap
from ui.batch import (
    BatchInputError,
    collect_files,
    is_zip,
    match_label,
    read_labels_csv,
    read_zip,
)
from ui.pdf import ReportContent, build_report
from ui.report import confidence, fmt_score, operating_points, recommendations, risk_level
from ui.scans import Upload, find_samples, summary_rows, window_choices
from zoo.imaging import load_scan
from zoo.metrics import ThresholdTable
from zoo.preprocess import Preprocessed, preprocess
from zoo.registry import Registry
from zoo.results.pdf_layout import latin1
from zoo.trust import localization
from zoo.trust.localization import Box


def zip_of(files: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# -- heatmaps -------------------------------------------------------------------------


def _prepared(content_box, source_box, size=(32, 32)) -> Preprocessed:
    return Preprocessed(
        input=np.zeros((1, *size, 1), np.float32),
        display=np.zeros(size, np.uint8),
        content_box=content_box,
        source_box=source_box,
    )


def test_cam_is_mapped_through_the_letterbox_onto_the_scan():
    scan = np.zeros((100, 50), np.float32)  # tall: letterboxed left and right
    prepared = preprocess(scan, {"input_size": [32, 32], "channels": 1, "aspect": "pad"})
    top, left, _, right = prepared.content_box
    assert (left, right) != (0, 32)
    cam = np.zeros((32, 32), np.float32)
    cam[top : top + 4, left : left + 3] = 1.0  # the scan's top-left corner
    heat, box = heatmap.cam_on_source(cam, prepared, (32, 32), scan.shape)
    assert box == (0, 0, 100, 50)
    assert heat.shape == (100, 50)
    y, x = np.unravel_index(np.argmax(heat), heat.shape)
    assert y < 20 and x < 10
    assert heat[80:, 30:].max() < 0.05


def test_cam_with_a_crop_only_covers_the_source_box():
    scan = np.zeros((40, 100), np.float32)
    prepared = preprocess(scan, {"input_size": [32, 32], "channels": 1, "aspect": "crop"})
    heat, (top, left, bottom, right) = heatmap.cam_on_source(
        np.ones((8, 8), np.float32), prepared, (32, 32), scan.shape
    )
    assert (top, bottom) == (0, 40) and 0 < left < right < 100
    assert heat.shape == (bottom - top, right - left)


def test_flat_or_nan_cam_normalises_to_zeros():
    assert not heatmap.normalise(np.full((4, 4), 3.0)).any()
    assert np.isfinite(heatmap.normalise(np.array([[np.nan, 1.0], [2.0, np.inf]]))).all()


def test_overlay_blends_with_the_requested_opacity():
    scan = np.linspace(0, 1, 64 * 48, dtype=np.float32).reshape(64, 48)
    prepared = preprocess(scan, {"input_size": [16, 16], "channels": 1})
    cam = np.random.default_rng(0).random((4, 4)).astype(np.float32)
    plain, _ = heatmap.display_image(scan)
    assert np.array_equal(heatmap.overlay(scan, cam, prepared, (16, 16), alpha=0.0), plain)
    strong = heatmap.overlay(scan, cam, prepared, (16, 16), alpha=1.0)
    assert strong.shape == (64, 48, 3) and strong.dtype == np.uint8
    assert not np.array_equal(strong, plain)


def test_large_scans_are_shrunk_for_display():
    image, scale = heatmap.display_image(np.zeros((3000, 1500), np.float32), max_side=1000)
    assert image.shape == (1000, 500, 3) and scale == pytest.approx(1 / 3)


def test_heatmap_shares_the_mapping_with_zoo_trust():
    assert heatmap.cam_on_source is localization.cam_on_source
    assert heatmap.normalise is localization.normalise


def _changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return (before != after).any(axis=2)


def _assert_box_drawn(image, drawn, box, scale, thickness):
    """What every drawn box must look like, whatever OpenCV's font rendering.

    The outline covers the box's own edge pixels; its inside is untouched; everything
    else that changed lies in the label's rectangle, which is inside the image and
    outside the box.
    """
    height, width = image.shape[:2]
    left, top = round(box.x * scale), round(box.y * scale)
    right, bottom = round((box.x + box.w) * scale), round((box.y + box.h) * scale)
    changed = _changed(image, drawn)
    for row, col in ((top, (left + right) // 2), (bottom - 1, (left + right) // 2)):
        assert changed[row, col], (row, col)
    for row, col in (((top + bottom) // 2, left), ((top + bottom) // 2, right - 1)):
        assert changed[row, col], (row, col)
    inside = np.s_[top + thickness : bottom - thickness, left + thickness : right - thickness]
    assert not changed[inside].any()
    sprite = heatmap.label_sprite(box.label, (height, width))
    x0, y0, x1, y1 = heatmap.label_rect((left, top, right, bottom), sprite.size, (height, width))
    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    assert x1 <= left or x0 >= right or y1 <= top or y0 >= bottom  # off the box
    outside = changed.copy()
    outside[top:bottom, left:right] = False
    outside[y0:y1, x0:x1] = False
    assert not outside.any()
    assert changed[y0:y1, x0:x1].any()  # the label is there
    return (x0, y0, x1, y1)


def test_draw_boxes_outlines_the_box_and_labels_it_above():
    image = np.full((200, 300, 3), 40, np.uint8)
    box = Box("Mass", 100, 80, 60, 50)  # columns 100..159, rows 80..129
    drawn = heatmap.draw_boxes(image, [box], 1.0, color=(0, 255, 0), thickness=2)
    assert drawn is not image and (image == 40).all()  # a copy
    assert drawn.shape == image.shape and drawn.dtype == np.uint8
    for row, col in ((80, 130), (81, 130), (129, 130), (105, 100), (105, 159)):
        assert tuple(drawn[row, col]) == (0, 255, 0)
    x0, _, _, y1 = _assert_box_drawn(image, drawn, box, 1.0, 2)
    assert y1 <= 80 - 2 and x0 == 100  # above, flush with the box's left edge


def test_draw_boxes_scales_source_pixels_to_the_display():
    image = np.zeros((100, 150, 3), np.uint8)  # a 200 x 300 scan shown at half size
    box = Box("Nodule", 100, 80, 60, 50)  # display columns 50..79, rows 40..64
    drawn = heatmap.draw_boxes(image, [box], 0.5, thickness=1)
    _assert_box_drawn(image, drawn, box, 0.5, 1)
    assert not _changed(image, drawn)[65:].any()  # the label is wider than the box, above it


@pytest.mark.parametrize(
    ("box", "where"),
    [
        (Box("Mass", 10, 0, 60, 40), "below"),
        (Box("Mass", 10, 0, 40, 100), "right"),
        (Box("Mass", 50, 0, 50, 100), "left"),
        (Box("Mass", 0, 0, 100, 100), "corner"),
        (Box("Atelectasis", 85, 50, 15, 20), "above"),  # wider than the room to its right
        (Box("Cardiomegaly and effusion", 0, 30, 10, 10), "above"),  # wider than the image
    ],
)
def test_draw_boxes_keeps_the_label_in_the_image_and_off_the_box(box, where):
    image = np.zeros((100, 100, 3), np.uint8)
    drawn = heatmap.draw_boxes(image, [box], 1.0)
    if where == "corner":  # the box is the image: the label can only go inside it
        sprite = heatmap.label_sprite(box.label, (100, 100))
        assert heatmap.label_rect((0, 0, 100, 100), sprite.size, (100, 100))[:2] == (3, 3)
        assert _changed(image, drawn)[3 : 3 + sprite.size[1], 3 : 3 + sprite.size[0]].any()
        return
    x0, y0, x1, y1 = _assert_box_drawn(image, drawn, box, 1.0, 2)
    placed = {
        "above": y1 <= box.y,
        "below": y0 >= box.y + box.h,
        "right": x0 >= box.x + box.w,
        "left": x1 <= box.x,
    }
    assert placed[where], (x0, y0, x1, y1)


def test_draw_boxes_checks_its_input():
    image = np.zeros((100, 100, 3), np.uint8)
    assert np.array_equal(heatmap.draw_boxes(image, [], 1.0), image)
    with pytest.raises(ValueError, match="uint8"):
        heatmap.draw_boxes(np.zeros((10, 10)), [], 1.0)
    with pytest.raises(ValueError, match="scale"):
        heatmap.draw_boxes(image, [], 0.0)


# -- report rules ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (0.0, "Low"),
        (0.299, "Low"),
        (0.3, "Borderline"),
        (0.399, "Borderline"),
        (0.4, "High"),
        (1.0, "High"),
    ],
)
def test_risk_level_rule(score, level):
    assert risk_level(score, 0.4) == level  # without validation predictions: 0.75·t


@pytest.mark.parametrize(
    ("score", "margin", "level"),
    [
        (0.5, 0.0, "High"),
        (0.39, 0.05, "Borderline"),
        (0.1, 0.099, "Borderline"),
        (0.39, 0.1, "Low"),
    ],
)
def test_risk_level_from_the_validation_margin(score, margin, level):
    assert risk_level(score, 0.4, margin) == level


def test_confidence_reports_predictive_value_and_margin():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0, 1])
    s = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 0.55, 0.45])
    high = confidence(0.95, 0.5, y, s)
    assert high.positive and high.name == "PPV"
    assert (high.successes, high.total) == (4, 5)
    assert high.margin == pytest.approx(0.5) and high.level == "Far"
    near = confidence(0.49, 0.5, y, s)
    assert not near.positive and near.name == "NPV" and near.level == "Near"
    assert "NPV" in near.sentence("abnormal") and near.sentence("abnormal").startswith("Near the")


def test_operating_points_from_the_table_and_from_the_card(zoo_dir):
    card = Registry(zoo_dir).card("binary-test")
    table = ThresholdTable([0, 0, 1, 1, 1], [0.1, 0.4, 0.35, 0.8, 0.9])
    points = operating_points(table, card, cost_ratio=5.0)
    assert points["Card default"] == 0.5
    assert {"Youden", "Sensitivity 90%", "Specificity 95%", "Min cost (FN:FP ratio)"} <= set(points)
    assert points["Sensitivity 95%"] <= points["Youden"]
    from_card = operating_points(None, card)
    assert from_card == {"Card default": 0.5, "Youden": 0.4}
    single = operating_points(ThresholdTable([1, 1], [0.2, 0.3]), card)
    assert "Youden" not in single  # undefined with one class


def test_recommendations_mention_modality_and_stay_research_only(zoo_dir):
    card = Registry(zoo_dir).card("binary-test")
    items = recommendations(
        "High", "abnormal", confidence_level="Near", modality_matches=False, card=card
    )
    text = " ".join(items)
    assert "outside its intended use" in text
    assert "not a diagnosis" in text
    assert "could flip the call" in text


@pytest.mark.parametrize("level", ["Low", "Borderline", "High"])
@pytest.mark.parametrize("distance", ["Near", "Moderate", "Far", None])
def test_the_words_of_a_report_never_contradict_each_other(zoo_dir, level, distance):
    # "well below the threshold" beside "close to the threshold… could flip" once shipped
    card = Registry(zoo_dir).card("binary-test")
    items = recommendations(
        level, "abnormal", confidence_level=distance, modality_matches=True, card=card
    )
    text = " ".join(items)
    assert "well below" not in text
    assert sum("near" in item or "could flip" in item for item in items) <= 1  # said once
    if level == "Low":
        assert "near" not in text and "could flip" not in text
    assert ("at or above" in text) == (level == "High")


def test_scores_are_shown_with_enough_decimals():
    assert fmt_score(0.5011348, 0.5011355) == "0.50113"
    assert fmt_score(0.50113481, 0.50113489) == "0.5011348"
    assert fmt_score(0.25, 0.5) == "0.250"


# -- PDF ------------------------------------------------------------------------------


def test_pdf_report_is_built_in_memory(zoo_dir):
    card = Registry(zoo_dir).card("multi-test")
    rgb = np.zeros((40, 30, 3), np.uint8)
    content = ReportContent(
        file_name="chest–ünïcode ≥ 中.png",
        scan_summary={"modality": "OT"},
        card=card,
        label="pneumonia",
        score=0.7,
        threshold=0.4,
        operating_point="Youden",
        risk_level="High",
        verdict=("Most probable label", "pneumonia"),
        probabilities={"normal": 0.1, "pneumonia": 0.7, "tuberculosis": 0.2},
        validation_sensitivity=0.9,
        validation_specificity=float("nan"),
        confidence="High confidence",
        recommendations=["Compare with the reference."],
        rules=["Low < 0.75·t ≤ Moderate < t ≤ High"],
        original=rgb,
        processed=np.zeros((16, 16), np.uint8),
        heatmap=rgb,
    )
    pdf = build_report(content)
    assert pdf.startswith(b"%PDF") and len(pdf) > 2000
    content.heatmap = None
    assert build_report(content).startswith(b"%PDF")
    assert latin1("0.75·t ≤ t – 中") == "0.75*t <= t - ?"


# -- batches --------------------------------------------------------------------------


def test_zip_members_are_read_in_memory_and_names_are_only_labels(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = zip_of(
        {
            "../../escape.png": png_bytes(),
            "a/b.png": png_bytes(1),
            "__MACOSX/x": b"",
            "a/.hidden": b"x",
        }
    )
    files = read_zip(data)
    assert sorted(f.name for f in files) == ["../../escape.png", "a/b.png"]
    assert list(tmp_path.iterdir()) == []  # nothing extracted to disk
    assert load_scan(files[1].data).shape == (96, 80)


def test_zip_limits_are_checked_from_the_directory():
    with pytest.raises(BatchInputError, match="at most 3"):
        read_zip(zip_of({f"{i}.png": b"x" for i in range(4)}), max_files=3)
    with pytest.raises(BatchInputError, match="would expand"):
        read_zip(zip_of({"a": b"x" * 2000}, zipfile.ZIP_STORED), max_total_bytes=1000)
    with pytest.raises(BatchInputError, match="ZIP bomb"):
        read_zip(zip_of({"a": b"\0" * 1_000_000}))
    with pytest.raises(BatchInputError, match="not a readable ZIP"):
        read_zip(b"PK\x03\x04garbage")


def test_collect_files_expands_zips_and_counts_files():
    files = collect_files([("x.zip", zip_of({"1.png": b"1", "2.png": b"2"})), ("3.png", b"3")])
    assert [f.name for f in files] == ["1.png", "2.png", "3.png"]
    assert is_zip(zip_of({"a": b"a"})) and not is_zip(png_bytes())
    with pytest.raises(BatchInputError, match="at most 2"):
        collect_files([("a", b"1"), ("b", b"2"), ("c", b"3")], max_files=2)


def test_labels_csv_matching():
    labels = read_labels_csv(b"\xef\xbb\xbfPath,Label\ncases/a.png,abnormal\nb.png,normal\n,x\n")
    assert labels == {"cases/a.png": "abnormal", "b.png": "normal"}
    assert match_label("cases/a.png", labels) == "abnormal"
    assert match_label("./cases/a.png", labels) == "abnormal"
    assert match_label("other/b.png", labels) == "normal"  # by base name
    assert match_label("c.png", labels) is None
    assert match_label("x/a.png", {"1/a.png": "n", "2/a.png": "m"}) is None  # ambiguous
    for bad, message in (
        (b"a,b\n1,2\n", "'path' and 'label'"),
        (b"\xff\xfe", "UTF-8"),
        (b"path,label\n", "'path' and 'label'"),
    ):
        with pytest.raises(BatchInputError, match=message):
            read_labels_csv(bad)


# -- scans ----------------------------------------------------------------------------


def test_samples_are_found_only_when_present(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDZOO_SAMPLES_DIR", str(tmp_path / "none"))
    assert find_samples() == []
    folder = tmp_path / "samples"
    folder.mkdir()
    (folder / "a.png").write_bytes(png_bytes())
    (folder / "notes.txt").write_text("x")
    monkeypatch.setenv("MEDZOO_SAMPLES_DIR", str(folder))
    assert [p.name for p in find_samples()] == ["a.png"]


def test_scan_summary_has_no_patient_identifiers():
    data = dicom_bytes("rtdose.dcm")
    scan = load_scan(data, filename="dose")
    rows = summary_rows(scan, "dose")
    assert "Lastname" not in str(rows) and "Firstname" not in str(rows)
    assert rows["frames"] == f"1 of {scan.frame_count}"
    assert window_choices(load_scan(dicom_bytes("CT_small.dcm")))[2:] == [
        "lung",
        "mediastinum",
        "bone",
        "brain",
        "soft_tissue",
        "abdomen",
        "liver",
    ]
    assert window_choices(load_scan(png_bytes())) == []
    upload = Upload.from_bytes(b"abc", "")
    assert upload.name == "scan" and len(upload.digest) == 64


def test_root_conftest_helper_is_reachable():
    assert Path(__file__).with_name("app_helpers.py").is_file()


def test_the_scores_table_shows_no_none_and_one_probabilities_column():
    import pandas as pd

    from ui.batch import display_scores

    frame = pd.DataFrame(
        [
            {"file": "a", "model": "bin", "true_label": None, "error": None, "score": 0.7,
             "predicted": "abnormal", "threshold": 0.5, "p_normal": 0.3, "p_abnormal": 0.7,
             "p_pneumonia": None},
            {"file": "a", "model": "multi", "true_label": None, "error": None, "score": 0.6,
             "predicted": "pneumonia", "threshold": None, "p_normal": 0.4, "p_abnormal": None,
             "p_pneumonia": 0.6},
        ]
    )  # fmt: skip
    shown = display_scores(frame)
    text = shown.to_string()
    assert "None" not in text and "nan" not in text.lower()
    assert list(shown["probabilities"]) == [
        "normal 0.300 · abnormal 0.700",
        "normal 0.400 · pneumonia 0.600",
    ]
    assert list(shown["threshold"]) == ["0.500", "— (top label)"]
    assert "true label" not in shown  # no labels given: no empty column


def test_chart_legends_get_a_row_each_so_none_is_cut():
    from ui import charts
    from ui.stats import compute_curves

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    curves = compute_curves(y, rng.random(200), band=False)
    one = charts.roc_figure([("a", curves)])
    four = charts.roc_figure([(name, curves) for name in "abcd"])
    # chance + one curve per model: the bottom margin grows by a row per entry
    assert four.layout.margin.b - one.layout.margin.b == 3 * 20
