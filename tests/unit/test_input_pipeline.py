"""Host input pipeline: a slow host starves the device; more workers help until the device is the limit."""
from __future__ import annotations

import pytest

import simulator as sim
from simulator.engine.input_pipeline import PipelineRun, run_pipeline
from simulator.errors import InputError
from simulator.run.host_input import DECODE_S, REFERENCE_CLOCK_GHZ

KW = dict(workload="resnet18", hardware="nvidia-h100-sxm", mode="training", batch_size=64, image_size=64)


def test_default_is_unchanged():
    a = sim.simulate(**KW)
    b = sim.simulate(**KW, input_workers=None)
    assert a.to_json() == b.to_json() and "input_pipeline" not in a.to_dict()


def test_one_slow_worker_makes_the_host_the_bottleneck():
    base = sim.simulate(**KW)
    r = sim.simulate(**KW, input_workers=1, prefetch=4)
    info = r.input_pipeline
    decode = 64 * DECODE_S["image"] * REFERENCE_CLOCK_GHZ / 3.8  # Xeon 8480 single-core turbo 3.8 GHz
    assert info["decode_s_per_batch"] == pytest.approx(decode)
    assert r.bottleneck == "host" and info["host_bound"]
    assert r.step_time_s == pytest.approx(decode, rel=1e-9)  # one worker: one batch per decode time
    assert info["device_step_time_s"] == pytest.approx(base.step_time_s)
    assert r.bottleneck_shares["host"] == pytest.approx(1 - base.step_time_s / r.step_time_s)
    idle = sim.load_hardware("nvidia-h100-sxm").power.idle_w
    assert r.energy_j == pytest.approx(base.energy_j + idle * (r.step_time_s - base.step_time_s))


def test_more_workers_faster_until_device_bound():
    base = sim.simulate(**KW).step_time_s
    times = [sim.simulate(**KW, input_workers=w, prefetch=2).step_time_s for w in (1, 2, 4, 8, 16, 32, 56)]
    assert all(b <= a * (1 + 1e-12) for a, b in zip(times, times[1:]))
    assert times[0] / times[1] == pytest.approx(2.0, rel=1e-6)  # host-bound: twice the workers, half the time
    r = sim.simulate(**{**KW, "hardware": "nvidia-t4", "image_size": 224}, input_workers=56, prefetch=4)
    assert r.bottleneck != "host" and r.input_pipeline["device_wait_fraction"] == pytest.approx(0.0, abs=1e-12)
    assert min(times) >= base


def test_engine_prefetch_bounds_the_queue_and_link_counts():
    # decode 1 s by one worker, step 0.1 s: the device waits 0.9 s per step in steady state
    tr = run_pipeline(PipelineRun(workers=1, prefetch=2, decode_s=1.0, transfer_s=0.05, step_s=0.1, steps=5))
    assert tr.step_start_s == pytest.approx([1.05, 2.05, 3.05, 4.05, 5.05])
    # fast host, slow device: workers block on the full queue, the device never waits after the first batch
    tr = run_pipeline(PipelineRun(workers=4, prefetch=2, decode_s=0.01, transfer_s=0.0, step_s=1.0, steps=6))
    assert tr.wait_s == pytest.approx(0.01) and tr.end_s == pytest.approx(6.01)


def test_bad_pipeline_arguments():
    with pytest.raises(InputError, match="input_workers"):
        sim.simulate(**KW, input_workers=0)
    with pytest.raises(InputError, match="prefetch"):
        sim.simulate(**KW, input_workers=2, prefetch=0)
    with pytest.raises(InputError, match="not a CPU"):
        sim.simulate(**KW, input_workers=2, host="nvidia-t4")
