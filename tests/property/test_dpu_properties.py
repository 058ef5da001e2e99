"""Laws of the DPU boards over every bundled FPGA with a DPU overlay (hypothesis): a board never
outruns its cores' peak, an op never beats its roofline on its core, the host stage only slows."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import simulator as sim
from simulator.cost.base import CostOptions, Numerics
from simulator.cost.dispatch import op_cost
from simulator.cost.peaks import fpga_macs_per_s
from simulator.run.dpu_board import core_view, is_dpu_board
from simulator.run.graphs import build_graph
from simulator.scenario import make_scenario
from simulator.spec.loader import catalogue, load_hardware
from simulator.units import Precision
from simulator.workload.loader import load_workload

BOARDS = sorted(n for n in catalogue() if is_dpu_board(load_hardware(n)))
WORKLOADS = st.sampled_from(["resnet50", "mobilenet-v1", "mobilenet-v2", "googlenet", "vgg16"])
INT8 = Numerics(Precision.INT8, Precision.INT8)


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(BOARDS), WORKLOADS, st.integers(min_value=1, max_value=24))
def test_board_throughput_never_exceeds_its_peak(board, wl, batch):
    hw = load_hardware(board)
    r = sim.simulate(wl, hw, batch_size=batch, precision="int8", stack="compiled", image_size=64)
    macs = load_workload(wl).build(batch_size=1, image_size=64).matrix_flops / 2
    # the engines' peak: every core busy, every lane used, no stall (padding and efficiency only slow)
    assert r.throughput_samples_per_s * macs <= fpga_macs_per_s(hw, Precision.INT8) * (1 + 1e-9)


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(BOARDS), WORKLOADS, st.integers(min_value=1, max_value=4))
def test_no_op_beats_its_roofline_on_its_core(board, wl, active):
    hw = load_hardware(board)
    core = core_view(hw, min(active, hw.compute.dpu.cores))
    sc = make_scenario(batch_size=hw.compute.dpu.batch, precision="int8", stack="compiled", image_size=64)
    g = build_graph(load_workload(wl), sc)[1]
    peak = fpga_macs_per_s(core, Precision.INT8)
    bw = core.main_memory.bandwidth_gbs * 1e9
    for name in g.order:
        c = op_cost(g.op(name), core, INT8, CostOptions())
        main = c.bytes_by_level.get(core.main_memory.name, 0.0)
        depthwise = dict(g.op(name).attrs).get("groups", 1) > 1
        if not depthwise:  # a depthwise layer runs on its own engine, not the array
            assert c.duration_s >= g.op(name).matrix_flops / 2 / peak * (1 - 1e-9)
        assert c.duration_s >= main / bw * (1 - 1e-9)


@settings(max_examples=15, deadline=None)
@given(st.sampled_from(BOARDS), WORKLOADS, st.sampled_from([1, 2, 8]))
def test_host_runner_never_outruns_the_dpu(board, wl, threads):
    hw = load_hardware(board)
    n = hw.compute.dpu.cores * hw.compute.dpu.batch
    kw = dict(batch_size=n, precision="int8", stack="compiled", image_size=64)
    dpu = sim.simulate(wl, hw, **kw)
    e2e = sim.simulate(wl, hw, input_workers=threads, **kw)
    assert e2e.throughput_samples_per_s <= dpu.throughput_samples_per_s * (1 + 1e-9)
    assert e2e.extra["end_to_end"]["latency_s"] >= e2e.extra["end_to_end"]["dpu_s_per_run"]
