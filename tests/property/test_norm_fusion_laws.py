"""Laws of norm-epilogue fusion (:func:`simulator.workload.fusion.fuse_norm_epilogues`) over generated graphs."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.workload.fusion import fuse_norm_epilogues
from simulator.workload.loader import load_workload
from simulator.workload.ops import OpKind

GRAPHS = st.sampled_from([("resnet18", dict(image_size=64)), ("resnet50", dict(image_size=64)),
                          ("bert-base", dict(seq_len=32)), ("gpt2", dict(seq_len=16)), ("mlp", {})])


def _traffic(g) -> float:
    return sum(g.op(n).input_elems + g.op(n).output_elems for n in g.order)


@settings(max_examples=15, deadline=None)
@given(GRAPHS, st.integers(min_value=1, max_value=4))
def test_fusion_keeps_the_work_and_only_removes_traffic(wl_kw, batch):
    name, kw = wl_kw
    g = load_workload(name).build(batch_size=batch, **kw)
    f = fuse_norm_epilogues(g)
    assert sum(f.op(n).flops for n in f.order) == pytest.approx(sum(g.op(n).flops for n in g.order))
    assert f.parameters == g.parameters
    assert len(f) <= len(g)
    assert _traffic(f) <= _traffic(g)
    # only norms absorb anything: every other op that survives is untouched
    for n in f.order:
        if f.op(n).kind != OpKind.NORM:
            assert f.op(n) == g.op(n)
