"""Laws of the per-request fixed time (efficiency.request_overhead_us, simulator.run.stackhw)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.run.device import run_scenario
from simulator.scenario import make_scenario
from simulator.spec.loader import load_hardware
from simulator.workload.loader import load_workload


def _step(us: float, batch: int) -> float:
    hw = load_hardware("aws-inferentia2", {"efficiency.request_overhead_us": us})
    sc = make_scenario(mode="inference", batch_size=batch, precision="bf16", stack="neuron")
    return run_scenario(load_workload("mlp"), hw, sc).step_time_s


@settings(max_examples=15, deadline=None)
@given(a=st.floats(0.0, 2000.0), b=st.floats(0.0, 2000.0), batch=st.integers(1, 16))
def test_step_grows_by_exactly_the_added_request_time(a, b, batch):
    lo, hi = sorted((a, b))
    t_lo, t_hi = _step(lo, batch), _step(hi, batch)
    assert t_hi >= t_lo
    assert abs((t_hi - t_lo) - (hi - lo) * 1e-6) <= 1e-12 + 1e-9 * t_hi
