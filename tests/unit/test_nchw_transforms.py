"""cuDNN converts NCHW tensors to NHWC (and the output back) around tensor-core convolutions; the
stacks that keep wider-than-16-bit convolutions NCHW (tf-graph, torch-eager) pay those passes on a
GPU with a tensor path for the precision (TF32 on A100), not on one without (FP32 on V100)
(simulator.cost.gpu.nchw_transform_bytes)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cost import vgpu
from simulator.cost.base import CostOptions, Numerics
from simulator.cost.dispatch import op_cost
from simulator.cost.gpu import cost, nchw_transform_bytes
from simulator.cost.table import OpTable
from simulator.spec.loader import load_hardware
from simulator.spec.stack import load_stack
from simulator.units import Precision
from simulator.workload import ops as O

TF32 = Numerics(Precision.TF32, Precision.TF32)
FP16 = Numerics(Precision.FP16, Precision.FP16)
FP32 = Numerics(Precision.FP32, Precision.FP32)
NCHW = CostOptions(wide_convs_nchw=True)


def test_resnet_bottleneck_1x1_by_hand():
    """A 1x1 conv 256 -> 64 channels on a 56x56 map, batch 256, TF32 on an A100: input 256 x 256 x
    56 x 56 x 4 B = 822 MB, output 205 MB; the transforms read and write each once: 2 x 1,028 MB
    more HBM traffic, and two more kernels."""
    a100 = load_hardware("nvidia-a100-sxm-40gb")
    c = O.conv2d("c", batch=256, in_ch=256, h=56, w=56, out_ch=64, kernel=1, pad=0)
    inp, out = 256 * 256 * 56 * 56 * 4, 256 * 64 * 56 * 56 * 4
    assert nchw_transform_bytes(c, a100, TF32, NCHW) == 2 * (inp + out)
    plain, nchw = op_cost(c, a100, TF32, CostOptions()), op_cost(c, a100, TF32, NCHW)
    assert nchw.bytes_by_level["hbm"] - plain.bytes_by_level["hbm"] == pytest.approx(2 * (inp + out))
    assert nchw.overhead_s == pytest.approx(3 * plain.overhead_s)   # conv + two transform kernels


def test_not_charged_without_tensor_path_16_bit_or_other_ops():
    a100, v100 = load_hardware("nvidia-a100-sxm-40gb"), load_hardware("nvidia-v100-sxm2")
    c = O.conv2d("c", batch=8, in_ch=64, h=56, w=56, out_ch=64, kernel=3)
    assert nchw_transform_bytes(c, v100, FP32, NCHW) == 0.0          # CUDA-core NCHW kernels
    assert nchw_transform_bytes(c, a100, FP16, NCHW) == 0.0          # AMP runs NHWC
    assert nchw_transform_bytes(c, a100, TF32, CostOptions()) == 0.0  # NHWC stacks
    mm = O.matmul("m", batch=1, m=256, n=1000, k=2048)
    assert nchw_transform_bytes(mm, a100, TF32, NCHW) == 0.0
    assert op_cost(c, v100, FP32, NCHW) == op_cost(c, v100, FP32, CostOptions())


def test_stacks_that_keep_wide_convs_nchw():
    assert load_stack("tf-graph").wide_convs_nchw and load_stack("torch-eager").wide_convs_nchw
    assert not load_stack("tensorrt").wide_convs_nchw and not load_stack("mxnet-mlperf").wide_convs_nchw


@settings(max_examples=30, deadline=None)
@given(batch=st.integers(1, 64), ch=st.sampled_from([16, 64, 256]), hw_=st.sampled_from([7, 14, 56]),
       k=st.sampled_from([1, 3]))
def test_vectorised_matches_scalar_and_never_faster(batch, ch, hw_, k):
    a100 = load_hardware("nvidia-a100-sxm-40gb")
    c = O.conv2d("c", batch=batch, in_ch=ch, h=hw_, w=hw_, out_ch=2 * ch, kernel=k)
    ops = [c, O.activation("r", elems=batch * 2 * ch * hw_ * hw_)]
    fast = vgpu.costs(OpTable(ops), np.arange(2), np.zeros(2), a100, TF32, NCHW)
    assert fast == [cost(op, a100, TF32, NCHW) for op in ops]
    assert fast[0].duration_s >= cost(c, a100, TF32, CostOptions()).duration_s
