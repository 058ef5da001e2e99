"""Fused norm kernels in training (a stack's ``fuse_norm_training``): NVIDIA's MLPerf Training MXNet
ResNet-50 runs BatchNorm+ReLU and BatchNormAddRelu as one NHWC kernel each, forward and backward."""
from __future__ import annotations

import pytest

import simulator as sim
from simulator.spec.stack import load_stack
from simulator.workload.fusion import fuse_norm_epilogues
from simulator.workload.loader import load_workload
from simulator.workload.ops import STATS_ELEMS, OpKind
from simulator.workload.training import training_forward
from simulator.cost.base import Numerics, op_bytes
from simulator.units import Precision
from validation.rows import Row
from validation.stacks import stack_for


def test_bottleneck_tail_fused_by_hand():
    g = load_workload("resnet50").build(batch_size=2)
    f = fuse_norm_epilogues(g)
    # 49 ReLUs (stem + 3 per bottleneck x 16) and 16 residual adds join their batch norms
    assert len(g) == 175 and len(f) == 175 - 49 - 16
    op = f.op("layer1.0.3.bn")
    x = 2 * 56 * 56 * 256                                   # the bottleneck's 56x56x256 output, batch 2
    assert op.kind == OpKind.NORM
    assert op.input_elems == 2 * x                          # conv3's output and the shortcut's
    assert op.output_elems == x                             # one tensor out: relu(bn(x) + shortcut)
    assert op.flops == g.op("layer1.0.3.bn").flops + g.op("layer1.0.add").flops + g.op("layer1.0.relu").flops
    assert dict(op.attrs)[STATS_ELEMS] == x and STATS_ELEMS not in dict(f.op("layer1.0.1.bn").attrs)
    assert sorted(f.predecessors("layer1.0.3.bn")) == ["layer1.0.3.conv", "layer1.0.down.bn"]
    # convolutions keep their own kernels and tensors (no epilogue fusion into cuDNN convolutions)
    for n in g.order:
        if g.op(n).kind == OpKind.CONV2D:
            assert f.op(n) == g.op(n)


def test_fused_norm_takes_statistics_over_its_own_input_only():
    f = training_forward(fuse_norm_epilogues(load_workload("resnet50").build(batch_size=2)))
    x = 2 * 56 * 56 * 256
    fp16 = Numerics(Precision.FP16, Precision.FP16, training=True)
    # statistics pass over conv3's output (x), then normalise + add the shortcut + ReLU (2x in, x out)
    assert op_bytes(f.op("layer1.0.3.bn"), fp16, fused_attention=True) == (2.0 * (x + 2 * x), 2.0 * x, 2.0 * 2 * 256)  # + gamma, beta
    # a BN+ReLU without an add: statistics over its whole input, as before
    y = 2 * 56 * 56 * 64
    assert op_bytes(f.op("layer1.0.1.bn"), fp16, fused_attention=True)[0] == 2.0 * 2 * y


@pytest.mark.parametrize("stack,device,precision", [
    ("mxnet-mlperf", "nvidia-a100-sxm-80gb", "fp16"),  # NVIDIA's MLPerf MXNet ResNet-50
    ("habana-graph", "intel-gaudi2", "bf16"),          # the SynapseAI graph compiler
])
def test_the_stack_fuses_training_only(stack, device, precision):
    s = load_stack(stack)
    assert s.fuse_norm_training and not s.fuse_pointwise and not load_stack("default").fuse_norm_training
    kw = dict(batch_size=8, image_size=64, precision=precision)
    base = sim.simulate("resnet50", device, mode="training", stack="default", **kw)
    fused = sim.simulate("resnet50", device, mode="training", stack=stack, **kw)
    # 49 ReLUs and 16 adds join their batch norms: 65 forward and 65 backward kernels fewer, and the
    # ReLU/add tensors no longer go through DRAM
    assert fused.summary["op_count"] == base.summary["op_count"] - 2 * 65
    assert fused.step_time_s < base.step_time_s
    assert fused.summary["total_flops"] == pytest.approx(base.summary["total_flops"])
    inf = [sim.simulate("resnet50", device, stack=x, **kw).step_time_s for x in ("default", stack)]
    assert inf[0] == inf[1]


def _row(software: str, workload: str) -> Row:
    return Row(id="X", device="d", n_devices=8, workload=workload, mode="training", precision="mixed precision",
               batch_size="400/GPU", shape="224x224", metric="images_per_s", value=1.0, software=software, notes="")


def test_validation_maps_nvidias_mxnet_mlperf_rows_to_the_stack():
    assert stack_for(_row("NGC MXNet 23.09", "MLPerf Training ResNet-50 v1.5"), "gpu", "training") == "mxnet-mlperf"
    assert stack_for(_row("PyTorch (NGC 21.03)", "ResNet-50 v1.5 training"), "gpu", "training") == "torch-eager"
    assert stack_for(_row("MXNet 1.9", "ResNet-50 v1.5 training"), "gpu", "training") == "default"
