"""Class-activation maps computed inside the exported graph (Grad-CAM, in closed form).

The zoo's models end in ``features`` → pooling → [Dense(relu) → Dropout]* → ``logits``
(see :mod:`training.architectures`). For such a head the gradient of each logit with
respect to the feature map is a product of the head's weight matrices masked by the
active ReLUs, so Grad-CAM needs no automatic differentiation at serving time:

    g = W_logits[:, c];  for each hidden layer i, last first: g = W_i (g ⊙ 1[h_i > 0])
    α_k = mean over positions of ∂logit_c/∂A_ijk  (g / hw for GAP; reshaped g for Flatten)
    CAM_c = ReLU(Σ_k α_k A_k)

For a GAP → Dense head this is the classic CAM; for deeper heads it equals Grad-CAM
(Selvaraju et al., 2017) on the pre-activation logits. The result is a tensor of ONNX
ops, so ONNX Runtime serves heatmaps without TensorFlow. :func:`gradient_tape_cam`
computes the same map with ``tf.GradientTape`` for verification.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers


def head_layers(model: keras.Model) -> tuple[layers.Layer, list[layers.Dense], layers.Dense]:
    """The pooling layer, the hidden Dense layers (in order) and the logits layer."""
    pool = model.get_layer("pool")
    hidden = sorted(
        (layer for layer in model.layers if layer.name.startswith("hidden")),
        key=lambda layer: int(layer.name.removeprefix("hidden")),
    )
    return pool, hidden, model.get_layer("logits")


def explainer(model: keras.Model) -> keras.Model:
    """A model with the outputs the zoo exports: probabilities, cam (N, h, w, L), embedding.

    ``L`` is the number of logits: one (the positive label) for binary sigmoid models,
    one per label for softmax models.
    """
    pool, hidden, logits_layer = head_layers(model)
    features = model.get_layer("features").output
    hidden_outputs = [layer.output for layer in hidden]
    embedding = logits_layer.input
    probabilities = model.get_layer("probabilities").output
    inner = keras.Model(model.input, [probabilities, features, embedding, *hidden_outputs])
    flatten = isinstance(pool, layers.Flatten)
    kernels = [layer.kernel for layer in hidden]

    inputs = keras.Input(model.input.shape[1:], name="input")
    probs, feats, embed, *activations = inner(inputs)
    cam = CamFromHead(flatten=flatten, name="cam")(
        [feats, *activations], kernels, logits_layer.kernel
    )
    return keras.Model(
        inputs,
        {"probabilities": probs, "cam": cam, "embedding": embed},
        name=f"{model.name}_explained",
    )


class CamFromHead(layers.Layer):
    """Grad-CAM of every logit from the feature map and the head's ReLU activity."""

    def __init__(self, flatten: bool, **kwargs):
        super().__init__(**kwargs)
        self.flatten = flatten

    def call(self, tensors, kernels, logits_kernel):
        features, *activations = tensors
        batch = keras.ops.shape(features)[0]
        height, width, channels = features.shape[1], features.shape[2], features.shape[3]
        if not kernels:  # pooling straight into the logits: α does not depend on the image
            alpha = self._position_mean(logits_kernel, height, width, channels)
            alpha = keras.ops.broadcast_to(alpha[None], (batch, *alpha.shape))
        else:
            # g: (B, D, L), the gradient of every logit with respect to a dense layer's input
            grad = keras.ops.broadcast_to(logits_kernel[None], (batch, *logits_kernel.shape))
            for kernel, activation in zip(
                reversed(kernels[1:]), reversed(activations[1:]), strict=True
            ):
                grad = keras.ops.matmul(kernel, grad * self._active(activation, grad))
            grad = grad * self._active(activations[0], grad)
            first = self._position_mean(kernels[0], height, width, channels)
            alpha = keras.ops.matmul(first, grad)
        return keras.ops.relu(keras.ops.einsum("bhwk,bkl->bhwl", features, alpha))

    def _position_mean(self, kernel, height: int, width: int, channels: int):
        """(k, D): the first dense kernel seen through the pooling, averaged over positions.

        Grad-CAM needs only the mean over positions of ∂logit/∂A, so for a Flatten head
        the (h·w·k, D) kernel folds into a (k, D) constant: the exported graph never
        multiplies by the full kernel a second time (19 M weights for InceptionV3).
        """
        if self.flatten:
            return keras.ops.sum(
                keras.ops.reshape(kernel, (height * width, channels, -1)), axis=0
            ) / (height * width)
        return kernel / float(height * width)

    @staticmethod
    def _active(activation, like):
        return keras.ops.cast(activation > 0, like.dtype)[:, :, None]


def gradient_tape_cam(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """Reference Grad-CAM with ``tf.GradientTape`` on the Keras model: (N, h, w, L).

    The feature map is computed outside the tape and watched, and the head's own layers
    run on it inside: the tape differentiates the real layers, and no convolution is
    back-propagated (TF's CPU conv-filter gradient has crashed on small widths here).
    """
    pool, hidden, logits_layer = head_layers(model)
    backbone = keras.Model(model.input, model.get_layer("features").output)
    features = tf.convert_to_tensor(backbone(images, training=False))
    maps = []
    for index in range(logits_layer.units):
        with tf.GradientTape() as tape:
            tape.watch(features)
            x = pool(features)
            for layer in hidden:
                x = layer(x)
            target = logits_layer(x)[:, index]
        grads = tape.gradient(target, features)
        alpha = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
        maps.append(tf.nn.relu(tf.reduce_sum(alpha * features, axis=-1)).numpy())
    return np.stack(maps, axis=-1)
