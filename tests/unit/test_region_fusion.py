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


def test_graph_compiler_batchwise_fusion_of_res2_and_res3_by_hand():
    """Intel's MLPerf ResNet-50 backbone (oneDNN Graph Compiler, backbone_256.cpp) runs res2a..res3d one
    image at a time: one region over two stages, ``"layer1.|layer2."``."""
    g = _resnet()
    f = fuse_region(g, "layer1.|layer2.")
    members = [n for n in g.order if n.startswith(("layer1.", "layer2."))]
    assert len(members) == 10 + 13                  # res2: 3 bottlenecks + shortcut; res3: 4 + shortcut
    assert len(f) == len(g) - 22
    op = f.op("layer1")
    assert op.input_elems == 56 * 56 * 64           # the max-pool output, read once
    assert op.output_elems == 28 * 28 * 512         # res3d's output; res2's 56x56x256 output stays inside
    # 1x1 and 3x3 weights: res2 64*256 + 64*64 + 9*64*64 + 64*256 + 2 x (256*64 + 9*64*64 + 64*256) = 212992,
    # res3 256*512 + 256*128 + 9*128*128 + 128*512 + 3 x (512*128 + 9*128*128 + 128*512) = 1212416,
    # plus the folded batch-norm scale and shift, 2 per output channel: 2 x (1408 + 3584)
    assert op.weight_read_elems == 212992 + 1212416 + 2 * (1408 + 3584)
    assert f.predecessors("layer1") == ["stem.maxpool"]
    assert sorted(f.successors("layer1")) == ["layer3.0.1.conv", "layer3.0.down.conv"]


def test_intel_mlperf_stack_keeps_resnet50_intermediates_off_dram():
    from simulator.run.device import run_scenario
    from simulator.scenario import make_scenario
    from simulator.spec.loader import load_hardware
    from validation.cpu_rows import socket_share

    s = load_stack("intel-mlperf")
    assert s.regions_for("resnet50", "int8") == ("layer1.|layer2.", "layer3.") and s.regions_for("resnet50", "bf16") == ()
    # one MLPerf Offline instance: one core of an 8592+ with its share of the caches and DRAM, batch 256
    xeon = load_hardware("intel-xeon-platinum-8592")
    hw = load_hardware("intel-xeon-platinum-8592", socket_share(xeon, 1))
    wl = load_workload("resnet50")
    runs = {st: run_scenario(wl, hw, make_scenario(batch_size=256, precision="int8", stack=st)) for st in ("onednn", "intel-mlperf")}
    ev = {e.name: e for e in runs["intel-mlperf"].trace.events}
    # the fused res2-res3 op moves its input and output tensors (int8) and its weights once per step:
    # 256 x (56*56*64 + 28*28*512) + 1435392 bytes, where layer by layer it moved every intermediate
    assert ev["layer1"].bytes_moved == pytest.approx(256 * (200704 + 401408) + 1435392)
    assert ev["layer1"].bound == "compute" and ev["layer3"].bound == "compute"
    onednn = sum(e.bytes_moved for e in runs["onednn"].trace.events if e.name.startswith(("layer1.", "layer2.")))
    assert onednn > 10 * ev["layer1"].bytes_moved
    assert runs["intel-mlperf"].step_time_s < runs["onednn"].step_time_s


def test_intel_mlperf_rows_run_under_the_intel_stack():
    from validation.rows import Row
    from validation.stacks import stack_for

    r = Row(id="X", device="d", n_devices=2, workload="MLPerf Inference ResNet-50 v1.5 (Offline)", mode="inference",
            precision="INT8", batch_size="256 per instance", shape="224x224", metric="samples_per_s", value=1.0,
            software="PyTorch + Intel Extension for PyTorch (Intel MLPerf v4.1 harness)", notes="")
    assert stack_for(r, "cpu", "inference", "intel-xeon-platinum-8592") == "intel-mlperf"
    assert stack_for(r, "cpu", "inference", "amd-epyc-9654") == "onednn"
