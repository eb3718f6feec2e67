"""Sessions: int8-weight files dequantize per run (or fold at load when asked); batched runs
hand their arena back; least recently used sessions make room under the memory budget."""

import json

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from zoo.card import file_entry
from zoo.imaging.scan import Scan
from zoo.registry import Registry
from zoo.runtime import get_session, predict
from zoo.runtime.session import DEQUANTIZE_AT_LOAD_OPTION

OPSET = 17  # the fixtures' opset


def store_weights_as_int8(folder, scale: float) -> None:
    """Replace the fixture's float kernel W by int8 values behind a DequantizeLinear."""
    model = onnx.load(str(folder / "model.onnx"))
    (kernel,) = [t for t in model.graph.initializer if t.name == "W"]
    weights = numpy_helper.to_array(kernel)
    model.graph.initializer.remove(kernel)
    model.graph.initializer.extend(
        [
            numpy_helper.from_array(np.rint(weights / scale).astype(np.int8), "W_int8"),
            numpy_helper.from_array(np.array(scale, np.float32), "W_scale"),
            numpy_helper.from_array(np.array(0, np.int8), "W_zero"),
        ]
    )
    model.graph.node.insert(
        0, helper.make_node("DequantizeLinear", ["W_int8", "W_scale", "W_zero"], ["W"])
    )
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    (folder / "model.onnx").write_bytes(data)
    card = json.loads((folder / "card.json").read_text())
    card["file"] = file_entry(data, opset=OPSET, dequantize_weights_at_load=True)
    (folder / "card.json").write_text(json.dumps(card))


def bright_scan() -> Scan:
    pixels = np.full((32, 32), 0.8, dtype=np.float32)
    return Scan(pixels=pixels, modality="CR", photometric="MONOCHROME2", source_format="png")


def test_int8_weight_models_dequantize_per_run_by_default_and_score_as_float(
    tmp_path, model_writer
):
    root = tmp_path / "models"
    model_writer(root, "float-kernel")
    store_weights_as_int8(model_writer(root, "int8-kernel"), scale=8.0 / 127)
    registry = Registry(root)

    options = get_session(registry.get("int8-kernel")).session.get_session_options()
    with pytest.raises(RuntimeError, match="does not have configuration"):
        options.get_session_config_entry(DEQUANTIZE_AT_LOAD_OPTION)  # memory before speed
    (as_int8,) = predict("int8-kernel", [bright_scan()], registry=registry)
    (as_float,) = predict("float-kernel", [bright_scan()], registry=registry)
    assert as_int8.probabilities == as_float.probabilities


def test_int8_weight_models_are_folded_at_load_when_asked_and_score_as_float(
    tmp_path, model_writer, monkeypatch
):
    from zoo.runtime import session as sessions

    monkeypatch.setattr(sessions, "FOLD_INT8_WEIGHTS", True)
    root = tmp_path / "models"
    model_writer(root, "float-kernel")
    store_weights_as_int8(model_writer(root, "int8-kernel"), scale=8.0 / 127)
    registry = Registry(root)

    folded = get_session(registry.get("int8-kernel")).session.get_session_options()
    plain = get_session(registry.get("float-kernel")).session.get_session_options()
    assert folded.get_session_config_entry(DEQUANTIZE_AT_LOAD_OPTION) == "1"
    assert folded.get_session_config_entry("session.disable_prepacking") == "1"
    with pytest.raises(RuntimeError, match="does not have configuration"):
        plain.get_session_config_entry(DEQUANTIZE_AT_LOAD_OPTION)  # QDQ models keep fusing

    # the kernel (8.0) is a multiple of the scale, so both files hold the same model
    (as_int8,) = predict("int8-kernel", [bright_scan()], registry=registry)
    (as_float,) = predict("float-kernel", [bright_scan()], registry=registry)
    assert as_int8.probabilities == as_float.probabilities


def test_a_batch_run_gives_each_image_what_a_run_of_one_gives(zoo_dir):
    # multi-image runs shrink ONNX Runtime's arena when they end; the next runs, of one
    # image or many, must still see fresh, correct buffers
    session = get_session(Registry(zoo_dir).get("multi-test"))
    rng = np.random.default_rng(3)
    prep = session.card.preprocessing
    height, width = prep.input_size
    image = (
        (height, width, prep.channels) if prep.layout == "NHWC" else (prep.channels, height, width)
    )
    batch = rng.random((8, *image), dtype=np.float32)
    for _ in range(2):
        together = session.run(batch)
        alone = [session.run(batch[i : i + 1]) for i in range(len(batch))]
        for name, values in together.items():
            assert values.shape[0] == len(batch)
            np.testing.assert_allclose(
                values, np.concatenate([a[name] for a in alone]), rtol=1e-5, atol=1e-6
            )


@pytest.fixture
def three_models(zoo_dir, model_writer, monkeypatch):
    """Three model entries of one file size (MB); each session then weighs its file's size
    (RSS growth is not measured)."""
    from zoo.runtime import session as sessions

    model_writer(zoo_dir, "third")
    registry = Registry(zoo_dir)
    monkeypatch.setattr(sessions, "rss_mb", lambda: 0.0)
    return registry.entries(), registry.card("third").file.bytes / 2**20


def test_sessions_past_the_memory_budget_are_evicted_least_recently_used(three_models, monkeypatch):
    from zoo.runtime import session as sessions

    (first, second, third), size_mb = three_models
    monkeypatch.setattr(sessions, "SESSION_BUDGET_MB", 2.5 * size_mb)  # room for two
    sessions.get_session(first)
    sessions.get_session(second)
    sessions.get_session(first)  # used again: now the most recent
    sessions.get_session(third)
    cached = {key[0] for key in sessions._cache}
    assert cached == {str(first.model_path), str(third.model_path)}  # second was the LRU
    assert sessions.cached_session_mb() <= 2.5 * size_mb
    monkeypatch.setattr(sessions, "SESSION_BUDGET_MB", 0.0)
    sessions.get_session(second)
    assert {key[0] for key in sessions._cache} == {str(second.model_path)}  # newest stays


def test_a_load_first_makes_room_for_what_the_model_took_last_time(three_models, monkeypatch):
    from zoo.runtime import session as sessions

    (first, second, third), size_mb = three_models
    monkeypatch.setitem(sessions._expected_mb, str(third.model_path), 100 * size_mb)
    monkeypatch.setattr(sessions, "SESSION_BUDGET_MB", 101 * size_mb)
    sessions.get_session(first)
    sessions.get_session(second)
    loaded = []
    real_load = sessions._load
    monkeypatch.setattr(
        sessions,
        "_load",
        lambda entry: loaded.append(sessions.cached_session_count()) or real_load(entry),
    )
    sessions.get_session(third)
    assert loaded == [0]  # both others were dropped before the big one loaded, not after
    assert {key[0] for key in sessions._cache} == {str(third.model_path)}


def test_a_model_held_in_memory_is_served_and_cached_by_its_hash(zoo_dir):
    from zoo.registry import ModelEntry
    from zoo.runtime import session as sessions

    on_disk = Registry(zoo_dir).get("binary-test")
    files = {name: on_disk.read(name) for name in ("model.onnx", "validation.csv")}
    in_memory = ModelEntry(card=on_disk.card, directory=None, files=files)
    registry = Registry(zoo_dir / "empty").with_entries([in_memory])
    (from_memory,) = predict("binary-test", [bright_scan()], registry=registry)
    (from_disk,) = predict("binary-test", [bright_scan()], registry=Registry(zoo_dir))
    assert from_memory.probabilities == from_disk.probabilities
    sha = on_disk.card.file.sha256
    assert (f"memory:binary-test:{sha}", sha, 0, on_disk.card.file.bytes) in sessions._cache
    held_out = registry.validation_predictions("binary-test")
    assert len(held_out.y_true) == len(
        Registry(zoo_dir).validation_predictions("binary-test").y_true
    )


def test_an_in_memory_model_whose_bytes_differ_from_its_card_is_refused(zoo_dir):
    from zoo.errors import ModelIntegrityError
    from zoo.registry import ModelEntry

    on_disk = Registry(zoo_dir).get("binary-test")
    tampered = ModelEntry(
        card=on_disk.card, directory=None, files={"model.onnx": on_disk.read("model.onnx") + b"x"}
    )
    with pytest.raises(ModelIntegrityError, match="SHA-256"):
        get_session(tampered)
