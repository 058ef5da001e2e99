"""Depthwise convolutions on a PE array: channels packed block-diagonally into one fold, against one
channel per column and the vector unit (the compiler takes the fastest), by hand on the Edge TPU."""
from __future__ import annotations

import pytest

from simulator.cost.array import packed_depthwise
from simulator.cost.base import CostOptions, Numerics
from simulator.cost.dispatch import op_cost
from simulator.spec.loader import load_hardware
from simulator.units import Precision
from simulator.workload import ops as O
from simulator.workload.ops import Gemm

INT8 = Numerics(Precision.INT8, Precision.INT8)
CLOCK = 0.48e9


def test_packing_keeps_every_channel_and_its_taps():
    p = packed_depthwise(Gemm(m=100, n=1, k=9, count=32), rows=64)
    assert (p.n, p.k, p.count) == (7, 63, 5)           # 7 channels of 9 taps fill 63 of 64 rows
    assert p.macs >= Gemm(m=100, n=1, k=9, count=32).macs  # zero weights off the diagonal blocks
    assert packed_depthwise(Gemm(m=100, n=1, k=49, count=32), rows=64) is None   # 7x7 taps: one per fold
    assert packed_depthwise(Gemm(m=100, n=8, k=9, count=4), rows=64) is None     # not per-channel


def test_first_mobilenet_depthwise_layer_by_hand():
    """32 channels of 3x3 over 112 x 112 on the 64 x 64 Edge TPU array (serial folds: 2R + C + T - 2
    cycles each): packed, 5 folds of 12,544 pixels = 63,670 cycles (133 us); one channel per
    column, 32 folds (848 us); on the 64 int8 ops/cycle vector path, 2 x 3.6 M MACs (235 us)."""
    hw = load_hardware("google-edge-tpu")
    op = O.conv2d("dw", batch=1, in_ch=32, h=112, w=112, out_ch=32, kernel=3, pad=1, groups=32)
    c = op_cost(op, hw, INT8, CostOptions())
    packed_cycles = 5 * (2 * 64 + 64 + 12544 - 2)
    vec_rate = CLOCK * 128 * hw.efficiency.vector
    want = packed_cycles / CLOCK / hw.efficiency.compute + op.vector_flops / vec_rate
    assert c.compute_s == pytest.approx(want, rel=1e-9)
    assert 2 * op.matrix_flops / 2 / vec_rate > packed_cycles / CLOCK  # the vector path would be slower


def test_small_late_layers_still_go_to_the_vector_unit():
    """1024 channels over 7 x 7: packed folds cost 2R + C - 2 + 49 = 239 cycles each (147 folds,
    73 us); the vector unit needs 2 x 451,584 MACs / 64 per cycle = 29 us."""
    hw = load_hardware("google-edge-tpu")
    op = O.conv2d("dw", batch=1, in_ch=1024, h=7, w=7, out_ch=1024, kernel=3, pad=1, groups=1024)
    c = op_cost(op, hw, INT8, CostOptions())
    vec_rate = CLOCK * 128 * hw.efficiency.vector
    assert c.compute_s == pytest.approx((op.matrix_flops + op.vector_flops) / vec_rate, rel=1e-9)
