"""The per-query fixed time is a property of the stack (stacks/*.yaml ``per_query_time``): a run pays the
device's ``efficiency.request_overhead_us`` once per step only under a stack whose runtime runs the whole
compiled engine per request (Neuron, NVIDIA's MLPerf harness); bandwidth tests, GEMMs, training steps
and eager runs on the same device do not."""
from __future__ import annotations

import math

import pytest

from simulator.run.device import run_scenario
from simulator.run.stackhw import request_s
from simulator.scenario import make_scenario
from simulator.spec.loader import load_hardware
from simulator.spec.stack import load_stack
from simulator.workload.loader import load_workload
from validation.fit_overhead import gpu_fixed_times, joint_fit
from validation.stages import GPU_FIXED, GPU_GRAPH_GAP_US, per_query


def _rn50(request_us: float, stack="tensorrt-mlperf", cycles: float = 12000.0) -> float:
    hw = load_hardware("nvidia-a100-sxm-80gb", gpu_fixed_times(request_us, cycles, GPU_FIXED))
    sc = make_scenario(mode="inference", batch_size=1, image_size=224, precision="int8", stack=stack)
    return run_scenario(load_workload("resnet50"), hw, sc).step_time_s


def test_flagged_stacks():
    # the runtimes that run one whole engine per request and are timed around it
    assert load_stack("tensorrt-mlperf").per_query_time and load_stack("neuron").per_query_time
    # TensorRT's demo/BERT perf times each graph launch between two events on the stream, its inputs
    # copied once before the loop; TensorRT-LLM's per-iteration host work is the stacks' own gap;
    # frameworks, microbenchmarks and training loops launch op by op
    for name in ("tensorrt", "tensorrt-llm", "tensorrt-llm-0.6", "default", "torch-eager", "tf-graph",
                 "mxnet-mlperf", "xla", "openvino", "onednn"):
        assert not load_stack(name).per_query_time, name
    assert per_query("tensorrt-mlperf") and not per_query("tensorrt")


def test_request_s_follows_the_stack_not_the_device():
    hw = load_hardware("nvidia-a100-sxm-80gb", {"efficiency.request_overhead_us": 58.7})
    # 58.7 us -> 5.87e-05 s under the MLPerf harness, nothing under a bandwidth test's or a framework's stack
    assert request_s(hw, load_stack("tensorrt-mlperf")) == pytest.approx(58.7e-6)
    assert request_s(hw, load_stack("default")) == 0.0
    assert request_s(hw, load_stack("torch-eager")) == 0.0


def test_flagged_query_pays_the_request_time_once():
    # 40 us per request: the batch-1 ResNet-50 query (~50 kernels) is exactly 40e-6 s longer, not 50 x 40 us
    assert _rn50(40.0) - _rn50(0.0) == pytest.approx(40e-6, rel=1e-9)


def test_unflagged_stack_ignores_the_request_time():
    assert _rn50(500.0, stack="tensorrt") == _rn50(0.0, stack="tensorrt")


def test_training_step_on_a_gpu_pays_no_request_time():
    # the previous per-device form charged it on every NVIDIA step (training, decode, bandwidth tests)
    def step(us: float) -> float:
        hw = load_hardware("nvidia-h100-sxm", {"efficiency.request_overhead_us": us})
        sc = make_scenario(mode="training", batch_size=8, seq_len=32, precision="bf16", grad_accumulation=4)
        return run_scenario(load_workload("gpt2"), hw, sc).step_time_s

    assert step(100.0) == step(0.0)


def test_fixed_times_hold_the_graph_gap_with_a_request_time():
    assert gpu_fixed_times(40.0, 12000.0, GPU_FIXED) == {"efficiency.request_overhead_us": 40.0,
                                                          "efficiency.min_kernel_cycles": 12000.0,
                                                          "efficiency.op_overhead_us": GPU_GRAPH_GAP_US}
    assert gpu_fixed_times(3.0, 8000.0) == {"efficiency.op_overhead_us": 3.0, "efficiency.min_kernel_cycles": 8000.0}


def test_two_kernel_counts_separate_request_time_from_floor():
    """Hand computation: on a 1.41 GHz A100 a floor of 12000 cycles is 12000 / 1.41e9 = 8.511 us, plus
    the 0.5 us gap 9.011 us per kernel; with 40 us per query a 48-kernel query takes
    40 + 48 x 9.011 = 472.5 us and a 170-kernel one 40 + 170 x 9.011 = 1571.9 us. From those two
    times the joint fit returns (40 us, 12000 cycles); one per-kernel time could fit only one of them."""
    def t(n: int, q: float, y: float) -> float:
        return q + n * (y / 1.41e3 + 0.5)

    assert t(48, 40.0, 12000.0) == pytest.approx(472.5, abs=0.1)
    assert t(170, 40.0, 12000.0) == pytest.approx(1571.9, abs=0.1)
    measured = {48: 472.5, 170: 1571.9}

    def loss(q: float, y: float) -> float:
        return sum(math.log(t(n, q, y) / v) ** 2 for n, v in measured.items())

    q, y = joint_fit(loss, inner=GPU_FIXED)
    assert q == pytest.approx(40.0, rel=0.05)
    assert y == pytest.approx(12000.0, rel=0.01)


def test_bert_singlestream_rows_are_evidence_for_the_per_query_fit():
    from validation.cases import Case
    from validation.mapping import map_rows
    from validation.predict import Predictor
    from validation.rows import read_calibration
    from validation.stages import _stage_rows

    # M001 (an A100 GEMM row): a family's batch-1 rows are overhead evidence only beside rows that pin compute
    ids = {"J043", "J050", "J054", "J060", "J062", "M083", "M018", "M001"}
    cases = [c for c in map_rows([r for r in read_calibration() if r.id in ids]) if isinstance(c, Case)]
    got = {c.row.id for c in _stage_rows(cases, "op_overhead_us", Predictor())}
    # A100 INT8 BERT SingleStream (compute-bound without a floor, on it at the fitted one) and ResNet-50
    assert {"J043", "J050", "J054", "J060"} <= got
    # AGX Orin BERT stays compute-bound at the floor's top; a bandwidth test is no latency row
    assert not {"J062", "M018"} & got


def test_calibration_fits_the_request_time_for_a_per_query_group():
    """fit_cases on a ResNet-50 and a BERT SingleStream row of one A100 writes the per-query time and the
    floor, and holds the gap at the graph replay's (the fit itself is checked by hand above)."""
    from validation.cases import Case
    from validation.fit import fit_cases
    from validation.mapping import map_rows
    from validation.rows import read_calibration

    ids = {"J059", "J060", "M001"}
    cases = [c for c in map_rows([r for r in read_calibration() if r.id in ids]) if isinstance(c, Case)]
    out = fit_cases(cases)["families"]["nvidia-datacenter"]
    assert out["params"]["op_overhead_us"] == GPU_GRAPH_GAP_US
    assert 1.0 <= out["params"][GPU_FIXED] <= 5000.0
    assert out["fitted_to"][GPU_FIXED] == ["J059", "J060"] == out["fitted_to"]["min_kernel_cycles"]
