"""Laws of the selectable-geometry mapping (:func:`simulator.cost.systolic.map_gemm_geometries`)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cost.systolic import map_gemm_geometries
from simulator.workload.ops import Gemm

SHAPES = ((1024, 128), (512, 256), (256, 512), (128, 1024))
GEMMS = st.builds(Gemm, m=st.integers(1, 20000), n=st.integers(1, 5000), k=st.integers(1, 9000),
                  count=st.integers(1, 4))


@settings(max_examples=200, deadline=None)
@given(GEMMS, st.integers(1, 600))
def test_never_beats_the_engine_peak_nor_the_step_floor(g, floor):
    m = map_gemm_geometries(g, shapes=SHAPES, min_step_cycles=floor)
    assert (m.cycles + 1) * 131072 >= g.macs                  # at most every MAC busy every cycle
    assert m.cycles + 1 >= m.folds * floor and 0 < m.utilization <= 1.0


@settings(max_examples=200, deadline=None)
@given(GEMMS, st.integers(1, 600), st.integers(0, 3))
def test_more_geometries_never_slower_and_longer_k_never_faster(g, floor, drop):
    every = map_gemm_geometries(g, shapes=SHAPES, min_step_cycles=floor)
    fewer = map_gemm_geometries(g, shapes=SHAPES[:drop] + SHAPES[drop + 1:], min_step_cycles=floor)
    assert every.cycles <= fewer.cycles
    longer = map_gemm_geometries(Gemm(m=g.m, n=g.n, k=g.k + 1, count=g.count), shapes=SHAPES, min_step_cycles=floor)
    assert longer.cycles >= every.cycles
