"""Hybrid sharding (FSDP within slices, replicas across them), ZeRO-3 gathers, what training keeps
for backward, and activation offload, checked by hand on small models."""
from __future__ import annotations

import pytest

import simulator as sim
from simulator.cost.base import CostOptions
from simulator.engine.cluster import GroupShape
from simulator.errors import ScenarioError
from simulator.parallel.layout import Parallelism, parse_parallelism
from simulator.parallel.plan import build_plan
from simulator.run.placement import fabrics_for
from simulator.scenario import make_scenario
from simulator.spec.loader import load_hardware
from simulator.workload.loader import load_workload
from simulator.workload.training import Checkpointing, recompute_set, training_forward

TPU = "google-tpu-v5p"


def _plan(parallel: str, devices: int, model: str = "gpt2", **scenario):
    fwd = load_workload(model).build(batch_size=2, seq_len=128)
    p = parse_parallelism(parallel, devices)
    sc = make_scenario(mode="training", precision="bf16", **scenario)
    return fwd, p, build_plan(fwd, load_hardware(TPU), sc, p, 1, 2, options=CostOptions())


def test_parse_and_group_sizes():
    p = parse_parallelism("dp=512,zero=3,fsdp=64", 512)
    assert (p.shard_group, p.replicas) == (64, 8)
    assert parse_parallelism("dp=16,zero=3", 16).shard_group == 16  # no fsdp: ZeRO over all ranks
    with pytest.raises(ScenarioError, match="fsdp"):
        parse_parallelism("dp=16,zero=3,fsdp=5", 16)
    with pytest.raises(ScenarioError, match="fsdp"):
        parse_parallelism("dp=16,fsdp=8", 16)  # hybrid sharding shards something: needs a ZeRO stage


def test_shard_groups_stay_in_a_slice_and_replicas_cross_the_network():
    system = load_hardware("tpu-v5e-multislice", {"devices_per_node": 64})
    f = fabrics_for(system, parse_parallelism("dp=512,zero=3,fsdp=64", 512), 512)
    assert f.groups["zero"] == GroupShape(64, 1) and f.groups["replica"] == GroupShape(1, 8)
    f = fabrics_for(system, parse_parallelism("dp=512,zero=3,fsdp=16", 512), 512)
    assert f.groups["zero"] == GroupShape(16, 1) and f.groups["replica"] == GroupShape(4, 8)  # 4 per slice x 8


def test_gradients_reduce_scatter_in_the_group_then_all_reduce_the_shard_across_replicas():
    fwd, p, plan = _plan("dp=8,zero=3,fsdp=4", 8)
    syncs = [s for s in plan.stages[0].backward if s.collective is not None and s.async_]
    rs = [s for s in syncs if s.group == "zero"]
    ar = [s for s in syncs if s.group == "replica"]
    assert len(rs) == len(ar) > 0
    assert sum(s.nbytes for s in ar) == pytest.approx(sum(s.nbytes for s in rs) / 4)
    assert {s.collective.value for s in rs} == {"reduce_scatter"} and {s.collective.value for s in ar} == {"all_reduce"}
    # ZeRO-3 state is sharded over the group of 4, not over all 8 ranks
    assert plan.stages[0].static_bytes["weights"] == pytest.approx(fwd.parameters * 2 / 4)


def test_zero3_gathers_are_prefetched_at_the_compute_format_and_not_repeated_after_the_step():
    fwd, p, plan = _plan("dp=4,zero=3", 4, weight_precision="fp32")
    gathers = [s for s in plan.stages[0].forward if s.collective is not None]
    assert gathers and all(s.overlap and s.group == "zero" for s in gathers)
    # fp32 weights are cast to bf16 on each shard before the gather: 2 bytes per parameter
    layer = sum(fwd.op(n).param_elems for n in fwd.order if n.startswith("h0."))
    assert gathers[1].nbytes == pytest.approx(layer * 2)
    assert [s for s in plan.stages[0].optimizer if s.collective is not None] == []
    _, _, plan1 = _plan("dp=4,zero=1", 4)
    assert [s.label for s in plan1.stages[0].optimizer if s.collective is not None] == ["weights all-gather"]


def _saved(checkpointing: str, model: str = "gpt2") -> float:
    plan = _plan("dp=2,zero=3", 2, model=model, checkpointing=checkpointing)[2]
    return plan.stages[0].activation_bytes_per_microbatch


def test_backward_keeps_no_linear_output_that_only_feeds_a_residual_sum():
    # MaxText 16B (no dropout): one parallel block per layer, attention and MLP summed into the residual
    fwd = training_forward(load_workload("maxtext-16b").build(batch_size=2, seq_len=128))
    kept = [n for n in fwd.order if n not in recompute_set(fwd, Checkpointing.SELECTIVE)]
    assert {n for n in kept if n.startswith("h0.")} == {"h0.attn.qkv", "h0.attn.out", "h0.mlp.up", "h0.mlp.down",
                                                        "h0.add"}
    # attn.out and mlp.down feed only the residual sum: their outputs are not saved
    tokens = 2 * 128
    per_layer = tokens * (3 * 32 * 256 + 32768 + 5120)   # q, k, v + MLP up + the layer output
    rest = sum(fwd.op(n).output_elems for n in kept if not n.startswith("h"))
    assert _saved("selective", "maxtext-16b") == pytest.approx((32 * per_layer + rest) * 2)


def test_offload_moves_saved_activations_to_host():
    full, inner, every = _saved("save-qkv"), _saved("save-qkv+offload"), _saved("save-qkv+offload-all")
    fwd = training_forward(load_workload("gpt2").build(batch_size=2, seq_len=128))
    qkv = sum(fwd.op(n).output_elems for n in fwd.order if n.endswith(".attn.qkv")) * 2
    assert full - inner == pytest.approx(qkv)
    assert every == 0.0
    with pytest.raises(ScenarioError, match="offload"):
        sim.simulate("gpt2", TPU, mode="training", batch_size=2, seq_len=128, checkpointing="full+offload")


def test_new_checkpointing_modes_recompute_what_they_say():
    fwd = training_forward(load_workload("gpt2").build(batch_size=1, seq_len=32))
    sel, up = recompute_set(fwd, Checkpointing.SELECTIVE), recompute_set(fwd, Checkpointing.SELECTIVE_MLP_UP)
    assert up - sel == {f"h{i}.mlp.up" for i in range(12)}
    qkv = recompute_set(fwd, Checkpointing.SAVE_QKV)
    assert recompute_set(fwd, Checkpointing.FULL) - qkv == {f"h{i}.attn.qkv" for i in range(12)}


def test_multislice_training_runs_and_reports_the_layout():
    r = sim.simulate("gpt2", "tpu-v5e-multislice", overrides={"devices_per_node": 4}, devices=8, mode="training",
                     batch_size=16, seq_len=128, parallelism="dp=8,zero=3,fsdp=4")
    assert r.devices == 8 and r.extra["nodes"] == 2 and r.fits_in_memory
    assert Parallelism(data=8, zero_stage=3, fsdp=4).replicas == 2
