"""NVIDIA DeepLearningExamples' ResNeXt101-32x4d inference rows (M208-M216) map to the zoo's
ResNeXt101-32x4d under the eager stack their framework names, at batch 1 where the host sets the
latency: the independent evidence for ``torch-eager`` / ``tf-graph`` host time per op besides the
EfficientNet-B0 and ResNet-50 tables."""
import simulator as sim
from validation.workloads import zoo_name_of
from validation.rows import Row
from validation.stacks import stack_for


def _row(software: str) -> Row:
    return Row(id="X", device="NVIDIA V100 SXM2 16GB", n_devices=1, workload="ResNeXt101-32x4d inference",
               mode="inference", precision="FP32", batch_size="1", shape="224x224", metric="latency_ms",
               value=1.0, software=software, notes="")


def test_resnext_rows_get_resnext_not_resnet50():
    assert zoo_name_of("ResNeXt101-32x4d inference") == "resnext101-32x4d"
    assert zoo_name_of("ResNet-50 v1.5 inference") == "resnet50"


def test_resnext_rows_run_under_their_frameworks_eager_stack():
    assert stack_for(_row("PyTorch (NGC 21.03)"), "gpu", "inference") == "torch-eager"
    assert stack_for(_row("TensorFlow 1.x (NGC 20.06)"), "gpu", "inference") == "tf-graph"


def test_resnext101_32x4d_by_hand():
    # DeepLearningExamples resnet.py: stem conv + bn + relu + max pool; 33 bottlenecks of 3 conv + 3 bn +
    # 2 relu + add + relu, 4 of them with a downsample conv + bn; avg pool, fc: 104 convs, 104 norms
    d = sim.describe("resnext101-32x4d", batch_size=1)
    assert d["op_kinds"]["conv2d"] == 1 + 33 * 3 + 4 and d["op_kinds"]["norm"] == 104
    assert d["op_kinds"]["activation"] == 1 + 33 * 3
