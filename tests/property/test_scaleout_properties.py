"""Laws of the multi-device model (hypothesis)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import simulator as sim

LAYOUTS = st.sampled_from(["dp=8", "dp=4,tp=2", "dp=2,pp=4", "dp=2,tp=2,pp=2", "tp=4,pp=2"])


@settings(max_examples=12)
@given(LAYOUTS, st.sampled_from([1.5, 2.0, 4.0]), st.sampled_from(["training", "inference"]))
def test_more_link_bandwidth_never_slows_a_step(layout, scale, mode):
    kw = dict(mode=mode, batch_size=16, seq_len=128, devices=8, parallelism=layout)
    base = sim.simulate("gpt2", "nvidia-h100-sxm", **kw)
    fast = sim.simulate("gpt2", "nvidia-h100-sxm", overrides={"links.nvlink.bandwidth_gbs": 450 * scale}, **kw)
    assert fast.step_time_s <= base.step_time_s * (1 + 1e-9)


@settings(max_examples=8)
@given(st.sampled_from([1, 2, 3]))
def test_per_device_memory_never_grows_with_zero_stage(stage):
    lo = sim.simulate("gpt2", "dgx-h100", mode="training", batch_size=16, seq_len=128,
                      parallelism={"data": 8, "zero_stage": stage - 1})
    hi = sim.simulate("gpt2", "dgx-h100", mode="training", batch_size=16, seq_len=128,
                      parallelism={"data": 8, "zero_stage": stage})
    assert hi.per_device[0]["peak_memory_bytes"] <= lo.per_device[0]["peak_memory_bytes"]


@settings(max_examples=8)
@given(LAYOUTS)
def test_cluster_results_are_deterministic(layout):
    kw = dict(mode="training", batch_size=16, seq_len=128, devices=8, parallelism=layout)
    assert sim.simulate("gpt2", "nvidia-h100-sxm", **kw).to_json() == \
        sim.simulate("gpt2", "nvidia-h100-sxm", **kw).to_json()
