"""Real-time periodic streams: deadline misses on a slow device, none on a fast one; EDF vs FIFO; smallest device."""
from __future__ import annotations

import subprocess
import sys

import pytest

import simulator as sim
from simulator.engine.realtime import Job, run_periodic
from simulator.errors import InputError

WL = dict(workload="resnet18", image_size=64)


def _service(hw: str, **wl) -> float:
    w = {**WL, **wl}
    return sim.simulate(w["workload"], hw, batch_size=1, image_size=w["image_size"]).step_time_s


def test_slow_device_misses_fast_device_does_not():
    # ResNet-50 at 320: batch-1 frames compute-heavy enough for the devices to differ (<0.6x); at 224
    # the per-kernel time (8.1 us since the refit on the MLPerf SingleStream rows) is most of a frame
    big = dict(workload="resnet50", image_size=320)
    slow, fast = _service("nvidia-t4", **big), _service("nvidia-h100-sxm", **big)
    assert fast < slow / 1.5
    count = 4
    fps = 1.2 / (slow * count)  # 120% of the slow device, under 80% of the fast one
    streams = [{**big, "fps": fps, "count": count}]
    a = sim.realtime(streams, "nvidia-t4", duration_s=200 / fps)
    b = sim.realtime(streams, "nvidia-h100-sxm", duration_s=200 / fps)
    assert a.utilization == pytest.approx(1.2) and a.deadline_misses > 0 and not a.meets_deadlines
    assert b.meets_deadlines and b.deadline_misses == 0
    s = b.streams[0]
    assert s["frames"] == 800 and s["worst_latency_s"] <= s["deadline_s"] and s["jitter_s"] >= 0
    assert s["worst_latency_s"] >= fast  # at least the frame's own inference


def test_aligned_phases_reach_the_critical_instant():
    fast = _service("nvidia-h100-sxm")
    r = sim.realtime([{**WL, "fps": 10, "count": 5}], "nvidia-h100-sxm", duration_s=1, phases="aligned")
    assert r.streams[0]["worst_latency_s"] == pytest.approx(5 * fast)  # five frames released together
    assert r.streams[0]["mean_latency_s"] == pytest.approx(3 * fast)


def test_edf_meets_what_fifo_misses():
    # a long job released first blocks a short urgent one under FIFO only (non-preemptive both)
    jobs = [Job(0.0, 10.0, 0, 1.0), Job(0.0, 10.0, 0, 1.0), Job(0.0, 1.5, 1, 0.5)]
    edf, fifo = run_periodic(jobs, scheduler="edf"), run_periodic(jobs, scheduler="fifo")
    assert edf.finish_s[2] == 0.5 and fifo.finish_s[2] == 2.5


def test_smallest_device_by_tdp():
    light = [{"workload": "mlp", "fps": 30, "count": 2}]
    r = sim.smallest_device(light, ["nvidia-h100-sxm", "nvidia-t4"], duration_s=1)
    assert r.hardware == "nvidia-t4"
    # ResNet-50 at 224, as above: the devices differ by more than 1.5x (small frames are launch-bound)
    big = dict(workload="resnet50", image_size=224)
    slow = _service("nvidia-t4", **big)
    heavy = [{**big, "fps": 1.2 / (slow * 4), "count": 4}]
    r = sim.smallest_device(heavy, ["nvidia-t4", "nvidia-h100-sxm"], duration_s=0.2)
    assert r.hardware == "nvidia-h100-sxm"
    impossible = [{**big, "fps": 10 / slow, "count": 4}]
    assert sim.smallest_device(impossible, ["nvidia-t4"], duration_s=0.01) is None


def test_bad_streams_are_input_errors():
    for streams, msg in (([], "non-empty"), ([{"workload": "mlp"}], "needs"), ([{"workload": "mlp", "fps": -1}], "fps"),
                         ([{"workload": "mlp", "fps": 1, "count": 0}], "count")):
        with pytest.raises(InputError, match=msg):
            sim.realtime(streams, "nvidia-t4")
    with pytest.raises(InputError, match="scheduler"):
        sim.realtime([{"workload": "mlp", "fps": 1}], "nvidia-t4", scheduler="rm")


def test_cli_realtime():
    r = subprocess.run([sys.executable, "-m", "simulator", "realtime", "--hardware", "nvidia-t4", "--stream",
                        "mlp:30:2", "--duration-s", "1", "--format", "json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert '"meets_deadlines": true' in r.stdout
    r = subprocess.run([sys.executable, "-m", "simulator", "realtime", "--hardware", "nvidia-t4", "--stream", "mlp"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "WORKLOAD:FPS" in r.stderr
