"""An int8 convolution's requantizing store on the SIMD path (oneDNN's x8s8s32x kernel, which OpenVINO
2024.3 runs for int8 depthwise convolutions): 6 vector instructions per output vector on top of the
graph's bias/activation epilogue, 7 for a depthwise one (VPERMD); each against a hand computation."""
from __future__ import annotations

import pytest

from simulator.cost.cpu import _compute, int8_requant_flops, on_matrix_unit
from simulator.spec.loader import load_hardware
from simulator.units import Precision
from simulator.workload import ops as O

XEON = "intel-xeon-platinum-8480"   # AVX-512: 16 FP32 lanes x 2 FMA units x 2 FLOP = 64 per cycle


def _one_core():
    return load_hardware(XEON, {"compute.cores": 1, "compute.single_core_clock_ghz": 2.0,
                                "efficiency.compute": 0.4, "efficiency.vector": 0.5})


def test_int8_depthwise_pays_its_requantizing_store_after_the_multiply_adds():
    hw = _one_core()
    op = O.conv2d("dw", batch=1, in_ch=32, h=8, w=8, out_ch=32, kernel=3, pad=1, groups=32)
    assert not on_matrix_unit(hw, op.gemms[0], Precision.INT8)
    # 64 pixels x 32 channels x 9 taps x 2 = 36864 FLOP at the FP32 lane rate 64 x 0.9 = 57.6: 640 cycles;
    # store: 7 instructions x 2 FLOP x 2048 outputs = 28672 at 64 x 0.5 = 32: 896 cycles; 1536 at 2 GHz
    assert int8_requant_flops(op, Precision.INT8) == 28672.0
    assert _compute(op, hw, Precision.INT8)[0] == pytest.approx(1536 / 2.0e9)
    # FP32 stores its accumulators as they are: the multiply-adds only
    assert _compute(op, hw, Precision.FP32)[0] == pytest.approx(640 / 2.0e9)


def test_the_amx_path_is_left_as_the_graph_counts_it():
    hw = _one_core()
    op = O.conv2d("pw", batch=1, in_ch=64, h=8, w=8, out_ch=64, kernel=1)
    assert on_matrix_unit(hw, op.gemms[0], Precision.INT8)
    # the formula counts 6 instructions (no VPERMD): 49152 FLOP at 32 = 1536 cycles, more than the tiles'
    # 640 (m = n = k = 64: 4 blocks of 32 x 32 at 2048 x 0.4), but the tile path does not add them
    assert int8_requant_flops(op, Precision.INT8) == 2.0 * 6 * 4096
    assert _compute(op, hw, Precision.INT8)[0] == pytest.approx(640 / 2.0e9)


@pytest.mark.parametrize("channels", [16, 32, 96, 144])
@pytest.mark.parametrize("size", [4, 8, 14])
def test_the_store_grows_with_outputs_only(channels, size):
    # property: the requantizing store is linear in the outputs and blind to the kernel's taps
    a = O.conv2d("a", batch=1, in_ch=channels, h=size, w=size, out_ch=channels, kernel=3, pad=1, groups=channels)
    b = O.conv2d("b", batch=1, in_ch=channels, h=size, w=size, out_ch=channels, kernel=5, pad=2, groups=channels)
    assert int8_requant_flops(a, Precision.INT8) == int8_requant_flops(b, Precision.INT8) == 14.0 * a.output_elems
    for p in (Precision.FP32, Precision.BF16):
        assert int8_requant_flops(a, p) == 0.0
