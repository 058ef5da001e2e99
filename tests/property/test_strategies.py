"""Laws checked on inputs drawn from the public strategies in :mod:`simulator.testing`.

These are the same strategies users import to property-test their own device models (docs/testing.md).
"""
from __future__ import annotations

import doctest
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulator.testing as testing
from simulator import simulate
from simulator.spec.loader import load_hardware
from simulator.spec.models import KINDS, MAX_BANDWIDTH_GBS
from simulator.testing import compute_graphs, graph_workload, hardware_specs, scenarios, workloads
from simulator.workload.graph import ComputeGraph

NUMERIC_KEYS = ("step_time_s", "throughput_samples_per_s", "peak_memory_bytes", "energy_j", "average_power_w",
                "total_flops", "utilization", "memory_shortfall_bytes")


@given(scenarios())
def test_generated_scenarios_simulate_to_finite_non_negative_numbers(kw: dict) -> None:
    s = simulate(**kw).summary
    for key in NUMERIC_KEYS:
        assert math.isfinite(s[key]) and s[key] >= 0, (key, s[key])
    assert s["step_time_s"] > 0 and s["energy_j"] > 0


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=10)
@given(data=st.data())
def test_hardware_specs_of_each_kind(kind: str, data: st.DataObject) -> None:
    hw = data.draw(hardware_specs(kind))
    assert hw.kind == kind
    assert load_hardware(hw) is hw  # an already loaded spec passes through
    r = simulate("mlp", hw, batch_size=2, precision="bf16")
    assert math.isfinite(r.summary["step_time_s"]) and r.summary["step_time_s"] > 0


def _main_memory_faster(hw, factor: float):
    main = hw.main_memory
    bw = min(main.bandwidth_gbs * factor, MAX_BANDWIDTH_GBS)
    return load_hardware(hw, {f"memory.{main.name}.bandwidth_gbs": bw})


@given(compute_graphs(max_ops=16), hardware_specs(), st.sampled_from([1.5, 2.0, 10.0]))
def test_more_main_memory_bandwidth_is_never_slower(graph: ComputeGraph, hw, factor: float) -> None:
    wl = graph_workload(graph)
    slow = simulate(wl, hw).summary["step_time_s"]
    fast = simulate(wl, _main_memory_faster(hw, factor)).summary["step_time_s"]
    assert fast <= slow * (1 + 1e-9), (slow, fast)


@given(workloads(), hardware_specs(), st.sampled_from([2.0, 10.0]))
def test_more_main_memory_bandwidth_is_never_slower_on_family_workloads(wl, hw, factor: float) -> None:
    slow = simulate(wl, hw, mode="training").summary["step_time_s"]
    fast = simulate(wl, _main_memory_faster(hw, factor), mode="training").summary["step_time_s"]
    assert fast <= slow * (1 + 1e-9), (slow, fast)


@given(scenarios())
def test_identical_inputs_give_identical_results(kw: dict) -> None:
    assert simulate(**kw).to_json() == simulate(**kw).to_json()


@given(compute_graphs(max_ops=30))
def test_compute_graphs_are_valid_dags(graph: ComputeGraph) -> None:
    assert 1 <= len(graph) <= 30
    assert len(graph.order) == len(graph) and graph.flops >= 0
    rebuilt = ComputeGraph(graph.graph.copy(), name=graph.name, source=graph.source)  # validates again
    assert rebuilt.order == graph.order


def test_strategy_module_examples_run() -> None:
    result = doctest.testmod(testing, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 1


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        testing._compute("npu")
