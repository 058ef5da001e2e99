"""Pooling on a DPU's ALU (``dpu.pool_on_alu``) and the AI-Engine DPUs' layer floors, checked by hand."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cost.base import CostOptions, Numerics
from simulator.cost.dispatch import op_cost
from simulator.cost.dpu import pool_lane_macs
from simulator.spec.loader import load_hardware
from simulator.spec.models import DepthwiseLanes
from simulator.units import Precision
from simulator.workload import ops as O

NUM, OPTS = Numerics(Precision.INT8, Precision.INT8), CostOptions()
BARE = {"efficiency.compute": 1.0, "efficiency.op_overhead_us": 0.0, "compute.dpu.layer_floor_us": 0.0}
VCK190_ALU = DepthwiseLanes(pixels=8, channels=16, clock_ghz=0.333)


def test_pool_lane_macs_by_hand():
    # Inception v3 Mixed_5b branch pool: 3x3 stride 1 on 35 x 35 x 192, 2 images; 35 output columns
    # take 5 steps of the 8 pixel lanes = 40 -> 2 * 192 * 35 rows * 40 * 9 window elements
    p = O.pool("p", batch=2, ch=192, h=35, w=35, kernel=3, stride=1, pad=1)
    assert pool_lane_macs(p, VCK190_ALU) == 2 * 192 * 35 * 40 * 9
    # stride 2 (147 -> 73): 73 columns -> 80
    s2 = O.pool("s2", batch=1, ch=64, h=147, w=147, kernel=3, stride=2)
    assert pool_lane_macs(s2, VCK190_ALU) == 64 * 73 * 80 * 9
    # a global pool is one output pixel (1 of 8 lanes busy) whose window is the 8 x 8 map
    g = O.pool("g", batch=1, ch=2048, h=8, w=8, kernel=8, stride=1, global_pool=True)
    assert pool_lane_macs(g, VCK190_ALU) == 2048 * 1 * 8 * 64
    # not a pooling layer: nothing on the ALU from this rule
    assert pool_lane_macs(O.conv2d("c", batch=1, in_ch=8, h=4, w=4, out_ch=8, kernel=1), VCK190_ALU) == 0.0


def test_vck190_pools_on_its_alu_by_hand():
    hw = load_hardware("amd-versal-vck190", BARE)
    assert hw.compute.dpu.pool_on_alu
    p = O.pool("p", batch=6, ch=192, h=35, w=35, kernel=3, stride=1, pad=1)
    # 6 images x 192 x 35 x 40 x 9 = 14,515,200 lane-MACs on 6 batch handlers x 16 x 8 lanes at 333 MHz
    # (255.744 G/s) = 56.76 us; streaming the tensor through the vector lanes (768 x 333 MHz) would
    # have taken 6 * 192 * 35 * 35 / 255.744e9 = 5.5 us
    expected = 6 * 192 * 35 * 40 * 9 / (6 * 16 * 8 * 0.333e9)
    assert expected == pytest.approx(56.757e-6, rel=1e-4)
    assert op_cost(p, hw, NUM, OPTS).compute_s == pytest.approx(expected)


def test_a_dedicated_pool_engine_still_streams():
    # the VCK5000 DPUCVDX8H has a pool_engine of its own (target file): the tensor streams through its
    # 6 PE x 64 x 2 vector lanes at 350 MHz once, whatever the window
    hw = load_hardware("amd-versal-vck5000", BARE)
    assert not hw.compute.dpu.pool_on_alu
    p = O.pool("p", batch=6, ch=192, h=35, w=35, kernel=3, stride=1, pad=1)
    assert op_cost(p, hw, NUM, OPTS).compute_s == pytest.approx(6 * 192 * 35 * 35 / (768 * 0.35e9))


def test_ai_engine_dpu_layer_floors():
    # VCK190 C32B6: 6 images / 10,348.4 fps / 29 layers = 20.0 us a layer, 5 us of it the per-op overhead
    assert 6 / 10348.4 / 29 == pytest.approx(20.0e-6, rel=2e-3)
    for name in ("amd-versal-vck190", "amd-versal-vck190-c32b3"):
        hw = load_hardware(name)
        assert hw.compute.dpu.layer_floor_us + hw.efficiency.op_overhead_us == pytest.approx(20.0)
    # VCK5000 6PE aieDWC: 6 / 20,510 / 29 = 10.1 us; the 8PE overlay has no floor
    assert 6 / 20510 / 29 == pytest.approx(10.09e-6, rel=1e-3)
    v = load_hardware("amd-versal-vck5000")
    assert v.compute.dpu.layer_floor_us + v.efficiency.op_overhead_us == pytest.approx(10.1)
    assert load_hardware("amd-versal-vck5000-8pe").compute.dpu.layer_floor_us == 0.0
    # a 1x1 conv of 6 x 8 x 8 x 16 -> 32 is 196,608 MACs: far under the floor, it takes 15 us + 5 us
    hw = load_hardware("amd-versal-vck190")
    small = O.conv2d("s", batch=6, in_ch=16, h=8, w=8, out_ch=32, kernel=1)
    assert op_cost(small, hw, NUM, OPTS).duration_s == pytest.approx(20.0e-6, rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(ch=st.integers(1, 512), h=st.integers(3, 80), k=st.integers(1, 3), s=st.integers(1, 2))
def test_alu_pool_time_grows_with_the_window_and_the_map(ch, h, k, s):
    """Laws: a larger window or a wider map never pools faster; the padded work is at least the
    unpadded window work and less than one extra lane group per output row."""
    hw = load_hardware("amd-versal-vck190", BARE)
    small = O.pool("a", batch=1, ch=ch, h=h, w=h, kernel=k, stride=s)
    wider = O.pool("b", batch=1, ch=ch, h=h, w=h + 1, kernel=k, stride=s)
    bigger = O.pool("c", batch=1, ch=ch, h=h + 2, w=h + 2, kernel=k + 2, stride=s)
    t = op_cost(small, hw, NUM, OPTS).compute_s
    assert op_cost(wider, hw, NUM, OPTS).compute_s >= t
    assert op_cost(bigger, hw, NUM, OPTS).compute_s >= t
    lanes = pool_lane_macs(small, VCK190_ALU)
    oh, ow = dict(small.attrs)["out_h"], dict(small.attrs)["out_w"]
    assert small.flops <= lanes < small.flops + ch * oh * 8 * k * k
    assert ow >= 1
