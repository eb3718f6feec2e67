"""Every page works with a zoo of a single (multiclass) model, and with an empty one."""

import pytest
from app_helpers import ok, png_bytes, write_model_dir

PAGES = ["home", "analyze", "compare", "thresholds", "metrics", "batch", "model_zoo"]


@pytest.mark.parametrize("page", PAGES)
def test_single_model_zoo(open_page, tmp_path, page):
    root = tmp_path / "one"
    write_model_dir(root, "only-model", labels=("a", "b", "c"), sigmoid=False, channels=3)
    at = open_page(page, models_dir=root)
    uploaders = [u for u in at.file_uploader if u.key in ("analyze_upload", "compare_upload")]
    if uploaders:
        uploaders[0].set_value(("scan.png", png_bytes(), "image/png"))
        ok(at.run())
        assert at.metric
    assert not at.error
    assert "Research and teaching only" in at.sidebar.warning[0].value


@pytest.mark.parametrize("page", PAGES)
def test_empty_zoo_says_how_to_get_models(open_page, tmp_path, page):
    at = open_page(page, models_dir=tmp_path)
    assert any("python -m pipeline build-zoo" in i.value for i in at.info)
