"""A software stack's own per-kernel gap (``kernel_overhead_us`` in stacks/*.yaml, run/stackhw.py): a
runtime that launches each kernel from the host on a stream (TensorRT-LLM 0.6's GptSession) waits
longer between kernels than one that replays a CUDA graph (NVIDIA's MLPerf harness), on the same
device, while the kernel's busy-time floor (the device's ``min_kernel_cycles``) is the same."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cost.base import CostOptions, Numerics
from simulator.cost.dispatch import op_cost
from simulator.run.stackhw import stack_device
from simulator.spec.stack import load_stack
from simulator.units import Precision
from simulator.workload import ops as O
from test_kernel_floor import _toy  # the same made-up GPU: 10 SMs at 1 GHz, a 2 us device gap
from simulator.spec.loader import load_hardware
from validation.spec_writer import apply_stack_gap

BF16 = Numerics(Precision.BF16, Precision.BF16)


def _stream(gap_us: float):
    return load_stack("tensorrt-llm-0.6").model_copy(update={"kernel_overhead_us": gap_us})


def test_same_op_two_stacks_differ_by_the_gap_only():
    # the toy GPU: 10 SMs at 1 GHz, a 2 us device gap. A 128^3 GEMM's roofline
    # is 1.0368 us, under a 5000-cycle floor = 5 us. Graph replay (tensorrt-mlperf sets no gap of its
    # own): 5 + 2 = 7 us. Stream launches at 8 us: 5 + 8 = 13 us. The floor is the device's: both 5 us.
    hw = _toy(5000.0)
    g = O.matmul("g", batch=1, m=128, k=128, n=128)
    graph = op_cost(g, stack_device(hw, load_stack("tensorrt-mlperf")), BF16, CostOptions())
    stream = op_cost(g, stack_device(hw, _stream(8.0)), BF16, CostOptions())
    assert graph.duration_s == pytest.approx(7.0e-6, rel=1e-9)
    assert stream.duration_s == pytest.approx(13.0e-6, rel=1e-9)
    assert stream.compute_s == graph.compute_s


def test_a_recurrent_op_pays_the_stack_gap_per_kernel():
    # 7 LSTM steps, 7 kernels: 7 floors of 5 us + 7 gaps of 8 us = 91 us (with the device's 2 us: 49 us)
    lstm = O.lstm("l", batch=1, steps=7, input_size=8, hidden=8)
    c = op_cost(lstm, stack_device(_toy(5000.0), _stream(8.0)), BF16, CostOptions())
    assert c.duration_s == pytest.approx(91e-6, rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(low=st.floats(0.0, 50.0), extra=st.floats(0.0, 50.0), cycles=st.floats(0.0, 20000.0),
       m=st.integers(1, 4096), n=st.integers(1, 4096), k=st.integers(1, 4096))
def test_a_larger_stack_gap_never_makes_an_op_faster(low, extra, cycles, m, n, k):
    hw = _toy(cycles)
    g = O.matmul("g", batch=1, m=m, k=k, n=n)
    a = op_cost(g, stack_device(hw, _stream(low)), BF16, CostOptions()).duration_s
    b = op_cost(g, stack_device(hw, _stream(low + extra)), BF16, CostOptions()).duration_s
    assert b >= a


def test_apply_stack_gap_writes_the_value_and_its_rows(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("name: s\nhost_dispatch_us: 0\nsource: \"x\"\n", encoding="utf-8")
    apply_stack_gap(p, {"kernel_overhead_us": 6.5, "fitted_to": ["M1", "M2"]})
    text = p.read_text(encoding="utf-8")
    assert "host_dispatch_us: 0\nkernel_overhead_us: 6.5\n" in text
    assert 'fitted_to: "validation.calibrate kernel_overhead_us: M1, M2"' in text
    apply_stack_gap(p, {"kernel_overhead_us": 7.0, "fitted_to": ["M1"]})
    text = p.read_text(encoding="utf-8")
    assert text.count("kernel_overhead_us: 7.0") == 1 and text.count("fitted_to:") == 1
