"""MoE layers route and permute tokens before the experts: the router's top-k and the permutation
kernel (tokens copied once per chosen expert) are ops of their own."""
from __future__ import annotations

from simulator.workload.loader import load_workload
from simulator.workload.ops import OpKind


def test_mixtral_layer_routes_and_permutes_by_hand():
    g = load_workload("mixtral-8x7b").build(batch_size=2, seq_len=64)
    tokens, hidden, experts, k = 2 * 64, 4096, 8, 2
    route, permute, expert = g.op("h0.mlp.route"), g.op("h0.mlp.permute"), g.op("h0.mlp.experts")
    assert route.kind == OpKind.SOFTMAX and route.output_elems == tokens * experts
    assert route.flops == (5 + k) * tokens * experts
    assert permute.kind == OpKind.DATA_MOVEMENT and permute.flops == 0
    assert permute.input_elems == tokens * hidden + tokens * experts
    assert permute.output_elems == tokens * k * hidden            # one copy per chosen expert
    assert expert.output_elems == tokens * hidden                  # combined back per token in the epilogue
    assert sorted(g.predecessors("h0.mlp.experts")) == ["h0.mlp.permute", "h0.mlp.route"]  # rows and gate weights


def test_routing_leaves_the_parameter_count_at_the_published_figure():
    wl = load_workload("mixtral-8x7b")
    assert abs(wl.build(batch_size=1, seq_len=8).parameters / wl.published.parameters - 1) < 0.01
