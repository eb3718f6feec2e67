"""Test-time augmentation views and their spread."""

import numpy as np
import pytest

from zoo.errors import CardError
from zoo.trust.tta import View, augment, default_views, spread, views_from_section


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return rng.random((2, 50, 40, 3)).astype(np.float32)


def test_default_views_are_eight_and_flip_only_when_trained_with_flips():
    plain, flipped = default_views(), default_views(flip=True)
    assert len(plain) == len(flipped) == 8
    assert all(v.kind != "hflip" for v in plain)
    assert sum(v.kind == "hflip" for v in flipped) == 1
    assert plain[0].kind == "identity"


def test_augment_keeps_each_image_views_adjacent(batch):
    views = default_views()
    out = augment(batch, views)
    assert out.shape == (2 * len(views), 50, 40, 3)
    np.testing.assert_array_equal(out[0], batch[0])  # identity of image 0
    np.testing.assert_array_equal(out[len(views)], batch[1])  # identity of image 1


def test_shift_moves_content_and_repeats_the_edge(batch):
    (shifted,) = augment(batch[:1], [View("shift", dx=0.1)])
    # 10% of 40 columns = 4: column c of the result is column c - 4 of the input
    np.testing.assert_array_equal(shifted[:, 4:], batch[0][:, :-4])
    np.testing.assert_array_equal(shifted[:, :4], np.repeat(batch[0][:, :1], 4, axis=1))
    (up,) = augment(batch[:1], [View("shift", dy=-0.1)])
    np.testing.assert_array_equal(up[:-5], batch[0][5:])


def test_contrast_keeps_the_mean_and_scales_deviations(batch):
    (low,) = augment(batch[:1], [View("contrast", factor=0.5)])
    mean = batch[0].mean(axis=(0, 1))
    np.testing.assert_allclose(low.mean(axis=(0, 1)), mean, atol=1e-5)
    np.testing.assert_allclose(low - mean, 0.5 * (batch[0] - mean), atol=1e-5)


def test_hflip_and_nchw_layout(batch):
    nchw = np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
    out = augment(nchw, [View("identity"), View("hflip")], layout="NCHW")
    assert out.shape == (4, 3, 50, 40)
    np.testing.assert_array_equal(out[1], nchw[0][:, :, ::-1])


def test_views_round_trip_through_the_card():
    section = {"views": [v.to_dict() for v in default_views(flip=True)]}
    assert views_from_section(section) == default_views(flip=True)
    assert views_from_section(None) == default_views()


@pytest.mark.parametrize(
    "views",
    [[], [{"kind": "rotate"}], [{"kind": "shift", "dx": "far"}], [{"kind": "shift", "dx": 0.9}]],
)
def test_bad_views_are_card_errors(views):
    with pytest.raises(CardError, match=r"uncertainty\.views"):
        views_from_section({"views": views})


def test_spread_is_min_to_max_per_label():
    p = np.array([[0.2, 0.8], [0.4, 0.6], [0.3, 0.7]])
    result = spread(p, ("a", "b"))
    assert result.low["b"] == pytest.approx(0.6)
    assert result.high["b"] == pytest.approx(0.8)
    assert result.mean["a"] == pytest.approx(0.3)
    assert result.width("b") == pytest.approx(0.2)
    with pytest.raises(ValueError):
        spread(p, ("a",))
