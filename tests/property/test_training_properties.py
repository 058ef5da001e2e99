"""Laws of the training memory tactics, over generated small scenarios (hypothesis)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import simulator as sim

H100 = "nvidia-h100-sxm"
# (workload, seq_len): small shapes keep each simulated step well under a second
SMALL = st.sampled_from([("mlp", None), ("gpt2", 16), ("gpt2", 48), ("bert-base", 32)])
BATCH = st.integers(min_value=1, max_value=8)
CHECKPOINTING = st.sampled_from(["selective", "full"])
OPTIMIZER = st.sampled_from(["sgd", "momentum", "adam", "adamw", "adafactor"])
PRECISION = st.sampled_from(["bf16", "fp16", "fp32"])


def _train(wl, seq, batch, **kw):
    return sim.simulate(wl, H100, mode="training", batch_size=batch, seq_len=seq, **kw)


@settings(max_examples=20, deadline=None)
@given(SMALL, BATCH, CHECKPOINTING, OPTIMIZER, PRECISION)
def test_checkpointing_never_adds_activation_memory_nor_saves_time(wl_seq, batch, ck, opt, prec):
    wl, seq = wl_seq
    none = _train(wl, seq, batch, optimizer=opt, precision=prec)
    ckpt = _train(wl, seq, batch, optimizer=opt, precision=prec, checkpointing=ck)
    assert ckpt.memory_breakdown["activations"] <= none.memory_breakdown["activations"]
    assert ckpt.peak_memory_bytes <= none.peak_memory_bytes
    assert ckpt.step_time_s >= none.step_time_s
    assert ckpt.total_flops >= none.total_flops


@settings(max_examples=20, deadline=None)
@given(SMALL, BATCH, st.integers(min_value=1, max_value=8), st.sampled_from(["inference", "training"]),
       st.sampled_from(["none", "selective", "full"]))
def test_peak_memory_never_decreases_with_batch(wl_seq, batch, extra, mode, ck):
    wl, seq = wl_seq
    kw = dict(mode=mode, seq_len=seq, checkpointing=ck)
    small = sim.simulate(wl, H100, batch_size=batch, **kw)
    large = sim.simulate(wl, H100, batch_size=batch + extra, **kw)
    assert large.peak_memory_bytes >= small.peak_memory_bytes
    assert large.memory_breakdown["activations"] >= small.memory_breakdown["activations"]


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(["adam", "sgd", "adafactor"]), st.sampled_from(["none", "full"]),
       st.floats(min_value=1.05, max_value=4.0), st.sampled_from(["training", "inference"]))
def test_max_batch_size_fits_and_one_more_does_not(opt, ck, headroom, mode):
    # capacity = headroom x the batch-independent state, so the answer stays in the thousands
    plan = sim.simulate("mlp", H100, mode=mode, batch_size=1, optimizer=opt).memory_breakdown
    static = sum(v for k, v in plan.items() if k != "activations")
    kw = dict(mode=mode, optimizer=opt, checkpointing=ck, overrides={"memory.hbm.capacity_bytes": static * headroom})
    b = sim.max_batch_size("mlp", H100, **kw)
    if b > 0:
        assert sim.simulate("mlp", H100, batch_size=b, **kw).fits_in_memory
    assert not sim.simulate("mlp", H100, batch_size=b + 1, **kw).fits_in_memory


@settings(max_examples=4, deadline=None)
@given(st.sampled_from(["none", "selective", "full"]), st.floats(min_value=1.2, max_value=3.0))
def test_max_batch_size_fits_and_one_more_does_not_gpt2(ck, headroom):
    plan = sim.simulate("gpt2", H100, mode="training", batch_size=1, seq_len=16).memory_breakdown
    static = sum(v for k, v in plan.items() if k != "activations")
    kw = dict(seq_len=16, checkpointing=ck, overrides={"memory.hbm.capacity_bytes": static * headroom})
    b = sim.max_batch_size("gpt2", H100, **kw)
    assert b > 0
    assert sim.simulate("gpt2", H100, mode="training", batch_size=b, **kw).fits_in_memory
    assert not sim.simulate("gpt2", H100, mode="training", batch_size=b + 1, **kw).fits_in_memory
