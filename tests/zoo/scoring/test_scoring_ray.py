"""The Ray Data engine on a local two-CPU cluster (loopback only): the local engine's
output, and a worker killed mid-run costs no row and duplicates none."""

import os
import signal
import threading
import time

import pandas as pd
import pytest

from zoo.registry import Registry
from zoo.scoring.engines import score_local, score_ray
from zoo.scoring.inputs import list_inputs
from zoo.scoring.results import read_results

ray = pytest.importorskip("ray", reason="the Ray engine needs ray[data] (locks/dev.txt)")
MODELS = ("binary-test", "multi-test")


@pytest.fixture(scope="module")
def cluster():
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        _node_ip_address="127.0.0.1",
    )
    yield
    ray.shutdown()


def table(out) -> pd.DataFrame:
    rows = read_results(out).to_pandas().sort_values(["path", "model"]).reset_index(drop=True)
    return rows[sorted(rows.columns)]


def test_the_ray_engine_gives_the_local_engines_output(cluster, archive, zoo_dir, tmp_path):
    items = list_inputs(archive / "manifest.csv")
    registry = Registry(zoo_dir)
    score_local(items, MODELS, tmp_path / "local", registry, batch_size=4)
    summary = score_ray(items, MODELS, tmp_path / "ray", registry, workers=2, batch_size=4)
    assert summary.scored == len(items)
    local, on_ray = table(tmp_path / "local"), table(tmp_path / "ray")
    pd.testing.assert_frame_equal(local, on_ray, check_dtype=False)
    again = score_ray(items, MODELS, tmp_path / "ray", registry, workers=2)
    assert again.scored == 0  # resumable: nothing left to do


def test_a_killed_worker_loses_no_row_and_duplicates_none(cluster, archive, zoo_dir, tmp_path):
    items = list_inputs(archive)
    pids = tmp_path / "pids"
    pids.mkdir()
    killed: list[int] = []

    def kill_the_first_actor() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            found = sorted(pids.glob("*.pid"))
            if found:
                pid = int(found[0].read_text())
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_first_actor, daemon=True)
    killer.start()
    score_ray(items, MODELS, tmp_path / "out", Registry(zoo_dir), workers=2, batch_size=2,
              pid_dir=str(pids))  # fmt: skip
    killer.join(timeout=5)
    assert killed, "no actor started"
    assert len(list(pids.glob("*.pid"))) > 2  # the killed actor was started again
    rows = table(tmp_path / "out")
    assert len(rows) == len(items) * len(MODELS)
    assert not rows.duplicated(["path", "model"]).any()
    expected = {(item.path, m) for item in items for m in MODELS}
    assert set(zip(rows["path"], rows["model"], strict=True)) == expected
