"""What a training step keeps for its backward pass (simulator.workload.saved, training edges)."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

import simulator as sim
from simulator.workload.graph import GraphBuilder
from simulator.workload.ops import Phase
from simulator.workload.training import build_training_graph


def _kept(graph) -> set[str]:
    """Forward tensors some backward op reads: what is alive when the backward pass starts."""
    fwd = [n for n in graph.order if graph.op(n).phase == Phase.FORWARD]
    return {n for n in fwd if any(graph.op(s).phase == Phase.BACKWARD for s in graph.successors(n))}


def _block(fn: str = "relu"):
    """x -> fc1 -> bn -> act -> fc2 -> (+ fc1) -> loss-free head fc3: one residual block."""
    b = GraphBuilder("blk", batch=2)
    x = b.input((2, 8))
    h = b.linear("fc1", x, 8)
    a = b.act("act", b.norm("bn", h), fn)
    y = b.add_tensors("add", b.linear("fc2", a, 8), h)
    b.linear("head", y, 4)
    return b.build()


def test_relu_after_norm_keeps_the_norm_input_and_the_relu_output_only():
    # fc1's output: read by bn.grad (norm reads its input) and add is a sum (reads nothing): kept.
    # bn's output: bn.grad does not read it, act.grad (ReLU) reads its own output: dead.
    # act's output: read by act.grad and fc2.grad (fc2's input): kept.
    # fc2's output: only the sum consumes it: dead. add's output: head.grad reads it (its input): kept.
    # head's output: nothing consumes it, so head.grad stays ordered after it: kept.
    t = build_training_graph(_block()).graph
    assert _kept(t) == {"fc1", "act", "add", "head"}
    assert "bn" not in t.predecessors("act.grad") and "act" in t.predecessors("act.grad")
    assert "bn" not in t.predecessors("bn.grad") and "fc1" in t.predecessors("bn.grad")


def test_gelu_reads_its_input_so_the_norm_output_stays():
    # GELU's derivative needs its input (bn's output); its output is fc2's input: both kept.
    t = build_training_graph(_block("gelu")).graph
    assert _kept(t) == {"fc1", "bn", "act", "add", "head"}


def test_backward_still_waits_for_the_gradient_it_needs():
    t = build_training_graph(_block()).graph
    assert "fc2.grad" in t.predecessors("act.grad")      # the incoming gradient
    assert "add.grad" in t.predecessors("fc2.grad")
    assert "head" in t.predecessors("head.grad")          # a graph output orders its own backward


def test_resnet50_amp_batch_256_fits_a_16gb_v100_as_nvidia_trains_it():
    """DeepLearningExamples trains ResNet-50 v1.5 with AMP at batch 256 per 16 GB V100 (DGX-1 16GB
    table, validation row M030): keeping every forward tensor needed 18.4 GiB; keeping what
    backward reads (conv inputs, batch-norm inputs, ReLU outputs) needs ~10.5 GiB."""
    r = sim.simulate("resnet50", "nvidia-v100-sxm2", mode="training", batch_size=256, precision="fp16")
    assert r.fits_in_memory
    assert 8 * 2**30 < r.peak_memory_bytes < 14 * 2**30


@settings(max_examples=25, deadline=None)
@given(width=st.integers(2, 64), fn=st.sampled_from(["relu", "gelu", "sigmoid", "silu", "tanh"]))
def test_kept_tensors_are_what_some_backward_op_reads(width, fn):
    """Law: a weighted op's input and a ReLU-family output are always kept; a norm's output is kept
    exactly when the activation after it needs its input (GELU, SiLU), whatever the width."""
    b = GraphBuilder("chain", batch=3)
    x = b.input((3, width))
    h = b.act("a1", b.norm("n1", b.linear("l1", x, width)), fn)
    b.linear("l3", b.add_tensors("s", b.linear("l2", h, width), h), 2)
    t = build_training_graph(b.build()).graph
    kept = _kept(t)
    assert {"a1", "s"} <= kept                               # inputs of l2/l3 (weighted: read their input)
    assert ("n1" in kept) == (fn not in ("relu", "sigmoid", "tanh"))


def test_the_single_device_ledger_and_the_cluster_plan_keep_the_same_tensors():
    """The training graph's edges (what the single-device memory ledger frees by) and
    parallel/plan.py's per-micro-batch bytes (``kept_for_backward``) must name the same forward
    tensors, with and without recomputation: one rule, two readers."""
    from simulator.workload.loader import load_workload
    from simulator.workload.saved import kept_for_backward
    from simulator.workload.training import Checkpointing, recompute_set, training_forward

    cases = [("resnet18", dict(batch_size=2, image_size=64)), ("gpt2", dict(batch_size=1, seq_len=16)),
             ("bert-base", dict(batch_size=1, seq_len=16))]
    # a ReLU MLP in a named layer: under selective checkpointing the ReLU is recomputed from fc1's
    # output, which it does not read in backward, so only the recompute keeps fc1 (the case the
    # ``recomputed`` argument exists for; the zoo models' GELUs read their input anyway)
    b = GraphBuilder("relu-mlp", batch=2)
    h = b.linear("l0.fc2", b.act("l0.relu", b.linear("l0.fc1", b.input((2, 8)), 8)), 8)
    b.linear("l1.fc", h, 2)
    graphs = [(load_workload(name).build(**shape)) for name, shape in cases] + [b.build()]
    for raw in graphs:
        name = raw.name
        fwd = training_forward(raw)                 # as build_training_graph and build_plan see it
        for mode in (Checkpointing.NONE, Checkpointing.SELECTIVE, Checkpointing.FULL):
            recompute = recompute_set(fwd, mode)
            graph = build_training_graph(raw, checkpointing=mode).graph
            by_graph = {n for n in fwd.order if n not in recompute
                        and any(graph.op(s).phase != Phase.FORWARD for s in graph.successors(n))}
            by_plan = {n for n in fwd.order if n not in recompute and kept_for_backward(fwd, n, recompute)}
            assert by_graph == by_plan, (name, mode, sorted(by_graph ^ by_plan)[:5])
