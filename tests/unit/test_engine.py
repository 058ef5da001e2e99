"""The SimPy engine: dependencies, memory lifetimes, repetition, weight streaming overlap."""
from __future__ import annotations

import networkx as nx
import pytest

from simulator.cost.base import Bound, OpCost
from simulator.engine.memory import MemoryLedger
from simulator.engine.run import DeviceRun, WeightStream, run_device
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
