"""Cost-model mechanisms added for calibration, checked against hand computations.

Split-K for skinny GEMMs, tile fill per wave, tiles cut to small GEMM dimensions, implicit-GEMM
conv traffic, fp32 Winograd, depthwise convs on a TPU's vector unit.
"""
from __future__ import annotations

import pytest

from simulator.cost import gpu
from simulator.cost.array import ArrayShape, depthwise_on_vector
from simulator.cost.base import Numerics
from simulator.cost.dispatch import op_cost
from simulator.spec.loader import load_hardware
from simulator.spec.models import Dataflow
from simulator.units import Precision
from simulator.workload import ops as O
from simulator.workload.ops import Gemm

BF16 = Numerics(Precision.BF16, Precision.BF16)
FP32 = Numerics(Precision.FP32, Precision.FP32)


def test_split_k_fills_idle_sms_by_hand():
    # one 64x64 output tile, K = 401408: 108 SMs, 401408 // 256 = 1568 slices possible -> 108
    assert gpu.split_k(108, 1, 401408) == 108
    # K too short to split further than K / 256
    assert gpu.split_k(108, 1, 1024) == 4
    # a full wave: no split
    assert gpu.split_k(132, 132, 1 << 20) == 1


def test_weight_gradient_gemm_uses_every_sm():
    hw = load_hardware("nvidia-a100-sxm-80gb")
    rate = 1e12
    g = Gemm(m=64, n=64, k=256 * 56 * 56)  # dW of a 64->64 1x1 conv at batch 256
    plan = gpu.gemm_plan(hw, g, rate)
    # tile cut to 64x64 (the GEMM is 64 wide), one tile, split 108 ways, one wave
    assert plan.tile == (64, 64)
    assert plan.split_k == 108 and plan.waves == 1
    assert plan.seconds == pytest.approx(2 * 64 * 64 * gpu.ceil_div(g.k, 108) / rate)


def test_split_k_partials_stay_in_l2_when_the_workspace_fits():
    hw = load_hardware("nvidia-h100-sxm")  # 50 MiB L2
    # a prefill projection of 128 tokens: 128x4096 output = 16 tiles of 128x256 -> K split 8 ways
    op = O.matmul("out", batch=1, m=128, k=4096, n=4096, bias=False)
    plan = gpu.gemm_plan(hw, op.gemms[0], 1e12)
    assert plan.split_k == 8
    workspace = 4 * 8 * 128 * 4096                      # fp32 partials: 16 MiB <= half the L2
    cost = op_cost(op, hw, BF16)
    assert cost.bytes_by_level["l2"] == pytest.approx(2 * workspace)        # written, then read back
    weights_and_acts = 4096 * 4096 * 2 + 2 * 128 * 4096 * 2
    assert cost.bytes_moved == pytest.approx(weights_and_acts)            # none of it reaches HBM
    # V100 (6 MiB L2): 8 tiles of 128x128 split 10 ways = a 5 MiB workspace, over half the L2 -> HBM
    v = load_hardware("nvidia-v100-sxm2")
    skinny = O.matmul("dw", batch=1, m=128, k=65536, n=1024, bias=False)
    assert gpu.gemm_plan(v, skinny.gemms[0], 1e12).split_k == 10
    c = op_cost(skinny, v, BF16)
    assert "l2" not in c.bytes_by_level
    assert c.bytes_moved == pytest.approx(128 * 65536 * 2 + 65536 * 1024 * 2 + 128 * 1024 * 2 + 2 * 4 * 10 * 128 * 1024)


def test_small_gemm_dimension_gets_a_small_tile():
    hw = load_hardware("nvidia-h100-sxm")
    # decode attention: one query row against 192 keys, 4096 heads x batch
    plan = gpu.gemm_plan(hw, Gemm(m=1, n=192, k=128, count=4096), 1e12)
    assert plan.tile[0] == 16          # not padded to a 128-row tile
    assert plan.tile[1] == 256         # 192 rounds up to 256 = the spec's tile_n
    assert gpu._fit_dim(1) == 16 and gpu._fit_dim(17) == 32 and gpu._fit_dim(128) == 128


def test_tile_fill_adds_one_fill_per_wave():
    hw = load_hardware("nvidia-h100-sxm")
    op = O.matmul("fc", batch=1, m=132 * 128, k=4096, n=256, bias=False)  # 132 tiles of 128x256: one wave
    rate = 4096 * hw.compute.clock_ghz * 1e9 * hw.efficiency.compute
    expected = 2 * 128 * 256 * (4096 + hw.efficiency.tile_fill_k) / rate
    assert op_cost(op, hw, BF16).compute_s == pytest.approx(expected)


def test_tile_fill_scales_with_operand_bytes_not_the_arithmetic_rate():
    hw = load_hardware("nvidia-v100-sxm2")  # fp16 tensor 1024, fp32 CUDA cores 128 FLOP/cycle/SM; 80 SMs, 128x128
    op = O.matmul("fc", batch=1, m=80 * 128, k=4096, n=128, bias=False)  # 80 tiles: one wave
    per_sm = hw.compute.clock_ghz * 1e9 * hw.efficiency.compute
    # fp32 on CUDA cores: the K loop at 128 FLOP/cycle, the fill as 256 K-steps of a 4-byte GEMM on
    # the fp16 pipeline = 1024 * 2 / 4 = 512 FLOP/cycle (not 128: the fill is bytes, not arithmetic)
    expected = 2 * 128 * 128 * 4096 / (128 * per_sm) + 2 * 128 * 128 * hw.efficiency.tile_fill_k / (512 * per_sm)
    assert op_cost(op, hw, FP32).compute_s == pytest.approx(expected)
    # on a tensor path the operand width and the rate move together: FP8 fills at its own rate
    h = load_hardware("nvidia-h100-sxm")
    assert gpu._fill_rate_per_sm(h, Precision.FP8) == pytest.approx(8192 * h.compute.clock_ghz * 1e9 * h.efficiency.compute)


def test_conv_hbm_traffic_is_the_input_tensor_not_im2col():
    hw = load_hardware("nvidia-h100-sxm")
    op = O.conv2d("c", batch=64, in_ch=256, h=28, w=28, out_ch=256, kernel=3, pad=1)
    cost = op_cost(op, hw, BF16)
    act_in, act_out, w = op.input_elems * 2, op.output_elems * 2, op.weight_read_elems * 2
    assert cost.bytes_moved == pytest.approx(act_in + act_out + w)
    im2col = op.gemms[0].m * op.gemms[0].k * 2
    assert cost.bytes_moved < im2col  # 9x the input tensor


def test_fp32_3x3_conv_without_tensor_path_uses_winograd():
    hw = load_hardware("nvidia-v100-sxm2")  # no fp32 tensor-core path
    k3 = O.conv2d("c3", batch=32, in_ch=128, h=28, w=28, out_ch=128, kernel=3, pad=1)
    c3 = op_cost(k3, hw, FP32)
    # the same GEMM shape but a 1x1 conv over 9x the channels: no Winograd
    k1 = O.conv2d("c1", batch=32, in_ch=128 * 9, h=28, w=28, out_ch=128, kernel=1)
    c1 = op_cost(k1, hw, FP32)
    assert k3.gemms[0] == k1.gemms[0]
    assert c1.compute_s == pytest.approx(c3.compute_s * gpu.WINOGRAD_SPEEDUP, rel=1e-9)
    # with a tensor path (fp16) there is no Winograd discount
    h3 = op_cost(k3, hw, Numerics(Precision.FP16, Precision.FP16))
    h1 = op_cost(k1, hw, Numerics(Precision.FP16, Precision.FP16))
    assert h3.compute_s == pytest.approx(h1.compute_s)


def test_depthwise_goes_to_vector_unit_only_when_faster_and_allowed():
    g = Gemm(m=112 * 112, n=1, k=9, count=32)
    arr = ArrayShape(rows=64, cols=64, arrays=1, dataflow=Dataflow.WS, macs_per_pe_per_cycle=1, clock_hz=480e6,
                     vector_flops_per_s=61e9, vector_depthwise=True)
    # array: each channel one fold of 2*64 + 64 + 12544 - 2 cycles; vector: 2 * macs / rate
    array_cycles = 32 * (2 * 64 + 64 + 112 * 112 - 2)
    assert 2 * g.macs / 61e9 < array_cycles / 480e6
    assert depthwise_on_vector(g, array_cycles, arr, 1.0)
    assert not depthwise_on_vector(g, array_cycles, ArrayShape(**{**arr.__dict__, "vector_depthwise": False}), 1.0)
    assert not depthwise_on_vector(Gemm(m=100, n=64, k=9), array_cycles, arr, 1.0)  # not per-channel


def test_fused_attention_pays_one_exponential_per_score_on_the_sfu():
    hw = load_hardware("nvidia-h100-sxm")  # 16 SFU results per cycle per SM, 132 SMs, 1.83 GHz
    op = O.attention("a", batch=4, heads=16, q_len=2048, kv_len=2048, head_dim=128)
    no_sfu = load_hardware("nvidia-h100-sxm", {"compute.sfu_ops_per_cycle_per_sm": 0})
    scores = 4 * 16 * 2048 * 2048
    exp_s = scores / (16 * 132 * 1.83e9)
    assert op_cost(op, hw, BF16).compute_s - op_cost(op, no_sfu, BF16).compute_s == pytest.approx(exp_s)
    # head dim 128: 512 matmul FLOPs per score at the 989 TFLOP/s peak vs one exp at 3.9 T/s -> about half
    assert exp_s / (scores * 4 * 128 / 989.4e12) == pytest.approx(0.5, abs=0.02)


def test_dpu_feature_maps_stay_in_the_banks_when_one_image_fits():
    INT8 = Numerics(Precision.INT8, Precision.INT8)
    hw = load_hardware("amd-versal-vck190")          # batch 6, 2 MiB of feature-map banks per batch handler
    no_banks = load_hardware("amd-versal-vck190", {"compute.dpu.feature_buffer_bytes": 0})
    small = O.conv2d("c", batch=6, in_ch=64, h=56, w=56, out_ch=64, kernel=3, pad=1)   # 2 x 196 KiB per image
    fm = small.input_elems + small.output_elems
    on, off = op_cost(small, hw, INT8), op_cost(small, no_banks, INT8)
    assert on.bytes_by_level["onchip"] == pytest.approx(fm)                  # feature maps on chip,
    assert on.bytes_by_level["ddr"] == pytest.approx(small.weight_read_elems)  # only the weights from DDR
    assert off.bytes_by_level["ddr"] == pytest.approx(fm + small.weight_read_elems)
    # one image's 2 x 784 KiB at 112 x 112 x 64 still fits 2 MiB; at 224 x 224 it does not
    big = O.conv2d("b", batch=6, in_ch=64, h=224, w=224, out_ch=64, kernel=3, pad=1)   # 2 x 3.1 MiB per image
    assert op_cost(big, hw, INT8).bytes_by_level["ddr"] >= big.input_elems + big.output_elems
