"""Training memory tactics: optimizer state, master weights, gradient accumulation, checkpointing, max batch."""
from __future__ import annotations

import pytest

import simulator as sim
from simulator.errors import ScenarioError

H100 = "nvidia-h100-sxm"


def _train(workload="gpt2", **kw):
    kw = {"batch_size": 4, "seq_len": 64, **kw}
    return sim.simulate(workload, H100, mode="training", **kw)


def test_adam_state_is_two_fp32_values_per_parameter():
    for opt in ("adam", "adamw"):
        r = _train(optimizer=opt)
        assert r.memory_breakdown["optimizer_state"] == 2 * 4 * r.parameters


def test_momentum_one_value_sgd_none():
    assert _train(optimizer="momentum").memory_breakdown["optimizer_state"] == 4 * _train().parameters
    assert _train(optimizer="sgd").memory_breakdown["optimizer_state"] == 0


def test_adafactor_factored_state_is_far_smaller_than_adam():
    ada = _train(optimizer="adafactor").memory_breakdown["optimizer_state"]
    adam = _train(optimizer="adam").memory_breakdown["optimizer_state"]
    assert 0 < ada < adam / 10


def test_optimizer_flops_grow_with_state():
    flops = {o: _train("mlp", optimizer=o, batch_size=8).total_flops for o in ("sgd", "momentum", "adam")}
    assert flops["sgd"] < flops["momentum"] < flops["adam"]


def test_master_weights_only_below_fp32():
    p = _train().parameters
    for prec in ("bf16", "fp16"):
        r = _train(precision=prec)
        assert r.memory_breakdown["master_weights"] == 4 * p
        assert r.memory_breakdown["weights"] == 2 * p and r.memory_breakdown["gradients"] == 2 * p
    r = _train(precision="fp32")
    assert r.memory_breakdown["master_weights"] == 0
    assert r.memory_breakdown["weights"] == 4 * p
    # inference keeps no training state at all
    i = sim.simulate("gpt2", H100, batch_size=4, seq_len=64)
    assert i.memory_breakdown["master_weights"] == i.memory_breakdown["optimizer_state"] == 0


def test_grad_accumulation_same_flops_lower_peak_memory():
    full = _train(batch_size=16)
    acc = _train(batch_size=16, grad_accumulation=4)
    assert acc.total_flops == pytest.approx(full.total_flops, rel=1e-9)
    assert acc.memory_breakdown["activations"] < full.memory_breakdown["activations"] / 2
    assert acc.peak_memory_bytes < full.peak_memory_bytes
    assert acc.step_time_s >= full.step_time_s  # four smaller passes use the device no better
    with pytest.raises(ScenarioError, match="divisible"):
        _train(batch_size=10, grad_accumulation=4)


@pytest.mark.parametrize("workload,kw", [("gpt2", {}), ("bert-base", {}), ("llama2-7b", {"batch_size": 1}),
                                         ("resnet50", {"image_size": 64, "seq_len": None})])
def test_checkpointing_trades_time_for_activation_memory(workload, kw):
    runs = {ck: _train(workload, checkpointing=ck, **kw) for ck in ("none", "selective", "full")}
    act = {ck: r.memory_breakdown["activations"] for ck, r in runs.items()}
    t = {ck: r.step_time_s for ck, r in runs.items()}
    assert act["full"] < act["selective"] < act["none"]
    assert t["none"] < t["selective"] < t["full"]
    # recomputation adds forward FLOPs (at most one extra forward pass)
    fwd = runs["none"].ops.query("phase == 'forward'").flops.sum()
    extra = runs["full"].total_flops - runs["none"].total_flops
    assert 0 < extra <= fwd
    assert runs["full"].ops.query("phase == 'recompute'").flops.sum() == pytest.approx(extra)


def test_selective_recompute_covers_attention_not_matmuls():
    r = _train(checkpointing="selective")
    kinds = set(r.ops.query("phase == 'recompute'").op_type)
    assert "attention" in kinds and "matmul" not in kinds


def test_selective_mlp_recomputes_selective_plus_the_mlp_matmuls():
    runs = {ck: _train("llama2-7b", batch_size=1, checkpointing=ck) for ck in ("selective", "selective-mlp", "full")}
    rec = {ck: r.ops.query("phase == 'recompute'") for ck, r in runs.items()}
    # hand count: the extra recompute is each layer's up (h -> 2 x ffn, gate and up fused) and down
    # (ffn -> h) projections at 2 FLOPs per MAC, for 64 tokens; llama2-7b: h 4096, ffn 11008, 32 layers
    tokens, h, ffn, layers = 64, 4096, 11008, 32
    mlp_flops = 2 * tokens * (h * 2 * ffn + ffn * h) * layers
    extra = rec["selective-mlp"].query("op_type == 'matmul'").flops.sum()
    assert extra == pytest.approx(mlp_flops, rel=1e-3)
    assert rec["selective"].flops.sum() + extra == pytest.approx(rec["selective-mlp"].flops.sum(), rel=1e-9)
    act = {ck: r.memory_breakdown["activations"] for ck, r in runs.items()}
    assert act["full"] < act["selective-mlp"] < act["selective"]


def test_max_batch_size_llama2_7b_adam_does_not_fit_on_one_h100():
    # 6.7B x (2 weights + 2 grads + 4 master + 8 Adam) B = 108 GB > 80 GiB before any activation
    assert sim.max_batch_size("llama2-7b", H100, seq_len=4096) == 0


def test_max_batch_size_brackets_the_capacity():
    kw = dict(seq_len=128, overrides={"memory.hbm.capacity_bytes": 4e9})
    b = sim.max_batch_size("gpt2", H100, **kw)
    assert b > 1
    assert _train(batch_size=b, **kw).fits_in_memory
    assert not _train(batch_size=b + 1, **kw).fits_in_memory
    # full checkpointing lets a larger batch fit; gradient accumulation multiplies it
    assert sim.max_batch_size("gpt2", H100, checkpointing="full", **kw) > b
    assert sim.max_batch_size("gpt2", H100, grad_accumulation=2, **kw) == 2 * b


def test_max_batch_size_inference_and_arguments():
    assert sim.max_batch_size("mlp", H100, mode="inference", limit=1000) == 1000
    with pytest.raises(ScenarioError):
        sim.max_batch_size("mlp", H100, batch_size=4)
    with pytest.raises(ScenarioError):
        sim.max_batch_size("mlp", H100, bogus=1)
