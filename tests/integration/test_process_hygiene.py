"""A sweep's process tree: killing the parent never leaves workers behind, Ctrl-C and SIGTERM stop with one
line and an intact store, a lost Dask scheduler ends the sweep with exit 2 instead of a hang.

The sweeps run as real ``python -m simulator sweep`` processes in their own session (as a terminal would
start them), long enough to be interrupted mid-way: 18,432 points, minutes of work even at the
warm cost path's ~1 ms a point (2,048 points once finished between the first stored point and Ctrl-C).
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

psutil = pytest.importorskip("psutil")

from simulator.errors import InputError  # noqa: E402
from simulator.sweep import executors  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SWEEP = """\
workload: gpt2
mode: training
space:
  hardware: [nvidia-h100-sxm, nvidia-a100-sxm-80gb, nvidia-l4, nvidia-t4]
  batch_size: {min: 1, max: 256, steps: 256}
  seq_len: [128, 256, 384, 512, 768, 1024]
  precision: [bf16, fp16, fp32]
"""


def _start_sweep(tmp_path: Path) -> tuple[subprocess.Popen, list, Path]:
    spec, store = tmp_path / "long.yaml", tmp_path / "store.sqlite"
    spec.write_text(SWEEP)
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "sweep", str(spec), "--store", str(store),
                             "--workers", "2", "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 60
    workers: list = []
    while time.monotonic() < deadline:  # running: its workers exist and some points are stored
        workers = psutil.Process(proc.pid).children(recursive=True)
        if len(workers) >= 2 and _stored(store) > 0:
            return proc, workers, store
        time.sleep(0.2)
    proc.kill()
    pytest.fail("the sweep did not get going within 60 s")


def _stored(store: Path) -> int:
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
            return int(db.execute("SELECT COUNT(*) FROM points").fetchone()[0])
    except sqlite3.Error:
        return 0


def _alive(procs: list) -> list[int]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p.pid)
        except psutil.NoSuchProcess:
            pass
    return out


def _intact(store: Path) -> int:
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return int(db.execute("SELECT COUNT(*) FROM points").fetchone()[0])


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_no_worker_survives_its_parent(tmp_path, how):
    proc, workers, store = _start_sweep(tmp_path)
    os.kill(proc.pid, getattr(signal, how))  # the parent alone, as `kill` does
    proc.wait(timeout=30)
    gone_by = time.monotonic() + 5.0
    while _alive(workers) and time.monotonic() < gone_by:
        time.sleep(0.1)
    assert _alive(workers) == [], f"workers still running 5 s after {how} of their parent"
    assert _intact(store) > 0
    if how == "SIGTERM":
        assert proc.returncode == 130
        assert proc.stderr.read().strip().splitlines() == ["interrupted: stopped; finished points are in the store"]


def test_ctrl_c_stops_with_one_line_and_the_store_intact(tmp_path):
    proc, workers, store = _start_sweep(tmp_path)
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole process group
    err = proc.communicate(timeout=30)[1]
    assert proc.returncode == 130 and err.strip().splitlines() == [
        "interrupted: stopped; finished points are in the store"], err[-2000:]
    time.sleep(1.0)
    assert _alive(workers) == []
    assert _intact(store) > 0  # what finished is kept (test_sweep.py resumes from such a store)


class _Client:
    """A stand-in for distributed.Client: only ``status`` matters to the liveness check."""

    def __init__(self, status: str) -> None:
        self.status = status


class _Executor:
    def __init__(self, status: str) -> None:
        self._client = _Client(status)


def test_a_lost_dask_scheduler_is_noticed(monkeypatch):
    assert executors._liveness(_Executor("running"))() is None
    assert executors._liveness(_Executor("closed"))() == "the Dask client is closed (scheduler lost)"
    monkeypatch.setattr(executors, "SCHEDULER_GRACE_S", 0.2)
    check = executors._liveness(_Executor("connecting"))
    assert check() is None  # a blip is allowed
    time.sleep(0.3)
    assert check().startswith("the Dask scheduler is unreachable (connecting for 0 s)")


def test_execute_gives_up_on_a_lost_cluster_with_an_input_error():
    from concurrent.futures import Future

    class Lost(_Executor):
        def submit(self, fn, *args):
            return Future()  # never completes: the scheduler that would run it is gone

    outcomes = []
    with pytest.raises(InputError, match="executor: the Dask client is closed \\(scheduler lost\\); finished points "
                                         "are stored, a re-run resumes"):
        executors.execute([("k", {"a": 1})], Lost("closed"), 4, lambda o, p: outcomes.append(o), lambda p: {})
    assert outcomes == []


@pytest.mark.slow
def test_a_killed_dask_scheduler_ends_the_sweep_with_exit_2(tmp_path):
    pytest.importorskip("distributed")
    port = 8700 + os.getpid() % 200
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    sched = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--port", str(port),
                              "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", f"tcp://127.0.0.1:{port}",
                               "--nworkers", "1", "--nthreads", "2", "--no-dashboard"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=env)
    try:
        time.sleep(6)
        (tmp_path / "long.yaml").write_text(SWEEP)
        proc = subprocess.Popen([sys.executable, "-m", "simulator", "sweep", str(tmp_path / "long.yaml"), "--store",
                                 str(tmp_path / "d.sqlite"), "--no-progress", "--scheduler",
                                 f"tcp://127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True, env=env)
        time.sleep(8)
        sched.kill()
        err = proc.communicate(timeout=120)[1]
        assert proc.returncode == 2
        assert err.strip().splitlines() == ["error: executor: the Dask client is closing (scheduler lost); finished "
                                            "points are stored, a re-run resumes"] or "scheduler" in err
    finally:
        for p in (sched, worker):
            p.kill()
