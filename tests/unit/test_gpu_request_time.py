"""An NVIDIA group's batch-1 rows fit a fixed time per request with the kernel floor (validation.stages
GPU_FIXED), the gap between kernels held at a CUDA-graph replay's 0.5 us."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.run.device import run_scenario
from simulator.scenario import make_scenario
from simulator.spec.loader import load_hardware
from simulator.workload.loader import load_workload
from validation.fit_overhead import gpu_fixed_times, joint_fit
from validation.mapping import map_rows
from validation.predict import Predictor
from validation.rows import Case, read_calibration
from validation.stages import GPU_FIXED, _stage_rows


def _a100_rn50(request_us: float, cycles: float = 12000.0) -> float:
    hw = load_hardware("nvidia-a100-sxm-80gb", gpu_fixed_times(request_us, cycles))
    sc = make_scenario(mode="inference", batch_size=1, image_size=224, precision="int8", stack="tensorrt-mlperf")
    return run_scenario(load_workload("resnet50"), hw, sc).step_time_s


def test_fixed_times_hold_the_graph_gap():
    assert gpu_fixed_times(40.0, 12000.0) == {"efficiency.op_overhead_us": 0.5,
                                             "efficiency.request_overhead_us": 40.0,
                                             "efficiency.min_kernel_cycles": 12000.0}


def test_request_time_is_paid_once_per_query():
    # 40 us per request: a batch-1 ResNet-50 query (48 kernels) is exactly 40e-6 s longer than at 0,
    # not 48 x 40 us
    assert _a100_rn50(40.0) - _a100_rn50(0.0) == pytest.approx(40e-6, rel=1e-9)


@settings(max_examples=15, deadline=None)
@given(st.floats(0.0, 500.0), st.floats(0.0, 500.0))
def test_request_time_adds_exactly_and_monotonically(a, b):
    # law: the step is affine in the per-request time with slope 1
    lo, hi = sorted((a, b))
    assert _a100_rn50(hi) - _a100_rn50(lo) == pytest.approx((hi - lo) * 1e-6, rel=1e-6, abs=1e-12)


def test_two_kernel_counts_separate_request_time_from_floor():
    """Hand computation: on a 1.41 GHz A100 a floor of 12000 cycles is 12000 / 1.41e9 = 8.511 us, plus
    the 0.5 us gap 9.011 us per kernel; with 40 us per request a 48-kernel query takes
    40 + 48 x 9.011 = 472.5 us and a 170-kernel one 40 + 170 x 9.011 = 1571.9 us. From those two
    times alone the joint fit returns (40 us, 12000 cycles); one per-kernel time could fit only one."""
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


@pytest.fixture(scope="module")
def nvidia() -> list[Case]:
    return [c for c in map_rows(read_calibration()) if isinstance(c, Case)
            and c.family in ("nvidia-datacenter", "nvidia-inference")]


def test_bert_singlestream_rows_are_floor_evidence(nvidia):
    p = Predictor()
    ids = {c.row.id for fam in ("nvidia-datacenter", "nvidia-inference")
           for c in _stage_rows([c for c in nvidia if c.family == fam], "op_overhead_us", p)}
    # A100 INT8 BERT SingleStream: compute-bound without a floor, on it at the fitted one
    assert {"J044", "J050", "J054", "J060"} <= ids
    # ResNet-50 SingleStream as before
    assert {"J043", "J059", "J024"} <= ids
    # AGX Orin BERT stays compute-bound at the floor's top: no evidence for it
    assert not {"J006", "J056", "J062"} & ids
