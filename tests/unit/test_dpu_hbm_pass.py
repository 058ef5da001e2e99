"""The DPUCAHX8L's element-wise adds and concatenations as passes of their own through HBM
(``dpu.hbm_pass_element_ns``, simulator.cost.fpga.hbm_pass_s)."""
from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, strategies as st

from simulator.cost.fpga import hbm_pass_s, skip_elems
from simulator.spec.models import Dpu, DpuLanes
from simulator.workload.ops import conv2d, data_movement, elementwise, pool

LANES = DpuLanes(pixels=4, input_channels=32, output_channels=64)


def _dpu(ns: float) -> Dpu:
    return Dpu(conv=LANES, hbm_pass_element_ns=ns, source="test")


def test_resnet50_stage1_add_by_hand():
    # layer1 add: 256 x 56 x 56 = 802,816 outputs x 1.6 ns = 1.2845 ms, fused into its conv or alone
    c = conv2d("c", batch=1, in_ch=64, h=56, w=56, out_ch=256, kernel=1)
    fused = replace(c, input_elems=c.input_elems + c.output_elems)
    assert skip_elems(fused) == 802_816 and skip_elems(c) == 0
    for op in (fused, elementwise("add", elems=802_816)):
        assert hbm_pass_s(op, _dpu(1.6)) == pytest.approx(802_816 * 1.6e-9)
    # a plain conv, a pool: no pass of their own
    assert hbm_pass_s(c, _dpu(1.6)) == 0.0
    assert hbm_pass_s(pool("p", batch=1, ch=64, h=56, w=56, kernel=3, stride=2, pad=1), _dpu(1.6)) == 0.0


def test_off_by_default_and_concat_free_then():
    d = _dpu(0.0)
    assert hbm_pass_s(elementwise("add", elems=1000), d) == 0.0
    assert hbm_pass_s(data_movement("cat", elems=1000), d) == 0.0
    assert Dpu(conv=LANES, source="test").hbm_pass_element_ns == 0.0


@given(elems=st.integers(1, 10**8), ns=st.floats(0.0, 100.0), k=st.integers(1, 8))
def test_linear_in_elements_and_time(elems, ns, k):
    a = hbm_pass_s(elementwise("a", elems=elems), _dpu(ns))
    assert a >= 0.0
    assert hbm_pass_s(elementwise("a", elems=elems * k), _dpu(ns)) == pytest.approx(k * a, rel=1e-9, abs=1e-18)
    assert hbm_pass_s(elementwise("a", elems=elems), _dpu(ns * k)) == pytest.approx(k * a, rel=1e-9, abs=1e-18)
