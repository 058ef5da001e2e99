"""A TF 1.x graph executor issues the weight casts of mixed precision from other host threads at the
start of a pass (stacks/tf-graph.yaml ``casts_off_host_chain``): they take no turn on the serial
per-op host dispatch, which eager PyTorch still pays for every cast."""
from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cost.base import Bound, OpCost
from simulator.engine.run import DeviceRun, run_device
from simulator.workload.graph import ComputeGraph
from simulator.workload.ops import Op, OpKind


def _cost(d: float) -> OpCost:
    return OpCost(duration_s=d, compute_s=d, memory_s=0.0, overhead_s=0.0, flops=1.0, bytes_by_level={"_main": 0.0},
                  level_s={}, bound=Bound.COMPUTE, dynamic_energy_j=0.0)


def _cast_chain(n: int) -> ComputeGraph:
    """``n`` layers, each a cast of its weights feeding a weighted op that also reads the previous layer."""
    g = nx.DiGraph()
    i = 0
    for k in range(n):
        for name in (f"autocast.op{k}", f"op{k}"):
            g.add_node(name, op=Op(name, OpKind.ELEMENTWISE, flops=1, input_elems=1, output_elems=1), index=i)
            i += 1
        g.add_edge(f"autocast.op{k}", f"op{k}")
        if k:
            g.add_edge(f"op{k - 1}", f"op{k}")
    return ComputeGraph(g, name="t")


def _end(graph: ComputeGraph, dispatch_s: float, device_s: float, free: frozenset[str]) -> float:
    return run_device(DeviceRun(device="d", graph=graph, costs={n: _cost(device_s) for n in graph.order},
                                out_bytes={n: 0.0 for n in graph.order}, scratch_bytes={n: 0.0 for n in graph.order},
                                static_bytes=0.0, dispatch_s=dispatch_s, host_free=free)).end_s


def test_three_layers_by_hand():
    # 3 casts + 3 ops, host 10 per op, device 1 per op.
    # Serial host (every op dispatched): op k is issued at 10 x (2k + 2) = 20, 40, 60 and runs 1: ends at 61.
    # Casts issued at 0 by other threads: the casts run 0-1, 1-2, 2-3 on the one stream; op k is issued at
    # 10 x (k + 1) = 10, 20, 30 and runs 1: the pass ends at 31.
    g = _cast_chain(3)
    assert _end(g, 10.0, 1.0, frozenset()) == pytest.approx(61.0)
    casts = frozenset(n for n in g.order if n.startswith("autocast."))
    assert _end(g, 10.0, 1.0, casts) == pytest.approx(31.0)


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=1, max_value=8), st.floats(min_value=0.1, max_value=50.0),
       st.floats(min_value=0.01, max_value=50.0))
def test_issuing_casts_off_the_chain_never_slows_a_pass(n, dispatch, device):
    g = _cast_chain(n)
    casts = frozenset(x for x in g.order if x.startswith("autocast."))
    assert _end(g, dispatch, device, casts) <= _end(g, dispatch, device, frozenset()) + 1e-12


def test_tf_graph_issues_resnet50_amp_casts_off_the_chain_and_torch_eager_does_not():
    # ResNet-50 at batch 1, FP16 compute on FP32 weights: 54 weighted ops (53 convs + fc) get a cast each.
    # Host-bound, so the step is about (ops on the chain) x host time; with the same host time per op the
    # tf-graph step drops the 54 cast turns the torch-eager step pays: 54 x 50 us = 2.7 ms, less the
    # little device time the casts themselves now add on the critical path.
    import simulator as sim
    kw = dict(batch_size=1, precision="fp16", weight_precision="fp32", mode="inference", dispatch_us=50.0)
    tf = sim.simulate("resnet50", "nvidia-a100-sxm-40gb", stack="tf-graph", **kw).step_time_s
    pt = sim.simulate("resnet50", "nvidia-a100-sxm-40gb", stack="torch-eager", **kw).step_time_s
    assert 2.4e-3 < pt - tf <= 2.7e-3 + 1e-9
