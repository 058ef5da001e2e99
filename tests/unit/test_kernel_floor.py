"""A GPU kernel's busy-time floor (``efficiency.min_kernel_cycles``, cost/gpu.py ``kernel_floor_s``):
each kernel keeps the SMs busy at least that many SM cycles, then the per-kernel gap is added."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cost.base import Bound, CostOptions, Numerics
from simulator.cost.dispatch import op_cost, supported_precisions
from simulator.cost.gpu import kernel_floor_s
from simulator.spec.loader import load_hardware
from simulator.testing import compute_graphs, hardware_specs
from simulator.units import Precision
from simulator.workload import ops as O

BF16 = Numerics(Precision.BF16, Precision.BF16)


def _toy(cycles: float):
    """A made-up GPU: 10 SMs at 1 GHz, 1024 bf16 FLOP/cycle/SM at full efficiency, no tile fill,
    memory fast enough to never bind, a 2 us gap per kernel."""
    return load_hardware("nvidia-t4", {
        "compute.sm_count": 10, "compute.clock_ghz": 1.0, "compute.tile_m": 128, "compute.tile_n": 128,
        "compute.tensor_flops_per_cycle_per_sm": {"fp16": 1024, "bf16": 1024},
        "compute.vector_flops_per_cycle_per_sm": {"fp32": 256, "fp16": 256, "bf16": 256},
        "efficiency.compute": 1.0, "efficiency.vector": 0.5, "efficiency.tile_fill_k": 0.0, "efficiency.memory": 1.0,
        "efficiency.op_overhead_us": 2.0, "efficiency.min_kernel_cycles": cycles,
        "memory": [{"name": "gddr6", "capacity_bytes": 16e9, "bandwidth_gbs": 1e6, "energy_pj_per_byte": 0.0,
                    "source": "test"}],
        "power.energy_pj_per_flop": {"fp32": 1e-6, "fp16": 1e-6, "bf16": 1e-6}})


def test_a_tiny_gemm_takes_the_floor_not_its_roofline():
    # 128x128x128 on 10 SMs: one 128x128 tile would leave 9 SMs idle, so the plan cuts it into four
    # 64x64 tiles on four SMs, one wave: 2 * 64 * 64 * 128 = 1,048,576 FLOP per SM at 1024 FLOP/cycle
    # x 1 GHz = 1.024 us, plus the epilogue's 128 * 128 = 16384 FLOP on the CUDA cores at 256 x 10 SMs
    # x 1 GHz x 0.5 = 12.8 ns: 1.0368 us. Floor 5000 cycles / 1 GHz = 5 us > 1.0368 us: the kernel takes
    # 5 us, + the 2 us gap = 7 us. Floor 500 cycles = 0.5 us < 1.0368 us: the roofline stands, 3.0368 us.
    g = O.matmul("g", batch=1, m=128, k=128, n=128)
    slow = op_cost(g, _toy(5000.0), BF16, CostOptions())
    assert slow.compute_s == pytest.approx(1.0368e-6, rel=1e-9)   # the arithmetic is what it was
    assert slow.duration_s == pytest.approx(7.0e-6, rel=1e-9)
    assert slow.bound == Bound.OVERHEAD                             # launch and drain set its time
    fast = op_cost(g, _toy(500.0), BF16, CostOptions())
    assert fast.duration_s == pytest.approx(3.0368e-6, rel=1e-9)
    assert op_cost(g, _toy(0.0), BF16, CostOptions()).duration_s == fast.duration_s


def test_the_floor_is_cycles_over_the_sm_clock():
    # 5100 cycles on an L4 at 2.04 GHz: 2.5 us; the same cycles on a T4 at 1.59 GHz: 3.20755 us
    l4 = load_hardware("nvidia-l4", {"efficiency.min_kernel_cycles": 5100.0})
    t4 = load_hardware("nvidia-t4", {"efficiency.min_kernel_cycles": 5100.0})
    assert kernel_floor_s(l4) == pytest.approx(2.5e-6)
    assert kernel_floor_s(t4) == pytest.approx(3.20755e-6, rel=1e-5)
    assert kernel_floor_s(load_hardware("nvidia-l4", {"efficiency.min_kernel_cycles": 0.0})) == 0.0


def test_each_kernel_of_an_op_has_its_floor():
    # an LSTM of 7 steps launches 7 kernels: a tiny one runs 7 floors of 5 us = 35 us, + 7 gaps of 2 us
    lstm = O.lstm("l", batch=1, steps=7, input_size=8, hidden=8)
    c = op_cost(lstm, _toy(5000.0), BF16, CostOptions())
    assert c.duration_s == pytest.approx(49e-6, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(graph=compute_graphs(max_ops=8), hw=hardware_specs("gpu"), low=st.floats(0.0, 20000.0),
       extra=st.floats(0.0, 20000.0))
def test_raising_the_floor_never_makes_an_op_faster(graph, hw, low, extra):
    p = supported_precisions(hw)[0] if supported_precisions(hw) else Precision.FP32
    num = Numerics(p, p)
    eff = hw.efficiency
    a = hw.model_copy(update={"efficiency": eff.model_copy(update={"min_kernel_cycles": low})})
    b = hw.model_copy(update={"efficiency": eff.model_copy(update={"min_kernel_cycles": low + extra})})
    for op in graph.ops:
        assert op_cost(op, b, num, CostOptions()).duration_s >= op_cost(op, a, num, CostOptions()).duration_s


def test_raising_the_floor_never_makes_a_run_faster():
    import simulator as sim

    times = [sim.simulate("resnet50", "nvidia-l4", batch_size=1, precision="int8", stack="tensorrt",
                          overrides={"efficiency.min_kernel_cycles": c}).step_time_s
             for c in (0.0, 2000.0, 8000.0, 20000.0)]
    assert times == sorted(times)
    assert times[-1] > times[0]
