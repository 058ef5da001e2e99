"""GraphBuilder shape checks, ComputeGraph validation and the small vision helpers of graph.py."""
from __future__ import annotations

import networkx as nx
import pytest

from simulator.errors import WorkloadError
from simulator.workload import ops as O
from simulator.workload.graph import ComputeGraph, GraphBuilder


def _builder() -> GraphBuilder:
    return GraphBuilder("t", batch=2, source="test.yaml")


def test_add_tensors_rejects_shape_mismatch_naming_the_op():
    b = _builder()
    x = b.input((2, 8))
    y = b.linear("fc", x, 4)
    with pytest.raises(WorkloadError, match=r"ops\.res\.add.*shape mismatch") as err:
        b.add_tensors("res.add", x, y)
    assert err.value.source == "test.yaml"


def test_concat_rejects_mismatch_outside_the_axis():
    b = _builder()
    a = b.input((2, 3, 8, 8))
    c = b.input((2, 5, 4, 4))
    with pytest.raises(WorkloadError, match=r"ops\.cat: shape mismatch in concat"):
        b.concat("cat", [a, c])


def test_concat_sums_the_axis():
    b = _builder()
    a, c = b.input((2, 3, 8, 8)), b.input((2, 5, 8, 8))
    assert b.concat("cat", [a, c]).shape == (2, 8, 8, 8)


def test_duplicate_op_name_rejected():
    b = _builder()
    x = b.input((2, 8))
    b.linear("fc", x, 4)
    with pytest.raises(WorkloadError, match=r"ops\.fc: duplicate op name"):
        b.linear("fc", x, 4)


def test_cycle_is_reported_with_the_ops_on_it():
    g = nx.DiGraph()
    for i, name in enumerate(("a", "b", "c")):
        g.add_node(name, op=O.elementwise(name, elems=1), index=i)
    g.add_edges_from([("a", "b"), ("b", "c"), ("c", "a")])
    with pytest.raises(WorkloadError, match="cycle") as err:
        ComputeGraph(g, name="cyc", source="cyc.yaml")
    for name in ("a", "b", "c"):
        assert name in str(err.value)


def test_dangling_edge_names_the_missing_op():
    g = nx.DiGraph()
    g.add_node("a", op=O.elementwise("a", elems=1), index=0)
    g.add_edge("a", "ghost")  # networkx creates 'ghost' without an op
    with pytest.raises(WorkloadError, match=r"ops\.ghost.*dangling"):
        ComputeGraph(g, name="d", source="d.yaml")


def test_non_positive_input_rejected():
    with pytest.raises(WorkloadError, match="positive"):
        _builder().input((2, 0, 4))


def test_conv_needs_nchw_and_a_fitting_kernel():
    b = _builder()
    with pytest.raises(WorkloadError, match=r"ops\.c1.*NCHW"):
        b.conv("c1", b.input((2, 8)), 4, 3)
    with pytest.raises(WorkloadError, match=r"ops\.c2.*larger"):
        b.conv("c2", b.input((2, 3, 4, 4)), 4, 7, pad=0)


def test_pool_window_larger_than_input():
    b = _builder()
    with pytest.raises(WorkloadError, match=r"ops\.p"):
        b.pool("p", b.input((2, 3, 2, 2)), 3, 2)


def test_reshape_must_keep_size():
    b = _builder()
    with pytest.raises(WorkloadError, match="cannot reshape"):
        b.reshape(b.input((2, 6)), (2, 4))


def test_edges_carry_elements_and_order_is_deterministic():
    b = _builder()
    x = b.input((2, 8))
    y = b.linear("fc1", x, 4)
    z = b.linear("fc2", x, 4)
    b.add_tensors("add", y, z)
    g = b.build()
    assert g.order == ["fc1", "fc2", "add"]
    assert g.graph.edges["fc1", "add"]["elems"] == 8
    assert g.predecessors("add") == ["fc1", "fc2"]
    assert g.parameters == 2 * (8 * 4 + 4)


@pytest.mark.parametrize("size,kernel,stride,pad,out", [
    (112, 3, 2, 0, 56),  # ceil((112-3)/2)+1 = 56; floor mode would give 55
    (28, 3, 1, 1, 28), (14, 2, 2, 0, 7), (7, 3, 2, 0, 3), (5, 2, 2, 0, 3),
])
def test_pool_ceil_matches_torch_ceil_mode(size, kernel, stride, pad, out):
    b = _builder()
    y = b.pool_ceil("p", b.input((1, 4, size, size)), kernel, stride, pad)
    assert y.shape == (1, 4, out, out)


def test_adaptive_pool_and_upsample():
    b = _builder()
    x = b.input((2, 16, 13, 13))
    y = b.adaptive_pool("ap", x, 6)
    assert y.shape == (2, 16, 6, 6)
    assert b.graph.nodes["ap"]["op"].flops == 2 * 16 * 36 * 9  # windows of ceil(13/6)^2 = 9
    u = b.upsample("up", y, 2)
    assert u.shape == (2, 16, 12, 12) and b.graph.nodes["up"]["op"].flops == 0


def test_conv_transpose_doubles_the_size():
    b = _builder()
    y = b.conv_transpose("upconv", b.input((2, 64, 16, 16)), 32, 2, stride=2)
    op = b.graph.nodes["upconv"]["op"]
    assert y.shape == (2, 32, 32, 32)
    assert op.param_elems == 64 * 32 * 4 + 32
    assert op.matrix_flops == 2 * (2 * 16 * 16) * (32 * 4) * 64  # each input pixel scatters 2x2x32 outputs
