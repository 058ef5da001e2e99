"""Laws of the multi-device model (hypothesis)."""
from __future__ import annotations

from hypothesis import assume, given, settings
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


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6), st.integers(1, 4), st.integers(1, 4), st.booleans())
def test_interleaved_schedule_runs_every_pass_once_in_a_dependency_order(p, v, groups, training):
    """Every (pass, micro-batch, chunk) appears once on the rank that holds the chunk, a chunk's
    backward after its forward, and the engine finishes (no deadlock) no earlier than the busiest rank."""
    from simulator.cost.collectives import LinkModel
    from simulator.engine.cluster import Fabrics, GroupShape, interleaved_schedule, run_cluster
    from simulator.parallel.layout import Parallelism
    from simulator.parallel.plan import ClusterPlan, Segment, StagePlan

    m = groups * p
    seen = set()
    for s in range(p):
        tasks = interleaved_schedule(s, p, v, m, training)
        assert len(tasks) == len(set(tasks)) == (2 if training else 1) * m * v
        assert all(x % p == s for _, _, x in tasks)
        pos = {t: i for i, t in enumerate(tasks)}
        if training:
            assert all(pos[("F", k, x)] < pos[("B", k, x)] for kind, k, x in tasks if kind == "B")
        seen |= set(tasks)
    assert {x for _, _, x in seen} == set(range(p * v))
    link = LinkModel(bandwidth_bps=1e12, latency_s=1e-6)
    fab = Fabrics(intra=link, inter=None, intra_energy_j_per_byte=0.0, inter_energy_j_per_byte=0.0,
                  groups={"tp": GroupShape(1, 1), "dp": GroupShape(1, 1), "ep": GroupShape(1, 1)},
                  pipeline_link="intra")
    stages = tuple(StagePlan(stage=x, forward=(Segment(duration_s=1.0 + 0.1 * x),),
                             backward=(Segment(duration_s=2.0 + 0.1 * x),), optimizer=(), static_bytes={},
                             activation_bytes_per_microbatch=1.0, boundary_bytes=1e6, params=0.0)
                   for x in range(p * v))
    plan = ClusterPlan(stages=stages, parallelism=Parallelism(pipeline=p, virtual_stages=v), microbatches=m,
                       microbatch_size=1)
    ct = run_cluster(plan, fab, device_name="g", training=training)
    busiest = max(sum(m * (st.forward[0].duration_s + (st.backward[0].duration_s if training else 0.0))
                      for st in stages[s::p]) for s in range(p))
    assert ct.end_s >= busiest
    assert all(s.ledger.current == 0.0 for s in ct.stats)  # every micro-batch's activations freed


@settings(max_examples=6, deadline=None)
@given(st.sampled_from(["tp=2", "tp=4", "dp=2,tp=2", "tp=2,pp=2"]))
def test_sequence_parallel_and_tp_overlap_never_cost_memory_or_time(layout):
    kw = dict(mode="training", batch_size=8, seq_len=256, devices=4, microbatches=2)
    base = sim.simulate("megatron-gpt-1.7b", "nvidia-h100-sxm", parallelism=layout, **kw)
    sp = sim.simulate("megatron-gpt-1.7b", "nvidia-h100-sxm", parallelism=layout + ",sp=1", **kw)
    both = sim.simulate("megatron-gpt-1.7b", "nvidia-h100-sxm", parallelism=layout + ",sp=1,tp_overlap=1", **kw)
    peak = lambda r: max(d["peak_memory_bytes"] for d in r.per_device)  # noqa: E731
    assert peak(sp) <= peak(base)
    assert sp.step_time_s <= base.step_time_s * (1 + 1e-9)
    assert both.step_time_s <= sp.step_time_s * (1 + 1e-9)


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(["gpt2", "llama3-8b", "mixtral-8x7b", "bert-base", "megatron-gpt-1.7b"]),
       st.sampled_from([(1, 2), (2, 4), (1, 4), (4, 8), (1, 8)]), st.sampled_from([1, 2]),
       st.sampled_from(["inference", "training"]))
def test_per_device_weight_bytes_never_increase_with_tensor_parallelism(name, degrees, ep, mode):
    """Every op either splits its weights over the tensor ranks or keeps them whole: more ranks never
    hold more (Mixtral's experts included: expert tensor parallelism)."""
    from simulator.cost.base import CostOptions
    from simulator.parallel.layout import Parallelism
    from simulator.parallel.plan import build_plan
    from simulator.scenario import make_scenario
    from simulator.spec.loader import load_hardware
    from simulator.workload.loader import load_workload

    assume(load_workload(name).params.heads % degrees[1] == 0)  # tp must divide the heads
    g = load_workload(name).build(batch_size=2, seq_len=32)
    hw, sc = load_hardware("nvidia-h100-sxm"), make_scenario(mode=mode)
    weights = [build_plan(g, hw, sc, Parallelism(data=ep, tensor=tp, expert=ep), 1, 1,
                          options=CostOptions()).stages[0].static_bytes["weights"] for tp in degrees]
    assert weights[1] <= weights[0]
    assert weights[1] < weights[0]  # each of these has weights tensor parallelism splits
