"""Scale-out layouts: mesh links, one gradient sync per step, ZeRO-1 traffic, sequence parallelism,
overlapped tensor-parallel communication, and LLM serving on several devices."""
from __future__ import annotations

import pytest

import simulator as sim
from simulator.cost.base import CostOptions
from simulator.cost.collectives import Collective, LinkModel, collective_time_s
from simulator.run.cluster import collective_benchmark, simulate_cluster
from simulator.errors import ScenarioError
from simulator.parallel.layout import Parallelism, parse_parallelism, shard_op
from simulator.parallel.plan import build_plan
from simulator.scenario import make_scenario
from simulator.spec.loader import load_hardware
from simulator.workload.loader import load_workload

MESH = LinkModel(bandwidth_bps=448e9, latency_s=0.0, peer_links=7)


def test_mesh_point_to_point_gets_one_link_and_collectives_the_links_they_reach():
    # MI300X: 7 xGMI links of 64 GB/s; one peer gets one link, 8 ranks use all 7, 4 ranks use 3
    assert collective_time_s(Collective.P2P, n=2, nbytes=64e9, link=MESH) == pytest.approx(1.0)
    ring8 = collective_time_s(Collective.ALL_REDUCE, n=8, nbytes=8e9, link=MESH)
    assert ring8 == pytest.approx(2 * 7 / 8 * 8e9 / 448e9)
    ring4 = collective_time_s(Collective.ALL_REDUCE, n=4, nbytes=8e9, link=MESH)
    assert ring4 == pytest.approx(2 * 3 / 4 * 8e9 / (448e9 * 3 / 7))
    switch = LinkModel(bandwidth_bps=448e9, latency_s=0.0)
    assert collective_time_s(Collective.P2P, n=2, nbytes=64e9, link=switch) == pytest.approx(64e9 / 448e9)


def test_mi300x_pair_bandwidth_is_one_link():
    r = collective_benchmark("amd-mi300x", collective="p2p", nbytes=2**30, devices=2)
    # 448 GB/s x 0.8 link efficiency / 7 links, less 2.5 us of latency on 1 GiB
    assert r["busbw_gbs"] == pytest.approx(448 * 0.8 / 7, rel=0.001)


def _grad_syncs(result) -> list:
    return [e for e in result.trace.events if e.track != "compute" and "grad" in e.name and e.phase == "backward"]


def test_gradients_are_synchronised_once_per_step_not_per_microbatch():
    kw = dict(mode="training", seq_len=128, devices=4, parallelism="dp=2,pp=2")
    few = sim.simulate("gpt2", "nvidia-h100-sxm", batch_size=4, microbatches=1, **kw)
    many = sim.simulate("gpt2", "nvidia-h100-sxm", batch_size=16, microbatches=4, **kw)
    assert len(_grad_syncs(few)) == len(_grad_syncs(many)) > 0


def _grad_kinds(zero: int) -> set:
    fwd = load_workload("gpt2").build(batch_size=2, seq_len=128)
    plan = build_plan(fwd, load_hardware("nvidia-h100-sxm"), make_scenario(mode="training"),
                      Parallelism(data=4, zero_stage=zero), 1, 2, options=CostOptions())
    return {s.collective for s in plan.stages[0].backward if s.collective is not None}


def test_zero_stages_reduce_scatter_gradients_plain_data_parallel_all_reduces():
    assert _grad_kinds(0) == {Collective.ALL_REDUCE}
    for z in (1, 2, 3):
        assert Collective.REDUCE_SCATTER in _grad_kinds(z)
        assert Collective.ALL_REDUCE not in _grad_kinds(z)


def test_sequence_parallel_splits_norms_and_row_outputs_over_the_tensor_ranks():
    g = load_workload("gpt2").build(batch_size=2, seq_len=128)
    ln = g.op("h0.ln1")
    assert shard_op(ln, 4)[0].output_elems == ln.output_elems
    assert shard_op(ln, 4, sequence_parallel=True)[0].output_elems == ln.output_elems / 4
    out = g.op("h0.attn.out")
    assert shard_op(out, 4, sequence_parallel=True)[0].output_elems == out.output_elems / 4
    assert parse_parallelism("tp=4,sp=1", 4).sequence_parallel
    with pytest.raises(ScenarioError, match="sp must be"):
        parse_parallelism("tp=4,sp=yes", 4)


def test_sequence_parallel_lowers_activation_memory_and_is_not_slower():
    kw = dict(mode="training", batch_size=8, seq_len=512, devices=4, microbatches=1)
    plain = sim.simulate("megatron-gpt-1.7b", "nvidia-h100-sxm", parallelism="tp=4", **kw)
    sp = sim.simulate("megatron-gpt-1.7b", "nvidia-h100-sxm", parallelism="tp=4,sp=1", **kw)
    act = lambda r: r.per_device[0]["memory_breakdown"]["activations"]  # noqa: E731
    assert act(sp) < 0.8 * act(plain)
    assert sp.step_time_s <= plain.step_time_s * (1 + 1e-9)


def test_overlapped_tensor_parallel_communication_is_never_slower_and_hides_some():
    kw = dict(mode="training", batch_size=8, seq_len=512, devices=4, microbatches=2)
    blocking = sim.simulate("megatron-gpt-1.7b", "nvidia-h100-sxm", parallelism="tp=4", **kw)
    overlap = sim.simulate("megatron-gpt-1.7b", "nvidia-h100-sxm", parallelism="tp=4,tp_overlap=1", **kw)
    assert overlap.step_time_s < blocking.step_time_s
    assert overlap.communication_time_s < blocking.communication_time_s
    busy = blocking.per_device[0]["busy_s"]
    assert overlap.step_time_s >= busy  # compute itself is never hidden


def test_tensor_parallel_decode_is_faster_and_splits_the_kv_cache():
    kw = dict(batch_size=4, prompt_len=256, output_len=3, precision="fp16", decode_samples=None)
    one = sim.generate("llama2-7b", "nvidia-h100-sxm", **kw)
    two = sim.generate("llama2-7b", "nvidia-h100-sxm", devices=2, parallelism="tp=2", **kw)
    assert two.tpot_s < one.tpot_s
    assert two.hardware == "nvidia-h100-sxm-x2"
    last = two.decode[-1].result
    assert last.per_device[0]["memory_breakdown"]["kv_cache"] == pytest.approx(two.decode[-1].kv_cache_bytes / 2)
    assert two.weight_bytes == pytest.approx(one.weight_bytes / 2, rel=0.01)


def test_kv_cache_is_replicated_when_tensor_ranks_outnumber_kv_heads():
    # Llama 3 8B has 8 KV heads: on 16 tensor ranks each KV head lives on 2 ranks
    sc = make_scenario(mode="inference", batch_size=1, seq_len=1)
    r = simulate_cluster(load_workload("llama3-8b"), load_hardware("nvidia-h100-sxm"), sc, devices=16,
                         parallelism="tp=16", past_len=64, logits="last", kv_cache_bytes=1.6e9)
    assert r.per_device[0]["memory_breakdown"]["kv_cache"] == pytest.approx(1.6e9 / 16 * 2)


def test_a_kv_cache_in_training_is_refused():
    sc = make_scenario(mode="training", batch_size=2, seq_len=64)
    with pytest.raises(ScenarioError, match="KV cache"):
        simulate_cluster(load_workload("gpt2"), load_hardware("nvidia-h100-sxm"), sc, devices=2, past_len=8)


def test_what_ifs_reach_the_devices_of_a_cluster():
    kw = dict(mode="training", batch_size=64, seq_len=512)
    base = sim.simulate("gpt2", "nvidia-h100-sxm", devices=8, **kw).step_time_s
    slow = sim.simulate("gpt2", "nvidia-h100-sxm", devices=8, overrides={"efficiency.compute": 0.4}, **kw)
    assert slow.step_time_s > 1.2 * base  # a device spec's overrides survive the implicit node
    node = sim.simulate("gpt2", "dgx-h100", **kw).step_time_s
    node_slow = sim.simulate("gpt2", "dgx-h100", overrides={"device.efficiency.compute": 0.4}, **kw).step_time_s
    assert node_slow > 1.2 * node
    with pytest.raises(ScenarioError, match="device spec"):
        sim.simulate("gpt2", "nvidia-h100-sxm", overrides={"device.efficiency.compute": 0.4}, **kw)


@pytest.mark.parametrize("p,v,m", [(4, 1, 8), (4, 2, 8), (4, 4, 8), (2, 2, 4), (4, 2, 4)])
def test_interleaved_pipeline_bubble_is_divided_by_the_virtual_stages(p, v, m):
    """Megatron (Narayanan et al., SC21): step = m (tf + tb) + (p - 1)(tf + tb) / v for equal chunks."""
    from simulator.engine.cluster import Fabrics, GroupShape, run_cluster
    from simulator.parallel.plan import ClusterPlan, Segment, StagePlan

    link = LinkModel(bandwidth_bps=1e18, latency_s=0.0)
    fab = Fabrics(intra=link, inter=None, intra_energy_j_per_byte=0.0, inter_energy_j_per_byte=0.0,
                  groups={"tp": GroupShape(1, 1), "dp": GroupShape(1, 1), "ep": GroupShape(1, 1)},
                  pipeline_link="intra")
    chunk = StagePlan(stage=0, forward=(Segment(duration_s=1.0 / v),), backward=(Segment(duration_s=2.0 / v),),
                      optimizer=(), static_bytes={"weights": 1.0}, activation_bytes_per_microbatch=0.0,
                      boundary_bytes=0.0, params=0.0)
    plan = ClusterPlan(stages=(chunk,) * (p * v), parallelism=Parallelism(pipeline=p, virtual_stages=v),
                       microbatches=m, microbatch_size=1)
    ct = run_cluster(plan, fab, device_name="g", training=True)
    assert ct.end_s == pytest.approx(m * 3.0 + (p - 1) * 3.0 / v)
    assert all(s.ledger.peak == pytest.approx(v * 1.0) for s in ct.stats)  # each rank holds v chunks


def test_interleaved_pipeline_in_a_real_model_and_its_checks():
    kw = dict(mode="training", batch_size=8, seq_len=512, devices=4, microbatches=8)
    plain = sim.simulate("gpt2", "nvidia-h100-sxm", parallelism="pp=4", **kw)
    inter = sim.simulate("gpt2", "nvidia-h100-sxm", parallelism="pp=4,vp=2", **kw)
    assert inter.step_time_s < plain.step_time_s and inter.bubble_fraction < plain.bubble_fraction
    assert inter.extra["parallelism"]["virtual_stages"] == 2
    with pytest.raises(ScenarioError, match="multiple of pipeline"):
        sim.simulate("gpt2", "nvidia-h100-sxm", parallelism="pp=4,vp=2", **{**kw, "microbatches": 2})
    with pytest.raises(ScenarioError, match="needs pipeline > 1"):
        parse_parallelism("dp=4,vp=2", 4)
    with pytest.raises(ScenarioError, match="exceeds the model's 12 layers"):
        sim.simulate("gpt2", "nvidia-h100-sxm", parallelism="pp=4,vp=4", **kw)


def test_zero3_holds_the_two_largest_gathered_layers():
    fwd = load_workload("gpt2").build(batch_size=2, seq_len=128)
    plan = build_plan(fwd, load_hardware("nvidia-h100-sxm"), make_scenario(mode="training"),
                      Parallelism(data=8, zero_stage=3), 1, 2, options=CostOptions())
    per_layer: dict = {}
    for op in fwd.ops:
        per_layer[op.block] = per_layer.get(op.block, 0.0) + op.param_elems
    two = sum(sorted(per_layer.values())[-2:]) * 2  # bf16 bytes
    assert plan.stages[0].static_bytes["gathered_weights"] == pytest.approx(two)
    no_zero3 = build_plan(fwd, load_hardware("nvidia-h100-sxm"), make_scenario(mode="training"),
                          Parallelism(data=8, zero_stage=2), 1, 2, options=CostOptions())
    assert "gathered_weights" not in no_zero3.stages[0].static_bytes


def test_generation_on_a_system_defaults_to_one_tensor_parallel_copy():
    g = sim.generate("llama2-70b", "hgx-h200", batch_size=3, prompt_len=64, output_len=4, precision="fp8")
    assert g.hardware == "hgx-h200"
    assert g.prefill.extra["parallelism"]["tensor"] == 8 and g.prefill.extra["parallelism"]["data"] == 1
