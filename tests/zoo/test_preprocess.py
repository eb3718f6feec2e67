import numpy as np
import pytest

from zoo.errors import RecipeError
from zoo.imaging.scan import Scan
from zoo.preprocess import Recipe, preprocess, preprocess_batch

FULL_RECIPE = {
    "input_size": [64, 48],
    "channels": 3,
    "aspect": "pad",
    "clahe": {"clip_limit": 2.0, "tile_grid": 4},
    "adaptive_equalization": {"kernel_fraction": 0.25, "clip_limit": 0.01, "blend": 0.5},
    "denoise": {"method": "nlmeans", "strength": 5},
    "normalization": {"scale": 255.0, "mean": [127.5], "std": [127.5]},
}


def gradient(height: int = 100, width: int = 200) -> np.ndarray:
    rng = np.random.default_rng(1)
    ramp = np.linspace(0, 1, width, dtype=np.float32)[np.newaxis].repeat(height, 0)
    return np.clip(ramp + rng.normal(0, 0.05, (height, width)).astype(np.float32), 0, 1)


class TestRecipe:
    def test_round_trip_through_card_data(self):
        recipe = Recipe.from_dict(FULL_RECIPE)
        assert Recipe.from_dict(recipe.to_dict()) == recipe

    @pytest.mark.parametrize(
        ("change", "match"),
        [
            ({"input_size": [4, 4]}, "input_size"),
            ({"input_size": "224"}, "input_size"),
            ({"channels": 2}, "channels must be 1 or 3"),
            ({"aspect": "squash"}, "aspect"),
            ({"denoise": {"method": "wavelet", "strength": 3}}, "denoise.method"),
            ({"clahe": {"clip": 2}}, "clahe"),
            ({"normalization": {"mean": [0, 0], "std": [1]}}, "normalization.mean"),
            ({"colour": "grey"}, "unknown recipe fields"),
            ({"color": "rgb", "channels": 1}, "color='rgb' needs channels=3"),
        ],
    )
    def test_bad_fields_raise(self, change, match):
        with pytest.raises(RecipeError, match=match):
            Recipe.from_dict({**FULL_RECIPE, **change})

    def test_input_size_required(self):
        with pytest.raises(RecipeError, match="'input_size' is required"):
            Recipe.from_dict({"channels": 3})


class TestPreprocess:
    def test_shapes_dtypes_and_range(self):
        out = preprocess(gradient(), FULL_RECIPE)
        assert out.input.shape == (1, 64, 48, 3)
        assert out.input.dtype == np.float32
        assert out.display.shape == (64, 48) and out.display.dtype == np.uint8
        assert out.input.min() >= -1.0 and out.input.max() <= 1.0

    def test_deterministic(self):
        scan = Scan(
            pixels=gradient(), modality="CR", photometric="MONOCHROME2", source_format="png"
        )
        first, second = preprocess(scan, FULL_RECIPE), preprocess(scan, FULL_RECIPE)
        assert np.array_equal(first.input, second.input)
        assert np.array_equal(first.display, second.display)

    def test_pad_keeps_aspect_and_reports_content_box(self):
        out = preprocess(gradient(100, 200), {"input_size": [100, 100], "channels": 1})
        assert out.content_box == (25, 0, 75, 100)
        assert out.input[0, :25].max() == 0.0 and out.input[0, 75:].max() == 0.0

    def test_crop_reports_source_box(self):
        out = preprocess(gradient(100, 200), {"input_size": [50, 50], "aspect": "crop"})
        assert out.source_box == (0, 50, 100, 150)
        assert out.content_box == (0, 0, 50, 50)

    def test_stretch_fills_everything(self):
        out = preprocess(gradient(100, 200), {"input_size": [32, 32], "aspect": "stretch"})
        assert out.content_box == (0, 0, 32, 32)

    def test_enhancement_changes_the_image(self):
        plain = preprocess(gradient(), {"input_size": [64, 48]})
        enhanced = preprocess(gradient(), {"input_size": [64, 48], "clahe": {"clip_limit": 4.0}})
        assert not np.array_equal(plain.display, enhanced.display)

    @pytest.mark.parametrize("method", ["gaussian", "median", "bilateral", "nlmeans"])
    def test_denoise_reduces_noise(self, method):
        rng = np.random.default_rng(0)
        noisy = np.clip(0.5 + rng.normal(0, 0.1, (64, 64)), 0, 1).astype(np.float32)
        recipe = {"input_size": [64, 64], "denoise": {"method": method, "strength": 10}}
        assert (
            preprocess(noisy, recipe).display.std()
            < preprocess(noisy, {"input_size": [64, 64]}).display.std()
        )

    def test_colour_to_grey_uses_luma(self):
        rgb = np.zeros((8, 8, 3), dtype=np.float32)
        rgb[..., 1] = 1.0
        out = preprocess(rgb, {"input_size": [8, 8], "channels": 1})
        assert out.input[0, ..., 0] == pytest.approx(np.full((8, 8), 0.587), abs=1e-6)

    def test_rgb_mode_keeps_colour(self):
        rgb = np.zeros((8, 8, 3), dtype=np.float32)
        rgb[..., 0] = 1.0
        out = preprocess(rgb, {"input_size": [8, 8], "color": "rgb", "clahe": {}})
        assert out.display.shape == (8, 8, 3)
        assert out.display[..., 0].mean() > out.display[..., 2].mean()

    def test_nchw_layout(self):
        out = preprocess(gradient(), {"input_size": [16, 24], "layout": "NCHW"})
        assert out.input.shape == (1, 3, 16, 24)

    def test_normalization_formula(self):
        flat = np.full((10, 10), 0.5, dtype=np.float32)
        recipe = {
            "input_size": [10, 10],
            "normalization": {"scale": 255, "mean": [100], "std": [2]},
        }
        assert preprocess(flat, recipe).input == pytest.approx((0.5 * 255 - 100) / 2)

    def test_bad_pixels_shape_raises(self):
        with pytest.raises(RecipeError, match="shape"):
            preprocess(np.zeros((4, 4, 2), dtype=np.float32), {"input_size": [8, 8]})

    def test_batch_stacks(self):
        batch = preprocess_batch([gradient(), gradient(50, 50)], {"input_size": [16, 16]})
        assert batch.shape == (2, 16, 16, 3)
