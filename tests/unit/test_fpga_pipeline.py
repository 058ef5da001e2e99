"""Layer-pipelined FPGA dataflow and bitstream reconfiguration."""
from __future__ import annotations

import pytest

import simulator as sim
from simulator.cost.fpga_pipeline import allocate_dsps
from simulator.workload.graph import GraphBuilder

FPGA = "amd-alveo-u250"


def test_dsps_are_allocated_in_proportion_to_macs():
    b = GraphBuilder("two", batch=1)
    x = b.input((1, 64))
    x = b.linear("big", x, 192, bias=False)   # 64*192 MACs
    b.linear("small", x, 64, bias=False)      # 192*64 MACs (same) -> equal shares
    g = b.build()
    assert allocate_dsps(g, 8) == {"big": 4, "small": 4}


def test_pipeline_time_is_latency_plus_interval_per_extra_sample():
    one = sim.simulate("resnet18", FPGA, batch_size=1, precision="int8", fpga_dataflow="pipelined")
    many = sim.simulate("resnet18", FPGA, batch_size=9, precision="int8", fpga_dataflow="pipelined")
    ii = one.initiation_interval_s
    assert ii == pytest.approx(one.ops["duration_s"].max())
    assert many.step_time_s == pytest.approx(one.step_time_s + 8 * ii, rel=1e-6)
    # streaming samples through the layers beats running them one after another
    assert many.step_time_s < 9 * one.step_time_s


def test_cold_start_adds_the_bitstream_load():
    hw = sim.load_hardware(FPGA)
    warm = sim.simulate("resnet18", FPGA, batch_size=1, precision="int8")
    cold = sim.simulate("resnet18", FPGA, batch_size=1, precision="int8", cold_start=True)
    assert cold.step_time_s == pytest.approx(warm.step_time_s + hw.compute.reconfiguration_s)


def test_pipelined_needs_an_fpga_and_inference():
    with pytest.raises(sim.InputError, match="needs an FPGA"):
        sim.simulate("mlp", "nvidia-h100-sxm", fpga_dataflow="pipelined")
    with pytest.raises(sim.InputError, match="inference only"):
        sim.simulate("mlp", FPGA, mode="training", precision="int8", fpga_dataflow="pipelined")
    with pytest.raises(sim.InputError, match="fpga_dataflow"):
        sim.simulate("mlp", FPGA, precision="int8", fpga_dataflow="systolic")
