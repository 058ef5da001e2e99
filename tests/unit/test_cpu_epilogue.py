"""A GEMM's fused epilogue on a CPU: element-wise work runs on FP32 lanes whatever the run's precision
(BF16 and int8 have dot products only), and on the AMX path it overlaps the tile multiplications
(oneDNN's interleaved tile stores) instead of following them; each against a hand computation."""
from __future__ import annotations

import dataclasses

import pytest

from simulator.cost.cpu import _compute, elementwise_flops_per_cycle, on_matrix_unit
from simulator.spec.loader import load_hardware
from simulator.units import Precision
from simulator.workload import ops as O
from simulator.workload.ops import Gemm

XEON = "intel-xeon-platinum-8480"   # 2.0 GHz, AMX int8 2048 FLOP/cycle, AVX-512: 16 FP32 lanes x 2 FMA units


def _one_core(**eff):
    over = {"compute.cores": 1, "compute.single_core_clock_ghz": 2.0}
    over.update({f"efficiency.{k}": v for k, v in eff.items()})
    return load_hardware(XEON, over)


def test_element_wise_work_of_int8_and_bf16_runs_at_the_fp32_lane_rate():
    hw = load_hardware(XEON)
    # 512-bit / 32 = 16 lanes x 2 FMA units x 2 FLOP = 64; FP16 has its own arithmetic (AVX512_FP16): 128
    assert elementwise_flops_per_cycle(hw, Precision.FP32) == 64.0
    assert elementwise_flops_per_cycle(hw, Precision.BF16) == 64.0
    assert elementwise_flops_per_cycle(hw, Precision.INT8) == 64.0
    assert elementwise_flops_per_cycle(hw, Precision.FP16) == 128.0
    # a CPU without FP16 arithmetic falls back to FP32 lanes for FP16 too
    no_fp16 = load_hardware(XEON, {"compute.simd_precisions": ["fp32", "bf16", "int8"]})
    assert elementwise_flops_per_cycle(no_fp16, Precision.FP16) == 64.0


def test_an_amx_gemm_hides_its_bias_epilogue():
    hw = _one_core(compute=0.4, vector=0.5)
    op = O.matmul("fc", batch=1, m=64, k=64, n=64)           # 2 x 64^3 = 524288 GEMM FLOP + 4096 bias adds
    # GEMM: 4 blocks of 32 x 32 on one core at 2048 x 0.4 = 819.2 FLOP/cycle: 640 cycles at 2 GHz = 0.32 us
    # bias: 4096 / (64 x 0.5) = 128 cycles = 0.064 us, under the tiles: 0.32 us, not 0.384
    seconds, busy = _compute(op, hw, Precision.INT8)
    assert busy == 1
    assert seconds == pytest.approx(0.32e-6)


def test_an_epilogue_longer_than_the_tiles_sets_the_time():
    hw = _one_core(compute=0.4, vector=0.5)
    base = O.matmul("fc", batch=1, m=64, k=64, n=64)
    # 20 FLOP per output (a GELU, scales and requantization): 81920 / 32 = 2560 cycles = 1.28 us > 0.32 us
    op = dataclasses.replace(base, flops=base.matrix_flops + 20 * 4096)
    assert _compute(op, hw, Precision.INT8)[0] == pytest.approx(1.28e-6)


def test_the_simd_path_adds_its_epilogue_after_the_gemm():
    hw = _one_core(compute=0.4, vector=0.5)
    op = O.matmul("fc", batch=1, m=64, k=64, n=64)
    # FP32: no tiles; AVX-512 64 x 0.90 = 57.6 FLOP/cycle: 524288 / 57.6 = 9102.2 cycles, + 128 for the bias
    assert not on_matrix_unit(hw, Gemm(m=64, n=64, k=64), Precision.FP32)
    assert _compute(op, hw, Precision.FP32)[0] == pytest.approx((524288 / 57.6 + 128) / 2.0e9)


def test_softmax_between_the_attention_gemms_is_not_an_epilogue():
    hw = _one_core(compute=0.4, vector=0.5)
    op = O.attention("a", batch=1, heads=1, q_len=64, kv_len=64, head_dim=64)
    # two 64^3 GEMMs: 2 x 524288 / 819.2 = 1280 cycles; softmax 5 x 4096 / 32 = 640 cycles, after them
    assert _compute(op, hw, Precision.INT8)[0] == pytest.approx((1280 + 640) / 2.0e9)
