"""Two CPU mechanisms against hand computations: the SIMD lanes an int8 grouped convolution fills
(simulator.cost.cpu.grouped_lane_fill) and the block scales a stack stores with quantized weights
(simulator.spec.stack.WeightBlockScale, read through Numerics.weight_bytes)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.cost.base import Numerics, op_bytes
from simulator.cost.cpu import achieved_flops_per_cycle, grouped_lane_fill, simd_gemm_flops_per_cycle
from simulator.spec.loader import load_hardware
from simulator.spec.stack import load_stack
from simulator.units import Precision
from simulator.workload import ops as O
from simulator.workload.ops import Gemm


def _xeon():
    return load_hardware("intel-xeon-platinum-8480", {"efficiency.compute": 0.366})


def test_resnext_grouped_convs_fill_a_quarter_half_or_all_of_the_lanes():
    hw = _xeon()
    # ResNeXt50 32x4d stage 1 at 800x800: 32 groups of 4 channels (m = 200 x 200, k = 3 x 3 x 4)
    conv = O.conv2d("g", batch=1, in_ch=128, h=200, w=200, out_ch=128, kernel=3, pad=1, groups=32)
    g = conv.gemms[0]
    assert (g.n, g.k, g.count) == (4, 36, 32)
    # Xmm: 4 of 16 int32 lanes; VNNI's 512/8 x 2 ports x 2 = 256 FLOP/cycle becomes 64
    assert simd_gemm_flops_per_cycle(hw, g, Precision.INT8) == 64.0
    # the core takes the faster path: AMX 2048 x 4/16 (n) x 36/64 (k) x 0.366 = 105.4 beats SIMD 64 x 0.9 = 57.6
    assert achieved_flops_per_cycle(hw, g, Precision.INT8) == pytest.approx(2048 * 4 / 16 * 36 / 64 * 0.366)
    # stage 2: 8 channels per group, Ymm: 128
    assert simd_gemm_flops_per_cycle(hw, Gemm(m=10000, n=8, k=72, count=32), Precision.INT8) == 128.0
    # 16 and 32 channels fill whole registers; an ungrouped or a bf16 GEMM is not this limit
    assert simd_gemm_flops_per_cycle(hw, Gemm(m=2500, n=16, k=144, count=32), Precision.INT8) == 256.0
    assert simd_gemm_flops_per_cycle(hw, Gemm(m=2500, n=4, k=36), Precision.INT8) == 256.0
    assert simd_gemm_flops_per_cycle(hw, Gemm(m=2500, n=4, k=36, count=32), Precision.BF16) == 128.0


@given(n=st.integers(min_value=2, max_value=4096), count=st.integers(min_value=2, max_value=64))
def test_a_grouped_gemm_never_beats_the_full_register_rate(n, count):
    hw = _xeon()
    full = simd_gemm_flops_per_cycle(hw, Gemm(m=64, n=16, k=64), Precision.INT8)
    fill = grouped_lane_fill(hw, Gemm(m=64, n=n, k=64, count=count), Precision.INT8)
    assert fill in (0.25, 0.5, 1.0)
    assert simd_gemm_flops_per_cycle(hw, Gemm(m=64, n=n, k=64, count=count), Precision.INT8) <= full
    # a group of a multiple of 16 channels fills every lane
    assert (fill == 1.0) == (n % 16 == 0)


def test_q8_0_reads_34_bytes_per_32_weights():
    stack = load_stack("llamacpp")
    scale = stack.weight_scale_bytes("int8")
    assert scale == 2 / 32                              # one fp16 scale per block of 32
    assert stack.weight_scale_bytes("fp16") == 0.0 and load_stack("default").weight_scale_bytes("int8") == 0.0
    # a decode matmul's 4096 x 4096 weights (and its 4096 bias elements) read 34 bytes per 32 of them
    fc = O.matmul("fc", batch=1, m=1, k=4096, n=4096)
    assert fc.weight_read_elems == 4096 * 4096 + 4096
    _, _, w = op_bytes(fc, Numerics(Precision.BF16, Precision.INT8, weight_scale_bytes=scale), fused_attention=True)
    assert w == (4096 * 4096 + 4096) * 34 / 32
    _, _, plain = op_bytes(fc, Numerics(Precision.BF16, Precision.INT8), fused_attention=True)
    assert plain == 4096 * 4096 + 4096


def test_a_memory_bound_decode_slows_by_the_scale_bytes():
    import simulator as sim
    kw = dict(mode="inference", batch_size=1, seq_len=1, precision="bf16", weight_precision="int8")
    plain = sim.simulate("llama2-7b", "amd-epyc-9554", **kw).summary["step_time_s"]
    q8 = sim.simulate("llama2-7b", "amd-epyc-9554", stack="llamacpp", **kw).summary["step_time_s"]
    # one token: weights dominate the traffic: the step grows by at most, and close to, 34/32
    assert plain < q8 <= plain * 34 / 32 * 1.0001
    assert q8 > plain * 1.03
