"""Law of the stack's per-query time: a flagged stack's step is the unflagged one plus exactly the
device's request time, and an unflagged run does not see the request time at all."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.run.device import run_scenario
from simulator.scenario import make_scenario
from simulator.spec.loader import load_hardware
from simulator.spec.stack import load_stack
from simulator.workload.loader import load_workload

FLAGGED = load_stack("tensorrt-mlperf")
UNFLAGGED = FLAGGED.model_copy(update={"per_query_time": False})


def _step(us: float, stack, batch: int, device: str) -> float:
    hw = load_hardware(device, {"efficiency.request_overhead_us": us})
    sc = make_scenario(mode="inference", batch_size=batch, precision="fp16", stack=stack)
    return run_scenario(load_workload("mlp"), hw, sc).step_time_s


@settings(max_examples=15, deadline=None)
@given(us=st.floats(0.0, 2000.0), batch=st.integers(1, 16),
       device=st.sampled_from(["nvidia-a100-sxm-80gb", "nvidia-t4", "nvidia-h100-sxm"]))
def test_flagged_step_is_unflagged_plus_the_request_time(us, batch, device):
    flagged, unflagged = _step(us, FLAGGED, batch, device), _step(us, UNFLAGGED, batch, device)
    assert abs((flagged - unflagged) - us * 1e-6) <= 1e-12 + 1e-9 * flagged
    # the unflagged run is the one at no request time at all
    assert unflagged == _step(0.0, UNFLAGGED, batch, device) == _step(0.0, FLAGGED, batch, device)
