"""Two workarounds for tf2onnx 1.17's graph optimizers.

**Transpose optimizer on MobileNetV3.**

MobileNetV3's hard-swish adds a scalar constant (``x + 3``) right after a convolution.
The optimizer's ``Add`` handler tries to fold that constant into the convolution's bias
and calls ``max()`` on the scalar's empty shape ("max() arg is an empty sequence"); the
optimizer then gives up on the whole graph and leaves ~100 NHWC↔NCHW ``Transpose``
nodes around the convolutions. A scalar (or one-element) addend is not a per-channel
bias, so we route it to the generic handler, which pushes the transpose through the
``Add`` instead. The constant itself is left alone (it is shared by many nodes).
Node counts before/after are in the export benchmark.

**Memory.** ``tf2onnx.optimizer.optimize_graph`` deep-copies the whole graph, weights
included, before each of its ~12 optimizers, in every iteration. The discarded copies hold
reference cycles (nodes and their graph), so only Python's cyclic collector frees them, and
it counts objects, not bytes: an InceptionV3 export piled up ~40 copies, 2.1 → 6.9 GB, and
the test suite peaked at 10.6 GB in one process. Collecting before each optimizer keeps
about two copies alive. The graph that comes out is the same.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from tf2onnx import optimizer
from tf2onnx.optimizer import transpose_optimizer

_original_add_handler = transpose_optimizer.TransposeOptimizer._add_handler


def _add_handler(self, trans, node):
    addend = node.inputs[1]
    if addend.is_const() and addend.get_tensor_value(as_list=False).size == 1:
        return self._handle_node_having_branches(trans, node)
    return _original_add_handler(self, trans, node)


class _CollectFirst:
    """An optimizer factory that frees the graph copies discarded so far, then builds one."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory

    def __call__(self) -> Any:
        gc.collect()
        return self.factory()


def apply() -> None:
    """Install both fixes (idempotent)."""
    transpose_optimizer.TransposeOptimizer._add_handler = _add_handler
    registered = optimizer._get_optimizers()
    for name, factory in registered.items():
        if not isinstance(factory, _CollectFirst):
            registered[name] = _CollectFirst(factory)


def remove() -> None:
    """Restore tf2onnx's own handler and factories (to measure what the fixes change)."""
    transpose_optimizer.TransposeOptimizer._add_handler = _original_add_handler
    registered = optimizer._get_optimizers()
    for name, factory in registered.items():
        if isinstance(factory, _CollectFirst):
            registered[name] = factory.factory
