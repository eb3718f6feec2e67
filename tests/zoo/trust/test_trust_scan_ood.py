"""The combined embedding + input-image out-of-distribution score."""

import json

import numpy as np
import pytest

from zoo.errors import CardError
from zoo.trust.scan_ood import (
    METHOD,
    ScanOOD,
    descriptor_ranges,
    fit_scan_ood,
    input_descriptor,
)


def _scans(rng, n, *, kind):
    """Grey 32×32 'scans': a bright disc on dark (own kind) or a dark band on bright."""
    yy, xx = np.mgrid[:32, :32]
    images = []
    for _ in range(n):
        if kind == "disc":
            cy, cx = rng.normal(16, 1.5, size=2)
            image = ((yy - cy) ** 2 + (xx - cx) ** 2 < rng.uniform(60, 90)).astype(np.float32)
            image = 0.1 + 0.7 * image
        else:
            image = np.full((32, 32), 0.9, np.float32)
            image[:, 10:22] = 0.2
        images.append(image + rng.normal(0, 0.03, (32, 32)).astype(np.float32))
    return np.repeat(np.stack(images)[..., None], 3, axis=3)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    train_x, val_x = _scans(rng, 300, kind="disc"), _scans(rng, 200, kind="disc")
    # embeddings: the same Gaussian for own-kind images
    train_e, val_e = rng.normal(size=(300, 16)), rng.normal(size=(200, 16))
    section = fit_scan_ood(train_e, val_e, train_x, val_x)
    return section, ScanOOD.from_section(section), rng


def test_at_most_the_target_share_of_validation_is_flagged(fitted):
    section = fitted[0]
    assert section["method"] == METHOD
    assert section["validation_flag_rate"] <= section["flag_rate_target"] == 0.05
    assert section["validation_flag_rate"] > 0  # the threshold is a real quantile, not +inf


def test_other_kind_images_are_flagged_through_the_input_side(fitted):
    _, detector, rng = fitted
    # embeddings look in-distribution: only the image itself gives them away
    other_x, other_e = _scans(rng, 50, kind="band"), rng.normal(size=(50, 16))
    ratios = detector.ratios(other_e, other_x)
    assert np.mean(detector.flags(other_e, other_x)) >= 0.95
    assert np.median(ratios[:, 1]) > np.median(ratios[:, 0])


def test_far_embeddings_are_flagged_through_the_embedding_side(fitted):
    _, detector, rng = fitted
    own_x, far_e = _scans(rng, 50, kind="disc"), rng.normal(4.0, 1.0, size=(50, 16))
    assert np.mean(detector.flags(far_e, own_x)) >= 0.95


def test_blank_and_noise_inputs_are_flagged(fitted):
    _, detector, rng = fitted
    blank = np.zeros((3, 32, 32, 3), np.float32)
    noise = rng.random((3, 32, 32, 3)).astype(np.float32)
    emb = rng.normal(size=(3, 16))
    assert detector.flags(emb, blank).all()
    assert detector.flags(emb, noise).all()


def test_json_round_trip_keeps_scores(fitted):
    section, detector, rng = fitted
    again = ScanOOD.from_section(json.loads(json.dumps(section)))
    x, e = _scans(rng, 5, kind="disc"), rng.normal(size=(5, 16))
    np.testing.assert_allclose(again.score(e, x), detector.score(e, x))


def test_percentile_is_monotone_and_bounded(fitted):
    _, detector, _ = fitted
    scores = np.linspace(0, 5 * detector.threshold, 50)
    shares = [detector.percentile(s) for s in scores]
    assert shares[0] == 0.0 and shares[-1] == 100.0
    assert np.all(np.diff(shares) >= 0)
    assert 90 <= detector.percentile(detector.threshold) <= 100


def test_descriptor_is_layout_independent():
    rng = np.random.default_rng(1)
    x = rng.random((4, 20, 24, 3)).astype(np.float32)
    ranges = descriptor_ranges(x)
    nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    np.testing.assert_allclose(
        input_descriptor(x, ranges),
        input_descriptor(nchw, {**ranges, "layout": "NCHW"}),
        atol=1e-6,  # float32 sums in another memory order
    )
    assert input_descriptor(x, ranges).shape == (4, 32 + 16 + 16 + 2)


def test_cards_with_the_version_1_descriptor_are_still_served(fitted):
    rng = np.random.default_rng(3)
    x = rng.random((4, 20, 24, 3)).astype(np.float32)
    ranges = {k: v for k, v in descriptor_ranges(x).items() if k != "version"}
    assert input_descriptor(x, ranges).shape == (4, 32 + 16 + 64 + 1)
    # a v2 summary read as a v1 one is refused with the card, not at the first upload
    section = json.loads(json.dumps(fitted[0]))
    section["input"]["descriptor"].pop("version")
    with pytest.raises(CardError, match="summarises 66 features, but descriptor version 1"):
        ScanOOD.from_section(section)


def _outlined(rng, n, *, inside):
    """64×64 'slices': a bright outline around grey (own kind) or dark (other) tissue.

    Sizes are chosen so that both kinds have similar whole-image grey histograms:
    the own kind has a small grey body on a wide black background, the other a frame-
    filling body that is mostly dark inside.
    """
    yy, xx = np.mgrid[:64, :64]
    images = []
    for _ in range(n):
        cy, cx = rng.normal(32, 1.0, size=2)
        if inside == "grey":
            radius = rng.uniform(17, 19)
            r2 = (yy - cy) ** 2 + (xx - cx) ** 2
            image = np.where(r2 < radius**2, 0.5, 0.0)
            image[(r2 >= (radius - 2) ** 2) & (r2 < radius**2)] = 0.9
        else:
            ry, rx = rng.uniform(29, 31), rng.uniform(29, 31)
            r2 = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2
            image = np.where(r2 < 1.0, 0.02, 0.0)
            image[(r2 >= 0.88) & (r2 < 1.0)] = 0.9
            blob = ((yy - cy) ** 2 + (xx - cx) ** 2) < rng.uniform(140, 170)
            image[blob] = 0.5
        images.append(np.clip(image + rng.normal(0, 0.02, (64, 64)), 0, 1).astype(np.float32))
    return np.repeat(np.stack(images)[..., None], 3, axis=3)


def test_dark_inside_a_body_outline_is_flagged_through_the_body_histogram():
    # lung CT against a brain model, in miniature: the whole-image histograms barely differ,
    # the grey levels inside the outline do
    rng = np.random.default_rng(4)
    train_x, val_x = _outlined(rng, 200, inside="grey"), _outlined(rng, 100, inside="grey")
    other_x = _outlined(rng, 40, inside="dark")
    emb = rng.normal(size=(340, 8))
    section = fit_scan_ood(emb[:200], emb[200:300], train_x, val_x)
    detector = ScanOOD.from_section(section)
    assert np.mean(detector.flags(emb[300:], other_x)) >= 0.95
    ranges = section["input"]["descriptor"]
    own, other = input_descriptor(val_x, ranges) ** 2, input_descriptor(other_x, ranges) ** 2
    whole, body = slice(0, 32), slice(32 + 16, 32 + 16 + 16)  # histograms enter as roots

    def apart(part):
        return np.abs(own[:, part].mean(axis=0) - other[:, part].mean(axis=0)).sum()

    assert apart(body) > 3 * apart(whole)
    assert other[:, body][:, 0].mean() > 0.6 > 0.1 > own[:, body][:, 0].mean()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: s.update(method="knn"), "ood.method"),
        (lambda s: s.pop("embedding"), "ood.embedding"),
        (lambda s: s["input"].pop("descriptor"), "descriptor"),
        (lambda s: s["input"]["descriptor"].update(layout="HWC"), "layout"),
        (lambda s: s["input"]["descriptor"].update(grey_high=-1.0), "ranges"),
        (lambda s: s.update(threshold=float("nan")), "ood.threshold"),
        (lambda s: s.update(validation_quantiles=[1.0, 0.0] * 50 + [1.0]), "quantiles"),
        (lambda s: s["embedding"].update(method="other"), "ood: "),
    ],
)
def test_malformed_sections_are_card_errors(fitted, change, match):
    section = json.loads(json.dumps(fitted[0]))
    change(section)
    with pytest.raises(CardError, match=match):
        ScanOOD.from_section(section)


def test_the_stored_threshold_keeps_the_validation_flag_rate():
    # a rounded threshold once flagged the validation image sitting at it (seed 2: 5% → 10%)
    rng = np.random.default_rng(2)
    train_e, val_e = rng.normal(size=(40, 8)), rng.normal(size=(20, 8))
    train_x = rng.random((40, 16, 16, 3)).astype(np.float32)
    val_x = rng.random((20, 16, 16, 3)).astype(np.float32)
    section = fit_scan_ood(train_e, val_e, train_x, val_x)
    assert section["validation_flag_rate"] <= 0.05
    detector = ScanOOD.from_section(json.loads(json.dumps(section)))
    assert np.mean(detector.flags(val_e, val_x)) == section["validation_flag_rate"]
