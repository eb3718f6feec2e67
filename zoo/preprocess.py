"""The one code path that turns a :class:`~zoo.imaging.Scan` into a model input.

Serving and training both call :func:`preprocess`; there is no second
implementation. What it does is configured by a :class:`Recipe`, which is plain
data stored in each model card (``card["preprocessing"]``).

Steps, always in this order:

1. **Colour**: ``color="grey"`` converts colour scans to luma (ITU-R BT.601);
   ``color="rgb"`` keeps colour and replicates grey scans to three channels.
2. **Resize** to ``input_size`` (height, width) with the aspect policy:

   - ``"pad"`` (letterbox): scale the longer side to fit, centre, pad with black.
     Nothing is cropped or distorted; the default.
   - ``"crop"``: scale the shorter side to fit and cut the centre.
   - ``"stretch"``: resize each axis independently (distorts anatomy).

   Area interpolation when shrinking, bilinear when enlarging. Enhancement runs
   after the resize so that its cost and its effect do not depend on the
   resolution the scan arrived in.
3. **CLAHE** (``clahe``): OpenCV contrast-limited adaptive histogram equalization,
   ``clip_limit`` in OpenCV's units, ``tile_grid`` tiles per side.
4. **Adaptive equalization** (``adaptive_equalization``): adaptive histogram
   equalization with scikit-image's ``equalize_adapthist`` conventions
   (``kernel_fraction`` of the image per tile, ``clip_limit`` normalized to
   [0, 1]), computed with OpenCV, then blended with its input by ``blend``.
5. **Denoise** (``denoise``): ``gaussian``, ``median``, ``bilateral`` or
   ``nlmeans`` (OpenCV non-local means) with a ``strength``.
6. **Normalize**: ``(x * scale - mean) / std`` per channel, x in [0, 1].

Steps 3-5 run on 8-bit images (as viewers display them) and are skipped when the
recipe leaves them out, in which case the float image is not quantized.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import cv2
import numpy as np

from zoo.errors import RecipeError
from zoo.imaging.scan import Scan

AspectPolicy = Literal["pad", "crop", "stretch"]
ColorMode = Literal["grey", "rgb"]
DenoiseMethod = Literal["gaussian", "median", "bilateral", "nlmeans"]

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class Clahe:
    clip_limit: float = 2.0
    tile_grid: int = 8


@dataclass(frozen=True)
class AdaptiveEqualization:
    kernel_fraction: float = 0.125
    clip_limit: float = 0.01
    blend: float = 1.0


@dataclass(frozen=True)
class Denoise:
    method: DenoiseMethod = "bilateral"
    strength: float = 5.0


@dataclass(frozen=True)
class Normalization:
    scale: float = 1.0
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)


@dataclass(frozen=True)
class Recipe:
    """How a model wants its input; stored as ``card["preprocessing"]``.

    ``input_size`` is (height, width). ``channels`` is 1 or 3; ``layout`` is
    ``"NHWC"`` (Keras) or ``"NCHW"``.
    """

    input_size: tuple[int, int]
    channels: int = 3
    color: ColorMode = "grey"
    aspect: AspectPolicy = "pad"
    clahe: Clahe | None = None
    adaptive_equalization: AdaptiveEqualization | None = None
    denoise: Denoise | None = None
    normalization: Normalization = field(default_factory=Normalization)
    layout: Literal["NHWC", "NCHW"] = "NHWC"

    def __post_init__(self) -> None:
        _check_recipe(self)

    @property
    def enhances(self) -> bool:
        return any((self.clahe, self.adaptive_equalization, self.denoise))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipe:
        """Build a recipe from card data; raises :class:`RecipeError` naming the bad field."""
        if not isinstance(data, Mapping):
            raise RecipeError(
                f"a preprocessing recipe must be a mapping, got {type(data).__name__}"
            )
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise RecipeError(f"unknown recipe fields {unknown}; allowed: {sorted(known)}")
        if "input_size" not in data:
            raise RecipeError("recipe field 'input_size' is required, e.g. [224, 224]")
        kwargs: dict[str, Any] = dict(data)
        kwargs["input_size"] = _pair(data["input_size"], "input_size")
        nested = {
            "clahe": Clahe,
            "adaptive_equalization": AdaptiveEqualization,
            "denoise": Denoise,
            "normalization": Normalization,
        }
        for name, step_cls in nested.items():
            value = data.get(name)
            if value is None:
                continue
            if not isinstance(value, Mapping):
                raise RecipeError(f"recipe field {name!r} must be a mapping or null, got {value!r}")
            try:
                step = step_cls(**value)
            except TypeError as exc:
                raise RecipeError(f"recipe field {name!r}: {exc}") from exc
            if isinstance(step, Normalization):
                step = Normalization(step.scale, tuple(step.mean), tuple(step.std))
            kwargs[name] = step
        return cls(**kwargs)


def _pair(value: Any, name: str) -> tuple[int, int]:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
        raise RecipeError(f"recipe field {name!r} must be [height, width], got {value!r}")
    try:
        height, width = (int(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise RecipeError(f"recipe field {name!r} must hold integers, got {value!r}") from exc
    return height, width


def _check_recipe(recipe: Recipe) -> None:
    height, width = recipe.input_size
    if not (8 <= height <= 2048 and 8 <= width <= 2048):
        raise RecipeError(f"input_size must lie in [8, 2048] per side, got {recipe.input_size!r}")
    if recipe.channels not in (1, 3):
        raise RecipeError(f"channels must be 1 or 3, got {recipe.channels!r}")
    if recipe.color not in ("grey", "rgb"):
        raise RecipeError(f"color must be 'grey' or 'rgb', got {recipe.color!r}")
    if recipe.color == "rgb" and recipe.channels != 3:
        raise RecipeError("color='rgb' needs channels=3")
    if recipe.aspect not in ("pad", "crop", "stretch"):
        raise RecipeError(f"aspect must be 'pad', 'crop' or 'stretch', got {recipe.aspect!r}")
    if recipe.layout not in ("NHWC", "NCHW"):
        raise RecipeError(f"layout must be 'NHWC' or 'NCHW', got {recipe.layout!r}")
    if recipe.clahe is not None and not (
        recipe.clahe.clip_limit >= 0 and 1 <= recipe.clahe.tile_grid <= 64
    ):
        raise RecipeError(
            f"clahe needs clip_limit >= 0 and tile_grid in [1, 64], got {recipe.clahe!r}"
        )
    ahe = recipe.adaptive_equalization
    if ahe is not None and not (
        0 < ahe.kernel_fraction <= 1 and 0 <= ahe.clip_limit <= 1 and 0 <= ahe.blend <= 1
    ):
        raise RecipeError(
            "adaptive_equalization needs kernel_fraction in (0, 1], clip_limit and blend "
            f"in [0, 1], got {ahe!r}"
        )
    if recipe.denoise is not None:
        if recipe.denoise.method not in ("gaussian", "median", "bilateral", "nlmeans"):
            raise RecipeError(
                "denoise.method must be 'gaussian', 'median', 'bilateral' or 'nlmeans', "
                f"got {recipe.denoise.method!r}"
            )
        if not 0 < recipe.denoise.strength <= 50:
            raise RecipeError(
                f"denoise.strength must lie in (0, 50], got {recipe.denoise.strength}"
            )
    norm = recipe.normalization
    for name, values in (("mean", norm.mean), ("std", norm.std)):
        if len(values) not in (1, recipe.channels):
            raise RecipeError(
                f"normalization.{name} needs 1 or {recipe.channels} values, got {values!r}"
            )
    if any(s <= 0 for s in norm.std) or norm.scale <= 0:
        raise RecipeError(f"normalization scale and std must be positive, got {norm!r}")


@dataclass(frozen=True)
class Preprocessed:
    """A model input and what it looked like.

    Attributes
    ----------
    input : ndarray of float32, shape (1, H, W, C) or (1, C, H, W)
        Ready for the model.
    display : ndarray of uint8, shape (H, W) or (H, W, 3)
        The processed image before normalization, for the original-vs-processed view.
    content_box : tuple of int
        ``(top, left, bottom, right)`` of the scan inside the model input; outside
        it lies padding. Maps heatmaps back onto the original scan.
    source_box : tuple of int
        ``(top, left, bottom, right)`` of the part of the original scan that the
        model sees (smaller than the scan only with ``aspect="crop"``).
    """

    input: np.ndarray
    display: np.ndarray
    content_box: tuple[int, int, int, int]
    source_box: tuple[int, int, int, int]


def preprocess(scan: Scan | np.ndarray, recipe: Recipe | Mapping[str, Any]) -> Preprocessed:
    """Turn a scan (or its ``pixels`` in [0, 1]) into a model input following ``recipe``.

    Deterministic: the same pixels and recipe give bit-identical output.
    """
    if not isinstance(recipe, Recipe):
        recipe = Recipe.from_dict(recipe)
    pixels = scan.pixels if isinstance(scan, Scan) else np.asarray(scan)
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise RecipeError(f"pixels must be (H, W) or (H, W, 3), got shape {pixels.shape}")
    image = _convert_color(pixels.astype(np.float32, copy=False), recipe.color)
    image, content_box, source_box = _resize(image, recipe.input_size, recipe.aspect)
    if recipe.enhances:
        display = _enhance(_to_uint8(image), recipe)
        image = display.astype(np.float32) * np.float32(1 / 255)
    else:
        display = _to_uint8(image)
    tensor = _normalize(_to_channels(image, recipe.channels), recipe.normalization)
    tensor = tensor.transpose(2, 0, 1) if recipe.layout == "NCHW" else tensor
    return Preprocessed(
        input=np.ascontiguousarray(tensor[np.newaxis]),
        display=display,
        content_box=content_box,
        source_box=source_box,
    )


def preprocess_batch(
    scans: Sequence[Scan | np.ndarray], recipe: Recipe | Mapping[str, Any]
) -> np.ndarray:
    """Stack :func:`preprocess` inputs of several scans into one batch."""
    if not isinstance(recipe, Recipe):
        recipe = Recipe.from_dict(recipe)
    return np.concatenate([preprocess(scan, recipe).input for scan in scans], axis=0)


def _convert_color(image: np.ndarray, color: ColorMode) -> np.ndarray:
    if image.ndim == 3 and color == "grey":
        return image @ _LUMA
    return image


def _resize(
    image: np.ndarray, size: tuple[int, int], aspect: AspectPolicy
) -> tuple[np.ndarray, tuple[int, int, int, int], tuple[int, int, int, int]]:
    target_h, target_w = size
    height, width = image.shape[:2]
    source_box = (0, 0, height, width)
    if aspect == "stretch":
        return _resample(image, target_w, target_h), (0, 0, target_h, target_w), source_box
    if aspect == "crop":
        scale = max(target_h / height, target_w / width)
        crop_h = min(height, round(target_h / scale))
        crop_w = min(width, round(target_w / scale))
        top, left = (height - crop_h) // 2, (width - crop_w) // 2
        source_box = (top, left, top + crop_h, left + crop_w)
        cropped = image[top : top + crop_h, left : left + crop_w]
        return _resample(cropped, target_w, target_h), (0, 0, target_h, target_w), source_box
    scale = min(target_h / height, target_w / width)
    new_h = max(1, min(target_h, round(height * scale)))
    new_w = max(1, min(target_w, round(width * scale)))
    resized = _resample(image, new_w, new_h)
    top, left = (target_h - new_h) // 2, (target_w - new_w) // 2
    canvas = np.zeros((target_h, target_w, *image.shape[2:]), dtype=np.float32)
    canvas[top : top + new_h, left : left + new_w] = resized
    return canvas, (top, left, top + new_h, left + new_w), source_box


def _resample(image: np.ndarray, width: int, height: int) -> np.ndarray:
    if image.shape[:2] == (height, width):
        return image
    shrinking = width * height < image.shape[0] * image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _enhance(image: np.ndarray, recipe: Recipe) -> np.ndarray:
    """CLAHE, adaptive equalization and denoising on an 8-bit image (grey or RGB)."""
    if image.ndim == 3:  # colour: enhance lightness only, so hues stay put
        lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
        lab[..., 0] = _enhance_grey(lab[..., 0], recipe)
        return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    return _enhance_grey(image, recipe)


def _enhance_grey(image: np.ndarray, recipe: Recipe) -> np.ndarray:
    if recipe.clahe is not None:
        tiles = (recipe.clahe.tile_grid, recipe.clahe.tile_grid)
        image = cv2.createCLAHE(recipe.clahe.clip_limit, tiles).apply(image)
    ahe = recipe.adaptive_equalization
    if ahe is not None:
        tiles_per_side = max(1, round(1 / ahe.kernel_fraction))
        # skimage's clip_limit is a fraction of a tile's pixels; OpenCV's is a
        # multiple of the mean bin height (pixels / 256 bins).
        clip = ahe.clip_limit * 256 if ahe.clip_limit > 0 else 0.0
        equalized = cv2.createCLAHE(clip, (tiles_per_side, tiles_per_side)).apply(image)
        if ahe.blend < 1:
            equalized = cv2.addWeighted(equalized, ahe.blend, image, 1 - ahe.blend, 0)
        image = equalized
    if recipe.denoise is not None:
        image = _denoise(image, recipe.denoise)
    return image


def _denoise(image: np.ndarray, denoise: Denoise) -> np.ndarray:
    strength = denoise.strength
    if denoise.method == "gaussian":
        return cv2.GaussianBlur(image, (0, 0), sigmaX=strength / 5)
    if denoise.method == "median":
        kernel = 2 * max(1, round(strength / 5)) + 1
        return cv2.medianBlur(image, kernel)
    if denoise.method == "bilateral":
        return cv2.bilateralFilter(image, d=5, sigmaColor=strength * 8, sigmaSpace=strength)
    return cv2.fastNlMeansDenoising(
        image, None, h=strength, templateWindowSize=5, searchWindowSize=11
    )


def _to_channels(image: np.ndarray, channels: int) -> np.ndarray:
    if image.ndim == 2:
        image = image[..., np.newaxis]
    if image.shape[2] == channels:
        return image
    if channels == 3:
        return np.repeat(image, 3, axis=2)
    return image[..., :1]


def _normalize(image: np.ndarray, norm: Normalization) -> np.ndarray:
    mean = np.asarray(norm.mean, dtype=np.float32)
    inv_std = np.float32(1.0) / np.asarray(norm.std, dtype=np.float32)
    return ((image * np.float32(norm.scale) - mean) * inv_std).astype(np.float32, copy=False)
