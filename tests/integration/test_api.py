"""The public API end to end: simulate, result fields, per-op table, exports, memory verdicts."""
from __future__ import annotations

import json

import pytest

import simulator as sim

REQUIRED = ("step_time_s", "throughput_samples_per_s", "peak_memory_bytes", "fits_in_memory", "energy_j",
            "average_power_w", "bottleneck", "total_flops", "utilization")


@pytest.fixture(scope="module")
def rn50():
    hw = sim.load_hardware("nvidia-h100-sxm")
    wl = sim.load_workload("resnet50")
    return sim.simulate(wl, hw, mode="training", batch_size=64, precision="bf16")


def test_summary_fields(rn50):
    for key in REQUIRED:
        assert getattr(rn50, key) is not None
    assert rn50.throughput_samples_per_s == pytest.approx(64 / rn50.step_time_s)
    assert 0 < rn50.utilization <= 1
    assert rn50.fits_in_memory
    assert rn50.bottleneck in ("compute", "memory_bandwidth", "overhead")


def test_training_flops_are_about_three_times_forward(rn50):
    fwd = sim.describe("resnet50", batch_size=64)["forward_flops"]
    # backward ~2x forward (first conv has no input gradient), plus a small optimizer term
    assert 2.8 * fwd < rn50.total_flops < 3.1 * fwd


def test_ops_table(rn50):
    df = rn50.ops
    assert list(df.columns)[:11] == ["name", "op_type", "phase", "device", "start_s", "end_s", "duration_s",
                                     "flops", "bytes_moved", "bound", "energy_j"]
    assert set(df["phase"]) == {"forward", "backward", "optimizer"}
    assert df["end_s"].max() == pytest.approx(rn50.step_time_s)
    assert (df["duration_s"] >= 0).all()
    assert df["flops"].sum() == pytest.approx(rn50.total_flops)


def test_exports(rn50, tmp_path):
    d = rn50.to_dict()
    assert json.loads(rn50.to_json()) == json.loads(json.dumps(d))
    path = rn50.to_chrome_trace(tmp_path / "t.json")
    trace = json.loads(path.read_text())
    xs = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert len(xs) == len(rn50.ops)
    assert all(e["dur"] >= 0 for e in xs)


def test_energy_is_idle_plus_dynamic(rn50):
    hw = sim.load_hardware("nvidia-h100-sxm")
    assert rn50.energy_j == pytest.approx(hw.power.idle_w * rn50.step_time_s + rn50.ops["energy_j"].sum())


def test_does_not_fit_says_by_how_much_and_what_dominates():
    r = sim.simulate("llama2-7b", "nvidia-h100-sxm", mode="training", batch_size=1, seq_len=512)
    assert not r.fits_in_memory
    assert r.bottleneck == "memory_capacity"
    assert r.memory_shortfall_bytes == pytest.approx(r.peak_memory_bytes - r.memory_capacity_bytes)
    # mixed-precision Adam: 2 (bf16 weights) + 2 (grads) + 4 (master) + 8 (moments) = 16 bytes per parameter
    b = r.memory_breakdown
    params = r.parameters
    assert b["weights"] == pytest.approx(2 * params) and b["optimizer_state"] == pytest.approx(8 * params)
    assert b["master_weights"] == pytest.approx(4 * params)
    assert r.memory_dominant == "optimizer_state"


def test_inference_memory_is_weights_plus_live_activations():
    r = sim.simulate("llama2-7b", "nvidia-h100-sxm", mode="inference", batch_size=1, seq_len=128)
    assert r.fits_in_memory
    assert r.memory_breakdown["weights"] == pytest.approx(2 * 6738415616)
    assert r.memory_breakdown["activations"] < 0.05 * r.memory_breakdown["weights"]


def test_grad_accumulation_keeps_flops_and_lowers_memory():
    full = sim.simulate("gpt2", "nvidia-h100-sxm", mode="training", batch_size=8, seq_len=256)
    acc = sim.simulate("gpt2", "nvidia-h100-sxm", mode="training", batch_size=8, seq_len=256, grad_accumulation=4)
    assert acc.total_flops == pytest.approx(full.total_flops, rel=1e-6)
    assert acc.peak_memory_bytes < full.peak_memory_bytes


@pytest.mark.parametrize("kwargs,fragment", [
    ({"mode": "train"}, "mode"),
    ({"precision": "fp64"}, "precision"),
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": -3}, "batch_size"),
    ({"optimizer": "lion"}, "optimizer"),
    ({"grad_accumulation": 3, "batch_size": 8}, "grad_accumulation"),
    ({"power_cap_w": -1}, "power_cap_w"),
])
def test_bad_arguments(kwargs, fragment):
    with pytest.raises(sim.InputError, match=fragment):
        sim.simulate("mlp", "nvidia-h100-sxm", **kwargs)


def test_a_precision_the_device_lacks_runs_and_is_stored_in_its_fallback():
    bf16 = sim.simulate("gpt2", "nvidia-a100-sxm-80gb", mode="training", batch_size=4, seq_len=128, precision="fp16")
    fp8 = sim.simulate("gpt2", "nvidia-a100-sxm-80gb", mode="training", batch_size=4, seq_len=128, precision="fp8")
    assert fp8.precision == "fp8" and fp8.effective_precision == "fp16"
    assert fp8.step_time_s == pytest.approx(bf16.step_time_s)
    assert fp8.peak_memory_bytes == pytest.approx(bf16.peak_memory_bytes)
    h100 = sim.simulate("gpt2", "nvidia-h100-sxm", mode="training", batch_size=4, seq_len=128, precision="fp8")
    assert h100.to_dict()["effective_precision"] == "fp8"
