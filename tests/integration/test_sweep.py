"""Design-space sweeps: resume after SIGKILL without losing or duplicating a point, Dask equals local,
failing and invalid points recorded, sweep files and spaces validated with one clear error."""
from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

import simulator.run.step
from simulator import cli, pareto, sensitivity, sweep
from simulator.sweep.space import MAX_POINTS, SpaceError, make_points
from simulator.sweep.run import _run_point_dict
from simulator.sweep.store import SweepStore, point_key

REPO = Path(__file__).resolve().parents[2]

KILL_SPACE = {
    "hardware": ["nvidia-h100-sxm", "nvidia-a100-sxm-80gb", "nvidia-l4"],  # the L4 has no 'hbm': invalid points
    "hardware.memory.hbm.bandwidth_gbs": [2000, 3000],
    "batch_size": [16, 32, 48, 64],
}
KILL_YAML = """\
workload: resnet50
mode: training
space:
  hardware: [nvidia-h100-sxm, nvidia-a100-sxm-80gb, nvidia-l4]
  hardware.memory.hbm.bandwidth_gbs: [2000, 3000]
  batch_size: [16, 32, 48, 64]
train_tokens: null
"""


def _comparable(table: pd.DataFrame) -> pd.DataFrame:
    """Everything but the wall-clock time a point took."""
    return table.drop(columns=["elapsed_s"]).reset_index(drop=True)


def _stored_keys(path: Path) -> list[str]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return [k for (k,) in db.execute("SELECT key FROM points")]
    except sqlite3.OperationalError:  # the table is not created yet
        return []
    finally:
        db.close()


def _reported_done(stderr: str) -> int:
    done = re.findall(r"sweep: (\d+)/\d+ points done", stderr)
    return int(done[-1]) if done else 0


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    """The uninterrupted sweep, run in-process."""
    with ThreadPoolExecutor(2) as ex:
        return sweep("resnet50", KILL_SPACE, mode="training", executor=ex, progress=False)


def test_killed_sweep_resumes_with_every_reported_point_stored_once(tmp_path, reference):
    spec = tmp_path / "kill.yaml"
    spec.write_text(KILL_YAML)
    store = tmp_path / "kill.sqlite"
    log = tmp_path / "stderr.txt"
    cmd = [sys.executable, "-m", "simulator", "sweep", str(spec), "--store", str(store), "--workers", "1",
           "--format", "csv", "--out", str(tmp_path / "first.csv")]
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        deadline = time.monotonic() + 60
        while not store.exists() or len(_stored_keys(store)) < 4:
            assert proc.poll() is None, "the sweep finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its worker processes, mid-sweep
        proc.wait()
    stored = _stored_keys(store)
    assert 4 <= len(stored) < len(reference)
    assert len(set(stored)) == len(stored)
    assert _reported_done(log.read_text()) <= len(stored)  # reported done => committed

    resumed = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"({len(stored)} from store," in resumed.stderr.strip().splitlines()[-1]
    final = _stored_keys(store)
    assert sorted(final) == sorted(set(final)) and set(stored) <= set(final)
    assert sorted(final) == sorted(reference["key"])

    # reading everything back from the store (nothing left to run) equals the uninterrupted run
    with ThreadPoolExecutor(1) as ex:
        again = sweep("resnet50", KILL_SPACE, mode="training", store=store, executor=ex, progress=False)
    pd.testing.assert_frame_equal(_comparable(again), _comparable(reference))
    csv = pd.read_csv(tmp_path / "first.csv")
    assert len(csv) == len(reference) and (csv["status"] == reference["status"]).all()
    with SweepStore(store) as st:
        assert st.counts() == reference["status"].value_counts().to_dict()


def test_dask_cluster_gives_the_same_table_as_a_local_pool(tmp_path):
    import distributed  # a main dependency, so CI always runs this comparison
    space = {"hardware": ["nvidia-h100-sxm", "nvidia-l4"], "batch_size": [8, 64], "precision": ["bf16", "int8"]}
    local = sweep("bert-base", space, mode="inference", progress=False)  # default: local process pool
    spec = tmp_path / "dask.yaml"
    spec.write_text(f"workload: bert-base\nmode: inference\nspace: {json.dumps(space)}\n")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        remote = sweep("bert-base", space, mode="inference", executor=client.get_executor(), progress=False)
        assert cli.main(["sweep", str(spec), "--scheduler", cluster.scheduler_address, "--no-progress",
                         "--format", "json", "--out", str(tmp_path / "dask.json")]) == 0
    assert (local["status"] == "ok").all()
    pd.testing.assert_frame_equal(_comparable(remote), _comparable(local))
    via_cli = json.loads((tmp_path / "dask.json").read_text())
    assert [r["key"] for r in via_cli] == local["key"].tolist()
    assert [r["step_time_s"] for r in via_cli] == local["step_time_s"].tolist()


def test_editing_a_spec_file_changes_the_point_key(tmp_path):
    spec = tmp_path / "gpu.yaml"
    spec.write_text((REPO / "hardware_specs/gpu/nvidia-h100-sxm.yaml").read_text())
    before = point_key(_run_point_dict({"hardware": str(spec)}, "mlp", "training"))
    spec.write_text(spec.read_text().replace("tdp_w: 700", "tdp_w: 600"))
    assert point_key(_run_point_dict({"hardware": str(spec)}, "mlp", "training")) != before


def test_failing_and_invalid_points_are_recorded_and_never_stop_the_sweep(tmp_path, monkeypatch):
    real = simulator.run.step.simulate_step
    calls = []

    def flaky(workload, hardware, **kw):
        calls.append(kw.get("batch_size"))
        if kw.get("batch_size") == 3 and kw.get("precision") == "bf16":
            raise ZeroDivisionError("simulated bug")
        return real(workload, hardware, **kw)

    monkeypatch.setattr(simulator.run.step, "simulate_step", flaky)
    space = {"hardware": ["nvidia-h100-sxm", "no-such-device"], "batch_size": [2, 3],
             "hardware.power.tdp_w": [700], "precision": ["bf16", "int3"]}
    store = tmp_path / "s.sqlite"
    with ThreadPoolExecutor(2) as ex:
        t = sweep("mlp", space, mode="training", store=store, executor=ex, progress=False)
    assert len(t) == 8
    by = {(r.hardware, r.batch_size, r.precision): r for r in t.itertuples()}
    assert by[("nvidia-h100-sxm", 2, "bf16")].status == "ok"
    bug = by[("nvidia-h100-sxm", 3, "bf16")]
    assert bug.status == "error" and "ZeroDivisionError: simulated bug" in bug.error
    assert by[("nvidia-h100-sxm", 2, "int3")].status == "invalid" and "int3" in by[("nvidia-h100-sxm", 2, "int3")].error
    assert all(r.status == "invalid" and "no-such-device" in r.error for k, r in by.items() if k[0] == "no-such-device")
    with SweepStore(store) as st:
        assert st.counts() == {"ok": 1, "error": 1, "invalid": 6}

    calls.clear()  # a re-run runs nothing; with retry_errors only the failed point, which now works
    monkeypatch.setattr(simulator.run.step, "simulate_step", real)
    with ThreadPoolExecutor(2) as ex:
        assert sweep("mlp", space, store=store, executor=ex, progress=False)["status"].tolist() == t["status"].tolist()
        again = sweep("mlp", space, store=store, executor=ex, progress=False, retry_errors=True)
    assert again.loc[again["batch_size"].eq(3) & again["precision"].eq("bf16")
                     & again["hardware"].eq("nvidia-h100-sxm"), "status"].tolist() == ["ok"]
    with SweepStore(store) as st:
        assert len(st) == 8 and st.counts() == {"ok": 2, "invalid": 6}


def test_cost_co2_and_run_columns():
    with ThreadPoolExecutor(1) as ex:
        t = sweep("gpt2", {"hardware": ["nvidia-h100-sxm"], "batch_size": [4], "seq_len": [512]}, executor=ex,
                  progress=False, energy_usd_per_kwh=0.2, carbon_g_per_kwh=500, train_tokens=1e9)
    r = t.iloc[0]
    kwh = r.energy_j / 3.6e6
    assert r.cost_usd == pytest.approx(2.99 * r.step_time_s / 3600 + 0.2 * kwh)
    assert r.co2_kg == pytest.approx(0.5 * kwh)
    steps = -(-1e9 // (4 * 512))
    assert r.run_steps == steps and r.run_time_s == pytest.approx(steps * r.step_time_s)
    assert r.run_cost_usd == pytest.approx(steps * r.cost_usd) and r.run_co2_kg == pytest.approx(steps * r.co2_kg)


def test_samplers_are_seeded_and_latin_hypercube_fills_every_stratum():
    space = {"hardware": ["a", "b"], "hardware.compute.clock_ghz": {"min": 0.0, "max": 20.0}}
    lhs = make_points(space, sampler="lhs", samples=20, seed=3)
    assert lhs == make_points(space, sampler="lhs", samples=20, seed=3)
    assert sorted(int(p["hardware.compute.clock_ghz"]) for p in lhs) == list(range(20))
    assert [p["hardware"] for p in lhs].count("a") == 10
    rnd = make_points({"hardware": ["a"], "batch_size": {"min": 1, "max": 1024, "log": True}},
                      sampler="random", samples=50, seed=1)
    assert all(isinstance(p["batch_size"], int) and 1 <= p["batch_size"] <= 1024 for p in rnd)


@pytest.mark.parametrize("space, field", [
    ({"hardware": list(range(1000)), "batch_size": list(range(101))}, f"limit of {MAX_POINTS:,} points"),
    ({"hardware": ["a"], "bandwidth": [1]}, "space.bandwidth: unknown parameter"),
    ({"batch_size": [1]}, "space.hardware: required"),
    ({"hardware": ["a"], "batch_size": {"min": 1, "max": 8}}, "space.batch_size: a range in a grid needs 'steps'"),
    ({"hardware": ["a"], "batch_size": {"min": 1, "max": 8, "step": 2}}, "space.batch_size.step: unknown range key"),
])
def test_bad_spaces_are_refused_naming_the_field(space, field):
    with pytest.raises(SpaceError, match=re.escape(field)):
        make_points(space)


@pytest.mark.parametrize("text, field", [
    ("workload: mlp\nspace: {hardware: [nvidia-h100-sxm]}\nsampels: 3\n", "sampels: unknown key"),
    ("workload: mlp\nmode: train\nspace: {hardware: [nvidia-h100-sxm]}\n", "mode:"),
    ("workload: mlp\nspace: {hardware: [nvidia-h100-sxm], hardware.: [1]}\n", "space.hardware.: unknown parameter"),
    ("workload: mlp\nsampler: lhs\nsamples: 200000\nspace: {hardware: [x]}\n", "limit of 100,000 points"),
    ("workload: mlp\nspace: {hardware: [a]}\nspace: {hardware: [b]}\n", "duplicate key"),
])
def test_bad_sweep_files_give_one_error_naming_file_and_field(tmp_path, capsys, text, field):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert cli.main(["sweep", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and field in err[0], err


def test_cli_prints_the_pareto_front(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("workload: mlp\nmode: inference\nspace:\n  hardware: [nvidia-h100-sxm, nvidia-l4]\n"
                    "  batch_size: [8, 512]\npareto: {minimize: [step_time_s, cost_usd]}\n")
    assert cli.main(["sweep", str(path), "--no-progress", "--workers", "1", "--pareto", "--format", "json"]) == 0
    front = json.loads(capsys.readouterr().out)
    assert 1 <= len(front) <= 4 and {r["status"] for r in front} == {"ok"}


def test_sensitivity_ranks_the_parameters_that_move_the_objective(reference):
    table = sensitivity(reference, "step_time_s")
    assert set(table["parameter"]) == {"hardware", "hardware.memory.hbm.bandwidth_gbs", "batch_size"}
    assert table["spread"].is_monotonic_decreasing and table.loc[0, "parameter"] == "batch_size"
    assert pareto(reference, minimize=["step_time_s", "cost_usd"])["status"].eq("ok").all()


class _LosesOneTask(ThreadPoolExecutor):
    """A pool whose worker 'dies' on a task holding batch size 4: the future fails, its points never ran."""

    def submit(self, fn, points):
        if any(p.get("batch_size") == 4 for p in points):
            fut = Future()
            fut.set_exception(RuntimeError("worker lost"))
            return fut
        return super().submit(fn, points)


def test_a_task_lost_by_the_executor_is_reported_but_not_stored(tmp_path):
    space = {"hardware": ["nvidia-h100-sxm"], "batch_size": [2, 4]}
    store = tmp_path / "lost.sqlite"
    with _LosesOneTask(1) as ex:
        t = sweep("mlp", space, store=store, executor=ex, progress=False)
    assert t["status"].tolist() == ["ok", "error"] and "executor failed: RuntimeError: worker lost" in t["error"][1]
    with SweepStore(store) as st:
        assert st.counts() == {"ok": 1}
    with ThreadPoolExecutor(1) as ex:  # the re-run retries it
        assert sweep("mlp", space, store=store, executor=ex, progress=False)["status"].tolist() == ["ok", "ok"]
