"""A dropout keeps only its mask for the backward pass (PyTorch's native_dropout_backward reads the
bool mask, 1 byte per element), in the single-device ledger and in the parallel plan's saved bytes;
step times do not move (memory only)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulator as sim
from simulator.cost.base import Numerics
from simulator.cost.dispatch import op_cost
from simulator.engine.run import ChainRun, DeviceRun, DeviceSim, pass_orders
from simulator.spec.loader import load_hardware
from simulator.units import Precision
from simulator.workload import ops as O
from simulator.workload.digraph import DiGraph
from simulator.workload.graph import ComputeGraph
from simulator.workload.loader import load_workload
from simulator.workload.saved import MASK_SHARE, PART, held_elems, kept_elems, reads_inputs, reads_output
from simulator.workload.training import build_training_graph, training_forward


def test_bert_base_layer_keeps_17_not_21_activations_by_hand():
    """One BERT-Base encoder layer, T = 128 tokens, H = 768, in units of T x H elements.

    Kept: qkv 3 + sdpa 1 + add1 1 + ln1 1 + mlp.up 4 + gelu 4 + add2 1 + ln2 1 = 16, plus the two
    dropout masks at 0.5 each (1 byte per element of a 2-byte tensor) = 17. The old rule also kept
    both dropouts' inputs (attn.out, mlp.down: 1 each) and their whole outputs (1.5 each instead of
    0.5): 16 + 2 x (1 + 1.5) = 21. At 2 bytes: 17 x 128 x 768 x 2 = 3,342,336 B (was 4,128,768 B).
    """
    fwd = training_forward(load_workload("bert-base").build(batch_size=1, seq_len=128))
    th = 128 * 768
    layer = [n for n in fwd.order if n.startswith("h3.")]
    assert sum(kept_elems(fwd, n) for n in layer) == 17 * th
    assert sum(kept_elems(fwd, n) for n in layer) * 2 == 3_342_336
    assert kept_elems(fwd, "h3.attn.out") == 0.0 and kept_elems(fwd, "h3.mlp.down") == 0.0
    assert kept_elems(fwd, "h3.attn.out.dropout") == 0.5 * th


def test_a_dropout_reads_its_mask_only():
    d = training_forward(load_workload("bert-base").build(batch_size=1, seq_len=8)).op("h0.attn.out.dropout")
    assert dict(d.attrs)[MASK_SHARE] == pytest.approx(1 / 3)     # 0.5 of 1.5 elements per element
    assert reads_output(d) and not reads_inputs(d)


def test_embedding_dropout_keeps_its_whole_output_when_a_matmul_reads_it():
    """The embedding dropout feeds h0.attn.qkv (a matmul reads its input): masked tensor and mask
    both stay, 1.5 x T x H; the layer norm before it is no longer kept (the dropout does not read it)."""
    fwd = training_forward(load_workload("bert-base").build(batch_size=1, seq_len=128))
    drop = next(n for n in fwd.order if n.endswith(".dropout") and not n.startswith("h"))
    (ln,) = fwd.predecessors(drop)
    assert kept_elems(fwd, drop) == 1.5 * 128 * 768
    assert kept_elems(fwd, ln) == 0.0


def _tiny() -> ComputeGraph:
    """x (4 elems) -> d (a dropout: 6 elems, 2 of them its mask) -> y (4) -> d.grad, which reads
    d's mask only (edge marked PART) and is ordered after y."""
    g = DiGraph()
    x = O.elementwise("x", elems=4)
    d = O.elementwise("d", elems=4).renamed("d", output_elems=6.0, attrs=((MASK_SHARE, 1 / 3),))
    for i, op in enumerate((x, d, O.elementwise("y", elems=4), O.elementwise("d.grad", elems=4))):
        g.add_node(op.name, op=op, index=i)
    g.add_edge("x", "d", elems=4)
    g.add_edge("d", "y", elems=4)
    g.add_edge("y", "d.grad", elems=4)
    g.add_edge("d", "d.grad", elems=2.0, **{PART: True})
    return ComputeGraph(g, name="tiny")


def test_ledger_frees_all_but_the_mask_when_the_forward_consumer_ends_by_hand():
    """At 1 byte per element: x 4 B, d 6 B (2 B held for d.grad), y 4 B, d.grad 4 B.

    x starts: 4; d starts: 4 + 6 = 10; d ends: x freed (6) and y starts (10) at that instant, one
    sample; y ends: d's unheld 4 B freed (6) and d.grad starts: 2 + 4 + 4 = 10; d.grad ends: the
    mask (2), y (4) and its own output (4, nothing reads it) freed, 0. Samples 4, 10, 10, 10, 0,
    peak 10 B; without the PART mark d's 6 B stay until d.grad ends: 6 + 4 + 4 = 14 B at its start.
    """
    g = _tiny()
    assert held_elems(g) == {"d": 2.0}
    repeated, _ = pass_orders(g, frozenset())
    assert repeated == [("x", ()), ("d", ("x",)), ("y", (("d", False),)), ("d.grad", (("d", True), "y", "d.grad"))]
    hw = load_hardware("nvidia-h100-sxm")
    costs = {n: op_cost(g.op(n), hw, Numerics(Precision.FP16, Precision.FP16)) for n in g.order}
    spec = DeviceRun(device="h:0", graph=g, costs=costs, out_bytes={n: g.op(n).output_elems for n in g.order},
                     scratch_bytes={n: 0.0 for n in g.order}, static_bytes=0.0, held_bytes={"d": 2.0})
    chain = ChainRun(spec).trace()
    assert [s.bytes for s in chain.memory] == [4.0, 10.0, 10.0, 10.0, 0.0]
    assert chain.peak_bytes == 10.0
    full = g.digraph.copy()
    full.add_edge("d", "d.grad", elems=6.0, **{PART: False})
    full = ComputeGraph(full, name="tiny-full")
    assert ChainRun(DeviceRun(**{**spec.__dict__, "graph": full, "held_bytes": {}})).trace().peak_bytes == 14.0
    import simpy

    env = simpy.Environment()
    des = DeviceSim(env, spec)
    env.process(des.step())
    env.run()
    assert des.trace() == chain                  # the SimPy run frees the same bytes at the same times


@settings(max_examples=8, deadline=None)
@given(batch=st.sampled_from([1, 2, 4]), seq=st.sampled_from([32, 64, 128]))
def test_keeping_only_the_mask_moves_memory_never_time(batch, seq):
    """Law: a partial reader holds at most what a full reader would, so at every instant the ledger
    is at most the old rule's (the same graph with the PART marks removed), and the op times are
    the same."""
    t = build_training_graph(load_workload("bert-base").build(batch_size=batch, seq_len=seq)).graph
    old = t.digraph.copy()
    for u, v, data in list(old.edges(data=True)):
        if data.get(PART):
            old.add_edge(u, v, elems=t.op(u).output_elems, **{PART: False})
    old = ComputeGraph(old, name=t.name, source=t.source, meta=t.meta)
    hw = load_hardware("nvidia-a100-sxm-80gb")
    costs = {n: op_cost(t.op(n), hw, Numerics(Precision.FP16, Precision.FP16)) for n in t.order}

    def run(g):
        return ChainRun(DeviceRun(device="a:0", graph=g, costs=costs,
                                  out_bytes={n: 2.0 * g.op(n).output_elems for n in g.order},
                                  scratch_bytes={n: 0.0 for n in g.order}, static_bytes=0.0,
                                  held_bytes={n: 2.0 * e for n, e in held_elems(g).items()})).trace()
    new, before = run(t), run(old)
    assert new.end_s == before.end_s
    assert new.peak_bytes < before.peak_bytes
    assert [(e.name, e.start_s, e.end_s) for e in new.events] == [(e.name, e.start_s, e.end_s) for e in before.events]


def test_bert_training_step_time_is_unchanged_and_peak_memory_drops():
    """The whole-API view (pinned; before this rule: the same step time, peak 2,157,514,752 B).

    The rule keeps 49 fewer T x H tensors (T = 8 x 128 tokens, 2 B each, 1,572,864 B): 2 per dropout
    of 12 layers x 2 and the embedding layer norm's 1. The peak drops by 47 of them, 73,924,608 B:
    at the peak one layer's dropout has already released them under the old rule as well.
    """
    # the fitted values pinned, so a refit of the device does not move the pin
    fitted = {"efficiency.compute": 0.755, "efficiency.min_kernel_cycles": 11685}
    r = sim.simulate("bert-base", "nvidia-a100-sxm-80gb", mode="training", batch_size=8, seq_len=128, precision="fp16",
                     overrides=fitted)
    assert r.step_time_s == 0.007184679788777453
    assert r.peak_memory_bytes == 2_157_514_752 - 47 * 1_572_864


def test_a_part_edge_without_a_sized_part_keeps_the_whole_output():
    """A caller that passes no ``held_bytes`` for an op with a PART reader (the pipelined FPGA path
    builds its own DeviceRun) keeps d's 6 B until d.grad ends, the old rule's 14 B peak, instead of
    freeing all 6 B once y is done, before d.grad reads the mask (peak 10 B)."""
    import simpy

    g = _tiny()
    hw = load_hardware("nvidia-h100-sxm")
    costs = {n: op_cost(g.op(n), hw, Numerics(Precision.FP16, Precision.FP16)) for n in g.order}
    spec = DeviceRun(device="h:0", graph=g, costs=costs, out_bytes={n: g.op(n).output_elems for n in g.order},
                     scratch_bytes={n: 0.0 for n in g.order}, static_bytes=0.0)
    chain = ChainRun(spec).trace()
    assert chain.peak_bytes == 14.0 and chain.memory[-1].bytes == 0.0
    env = simpy.Environment()
    des = DeviceSim(env, spec)
    env.process(des.step())
    env.run()
    assert des.trace() == chain
