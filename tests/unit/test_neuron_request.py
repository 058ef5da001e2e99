"""A Neuron program pays a fixed time per request, not a launch per op (simulator.run.stackhw).

The neuron stack runs the compiled graph as one device program (kernel_overhead_us 0), and the
device's ``efficiency.request_overhead_us`` is added once per step, before the first op.
"""
from __future__ import annotations

import pytest

from simulator.run.device import run_scenario
from simulator.run.stackhw import request_s, stack_device
from simulator.scenario import make_scenario
from simulator.spec.loader import load_hardware
from simulator.spec.stack import load_stack
from simulator.workload.loader import load_workload
from validation.stages import REQUEST_GROUPS, _stage_rows, overhead_stage


def _step(overrides: dict, stack: str = "neuron", batch: int = 1) -> float:
    hw = load_hardware("aws-inferentia2", overrides)
    sc = make_scenario(mode="inference", batch_size=batch, precision="bf16", stack=stack)
    return run_scenario(load_workload("resnet18"), hw, sc).step_time_s


def test_neuron_stack_replaces_the_per_op_overhead_with_zero():
    hw = load_hardware("aws-inferentia2", {"efficiency.op_overhead_us": 7.26})
    assert stack_device(hw, load_stack("neuron")).efficiency.op_overhead_us == 0.0
    assert stack_device(hw, load_stack("default")) is hw


def test_per_op_overhead_does_not_reach_a_neuron_run():
    # under the neuron stack no op pays a launch: 0 us and 50 us per op give the same step
    assert _step({"efficiency.op_overhead_us": 0.0}) == _step({"efficiency.op_overhead_us": 50.0})


def test_request_overhead_is_added_once_per_step():
    # 250 us per request: the batch-1 step is exactly 250e-6 s longer, however many ops it has
    base = _step({"efficiency.request_overhead_us": 0.0})
    slow = _step({"efficiency.request_overhead_us": 250.0})
    assert slow - base == pytest.approx(250e-6, rel=1e-9)


@pytest.mark.parametrize("us", [0.0, 1.0, 480.0, 4000.0])
def test_request_s_is_microseconds(us):
    # 480 us -> 0.00048 s
    hw = load_hardware("aws-inferentia2", {"efficiency.request_overhead_us": us})
    assert request_s(hw, load_stack("neuron")) == pytest.approx(us * 1e-6)


def test_default_devices_pay_no_request():
    # a device without a fitted per-request time, and a GPU with one under a stack that launches op by op
    assert load_hardware("intel-xeon-platinum-8480").efficiency.request_overhead_us == 0.0
    assert request_s(load_hardware("nvidia-h100-sxm"), load_stack("default")) == 0.0


def test_neuron_families_fit_a_request_time_others_a_per_op_time():
    assert "aws-neuron" in REQUEST_GROUPS
    assert overhead_stage("aws-neuron") == overhead_stage("aws-trainium") == "request_overhead_us"
    assert overhead_stage("intel-xeon") == "op_overhead_us"


def test_request_stage_takes_the_batch1_latency_rows_only():
    from validation.mapping import map_rows
    from validation.cases import Case
    from validation.rows import read_calibration

    ids = {"M091", "A017", "M089", "A025"}   # two batch-1 latency rows, a throughput row, a trn1 latency row
    cases = [c for c in map_rows([r for r in read_calibration() if r.id in ids]) if isinstance(c, Case)]
    assert sorted(c.row.id for c in _stage_rows(cases, "request_overhead_us")) == ["A017", "A025", "M091"]


def test_calibrate_writes_a_request_time_only_where_one_was_fitted():
    """A family that launches ops one by one keeps the schema's 0 per request, which the written
    efficiency block leaves out (every spec file would otherwise gain a line saying nothing)."""
    from validation.spec_writer import efficiency_block

    block = efficiency_block({"compute": 0.5, "op_overhead_us": 7.0, "request_overhead_us": 0.0}, {}, "x")
    assert "request_overhead_us" not in block and "op_overhead_us: 7.0" in block
    block = efficiency_block({"compute": 0.5, "request_overhead_us": 448.0}, {}, "aws-neuron")
    assert "  request_overhead_us: 448.0\n" in block
