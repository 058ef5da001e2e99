"""Stage fusion (a stack's ``fused_regions``): NVIDIA's MLPerf ResNet-50 RES2_FULL_FUSION plugin runs
torchvision's ``layer1`` (res2) as one kernel whose intermediates stay on chip."""
from __future__ import annotations

import pytest

import simulator as sim
from simulator.spec.stack import load_stack
from simulator.workload.fusion import fuse_pointwise, fuse_region
from simulator.workload.loader import load_workload


def _resnet(batch: int = 1):
    return fuse_pointwise(load_workload("resnet50").build(batch_size=batch))


def test_res2_fusion_by_hand():
    g = _resnet()
    f = fuse_region(g, "layer1.")
    members = [n for n in g.order if n.startswith("layer1.")]
    assert len(members) == 10                       # 3 bottlenecks x 3 convs + the projection shortcut
    assert len(f) == len(g) - 9
    op = f.op("layer1")
    # reads the 56x56x64 max-pool output once (two convs read it), writes the 56x56x256 stage output once
    assert op.input_elems == 56 * 56 * 64
    assert op.output_elems == 56 * 56 * 256
    # FLOPs, weights and GEMMs of the ten convolutions, run one after another
    assert op.flops == pytest.approx(sum(g.op(n).flops for n in members))
    assert op.param_elems == sum(g.op(n).param_elems for n in members)
    assert op.weight_read_elems == sum(g.op(n).weight_read_elems for n in members)
    assert len(op.gemms) == 10
    # wired in place of the stage: max-pool -> layer1 -> the two first convs of layer2
    assert f.order.index("layer1") == f.order.index("stem.maxpool") + 1
    assert sorted(f.successors("layer1")) == ["layer2.0.1.conv", "layer2.0.down.conv"]
    assert f.predecessors("layer1") == ["stem.maxpool"]


def test_no_matching_op_leaves_the_graph_alone():
    g = _resnet()
    assert fuse_region(g, "no-such-stage.") is g


def test_the_mlperf_stack_fuses_res2_only_for_resnet50():
    s = load_stack("tensorrt-mlperf")
    assert s.regions_for("resnet50", "int8") == ("layer1.",) and s.regions_for("resnet101", "int8") == ()
    assert s.regions_for("resnet50", "fp16") == ()   # the plugin is built for INT8 engines only
    assert load_stack("tensorrt").regions_for("resnet50", "int8") == ()
    base = sim.simulate("resnet50", "nvidia-l4", batch_size=32, precision="int8", stack="tensorrt")
    mlperf = sim.simulate("resnet50", "nvidia-l4", batch_size=32, precision="int8", stack="tensorrt-mlperf")
    assert mlperf.summary["op_count"] == base.summary["op_count"] - 9
    # the 56x56x256 intermediates (25.7 MB each at batch 32) no longer go through DRAM: never slower
    assert mlperf.step_time_s < base.step_time_s
    # training and other models are untouched
    b = sim.simulate("resnet50", "nvidia-l4", mode="training", batch_size=8, precision="fp16", stack="default")
    assert b.summary["op_count"] > mlperf.summary["op_count"]
