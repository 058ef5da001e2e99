"""A runtime that takes its inputs from host memory copies them over the host link before each request
(simulator.run.stackhw.request_input_s, a stack's ``inputs_from_host``; the shipped neuron stack leaves
it off: see stacks/neuron.yaml)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.run.device import run_scenario
from simulator.run.stackhw import INPUT_BYTES, request_input_s
from simulator.scenario import make_scenario
from simulator.spec.loader import load_hardware
from simulator.spec.stack import load_stack
from simulator.workload.loader import load_workload

INF2 = "aws-inferentia2"


def _link(gbs: float = 31.5, latency_us: float = 5.0):
    return load_hardware(INF2, {"host_link.bandwidth_gbs": gbs, "host_link.latency_us": latency_us})


def test_fp32_image_batch_by_hand():
    # 16 images of 3 x 224 x 224 FP32 = 16 x 602,112 B = 9,633,792 B; at 31.5 GB/s 305.83 us, + 5 us
    assert request_input_s(_link(), "image", 16, image_size=224) == pytest.approx(5e-6 + 9_633_792 / 31.5e9)
    assert request_input_s(_link(), "image", 16, image_size=224) * 1e6 == pytest.approx(310.83, abs=0.01)


def test_token_ids_by_hand():
    # batch 8 x seq 128 int64 ids = 8,192 B; at 10 GB/s 0.8192 us, + 2 us latency = 2.8192 us
    assert request_input_s(_link(10.0, 2.0), "text", 8, seq_len=128) == pytest.approx(2.8192e-6)


def test_input_dtypes():
    # FP32 images (the benchmark's torch.zeros(..., dtype=torch.float32)), int64 token ids
    assert INPUT_BYTES == {"image": 4.0, "text": 8.0}


def test_no_link_or_other_task_costs_nothing():
    assert request_input_s(load_hardware("nvidia-h100-sxm").model_copy(update={"host_link": None}), "image", 8) == 0.0
    assert request_input_s(_link(), "tabular", 8) == 0.0


def test_shipped_stacks_leave_the_copy_off():
    assert load_stack("neuron").inputs_from_host is False
    assert load_stack("default").inputs_from_host is False


NEURON_HOST_INPUTS = load_stack("neuron").model_copy(update={"inputs_from_host": True})


def _step(gbs: float, batch: int = 8, stack=NEURON_HOST_INPUTS) -> float:
    hw = load_hardware(INF2, {"host_link.bandwidth_gbs": gbs})
    sc = make_scenario(mode="inference", batch_size=batch, precision="bf16", stack=stack)
    return run_scenario(load_workload("resnet18"), hw, sc).step_time_s


def test_step_pays_the_copy_once_before_the_program():
    # halving the link from 31.5 to 15.75 GB/s adds exactly one more copy of 8 x 602,112 B at 31.5 GB/s
    extra = 8 * 602_112 / 31.5e9
    assert _step(15.75) - _step(31.5) == pytest.approx(extra, rel=1e-6)


def test_stacks_without_it_ignore_the_link():
    assert _step(15.75, stack="default") == _step(31.5, stack="default")
    assert _step(15.75, stack="neuron") == _step(31.5, stack="neuron")


@settings(max_examples=30, deadline=None)
@given(b=st.integers(1, 512), gbs=st.floats(0.5, 200.0), size=st.integers(16, 512))
def test_copy_grows_with_batch_and_shrinks_with_bandwidth(b, gbs, size):
    hw, faster = _link(gbs), _link(gbs * 2)
    t = request_input_s(hw, "image", b, image_size=size)
    assert request_input_s(hw, "image", b + 1, image_size=size) > t
    assert request_input_s(faster, "image", b, image_size=size) < t
    # affine in the batch: the latency once, then the bytes
    assert request_input_s(hw, "image", 2 * b, image_size=size) - t == pytest.approx(t - 5e-6, rel=1e-9)
