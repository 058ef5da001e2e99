"""Grouped convolutions on GPU paths without tensor cores run as the dense convolution
(:func:`simulator.cost.gpu.dense_grouped_gemm`), checked by hand and as a law over group counts."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.cost import gpu
from simulator.cost.base import Numerics
from simulator.cost.dispatch import op_cost
from simulator.spec.loader import load_hardware
from simulator.units import GIGA, Precision
from simulator.workload import ops as O
from simulator.workload.ops import Gemm

FP32 = Numerics(Precision.FP32, Precision.FP32)
FP16 = Numerics(Precision.FP16, Precision.FP16)


def _grouped(groups: int, stride: int = 1, ch: int = 512, hw: int = 14):
    return O.conv2d("g", batch=1, in_ch=ch, h=hw, w=hw, out_ch=ch, kernel=3, stride=stride, pad=1, groups=groups)


def test_dense_gemm_of_a_resnext_layer3_conv_by_hand():
    # ResNeXt101-32x4d layer 3: 512 channels in 32 groups of 16, 14x14 output
    # per group M = 196, N = 512/32 = 16, K = 9 * 16 = 144; dense: N = 512, K = 9 * 512 = 4608
    op = _grouped(32)
    assert op.gemms[0] == Gemm(m=196, n=16, k=144, count=32)
    assert gpu.dense_grouped_gemm(op, op.gemms[0], tensor_path=False) == Gemm(m=196, n=512, k=4608, count=1)
    # tensor-core paths keep the per-group GEMMs
    assert gpu.dense_grouped_gemm(op, op.gemms[0], tensor_path=True) == op.gemms[0]


def test_depthwise_and_plain_convs_keep_their_gemms():
    dw = O.conv2d("dw", batch=1, in_ch=32, h=56, w=56, out_ch=32, kernel=3, pad=1, groups=32)
    plain = O.conv2d("c", batch=1, in_ch=32, h=56, w=56, out_ch=32, kernel=3, pad=1)
    assert gpu.dense_grouped_gemm(dw, dw.gemms[0], tensor_path=False) == dw.gemms[0]
    assert gpu.dense_grouped_gemm(plain, plain.gemms[0], tensor_path=False) == plain.gemms[0]


def test_t4_fp32_grouped_conv_time_by_hand():
    hw = load_hardware("nvidia-t4")
    eff = hw.efficiency
    rate = 128 * 1.59 * GIGA * eff.compute          # FP32 CUDA cores per SM
    fill_rate = 1024 * 2.0 / 4 * 1.59 * GIGA * eff.compute  # fill counted at the fp16 tensor rate x 2/4 bytes
    # dense GEMM 196 x 512 x 4608 on 40 SMs: tiles 128x128 -> 2 x 4 = 8 tiles, split-K min(40 // 8, 4608 // 256) = 5
    # -> 40 blocks, one wave of 2 * 128 * 128 * ceil(4608 / 5) = 2 * 128 * 128 * 922 FLOPs per SM.
    # (128x64: 16 tiles, split 2, 2*128*64*2304 is more; 64x64: 32 tiles, no split, 2*64*64*4608 is more)
    plan = gpu.gemm_plan(hw, Gemm(m=196, n=512, k=4608), rate)
    assert (plan.tile, plan.split_k, plan.waves) == ((128, 128), 5, 1)
    want = 2 * 128 * 128 * 922 / rate + 1 * 2 * 128 * 128 * eff.tile_fill_k / fill_rate
    assert op_cost(_grouped(32), hw, FP32).compute_s == pytest.approx(want, rel=1e-12)


@given(st.sampled_from([2, 4, 8, 16, 32, 64, 128]), st.sampled_from(["nvidia-t4", "nvidia-v100-sxm2"]))
def test_cuda_core_grouped_conv_costs_the_dense_conv_whatever_the_groups(groups, device):
    # stride 2: the dense conv has no Winograd path either, so the two plan the same GEMM
    hw = load_hardware(device)
    dense = op_cost(_grouped(1, stride=2), hw, FP32).compute_s
    assert op_cost(_grouped(groups, stride=2), hw, FP32).compute_s == pytest.approx(dense, rel=1e-12)
    # on the tensor path (fp16) grouping still removes work: never slower than the dense conv
    assert op_cost(_grouped(groups, stride=2), hw, FP16).compute_s <= op_cost(_grouped(1, stride=2), hw, FP16).compute_s


@pytest.mark.parametrize("precision", [FP32, FP16])
def test_vectorised_twin_gives_the_same_grouped_conv_costs(precision):
    import numpy as np

    from simulator.cost.base import CostOptions
    from simulator.cost.table import OpTable
    from simulator.cost.vgpu import costs

    hw = load_hardware("nvidia-t4")
    ops = [_grouped(g, stride=s) for g in (1, 2, 32, 512) for s in (1, 2)]
    fast = costs(OpTable(ops), np.arange(len(ops)), np.zeros(len(ops)), hw, precision, CostOptions())
    assert fast == [op_cost(op, hw, precision) for op in ops]
