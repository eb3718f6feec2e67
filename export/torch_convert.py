"""PyTorch → ONNX for ``python -m export.convert torch`` (see :mod:`export.convert`).

A TorchScript file carries its own code; a state dict carries weights only and needs an
``--architecture`` from :mod:`export.torch_architectures`. State dicts are read with
``torch.load(weights_only=True)``: a pickle from someone else must not run code. The graph is
exported with ``torch.onnx.export`` (the TorchScript-based exporter, which needs no extra
package) with a dynamic batch axis, and must reproduce PyTorch on random inputs.
"""

from __future__ import annotations

from pathlib import Path

import onnx

from export.convert import ConversionError, check_parity, sample_images
from export.onnx_export import OPSET


def torch_to_onnx(
    source: Path, target: Path, *, architecture: str | None = None, size: int | None = None
) -> Path:
    """Convert the PyTorch model at ``source``; returns ``target``."""
    try:
        import torch
    except ImportError as exc:
        raise ConversionError(
            "PyTorch is not installed: pip install torch (the CPU build is enough)"
        ) from exc
    model, shape = _load(torch, source, architecture, size or 224)
    if size is not None:
        shape = (shape[0], size, size)
    sample = sample_images(shape)
    target.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        try:
            torch.onnx.export(
                model,
                (torch.from_numpy(sample[:1]),),
                str(target),
                dynamo=False,
                input_names=["input"],
                output_names=["scores"],
                dynamic_axes={"input": {0: "batch"}, "scores": {0: "batch"}},
                opset_version=OPSET,
            )
        except Exception as exc:  # the exporter raises many types for graphs it cannot trace
            raise ConversionError(f"torch.onnx cannot export it: {exc}") from exc
        theirs = model(torch.from_numpy(sample)).numpy()
    onnx.checker.check_model(str(target))
    check_parity(target, sample, theirs, "PyTorch")
    return target


def _load(torch, source: Path, architecture: str | None, side: int):
    """The model in eval mode and its (C, H, W) input shape."""
    if architecture is None:
        try:
            model = torch.jit.load(str(source), map_location="cpu")
        except Exception as exc:  # not TorchScript
            raise ConversionError(
                f"{source.name} is not a TorchScript file ({exc}); for a state dict, name its "
                "--architecture"
            ) from exc
        shape = _scripted_input(model, side)
        return model.eval(), shape
    from export.torch_architectures import build

    try:
        state = torch.load(str(source), map_location="cpu", weights_only=True)
    except Exception as exc:  # unreadable, or a pickle that is more than weights
        raise ConversionError(f"{source.name} is not a plain state dict: {exc}") from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ConversionError(f"{source.name} holds a {type(state).__name__}, not a state dict")
    try:
        return build(architecture, state)
    except ValueError as exc:
        raise ConversionError(str(exc)) from exc


def _scripted_input(model, side: int) -> tuple[int, int, int]:
    """TorchScript keeps no input shape: the importer's --input-size (224 by default) and
    whichever of one or three channels runs on a blank image decide."""
    import torch

    for channels in (1, 3):
        try:
            with torch.no_grad():
                model(torch.zeros(1, channels, side, side))
            return channels, side, side
        except Exception:  # the wrong channel count: try the other
            continue
    raise ConversionError(
        f"the TorchScript model runs on neither 1×{side}×{side} nor 3×{side}×{side} input: "
        "pass its --input-size"
    )
