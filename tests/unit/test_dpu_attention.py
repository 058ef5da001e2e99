"""On a DPU overlay an attention core's softmax takes its turn on the element-wise lanes."""
from __future__ import annotations

import pytest

from simulator.cost import fpga
from simulator.cost.base import CostOptions, Numerics
from simulator.cost.dpu import dpu_lane_macs
from simulator.cost.peaks import fpga_macs_per_s, matrix_flops_per_s
from simulator.spec.loader import load_hardware
from simulator.spec.models import Precision, lookup
from simulator.units import GIGA
from simulator.workload import ops as O


def test_attention_pays_its_gemms_then_its_softmax_on_the_lanes():
    hw = load_hardware("amd-kria-kv260")
    int8 = Numerics(Precision.INT8, Precision.INT8)
    op = O.attention("sdpa", batch=1, heads=2, q_len=256, kv_len=256, head_dim=64)
    assert op.vector_flops > 0
    eff = hw.efficiency.compute
    conv, dw = dpu_lane_macs(op, hw.compute.dpu)
    gemm_s = conv / (fpga_macs_per_s(hw, Precision.INT8) * eff)
    vec_s = hw.compute.clock_ghz * GIGA * lookup(hw.compute.vector_flops_per_cycle, Precision.INT8) * eff
    expected = max(gemm_s + op.vector_flops / vec_s, hw.compute.dpu.layer_floor_us * 1e-6)
    got = fpga.cost(op, hw, int8, CostOptions()).compute_s
    assert got == pytest.approx(expected, rel=1e-12)
    # never under the roofline of its FLOPs, even at efficiency 1
    hw1 = load_hardware("amd-kria-kv260", {"efficiency.compute": 1.0})
    peak = max(matrix_flops_per_s(hw1, Precision.INT8), 1.0)
    assert fpga.cost(op, hw1, int8, CostOptions()).compute_s >= op.flops / peak * (1 - 1e-9)
