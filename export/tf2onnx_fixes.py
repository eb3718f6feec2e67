"""A workaround for tf2onnx 1.17's transpose optimizer on MobileNetV3.

MobileNetV3's hard-swish adds a scalar constant (``x + 3``) right after a convolution.
The optimizer's ``Add`` handler tries to fold that constant into the convolution's bias
and calls ``max()`` on the scalar's empty shape ("max() arg is an empty sequence"); the
optimizer then gives up on the whole graph and leaves ~100 NHWC↔NCHW ``Transpose``
nodes around the convolutions. A scalar (or one-element) addend is not a per-channel
bias, so we route it to the generic handler, which pushes the transpose through the
``Add`` instead. The constant itself is left alone (it is shared by many nodes).
Node counts before/after are in the export benchmark.
"""

from __future__ import annotations

from tf2onnx.optimizer import transpose_optimizer

_original_add_handler = transpose_optimizer.TransposeOptimizer._add_handler


def _add_handler(self, trans, node):
    addend = node.inputs[1]
    if addend.is_const() and addend.get_tensor_value(as_list=False).size == 1:
        return self._handle_node_having_branches(trans, node)
    return _original_add_handler(self, trans, node)


def apply() -> None:
    """Install the fix (idempotent)."""
    transpose_optimizer.TransposeOptimizer._add_handler = _add_handler


def remove() -> None:
    """Restore tf2onnx's own handler (to measure what the fix changes)."""
    transpose_optimizer.TransposeOptimizer._add_handler = _original_add_handler
