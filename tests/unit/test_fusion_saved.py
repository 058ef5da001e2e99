"""A fused op keeps for the backward pass what its members need, not what its host's kind alone would."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from simulator.workload import ops as O
from simulator.workload.fusion import fuse_pointwise
from simulator.workload.graph import GraphBuilder
from simulator.workload.saved import READS, SUM, kept_for_backward, merged_reads, reads_inputs, reads_output


def _sum_hosting_a_norm():
    """fc1 -> fc2 -> fc3; add = fc1 + fc2 (both also read elsewhere, so the sum is a kernel of its
    own); ln(add) fuses into the sum; the fused output goes to two residual sums only."""
    b = GraphBuilder("g", batch=1)
    a = b.linear("fc1", b.input((1, 8)), 8)
    c = b.linear("fc2", a, 8)
    _ = b.linear("fc3", c, 8)
    n = b.norm("ln", b.add_tensors("add", a, c), kind="layernorm")
    _ = b.add_tensors("add2", n, a)
    _ = b.add_tensors("add3", n, c)
    return fuse_pointwise(b.build())


def test_a_sum_hosting_a_norm_keeps_the_norms_input_by_hand():
    """The layer norm's backward reads its input (the sum's output, now inside the fused kernel):
    the fused op keeps its output (8 elements, the same size). Its consumers are sums, which read
    nothing, so before this rule the fused op (kind: a sum) kept nothing at all."""
    f = _sum_hosting_a_norm()
    assert f.order == ["fc1", "fc2", "fc3", "add", "add2", "add3"]
    op = f.op("add")
    assert dict(op.attrs)[READS] == (False, True)
    assert not reads_inputs(op) and reads_output(op)
    assert kept_for_backward(f, "add") and op.output_elems == 8


def test_the_mark_is_added_only_where_the_hosts_rule_falls_short_by_hand():
    """fc1 -> ReLU fuses: the matmul reads its input, the ReLU its output, so the fused op reads both,
    (True, True), where a matmul alone reads (True, False): marked. A sum hosting a sum (s2 = add + x)
    reads nothing either way: no mark, the op as the host's rule has it."""
    b = GraphBuilder("g", batch=1)
    x = b.input((1, 8))
    a = b.linear("fc1", x, 8)
    c = b.linear("fc2", a, 8)
    _ = b.linear("fc3", c, 8)
    s2 = b.add_tensors("s2", b.add_tensors("add", a, c), x)
    _ = b.linear("out", b.act("relu", b.linear("fc4", s2, 8)), 2)
    f = fuse_pointwise(b.build())
    assert f.order == ["fc1", "fc2", "fc3", "add", "fc4", "out"]
    assert dict(f.op("fc4").attrs)[READS] == (True, True)
    assert READS not in dict(f.op("add").attrs) and not reads_inputs(f.op("add")) and not reads_output(f.op("add"))


kinds = st.sampled_from([
    O.matmul("mm", batch=1, m=2, k=3, n=4), O.activation("relu", elems=8), O.activation("gelu", elems=8, fn="gelu"),
    O.norm("ln", elems=8, channels=2), O.softmax("sm", elems=8), O.elementwise("add", elems=8, fn=SUM),
    O.elementwise("mul", elems=8),
])


@given(host=kinds, member=kinds, other=st.booleans())
def test_merged_reads_cover_every_members_need(host, member, other):
    """Law: whatever a member reads is read by the fused op: the host's inputs are the fused inputs,
    the member's output is the fused output, and the tensor between them (the host's output, the
    member's input) is kept as the fused output."""
    ins, out = merged_reads(host, member, other)
    assert ins >= reads_inputs(host)
    assert out >= reads_output(member) and out >= reads_output(host) and out >= reads_inputs(member)
    assert ins <= (reads_inputs(host) or reads_inputs(member))   # nothing no member reads
