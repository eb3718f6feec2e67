"""Model architectures of the zoo (Keras 3, functional API).

Every builder returns a functional ``keras.Model`` with the same anatomy, which the
exporter relies on to compute class-activation maps inside the ONNX graph:

- a backbone ending in a layer named ``"features"`` (the last convolutional block,
  shape (h, w, k));
- a head: a pooling layer (``GlobalAveragePooling2D`` or ``Flatten``), then zero or
  more ``Dense(relu)`` layers each followed by ``Dropout``, then a final ``Dense``
  named ``"logits"`` (linear) and an ``Activation`` named ``"probabilities"``
  (sigmoid with one unit for binary tasks, softmax for multiclass).

``weights`` is ``"imagenet"`` (downloads Keras' ImageNet weights: needs internet),
``None`` (train from scratch) or a path to a local no-top weights file (``.h5`` /
``.weights.h5``), for the Keras-application backbones.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
from keras import layers, regularizers

Weights = str | Path | None

# Keras' default 0.99 lets the running statistics lag far behind the weights when an epoch
# is a few dozen steps (a few hundred scans): validation outputs then collapse onto one
# class while the ranking (AUC) is fine. 0.9 tracks within a couple of epochs.
BN_MOMENTUM = 0.9


def mobilenetv3_small(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    n_classes: int = 2,
    *,
    weights: Weights = None,
    dense_units: Sequence[int] = (128,),
    dropout: float = 0.3,
    l2: float = 1e-4,
    alpha: float = 1.0,
) -> keras.Model:
    """MobileNetV3Small backbone and a dense head with L2 regularization and dropout.

    The backbone rescales [0, 255] inputs itself (``include_preprocessing=True``): pair
    it with a recipe whose normalization has ``scale: 255``.
    """
    inputs = keras.Input(input_shape, name="input")
    backbone = keras.applications.MobileNetV3Small(
        input_shape=input_shape,
        include_top=False,
        weights=_keras_weights(weights),
        alpha=alpha,
        include_preprocessing=True,
    )
    _load_local_weights(backbone, weights)
    _track_quickly(backbone)
    features = layers.Activation("linear", name="features")(backbone(inputs))
    return _head(inputs, features, n_classes, "gap", dense_units, dropout, l2, "mobilenetv3_small")


def inceptionv3(
    input_shape: tuple[int, int, int] = (256, 256, 3),
    n_classes: int = 2,
    *,
    weights: Weights = None,
    dense_units: Sequence[int] = (1024,),
    dropout: float = 0.2,
    pool_before_flatten: int = 1,
) -> keras.Model:
    """InceptionV3 backbone with the ChestX-ray8 mass detector's head.

    Head: Flatten → Dense(1024, relu) → Dropout(0.2) → Dense(1, sigmoid). At 256 px the
    feature map is 6×6×2048, so the first dense layer alone holds 75 M weights;
    ``pool_before_flatten=2`` average-pools it to 3×3 first (19 M), which keeps the
    exported file within the zoo's size budget. Inputs in [-1, 1] (scale 2, mean 1).
    """
    inputs = keras.Input(input_shape, name="input")
    backbone = keras.applications.InceptionV3(
        input_shape=input_shape, include_top=False, weights=_keras_weights(weights)
    )
    _load_local_weights(backbone, weights)
    _track_quickly(backbone)
    features = backbone(inputs)
    if pool_before_flatten > 1:
        features = layers.AveragePooling2D(pool_before_flatten)(features)
    features = layers.Activation("linear", name="features")(features)
    return _head(inputs, features, n_classes, "flatten", dense_units, dropout, 0.0, "inceptionv3")


def resnet(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    n_classes: int = 3,
    *,
    weights: Weights = None,
    depth: str = "resnet18",
    width: int = 32,
    dense_units: Sequence[int] = (),
    dropout: float = 0.3,
    l2: float = 1e-4,
) -> keras.Model:
    """A ResNet backbone: ``resnet50`` (Keras application) or a compact ``resnet18``.

    ``resnet18`` is built here from basic residual blocks with ``width`` filters in the
    first stage (doubling per stage); it trains from scratch on a few hundred slices.
    Pretrained weights apply to ``resnet50`` only.
    """
    inputs = keras.Input(input_shape, name="input")
    if depth == "resnet50":
        backbone = keras.applications.ResNet50(
            input_shape=input_shape, include_top=False, weights=_keras_weights(weights)
        )
        _load_local_weights(backbone, weights)
        _track_quickly(backbone)
        x = backbone(inputs)
    elif depth == "resnet18":
        if weights is not None:
            raise ValueError("resnet18 has no pretrained weights; use weights=None or resnet50")
        x = _conv_bn_relu(inputs, width, 7, strides=2, name="stem")
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        for stage, filters in enumerate((width, width * 2, width * 4, width * 8)):
            for block in range(2):
                strides = 2 if stage > 0 and block == 0 else 1
                x = _basic_block(x, filters, strides, l2, name=f"stage{stage}_block{block}")
    else:
        raise ValueError(f"depth must be 'resnet18' or 'resnet50', got {depth!r}")
    features = layers.Activation("linear", name="features")(x)
    return _head(inputs, features, n_classes, "gap", dense_units, dropout, l2, depth)


def custom_cnn(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    n_classes: int = 2,
    *,
    width: int = 32,
    dense_units: Sequence[int] = (128,),
    dropout: float = 0.4,
    l2: float = 1e-4,
) -> keras.Model:
    """A CNN from scratch: stem; residual block with squeeze-and-excitation; inception
    module (1×1, 3×3, 5×5 and pooling branches) with CBAM channel and spatial
    attention; a deeper stage; global average pooling; a dense head with dropout.
    """
    inputs = keras.Input(input_shape, name="input")
    x = _conv_bn_relu(inputs, width, 5, strides=2, name="stem")
    x = layers.MaxPooling2D(2)(x)
    x = _residual_se_block(x, width * 2, l2, name="res_se")
    x = layers.MaxPooling2D(2)(x)
    x = _inception_module(x, width, l2, name="inception")
    x = _cbam(x, name="cbam")
    x = layers.MaxPooling2D(2)(x)
    x = _conv_bn_relu(x, width * 4, 3, name="deep1", l2=l2)
    x = _conv_bn_relu(x, width * 4, 3, name="deep2", l2=l2)
    x = layers.MaxPooling2D(2)(x)
    x = _conv_bn_relu(x, width * 8, 3, name="deep3", l2=l2)
    features = layers.Activation("linear", name="features")(x)
    return _head(inputs, features, n_classes, "gap", dense_units, dropout, l2, "custom_cnn")


ARCHITECTURES = {
    "mobilenetv3_small": mobilenetv3_small,
    "inceptionv3": inceptionv3,
    "resnet": resnet,
    "custom_cnn": custom_cnn,
}


def build(name: str, input_shape: tuple[int, int, int], n_classes: int, **options) -> keras.Model:
    """Build an architecture by name (as recipes name it)."""
    try:
        builder = ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}; known: {sorted(ARCHITECTURES)}") from None
    return builder(input_shape, n_classes, **options)


def _track_quickly(backbone: keras.Model) -> None:
    """Give a Keras application's batch norms :data:`BN_MOMENTUM`.

    The applications build theirs with momentum 0.99 (MobileNetV3: 0.999): after a few
    hundred steps from scratch their running statistics are still near the initial
    0 / 1, and every validation image gets the same output (AUC exactly 0.5), which
    early stopping then reads as "not learning".
    """
    for layer in backbone._flatten_layers():
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = BN_MOMENTUM


def _keras_weights(weights: Weights) -> str | None:
    return "imagenet" if weights == "imagenet" else None


def _load_local_weights(backbone: keras.Model, weights: Weights) -> None:
    if weights is None or weights == "imagenet":
        return
    path = Path(weights)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} not found (expected a no-top .h5)")
    backbone.load_weights(str(path))


def _head(
    inputs: keras.KerasTensor,
    features: keras.KerasTensor,
    n_classes: int,
    pooling: str,
    dense_units: Sequence[int],
    dropout: float,
    l2: float,
    name: str,
) -> keras.Model:
    pool = (
        layers.GlobalAveragePooling2D(name="pool")
        if pooling == "gap"
        else layers.Flatten(name="pool")
    )
    x = pool(features)
    regularizer = regularizers.L2(l2) if l2 else None
    for i, units in enumerate(dense_units):
        x = layers.Dense(
            units, activation="relu", kernel_regularizer=regularizer, name=f"hidden{i}"
        )(x)
        x = layers.Dropout(dropout, name=f"dropout{i}")(x)
    binary = n_classes == 2
    logits = layers.Dense(1 if binary else n_classes, name="logits")(x)
    probabilities = layers.Activation("sigmoid" if binary else "softmax", name="probabilities")(
        logits
    )
    return keras.Model(inputs, probabilities, name=name)


def _conv_bn_relu(
    x: keras.KerasTensor, filters: int, kernel: int, *, strides: int = 1, name: str, l2: float = 0.0
) -> keras.KerasTensor:
    regularizer = regularizers.L2(l2) if l2 else None
    x = layers.Conv2D(
        filters,
        kernel,
        strides=strides,
        padding="same",
        use_bias=False,
        kernel_regularizer=regularizer,
        name=f"{name}_conv",
    )(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _basic_block(
    x: keras.KerasTensor, filters: int, strides: int, l2: float, *, name: str
) -> keras.KerasTensor:
    shortcut = x
    y = _conv_bn_relu(x, filters, 3, strides=strides, name=f"{name}_a", l2=l2)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_b_conv")(y)
    # Zero-initialised last gamma: each block starts as the identity, which keeps a
    # from-scratch ResNet stable on a few hundred images (Goyal et al., 2017).
    y = layers.BatchNormalization(
        momentum=BN_MOMENTUM, gamma_initializer="zeros", name=f"{name}_b_bn"
    )(y)
    if strides != 1 or shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=False, name=f"{name}_proj")(
            x
        )
        shortcut = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_proj_bn")(shortcut)
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([shortcut, y]))


def _squeeze_excite(x: keras.KerasTensor, ratio: int, *, name: str) -> keras.KerasTensor:
    channels = x.shape[-1]
    s = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_squeeze")(x)
    s = layers.Dense(max(4, channels // ratio), activation="relu", name=f"{name}_reduce")(s)
    s = layers.Dense(channels, activation="sigmoid", name=f"{name}_expand")(s)
    return layers.Multiply(name=f"{name}_scale")([x, s])


def _residual_se_block(
    x: keras.KerasTensor, filters: int, l2: float, *, name: str
) -> keras.KerasTensor:
    shortcut = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_proj")(x)
    y = _conv_bn_relu(x, filters, 3, name=f"{name}_a", l2=l2)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_b_conv")(y)
    y = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_b_bn")(y)
    y = _squeeze_excite(y, 8, name=f"{name}_se")
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([shortcut, y]))


def _inception_module(
    x: keras.KerasTensor, width: int, l2: float, *, name: str
) -> keras.KerasTensor:
    b1 = _conv_bn_relu(x, width, 1, name=f"{name}_1x1", l2=l2)
    b3 = _conv_bn_relu(
        _conv_bn_relu(x, width, 1, name=f"{name}_3r", l2=l2),
        width * 2,
        3,
        name=f"{name}_3x3",
        l2=l2,
    )
    b5 = _conv_bn_relu(
        _conv_bn_relu(x, width // 2, 1, name=f"{name}_5r", l2=l2),
        width,
        5,
        name=f"{name}_5x5",
        l2=l2,
    )
    bp = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    bp = _conv_bn_relu(bp, width, 1, name=f"{name}_poolproj", l2=l2)
    return layers.Concatenate(name=f"{name}_concat")([b1, b3, b5, bp])


@keras.saving.register_keras_serializable(package="medzoo")
class ChannelPool(layers.Layer):
    """Mean and max over channels, stacked: CBAM's input to its spatial attention."""

    def call(self, inputs):
        mean = keras.ops.mean(inputs, axis=-1, keepdims=True)
        peak = keras.ops.max(inputs, axis=-1, keepdims=True)
        return keras.ops.concatenate([mean, peak], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2)


def _cbam(x: keras.KerasTensor, *, ratio: int = 8, name: str) -> keras.KerasTensor:
    """Convolutional block attention (Woo et al., 2018): channel, then spatial attention."""
    channels = x.shape[-1]
    reduce = layers.Dense(max(4, channels // ratio), activation="relu", name=f"{name}_mlp1")
    expand = layers.Dense(channels, name=f"{name}_mlp2")
    avg = expand(reduce(layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_avg")(x)))
    peak = expand(reduce(layers.GlobalMaxPooling2D(keepdims=True, name=f"{name}_max")(x)))
    channel = layers.Activation("sigmoid", name=f"{name}_channel")(
        layers.Add(name=f"{name}_sum")([avg, peak])
    )
    x = layers.Multiply(name=f"{name}_channel_scale")([x, channel])
    spatial = ChannelPool(name=f"{name}_maps")(x)
    spatial = layers.Conv2D(1, 7, padding="same", activation="sigmoid", name=f"{name}_spatial")(
        spatial
    )
    return layers.Multiply(name=f"{name}_spatial_scale")([x, spatial])
