"""``python -m export.convert keras|torch SOURCE TARGET``: an outside model to one ONNX file.

Run by ``python -m zoo import`` in a child process, so that TensorFlow or PyTorch load
here and never in the zoo's (or the dashboard's) process.

- **Keras** (``.keras``, ``.h5``, a SavedModel folder): a model built by MedZoo's own
  training (layers named ``features`` and ``probabilities``) goes through the export path
  of the shipped models (:func:`export.onnx_export.to_onnx`: class-activation maps and
  embedding as extra outputs); any other model through tf2onnx as it is. Either way the
  ONNX file must reproduce Keras on random inputs to ``PARITY_ATOL``.
- **PyTorch**: TorchScript files, or a state dict of an architecture named with
  ``--architecture`` (:mod:`export.torch_architectures`), exported with ``torch.onnx`` and
  checked against PyTorch the same way.

Exit status 0 with TARGET written, 2 with the reason on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

PARITY_ATOL = 1e-4
SAMPLE_IMAGES = 4


class ConversionError(RuntimeError):
    """The model cannot be converted faithfully; the message says why."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.convert", description=__doc__)
    parser.add_argument("kind", choices=("keras", "torch"))
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--architecture", help="PyTorch state dicts: the architecture's name")
    parser.add_argument("--input-size", type=int, help="pixels per side, if the model is not fixed")
    args = parser.parse_args(argv)
    try:
        if args.kind == "keras":
            keras_to_onnx(args.source, args.target, input_size=args.input_size)
        else:
            from export.torch_convert import torch_to_onnx

            torch_to_onnx(
                args.source, args.target, architecture=args.architecture, size=args.input_size
            )
    except (ConversionError, OSError, ValueError, ImportError) as exc:
        print(f"error: {' '.join(str(exc).split())[:500]}", file=sys.stderr)  # one line
        return 2
    return 0


def keras_to_onnx(source: Path, target: Path, *, input_size: int | None = None) -> Path:
    """Convert the Keras model (or TensorFlow SavedModel) at ``source``; returns ``target``."""
    from export.onnx_export import ExportError, to_onnx

    if source.is_dir():
        call, shape = _saved_model(source, input_size)
        return _convert_function(call, sample_images(shape), target)
    model = _load_keras(source)
    shape = _input_shape(
        tuple(model.inputs[0].shape[1:]) if len(model.inputs) == 1 else (), input_size
    )
    if {"features", "probabilities"} <= {layer.name for layer in model.layers}:
        try:
            to_onnx(model, target, sample_images(shape))  # MedZoo's own: CAM and embedding outputs
        except ExportError as exc:
            raise ConversionError(str(exc)) from exc
        return target
    return _convert_function(
        lambda images: model(images, training=False), sample_images(shape), target
    )


def sample_images(shape: tuple[int, ...]) -> np.ndarray:
    """The random images conversions are checked on."""
    return np.random.default_rng(0).random((SAMPLE_IMAGES, *shape), dtype=np.float32)


def _load_keras(source: Path):
    import keras

    try:
        return keras.models.load_model(source, compile=False)
    except Exception as exc:  # Keras raises many types for files it cannot read
        raise ConversionError(f"Keras cannot load {source.name}: {exc}") from exc


def _saved_model(source: Path, input_size: int | None):
    """The serving signature of a SavedModel as a function of one image batch."""
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(source))
        function = loaded.signatures["serving_default"]
    except Exception as exc:  # TensorFlow raises many types for folders it cannot read
        raise ConversionError(
            f"TensorFlow cannot load the SavedModel {source.name}: {exc}"
        ) from exc
    inputs = function.structured_input_signature[1]
    if len(inputs) != 1:
        raise ConversionError(f"an image classifier takes one input; this takes {list(inputs)}")
    ((name, spec),) = inputs.items()
    outputs = list(function.structured_outputs)
    if len(outputs) != 1:
        raise ConversionError(f"the serving signature has outputs {outputs}; one is expected")

    def call(images, _keep=loaded):  # the signature's variables live as long as ``loaded``
        return function(**{name: images})[outputs[0]]

    return call, _input_shape(tuple(spec.shape[1:]), input_size)


def _input_shape(shape: tuple, input_size: int | None) -> tuple[int, ...]:
    if len(shape) != 3:
        raise ConversionError(
            f"the input has shape {shape}; an image classifier takes (height, width, channels)"
        )
    if any(side is None for side in shape[:2]):
        if input_size is None:
            raise ConversionError("the input size is not fixed: pass --input-size")
        shape = (input_size, input_size, shape[2])
    if shape[2] is None:
        raise ConversionError("the number of input channels is not fixed")
    return tuple(int(side) for side in shape)


def _convert_function(call, sample: np.ndarray, target: Path) -> Path:
    """``call`` (a batch of images → scores) through tf2onnx, checked against itself."""
    import onnx
    import tensorflow as tf
    import tf2onnx

    from export import tf2onnx_fixes
    from export.onnx_export import OPSET

    spec = (tf.TensorSpec((None, *sample.shape[1:]), tf.float32, name="input"),)

    @tf.function(input_signature=spec)
    def serve(images):
        return {"scores": tf.identity(call(images), name="scores")}

    tf2onnx_fixes.apply()
    converted, _ = tf2onnx.convert.from_function(serve, input_signature=spec, opset=OPSET)
    onnx.checker.check_model(converted)
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(converted, str(target))
    check_parity(target, sample, np.asarray(call(tf.constant(sample))), "the original")
    return target


def check_parity(target: Path, sample: np.ndarray, theirs: np.ndarray, original: str) -> None:
    """The ONNX file at ``target`` must give the original's outputs on ``sample``."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    ours = session.run(None, {session.get_inputs()[0].name: sample})[0]
    error = float(np.nanmax(np.abs(ours - theirs)))
    if not error <= PARITY_ATOL:
        raise ConversionError(f"ONNX differs from {original} by {error:.2e} > {PARITY_ATOL:.0e}")


if __name__ == "__main__":
    # run as export.convert, not __main__: export.torch_convert raises export.convert's
    # ConversionError, which main() must recognise
    from export import convert

    raise SystemExit(convert.main())
