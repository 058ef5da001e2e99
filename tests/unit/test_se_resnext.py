"""SE-ResNeXt101-32x4d (NVIDIA DeepLearningExamples' layout) and its batch-1 inference rows (M229-M241,
M249-M252): a squeeze-and-excitation gate of 16 hidden units on every bottleneck's output adds five
small kernels per block, which at batch 1 an eager framework pays in host time."""
from hypothesis import given, settings
from hypothesis import strategies as st

import simulator as sim
from simulator.workload.families import Shape
from simulator.workload.families.cnn import ResnetParams, build_resnet
from simulator.workload.graph import GraphBuilder
from validation.mapping import TF_XLA_LATENCY, map_rows
from validation.workloads import zoo_name_of
from validation.cases import Case, Unexpressible
from validation.rows import Row


def _row(workload: str, precision: str, software: str = "TensorFlow 1.x (NGC 20.06)") -> Row:
    return Row(id="X", device="NVIDIA V100 SXM2 16GB", n_devices=1, workload=workload, mode="inference",
               precision=precision, batch_size="1", shape="224x224", metric="latency_ms", value=1.0,
               software=software, notes="")


def test_se_rows_get_se_resnext_and_plain_rows_keep_resnext():
    assert zoo_name_of("SE-ResNeXt101-32x4d inference") == "se-resnext101-32x4d"
    assert zoo_name_of("ResNeXt101-32x4d inference") == "resnext101-32x4d"


def test_se_resnext101_32x4d_by_hand():
    # ResNeXt101-32x4d (tests/unit/test_mapping_resnext.py): 104 convs, 100 activations, 33 adds, 2 pools.
    # Each of the 33 bottlenecks gains a global pool, fc1 + ReLU, fc2 + sigmoid and the channel-wise product:
    # convs 104 + 2 x 33 = 170, activations 100 + 2 x 33 = 166, element-wise 33 + 33 = 66, pools 2 + 33 = 35.
    d = sim.describe("se-resnext101-32x4d", batch_size=1)
    k = d["op_kinds"]
    assert (k["conv2d"], k["activation"], k["elementwise"], k["pool"], k["norm"]) == (170, 166, 66, 35, 104)
    # Parameters: a gate on C channels holds fc1 C x 16 + 16 and fc2 16 x C + C = 33 C + 16. Output
    # channels per stage 256, 512, 1024, 2048 over 3, 4, 23, 3 blocks: sum C = 768 + 2048 + 23552 + 6144
    # = 32512, so 33 x 32512 + 16 x 33 = 1,073,424 on top of ResNeXt101-32x4d's 44,177,704 = 45,251,128.
    assert d["parameters"] == 44_177_704 + 1_073_424


def _params(se: int) -> float:
    p = ResnetParams(depths=[1, 2], block="bottleneck", width=16, groups=4, width_per_group=4, se_channels=se)
    b = GraphBuilder("r", batch=1)
    build_resnet(b, p, Shape(batch_size=1, seq_len=1, image_size=32))
    return b.build().parameters


@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=1, max_value=64))
def test_gate_parameters_grow_linearly_with_its_width(se):
    # blocks' output channels: stage 1 one block of 64, stage 2 two of 128; a gate adds 2 C s + s + C
    channels = (64, 128, 128)
    assert _params(se) - _params(0) == sum(2 * c * se + se + c for c in channels)


def test_tf_xla_batch1_rows_are_refused_and_plain_tf_rows_map():
    xla, plain = map_rows([_row("SE-ResNeXt101-32x4d inference", "AMP + XLA"),
                           _row("SE-ResNeXt101-32x4d inference", "AMP (FP16)")])
    assert isinstance(xla, Unexpressible) and xla.reason == TF_XLA_LATENCY
    assert isinstance(plain, Case) and plain.stack == "tf-graph" and plain.workload == "se-resnext101-32x4d"
    (pt,) = map_rows([_row("SE-ResNeXt101-32x4d inference", "FP32", "PyTorch (NGC 21.03)")])
    assert isinstance(pt, Case) and pt.stack == "torch-eager"
