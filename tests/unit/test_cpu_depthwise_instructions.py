"""The vector instructions oneDNN's depthwise kernel spends per lane multiply-add
(simulator.cost.cpu.depthwise_instructions), against hand counts from jit_brdgmm_kernel.cpp."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.cost.cpu import achieved_flops_per_cycle, depthwise_instructions, simd_gemm_flops_per_cycle
from simulator.spec.loader import load_hardware
from simulator.units import Precision
from simulator.workload import ops as O
from simulator.workload.ops import Gemm


def _xeon():
    return load_hardware("intel-xeon-platinum-8480", {"efficiency.compute": 0.354})


def test_mobilenet_v2_depthwise_rates_by_format():
    hw = _xeon()
    # MobileNet v2 block 3's 3x3 depthwise at 224: 144 channels over 56 x 56 outputs, 9 taps each
    dw = O.conv2d("dw", batch=1, in_ch=144, h=56, w=56, out_ch=144, kernel=3, pad=1, groups=144).gemms[0]
    assert (dw.m, dw.n, dw.k, dw.count) == (3136, 1, 9, 144)
    # FP32: VFMADD231PS with the source as its memory operand, 1 instruction per 16-lane multiply-add:
    # 16 lanes x 2 FLOP x 2 FMA ports = 64 FLOP/cycle
    assert simd_gemm_flops_per_cycle(hw, dw, Precision.FP32) == 64.0
    # int8, 144 = 9 x 16 channels: VBROADCASTI32X4 (a load) + VPDPBUSD, 1 instruction: 64
    assert simd_gemm_flops_per_cycle(hw, dw, Precision.INT8) == 64.0
    # bf16 on an AMX part: VPMOVZXWD + VPSLLD + VFMADD231PS, 3 instructions: 64 / 3
    assert simd_gemm_flops_per_cycle(hw, dw, Precision.BF16) == pytest.approx(64 / 3)
    # the SIMD path at 0.9 of that (no AMX for depthwise): 21.33 x 0.9 = 19.2
    assert achieved_flops_per_cycle(hw, dw, Precision.BF16) == pytest.approx(19.2)


def test_int8_depthwise_with_a_channel_tail_widens_its_source():
    hw = _xeon()
    # 24 channels = 16 + 8: a channel tail, VPMOVZXBD + VPDPBUSD, 2 instructions: 64 / 2 = 32
    g = Gemm(m=3136, n=1, k=9, count=24)
    assert depthwise_instructions(hw, g, Precision.INT8) == 2
    assert simd_gemm_flops_per_cycle(hw, g, Precision.INT8) == 32.0


def test_bf16_depthwise_without_amx_keeps_its_dot_product():
    # EPYC 9554 (Zen 4): AVX512_BF16, no matrix unit: VPMOVZXWD + VDPBF16PS, 2 instructions
    epyc = load_hardware("amd-epyc-9554")
    g = Gemm(m=3136, n=1, k=9, count=96)
    assert depthwise_instructions(epyc, g, Precision.BF16) == 2


def test_non_depthwise_gemms_keep_their_dot_product_rate():
    hw = _xeon()
    # a 1x1 convolution (n = 24 outputs per pixel) is not a depthwise one: AVX512_BF16 rate 128
    assert simd_gemm_flops_per_cycle(hw, Gemm(m=3136, n=24, k=144), Precision.BF16) == 128.0


@given(channels=st.integers(min_value=1, max_value=2048), m=st.integers(min_value=1, max_value=20000),
       p=st.sampled_from([Precision.FP32, Precision.BF16, Precision.INT8]))
def test_a_depthwise_gemm_never_beats_the_fp32_lane_rate(channels, m, p):
    hw = _xeon()
    g = Gemm(m=m, n=1, k=9, count=channels)
    # one channel per 32-bit lane: no format multiplies more than once per lane per FMA slot
    assert simd_gemm_flops_per_cycle(hw, g, p) <= simd_gemm_flops_per_cycle(hw, g, Precision.FP32)
    assert depthwise_instructions(hw, g, p) in (1, 2, 3)
