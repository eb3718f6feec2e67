"""Export to ONNX: parity with Keras, no needless transposes, variants that still run."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest

tf = pytest.importorskip("tensorflow", reason="training tests need requirements-train.txt")

from export import tf2onnx_fixes  # noqa: E402
from export.onnx_export import (  # noqa: E402
    PARITY_ATOL,
    ExportError,
    cam_agreement,
    cpu_session,
    has_weight_only_int8,
    to_float16,
    to_int8,
    to_int8_weights,
    to_onnx,
)
from training.architectures import build  # noqa: E402
from zoo.runtime.session import session_options  # noqa: E402


@pytest.fixture(scope="module")
def mobilenet():
    # seeded: with random weights some images' maps are all zero after the ReLU, and
    # which ones depends on the draw (whether int8 rounding keeps them flat too)
    tf.keras.utils.set_random_seed(7)
    return build("mobilenetv3_small", (64, 64, 3), 2, dense_units=(16,))


def images(n=4, shape=(64, 64, 3)):
    return (np.random.default_rng(1).random((n, *shape)) * 255).astype(np.float32)


def test_export_is_faithful_and_has_explanation_outputs(mobilenet, tmp_path):
    result = to_onnx(mobilenet, tmp_path / "m.onnx", images())
    assert result.max_probability_error <= PARITY_ATOL
    assert result.cam_correlation >= 0.99
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    assert sorted(o.name for o in session.get_outputs()) == ["cam", "embedding", "probabilities"]
    batch_axis = session.get_inputs()[0].shape[0]
    assert not isinstance(batch_axis, int)  # dynamic batch
    probabilities, cam = session.run(["probabilities", "cam"], {"input": images(5)})
    assert probabilities.shape == (5, 1) and cam.shape[0] == 5


def test_transpose_fix_removes_layout_shuffles(mobilenet, tmp_path, monkeypatch):
    """Without the fix tf2onnx's optimizer gives up (it logs, not raises) and leaves ~100."""
    fixed = to_onnx(mobilenet, tmp_path / "fixed.onnx", images()).node_counts.get("Transpose", 0)
    tf2onnx_fixes.remove()
    monkeypatch.setattr(tf2onnx_fixes, "apply", lambda: None)  # to_onnx must not reinstall it
    try:
        unfixed = to_onnx(mobilenet, tmp_path / "unfixed.onnx", images()).node_counts["Transpose"]
    finally:
        monkeypatch.undo()
        tf2onnx_fixes.apply()
    assert fixed <= 8
    assert unfixed >= 10 * max(fixed, 1)


def test_variants_run_and_stay_close(mobilenet, tmp_path):
    source = to_onnx(mobilenet, tmp_path / "m.onnx", images()).path
    x = images(6)
    reference = ort.InferenceSession(str(source)).run(["probabilities"], {"input": x})[0]
    half = to_float16(source, tmp_path / "m16.onnx")
    int8 = to_int8(source, tmp_path / "m8.onnx", images(8))
    for path, tolerance in ((half, 5e-2), (int8, 0.25)):
        onnx.checker.check_model(onnx.load(str(path)))
        got = ort.InferenceSession(str(path)).run(["probabilities"], {"input": x})[0]
        assert np.max(np.abs(got - reference)) < tolerance
    assert int8.stat().st_size < source.stat().st_size / 2


def int8_weights(path) -> list[np.ndarray]:
    model = onnx.load(str(path))
    return [
        onnx.numpy_helper.to_array(t)
        for t in model.graph.initializer
        if t.data_type == onnx.TensorProto.INT8
    ]


def test_int8_weights_fit_7_bits_so_no_cpu_saturates(mobilenet, tmp_path):
    # AVX2 and AVX-512F without VNNI sum pairs of uint8 x int8 products in int16: with
    # |w| <= 64 a pair cannot pass 32,767, so every x86 CPU computes the same outputs
    source = to_onnx(mobilenet, tmp_path / "m.onnx", images()).path
    weights = int8_weights(to_int8(source, tmp_path / "m8.onnx", images(8)))
    assert weights, "no int8 weights in the quantized file"
    assert max(int(np.abs(w.astype(np.int16)).max()) for w in weights) <= 64
    assert max(int(np.abs(w.astype(np.int16)).max()) for w in weights) >= 32  # 7 bits used


def dequantized_names(path) -> set[str]:
    return {n.output[0] for n in onnx.load(str(path)).graph.node if n.op_type == "DequantizeLinear"}


def test_int8_weights_keep_float_outputs_and_fold_at_load(mobilenet, tmp_path):
    source = to_onnx(mobilenet, tmp_path / "m.onnx", images()).path
    packed = to_int8_weights(source, tmp_path / "m8w.onnx")
    assert packed.stat().st_size < source.stat().st_size / 2
    assert has_weight_only_int8(packed) and not has_weight_only_int8(source)
    assert not has_weight_only_int8(to_int8(source, tmp_path / "m8.onnx", images(8)))

    x = images(6, shape=(64, 64, 3))
    names = ["probabilities", "cam"]
    reference = ort.InferenceSession(str(source)).run(names, {"input": x})
    got = cpu_session(packed).run(names, {"input": x})
    assert np.max(np.abs(got[0] - reference[0])) < 1e-2
    assert cam_agreement(got[1], reference[1]) >= 0.999  # flat maps (ReLU) agree only if both are

    # float_stem keeps the first convolutions' kernels in float32, and only those
    convs = [n.input[1] for n in onnx.load(str(source)).graph.node if n.op_type == "Conv"]
    quantized = dequantized_names(packed)
    first = next(i for i, name in enumerate(convs) if name in quantized)
    stem = to_int8_weights(source, tmp_path / "stem.onnx", float_stem=first + 1)
    assert quantized - dequantized_names(stem) == {convs[first]}

    # the session folds every DequantizeLinear into a float32 kernel once, at load
    options = session_options(fold_weights=True)
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(str(packed), options, providers=["CPUExecutionProvider"])
    ops = [n.op_type for n in onnx.load(str(tmp_path / "optimized.onnx")).graph.node]
    assert "DequantizeLinear" not in ops and "Conv" in " ".join(ops)


def test_parity_failure_raises(mobilenet, tmp_path, monkeypatch):
    import export.onnx_export as module

    monkeypatch.setattr(module, "PARITY_ATOL", -1.0)
    with pytest.raises(ExportError, match="not faithful"):
        module.to_onnx(mobilenet, tmp_path / "m.onnx", images())
