"""The SimPy engine's drivers checked by hand: dependencies, memory lifetimes, repetition, weight
streaming overlap, pipeline stages, blocking and overlapped collectives, continuous batching."""
from __future__ import annotations

import networkx as nx
import pytest

from simulator.cost.base import Bound, OpCost
from simulator.cost.collectives import Collective, LinkModel
from simulator.engine.cluster import Fabrics, GroupShape, run_cluster
from simulator.engine.memory import MemoryLedger
from simulator.engine.run import DeviceRun, WeightStream, run_device
from simulator.engine.serving import ContinuousWork, ServeRun, run_serving
from simulator.parallel.layout import Parallelism
from simulator.parallel.plan import ClusterPlan, Segment, StagePlan
from simulator.workload.graph import ComputeGraph
from simulator.workload.ops import Op, OpKind


def _cost(d: float) -> OpCost:
    return OpCost(duration_s=d, compute_s=d, memory_s=0.0, overhead_s=0.0, flops=1.0, bytes_by_level={"_main": 0.0},
                  level_s={}, bound=Bound.COMPUTE, dynamic_energy_j=0.0)


def _graph(edges, names):
    g = nx.DiGraph()
    for i, n in enumerate(names):
        g.add_node(n, op=Op(n, OpKind.ELEMENTWISE, flops=1, input_elems=1, output_elems=1, weight_read_elems=10),
                   index=i)
    g.add_edges_from(edges)
    return ComputeGraph(g, name="t")


def _run(graph, durations, out, **kw):
    return run_device(DeviceRun(device="d", graph=graph, costs={n: _cost(durations[n]) for n in graph.order},
                                out_bytes=out, scratch_bytes={n: 0.0 for n in graph.order}, static_bytes=100.0, **kw))


def test_chain_takes_the_sum_and_frees_inputs_after_the_last_consumer():
    g = _graph([("a", "b"), ("b", "c"), ("a", "c")], ["a", "b", "c"])
    tr = _run(g, {"a": 1.0, "b": 2.0, "c": 3.0}, {"a": 10.0, "b": 20.0, "c": 5.0})
    assert tr.end_s == pytest.approx(6.0)
    assert [e.name for e in tr.events] == ["a", "b", "c"]
    # a (10) lives until c ends; peak while c runs: static 100 + a 10 + b 20 + c 5
    assert tr.peak_bytes == pytest.approx(135.0)
    assert tr.memory[-1].bytes == pytest.approx(100.0)


def test_one_compute_stream_serialises_independent_ops():
    g = _graph([], ["a", "b"])
    tr = _run(g, {"a": 1.0, "b": 1.0}, {"a": 0.0, "b": 0.0})
    assert tr.end_s == pytest.approx(2.0)


def test_repeat_runs_the_graph_again_and_final_ops_once():
    g = _graph([("a", "b")], ["a", "b"])
    tr = _run(g, {"a": 1.0, "b": 0.5}, {"a": 0.0, "b": 0.0}, repeat=3, once_at_end=frozenset({"b"}))
    assert tr.end_s == pytest.approx(3 * 1.0 + 0.5)
    assert [e.name for e in tr.events] == ["a#0", "a#1", "a#2", "b"]


def test_weight_stream_overlaps_with_compute():
    g = _graph([("a", "b"), ("b", "c")], ["a", "b", "c"])
    ws = WeightStream(bytes_by_op={"a": 100.0, "b": 100.0, "c": 100.0}, bandwidth_bps=100.0, latency_s=0.0,
                      energy_j_per_byte=0.0, prefetch_ops=2)
    tr = _run(g, {"a": 1.0, "b": 1.0, "c": 1.0}, {"a": 0.0, "b": 0.0, "c": 0.0}, weight_stream=ws)
    # loads take 1 s each and run ahead: a computes 1-2, b 2-3, c 3-4
    assert tr.end_s == pytest.approx(4.0)
    loads = [e for e in tr.events if e.track == "host_link"]
    assert len(loads) == 3 and loads[0].end_s == pytest.approx(1.0)


def test_link_bound_stream_dominates():
    g = _graph([("a", "b")], ["a", "b"])
    ws = WeightStream(bytes_by_op={"a": 1000.0, "b": 1000.0}, bandwidth_bps=100.0, latency_s=0.0,
                      energy_j_per_byte=0.0)
    tr = _run(g, {"a": 0.1, "b": 0.1}, {"a": 0.0, "b": 0.0}, weight_stream=ws)
    assert tr.end_s == pytest.approx(20.1)


def test_ledger_peak():
    m = MemoryLedger("x", static_bytes=5)
    m.alloc(0.0, 10)
    m.alloc(1.0, 10)
    m.free(2.0, 10)
    assert m.peak == 25 and m.current == 15 and m.peak_time_s == 1.0


def test_independent_branches_share_the_stream_and_free_each_output_after_its_last_consumer():
    # a -> b, a -> c, b -> d, c -> d, 1 s each; c also needs 7 B of scratch while it runs
    g = _graph([("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")], ["a", "b", "c", "d"])
    tr = run_device(DeviceRun(device="d", graph=g, costs={n: _cost(1.0) for n in g.order},
                              out_bytes={"a": 10.0, "b": 20.0, "c": 30.0, "d": 5.0},
                              scratch_bytes={"a": 0.0, "b": 0.0, "c": 7.0, "d": 0.0}, static_bytes=100.0))
    assert [(e.name, e.start_s, e.end_s) for e in tr.events] == [("a", 0, 1), ("b", 1, 2), ("c", 2, 3), ("d", 3, 4)]
    # while c runs: static 100 + a 10 + b 20 + c 30 + scratch 7; when c (a's last reader) ends, a and the
    # scratch go and d takes 5: 155; after d only the static bytes are left
    assert tr.peak_bytes == 167.0 and tr.meta["peak_time_s"] == 2.0
    assert [(m.time_s, m.bytes) for m in tr.memory] == [(0, 110.0), (1, 130.0), (2, 167.0), (3, 155.0), (4, 100.0)]


def test_prefetch_depth_bounds_how_far_weight_loads_run_ahead():
    g = _graph([("a", "b"), ("b", "c")], ["a", "b", "c"])
    ws = WeightStream(bytes_by_op={"a": 100.0, "b": 100.0, "c": 100.0}, bandwidth_bps=100.0, latency_s=0.0,
                      energy_j_per_byte=0.0, prefetch_ops=1)
    tr = _run(g, {"a": 1.0, "b": 1.0, "c": 1.0}, {"a": 0.0, "b": 0.0, "c": 0.0}, weight_stream=ws)
    # one staging slot: b's load waits for a to finish, so loads and compute alternate (2 s per op)
    assert tr.end_s == pytest.approx(6.0)
    assert [(e.name, e.start_s) for e in tr.events if e.track == "host_link"] == [
        ("load a", 0), ("load b", 2.0), ("load c", 4.0)]


def test_spatial_passes_flow_through_like_a_pipeline():
    g = _graph([("a", "b")], ["a", "b"])
    tr = _run(g, {"a": 1.0, "b": 1.0}, {"a": 0.0, "b": 0.0}, repeat=3, spatial=True)
    # each op has its own unit: pass r runs a in [r, r + 1] and b in [r + 1, r + 2]
    assert tr.end_s == pytest.approx(4.0)
    assert [(e.name, e.start_s) for e in tr.events] == [("a#0", 0), ("a#1", 1), ("b#0", 1), ("a#2", 2), ("b#1", 2),
                                                        ("b#2", 3)]


def test_startup_comes_before_the_first_op():
    g = _graph([], ["a"])
    tr = _run(g, {"a": 1.0}, {"a": 0.0}, startup_s=0.5)
    assert [(e.name, e.start_s, e.end_s) for e in tr.events] == [("startup", 0.0, 0.5), ("a", 0.5, 1.5)]


# --- the cluster driver -------------------------------------------------------------------------------
LINK = LinkModel(bandwidth_bps=1e11, latency_s=0.0)


def _fabrics(**groups: GroupShape) -> Fabrics:
    return Fabrics(intra=LINK, inter=None, intra_energy_j_per_byte=0.0, inter_energy_j_per_byte=0.0,
                   groups={"tp": GroupShape(1, 1), "dp": GroupShape(1, 1), "ep": GroupShape(1, 1), **groups},
                   pipeline_link="intra")


def _stage(stage: int, forward=(), backward=(), optimizer=(), boundary_bytes: float = 0.0) -> StagePlan:
    return StagePlan(stage=stage, forward=tuple(forward), backward=tuple(backward), optimizer=tuple(optimizer),
                     static_bytes={}, activation_bytes_per_microbatch=0.0, boundary_bytes=boundary_bytes, params=0.0)


def _compute(seconds: float) -> Segment:
    return Segment(duration_s=seconds, label="c")


def test_two_stage_pipeline_by_hand():
    # 1 s per micro-batch per stage, activations of 1 GB cross a 100 GB/s link in 10 ms
    stages = tuple(_stage(s, forward=[_compute(1.0)], boundary_bytes=1e9 if s == 0 else 0.0) for s in range(2))
    plan = ClusterPlan(stages=stages, parallelism=Parallelism(pipeline=2), microbatches=2, microbatch_size=1)
    tr = run_cluster(plan, _fabrics(), device_name="g", training=False)
    s1 = [(e.name, round(e.start_s, 9)) for e in tr.events if e.device == "g[dp0,tp0,pp1]"]
    assert s1 == [("F0 c", 1.01), ("F1 c", 2.01)]
    assert tr.end_s == pytest.approx(3.01)
    assert [round(s.wait_s, 9) for s in tr.stats] == [0.0, 1.01]  # stage 1 waits only for the first arrival


@pytest.mark.parametrize("overlap, end_s, blocked_s", [(False, 2.015, 0.015), (True, 2.0, 0.0)])
def test_a_tensor_parallel_all_reduce_blocks_or_overlaps_the_next_compute(overlap, end_s, blocked_s):
    # ring all-reduce of 1 GB on 4 ranks at 100 GB/s: 2 (n - 1) / n * S / B = 15 ms, issued after 1 s of compute
    ar = Segment(collective=Collective.ALL_REDUCE, group="tp", nbytes=1e9, overlap=overlap)
    plan = ClusterPlan(stages=(_stage(0, forward=[_compute(1.0), ar, _compute(1.0)]),),
                       parallelism=Parallelism(tensor=4), microbatches=1, microbatch_size=1)
    tr = run_cluster(plan, _fabrics(tp=GroupShape(4, 1)), device_name="g", training=False)
    assert tr.end_s == pytest.approx(end_s)
    assert tr.stats[0].comm_blocking_s == pytest.approx(blocked_s)
    assert [(e.track, e.start_s) for e in tr.events if e.track != "compute"] == [("intra", 1.0)]


def test_gradient_sync_runs_once_in_the_last_backward_before_the_optimizer():
    sync = Segment(collective=Collective.ALL_REDUCE, group="dp", nbytes=1e9, async_=True)  # 2 ranks: 10 ms
    plan = ClusterPlan(stages=(_stage(0, forward=[_compute(1.0)], backward=[_compute(1.0), sync],
                                      optimizer=[_compute(0.5)]),),
                       parallelism=Parallelism(data=2), microbatches=2, microbatch_size=1)
    tr = run_cluster(plan, _fabrics(dp=GroupShape(2, 1)), device_name="g", training=True)
    # F0 B0 F1 B1 (4 s), then the one sync (10 ms), then the optimizer (0.5 s)
    assert [(e.name, e.start_s) for e in tr.events if e.track != "compute"] == [("all_reduce", 4.0)]
    assert tr.end_s == pytest.approx(4.51)
    assert tr.stats[0].comm_blocking_s == pytest.approx(0.01)


# --- the serving driver -------------------------------------------------------------------------------
def test_a_request_arriving_mid_generation_joins_at_the_next_iteration():
    # prefill 1 s, decode 0.5 s per iteration; request 0 wants 3 tokens, request 1 (arrives at 1.2 s) 2
    cw = ContinuousWork(prefill=lambda ids: (1.0, 0.0), decode=lambda ctx: (0.5, 0.0), prompt_len=[4, 4],
                        output_len=[3, 2], kv_bytes=[1.0, 1.0], kv_budget_bytes=10.0)
    tr = run_serving(ServeRun(arrivals_s=[0.0, 1.2], policy="continuous", max_batch_size=4, max_wait_s=0.0,
                              replicas=1, batch_work=lambda ids: None, continuous=cw))
    assert [(b.phase, b.start_s, b.end_s, b.size) for b in tr.batches] == [
        ("prefill", 0, 1.0, 1), ("decode", 1.0, 1.5, 1), ("prefill", 1.5, 2.5, 1), ("decode", 2.5, 3.0, 2)]
    assert tr.start_s == (0, 1.5) and tr.first_token_s == (1.0, 2.5) and tr.finish_s == (3.0, 3.0)
