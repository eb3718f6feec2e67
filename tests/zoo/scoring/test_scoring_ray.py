"""The Ray Data engine on a local two-CPU cluster (loopback only): the local engine's
output, a worker killed mid-run costs no row and duplicates none, and a run stopped
midway keeps what it finished and is completed by the same call."""

import os
import signal
import threading
import time

import pandas as pd
import pytest

from zoo.cli import main
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


class Stop(Exception):
    """What Ctrl-C is to a user: the run stops between two batches."""


def test_a_stopped_run_keeps_its_batches_and_resumes_to_the_whole(
    cluster, archive, zoo_dir, tmp_path
):
    items = list_inputs(archive / "manifest.csv")
    registry = Registry(zoo_dir)
    score_local(items, MODELS, tmp_path / "whole", registry, batch_size=4)
    seen: list[tuple[int, int]] = []

    def stop_after_two_batches(done: int, total: int, rate: float) -> None:
        seen.append((done, total))
        if len(seen) == 2:
            raise Stop

    with pytest.raises(Stop):
        score_ray(items, MODELS, tmp_path / "resumed", registry, workers=2, batch_size=4,
                  progress=stop_after_two_batches)  # fmt: skip
    (first, total), (kept, _) = seen  # files done, of the files to do
    assert 0 < first < kept < total == len(items)
    assert len(table(tmp_path / "resumed")) == kept * len(MODELS)  # written as they came
    summary = score_ray(items, MODELS, tmp_path / "resumed", registry, workers=2, batch_size=4)
    assert summary.scored == len(items) - kept and summary.skipped == kept
    pd.testing.assert_frame_equal(table(tmp_path / "whole"), table(tmp_path / "resumed"),
                                  check_dtype=False)  # fmt: skip


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_the_command_reports_progress_and_writes_the_results(
    engine, cluster, archive, zoo_dir, tmp_path, capsys
):
    out = tmp_path / "results"
    command = ["--models-dir", str(zoo_dir), "score", "--model", "binary-test",
               "--input", str(archive), "--out", str(out), "--engine", engine,
               "--batch-size", "4"]  # fmt: skip
    assert main(command) == 0
    files = len(list_inputs(archive))
    printed = capsys.readouterr().err
    assert f"scored {files}/{files} files (" in printed and "images/s)" in printed
    assert f"scored {files} files (0 already in {out})" in printed
    assert len(table(out)) == files
