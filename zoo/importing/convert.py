"""The ONNX bytes of a model file in any format the importer takes.

ONNX files are read as they are. Keras models (``.keras``, ``.h5``, a SavedModel folder)
and PyTorch models (TorchScript, or a state dict of an architecture the converter knows)
are converted by ``python -m export.convert`` in a child process: TensorFlow or PyTorch
load there, never in the zoo's (or the dashboard's) process, and only the ONNX file comes
back. Serving stays ONNX Runtime only.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from zoo.errors import ModelImportError

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
TORCH_SUFFIXES = (".pt", ".pth", ".ts", ".torchscript")
CONVERT_TIMEOUT_S = 900


def model_format(path: Path) -> str:
    """``onnx``, ``keras`` or ``torch``, from the file's name (a folder: a SavedModel)."""
    suffix = path.suffix.lower()
    if path.is_dir():
        if (path / "saved_model.pb").is_file():
            return "keras"
        raise ModelImportError(f"{path.name} is a folder without saved_model.pb")
    if suffix == ".onnx":
        return "onnx"
    if suffix in KERAS_SUFFIXES:
        return "keras"
    if suffix in TORCH_SUFFIXES:
        return "torch"
    raise ModelImportError(
        f"{path.name}: the importer takes .onnx, Keras ({', '.join(KERAS_SUFFIXES)} or a "
        f"SavedModel folder) or PyTorch ({', '.join(TORCH_SUFFIXES)}) files"
    )


def model_bytes(
    path: Path, *, architecture: str | None = None, input_size: int | None = None
) -> bytes:
    """The ONNX bytes of the model at ``path`` (converted in a child process if needed)."""
    kind = model_format(path)
    if kind == "onnx":
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ModelImportError(f"{path.name}: cannot read it ({exc.strerror})") from exc
    with tempfile.TemporaryDirectory(prefix="medzoo-convert-") as scratch:
        out = Path(scratch) / "model.onnx"
        command = [sys.executable, "-m", "export.convert", kind, str(path), str(out)]
        if architecture:
            command += ["--architecture", architecture]
        if input_size:
            command += ["--input-size", str(input_size)]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=CONVERT_TIMEOUT_S,
                cwd=Path(__file__).resolve().parents[2],
            )
        except subprocess.TimeoutExpired:
            raise ModelImportError(
                f"converting {path.name} took over {CONVERT_TIMEOUT_S} s"
            ) from None
        if done.returncode != 0 or not out.is_file():
            reason = (done.stderr.strip().splitlines() or ["no reason given"])[-1]
            raise ModelImportError(f"could not convert {path.name} to ONNX: {reason}")
        return out.read_bytes()
