"""Training beyond one device: ``tf.distribute`` over two logical CPU devices, fed from
TFRecord shards streamed from disk instead of the in-memory cache."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="training tests need requirements-train.txt")

from training.data.shards import shard_dataset, write_shards

ROOT = Path(__file__).resolve().parents[2]

# TensorFlow fixes its devices when it starts: two logical CPUs need a process of their own
SCRIPT = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)
from training.recipe import load_recipe
from training.train import train

recipe = load_recipe("multiclass-cxr")
run = train(recipe, smoke=True, verbose=0, strategy="mirrored", stream_dir=sys.argv[1],
            runs_dir=sys.argv[2], search=False)
strategy = tf.distribute.MirroredStrategy()
print(json.dumps({"replicas": strategy.num_replicas_in_sync,
                  "history": json.loads((run / "history.json").read_text()),
                  "model": (run / "model.keras").is_file()}))
"""


def test_shards_give_back_the_inputs_and_targets_written(tmp_path):
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(10, 8, 8, 3)).astype(np.float32)
    targets = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 10)]
    files = write_shards(zip(inputs, targets, strict=True), tmp_path, "train", per_shard=4)
    assert [f.name for f in files] == [f"train-0000{i}.tfrecord" for i in range(3)]
    read = list(shard_dataset(files, (8, 8, 3), 3, 10, training=False))
    (x, y) = read[0]
    np.testing.assert_allclose(x.numpy(), inputs, atol=2e-3)  # float16 on disk
    np.testing.assert_array_equal(y.numpy(), targets)


def test_mirrored_training_on_two_devices_from_streamed_shards(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "shards"), str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2 and result["model"]
    assert np.isfinite(result["history"]["loss"]).all() and "val_auc" in result["history"]
    manifest = json.loads(
        (tmp_path / "shards" / "multiclass-cxr-smoke" / "shards.json").read_text()
    )
    assert manifest["shards"]["train"] and manifest["shards"]["validation"]
