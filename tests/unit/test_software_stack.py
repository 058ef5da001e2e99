"""Software stacks: eager host dispatch in the engine, compiled pointwise fusion, validation of the option."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import simulator as sim
from simulator.cost.base import Numerics
from simulator.cost.dispatch import op_cost
from simulator.engine.run import DeviceRun, run_device
from simulator.errors import ScenarioError
from simulator.scenario import make_scenario
from simulator.scenario import EAGER_DISPATCH_US
from simulator.spec.loader import load_hardware
from simulator.units import Precision
from simulator.workload.loader import load_workload

CALIBRATION = Path(__file__).resolve().parents[2] / "validation" / "calibration.json"


def _chain_run(dispatch_s: float):
    g = load_workload("mlp").build(batch_size=64)  # a chain of ops
    hw = load_hardware("nvidia-h100-sxm")
    costs = {n: op_cost(g.op(n), hw, Numerics(Precision.BF16, Precision.BF16)) for n in g.order}
    trace = run_device(DeviceRun(device="d", graph=g, costs=costs, out_bytes={n: 0.0 for n in g.order},
                                 scratch_bytes={n: 0.0 for n in g.order}, static_bytes=0.0, dispatch_s=dispatch_s))
    return g, costs, trace


def test_a_slow_host_paces_the_device_by_hand():
    g, costs, trace = _chain_run(1.0)  # every op far shorter than a second of dispatch
    n = len(g.order)
    assert trace.end_s == pytest.approx(n * 1.0 + costs[g.order[-1]].duration_s)


def test_a_fast_host_only_delays_the_first_op():
    g, costs, trace = _chain_run(1e-9)
    assert trace.end_s == pytest.approx(1e-9 + sum(c.duration_s for c in costs.values()))


def test_eager_batch_one_is_host_bound_and_large_batch_hides_the_host():
    kw = dict(precision="fp16")
    small = sim.simulate("resnet50", "nvidia-a100-sxm-40gb", batch_size=1, stack="eager", **kw)
    assert small.bottleneck == "host"
    assert small.step_time_s >= small.summary["op_count"] * EAGER_DISPATCH_US * 1e-6
    big_eager = sim.simulate("resnet50", "nvidia-a100-sxm-40gb", batch_size=256, stack="eager", **kw)
    big = sim.simulate("resnet50", "nvidia-a100-sxm-40gb", batch_size=256, **kw)
    assert big_eager.step_time_s == pytest.approx(big.step_time_s, rel=0.01)
    slower_host = sim.simulate("resnet50", "nvidia-a100-sxm-40gb", batch_size=1, stack="eager", dispatch_us=50, **kw)
    assert slower_host.step_time_s > small.step_time_s


def test_compiled_inference_fuses_pointwise_ops_and_is_never_slower():
    default = sim.simulate("resnet50", "nvidia-t4", batch_size=64, precision="fp16")
    compiled = sim.simulate("resnet50", "nvidia-t4", batch_size=64, precision="fp16", stack="compiled")
    assert compiled.summary["op_count"] < default.summary["op_count"]
    assert compiled.step_time_s < default.step_time_s
    assert compiled.extra["stack"] == "compiled"
    # training keeps its per-op passes
    t_default = sim.simulate("resnet50", "nvidia-t4", mode="training", batch_size=16, precision="fp16")
    t_compiled = sim.simulate("resnet50", "nvidia-t4", mode="training", batch_size=16, precision="fp16",
                              stack="compiled")
    assert t_compiled.summary["op_count"] == t_default.summary["op_count"]


def test_bad_stacks_are_refused():
    with pytest.raises(ScenarioError, match="stack: unknown"):
        make_scenario(stack="jit")
    with pytest.raises(ScenarioError, match="dispatch_us"):
        make_scenario(stack="eager", dispatch_us=-1)
    with pytest.raises(ScenarioError, match="one device"):
        sim.simulate("gpt2", "dgx-h100", mode="training", batch_size=16, seq_len=128, stack="eager")


@pytest.mark.skipif(not CALIBRATION.exists(), reason="validation/calibration.json not present")
def test_default_dispatch_is_the_calibrated_value():
    fitted = json.loads(CALIBRATION.read_text())["framework_dispatch_us"]["value"]
    assert EAGER_DISPATCH_US == pytest.approx(fitted, rel=0.01)  # a refit within 1 % is not new evidence
