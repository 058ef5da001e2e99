"""Laws every simulation must obey, checked over generated scenarios (hypothesis)."""
from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

import simulator as sim
from simulator.cost.peaks import matrix_flops_per_s
from simulator.spec.loader import load_hardware

DEVICES = ["nvidia-h100-sxm"]
WORKLOADS = st.sampled_from([("mlp", None), ("resnet50", 64), ("gpt2", 64), ("bert-base", 32)])
MODES = st.sampled_from(["inference", "training"])
BATCH = st.integers(min_value=1, max_value=16)
SCALE = st.sampled_from([1.25, 1.5, 2.0, 4.0])


def _run(wl, seq, mode, batch, overrides=None, **kw):
    return sim.simulate(wl, "nvidia-h100-sxm", mode=mode, batch_size=batch, seq_len=seq,
                        image_size=64 if wl == "resnet50" else None, overrides=overrides, **kw)


@given(WORKLOADS, MODES, BATCH, SCALE)
def test_more_memory_bandwidth_never_slower(wl_seq, mode, batch, scale):
    wl, seq = wl_seq
    bw = load_hardware("nvidia-h100-sxm").main_memory.bandwidth_gbs
    base = _run(wl, seq, mode, batch)
    fast = _run(wl, seq, mode, batch, {"memory.hbm.bandwidth_gbs": bw * scale})
    assert fast.step_time_s <= base.step_time_s * (1 + 1e-12)


@given(WORKLOADS, MODES, BATCH, SCALE)
def test_more_compute_never_slower(wl_seq, mode, batch, scale):
    wl, seq = wl_seq
    clock = load_hardware("nvidia-h100-sxm").compute.clock_ghz
    base = _run(wl, seq, mode, batch)
    fast = _run(wl, seq, mode, batch, {"compute.clock_ghz": min(9.9, clock * scale)})
    assert fast.step_time_s <= base.step_time_s * (1 + 1e-12)


@given(WORKLOADS, MODES, BATCH)
def test_step_never_beats_the_roofline_bound(wl_seq, mode, batch):
    wl, seq = wl_seq
    r = _run(wl, seq, mode, batch)
    hw = load_hardware("nvidia-h100-sxm")
    ops = r.ops
    bound = max(r.total_flops / matrix_flops_per_s(hw, sim.Precision.BF16),
                ops["bytes_moved"].sum() / (hw.main_memory.bandwidth_gbs * 1e9))
    assert r.step_time_s >= bound * (1 - 1e-9)


@given(WORKLOADS, MODES, BATCH, st.sampled_from([None, 150.0, 300.0]))
def test_energy_time_and_power_are_finite_non_negative_and_under_the_cap(wl_seq, mode, batch, cap):
    wl, seq = wl_seq
    r = _run(wl, seq, mode, batch, power_cap_w=cap)
    for v in (r.step_time_s, r.energy_j, r.average_power_w, r.peak_memory_bytes, r.total_flops):
        assert math.isfinite(v) and v >= 0
    limit = cap or r.tdp_w
    assert r.average_power_w <= limit * (1 + 1e-9)
    assert (r.ops["energy_j"] >= 0).all() and (r.ops["duration_s"] >= 0).all()


@given(WORKLOADS, MODES, BATCH, st.sampled_from([150.0, 250.0, 400.0]))
def test_tighter_power_cap_never_shortens_a_step(wl_seq, mode, batch, cap):
    wl, seq = wl_seq
    loose = _run(wl, seq, mode, batch, power_cap_w=cap * 1.5)
    tight = _run(wl, seq, mode, batch, power_cap_w=cap)
    assert tight.step_time_s >= loose.step_time_s * (1 - 1e-12)


@given(WORKLOADS, MODES, BATCH)
def test_same_inputs_give_identical_results(wl_seq, mode, batch):
    wl, seq = wl_seq
    a = _run(wl, seq, mode, batch)
    b = _run(wl, seq, mode, batch)
    assert a.to_json() == b.to_json()
    assert a.ops.equals(b.ops)


@given(st.sampled_from(["mlp", "gpt2"]), BATCH)
def test_training_step_costs_more_than_inference(wl, batch):
    seq = 64 if wl == "gpt2" else None
    inf = _run(wl, seq, "inference", batch)
    train = _run(wl, seq, "training", batch)
    assert train.step_time_s > inf.step_time_s
    assert train.total_flops > 2.5 * inf.total_flops
    assert train.peak_memory_bytes > inf.peak_memory_bytes
