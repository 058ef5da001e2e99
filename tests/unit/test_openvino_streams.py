"""OpenVINO THROUGHPUT threads per stream (validation.openvino_streams), computed by hand."""
from __future__ import annotations

import math

import pytest

from hypothesis import given, strategies as st

from simulator.spec.loader import load_hardware
from simulator.workload import ops as O
from simulator.workload.loader import load_workload
from validation.openvino_streams import (ISA_AMX, ISA_OTHER, ISA_VNNI, default_threads, mem_tolerance, moved_elems,
                                         model_threads_per_stream, threads_per_stream)

L2 = 2 * 2**20   # one Sapphire/Emerald Rapids core's L2


@pytest.mark.parametrize("workload,shape,device,tolerance", [
    # MobileNet v2, block 2's 1x1 expansion at 112 x 112: (16 + 96) x 12544 = 1,404,928 elements; at 4
    # bytes 2,097,152 / 5,619,712 = 0.3732 > 0.5 / 4 (AMX): one thread per stream, not a 4-core stream
    ("mobilenet-v2", {"image_size": 224}, "intel-xeon-platinum-8480", 2_097_152 / (1_404_928 * 4)),
    # BERT-Large, Q.K^T at 384 tokens, 16 heads of 64: q 393,216 + k 393,216 + scores 2,359,296 =
    # 3,145,728 elements; 2,097,152 / (3,145,728 x 4) = 1/6 > 0.125
    ("bert-large", {"seq_len": 384}, "intel-xeon-platinum-8580", 1 / 6),
    # ResNet-50, layer2's shortcut 1x1, 256 -> 512, stride 2: 256 x 3136 + 512 x 784 = 1,204,224
    # elements; 2,097,152 / (1,204,224 x 4) = 0.4354
    ("resnet50", {"image_size": 224}, "intel-xeon-platinum-8480", 2_097_152 / (1_204_224 * 4)),
], ids=["mobilenet-v2-first-expansion", "bert-large-scores-matmul", "resnet50-strided-projection"])
def test_worst_layer_sets_the_tolerance(workload, shape, device, tolerance):
    graph = load_workload(workload).build(batch_size=1, **shape)
    threads, tol = model_threads_per_stream(graph, load_hardware(device))
    assert math.isclose(tol, tolerance, rel_tol=1e-9)
    assert threads == 1


def test_skipped_layers():
    # 3x3 convolutions count as compute bound, grouped/depthwise ones are GroupConvolution nodes
    assert moved_elems(O.conv2d("c", batch=1, in_ch=8, h=8, w=8, out_ch=8, kernel=3, pad=1)) is None
    assert moved_elems(O.conv2d("dw", batch=1, in_ch=8, h=8, w=8, out_ch=8, kernel=3, pad=1, groups=8)) is None
    # 1x1 on 8 x 8: (8 + 16) x 64 = 1536
    assert moved_elems(O.conv2d("p", batch=1, in_ch=8, h=8, w=8, out_ch=16, kernel=1)) == 1536
    assert mem_tolerance([], L2) == math.inf


def test_thresholds_by_isa():
    # 0.2: above 0.5 / 4 (AMX) -> 1; below 0.5 / 2 (VNNI) and 0.5 -> the default, 4 threads on 56 cores
    assert threads_per_stream(0.2, ISA_AMX, 56) == 1
    assert threads_per_stream(0.2, ISA_VNNI, 56) == 4
    assert threads_per_stream(0.2, ISA_OTHER, 60) == 4
    assert threads_per_stream(0.2, ISA_OTHER, 35) == 5      # 35 % 4 != 0, 35 % 5 == 0
    assert default_threads(9) == 3 and default_threads(7) == 1
    assert threads_per_stream(math.inf, ISA_AMX, 56, all_convs_compute=True) == 1
    assert threads_per_stream(math.inf, ISA_AMX, 56) == 4


@given(st.floats(0.001, 10.0), st.floats(1.0, 4.0), st.sampled_from([4.0, 2.0, 1.0]), st.integers(4, 128))
def test_more_cache_never_widens_a_stream(tol, gain, isa, cores):
    """Law: a model whose worst layer fits L2 better never gets more threads per stream."""
    assert threads_per_stream(tol * gain, isa, cores) <= threads_per_stream(tol, isa, cores)


@given(st.integers(1, 4096), st.floats(2**18, 2**23))
def test_tolerance_falls_with_tensor_size(ch, l2):
    """Law: a wider 1x1 convolution moves more data, so its factor is no larger."""
    small = [O.conv2d("a", batch=1, in_ch=ch, h=14, w=14, out_ch=ch, kernel=1)]
    big = [O.conv2d("b", batch=1, in_ch=2 * ch, h=14, w=14, out_ch=2 * ch, kernel=1)]
    assert mem_tolerance(big, l2) <= mem_tolerance(small, l2)
