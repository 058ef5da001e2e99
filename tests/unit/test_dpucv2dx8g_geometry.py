"""The DPUCV2DX8G (AIE-ML) specs against their target files: lane geometry, batch handlers and peak.

Issue #17 asked whether the low fitted ``efficiency.compute`` of the DPUCV2DX8G family (0.25-0.26)
comes from a wrong lane geometry or a wrong peak. These tests pin both to their sources so that the
efficiency cannot hide a geometry error:

* Vitis-AI v3.5 ``src/vai_runtime/target_factory/targets/DPUCV2DX8G_ISA1_C20B14.prototxt`` (and
  ``..._C20B1``): conv_engine pixel_parallel 4, input/output_channel_parallel 32, batch 14 (1);
  ``create_target_DPUCV2DX8G_ISA1.cpp``: CV_ARCH 4 -> PP 4, ICP 32, OCP 32 and 2**4 = 16
  convolution AIE-ML cores per batch handler;
* the peak formula of the sister AIE DPU (PG389 v1.3 "Peak Theoretical Performance": ops per AIE core
  per cycle x cores per batch handler x batch x AIE clock), with 256 int8 MACs (512 ops) per AIE-ML
  core; AIE clocks: the post-release Vitis AI 3.5 zoo table headers for the zoo's runs (VEK280 1.18 GHz,
  V70 1.00 GHz), the README_DPUCV2DX8G's 1250 MHz for the reference design's C20B1.
"""
from __future__ import annotations

import pytest

from simulator.cost.peaks import fpga_macs_per_s
from simulator.spec.loader import load_hardware
from simulator.units import Precision

TARGETS = {"amd-versal-vek280": 14, "amd-alveo-v70": 14, "amd-versal-vek280-c20b1": 1}


@pytest.mark.parametrize("name,batch", sorted(TARGETS.items()))
def test_lanes_and_batch_are_the_target_files(name, batch):
    d = load_hardware(name).compute.dpu
    assert (d.conv.pixels, d.conv.input_channels, d.conv.output_channels) == (4, 32, 32)
    assert (d.cores, d.batch) == (1, batch)


@pytest.mark.parametrize("name,batch", sorted(TARGETS.items()))
def test_one_lane_step_is_one_cycle_of_a_handlers_sixteen_aie_ml_cores(name, batch):
    # PP x ICP x OCP = 4 x 32 x 32 = 4096 MACs = 16 AIE-ML cores x 256 MACs: the lanes the padding
    # counts are exactly what a batch handler's array does per AIE cycle, so the padded MACs run at
    # the tiles' rate with no hidden factor
    c = load_hardware(name).compute
    lanes = c.dpu.conv.pixels * c.dpu.conv.input_channels * c.dpu.conv.output_channels
    assert lanes == 16 * 256 == 4096
    assert c.ai_engine_tiles == 16 * batch
    assert lanes * c.dpu.batch == c.ai_engine_tiles * c.ai_engine_macs_per_tile_per_cycle[Precision.INT8]


def test_c20b14_peak_by_hand():
    # PG389-style peak at the zoo runs' AIE clocks (post-release zoo table headers): 512 ops x 16 cores x
    # 14 handlers x 1.18 GHz = 135.33 TOPS on the VEK280, x 1.00 GHz = 114.69 TOPS on the V70; the
    # reference design's C20B1 at 1.25 GHz: 512 x 16 x 1.25 = 10.24 TOPS
    hw = load_hardware("amd-versal-vek280")
    assert fpga_macs_per_s(hw, Precision.INT8) == pytest.approx(256 * 16 * 14 * 1.18e9)
    assert 2 * fpga_macs_per_s(hw, Precision.INT8) / 1e12 == pytest.approx(135.33, abs=0.01)
    assert 2 * fpga_macs_per_s(load_hardware("amd-alveo-v70"), Precision.INT8) / 1e12 == pytest.approx(114.69, abs=0.01)
    assert 2 * fpga_macs_per_s(load_hardware("amd-versal-vek280-c20b1"), Precision.INT8) / 1e12 == pytest.approx(10.24)


@pytest.mark.parametrize("name,batch", sorted(TARGETS.items()))
def test_alu_rates_follow_the_aie_clock(name, batch):
    # the ALU (depthwise, pooling, element-wise) runs on each handler's 4 non-convolution AIE-ML tiles
    # at the AIE clock: its clock is the convolution tiles' and its rate per 300 MHz PL cycle is
    # batch x 4 x 256 x AIE clock / PL clock (VEK280: 14 x 1024 x 1.18 / 0.3 = 56,388; V70 at 1.00 GHz:
    # 47,787; C20B1 at 1.25 GHz: 4,267), so a clock change cannot leave one of them behind
    c = load_hardware(name).compute
    assert c.dpu.depthwise.clock_ghz == c.ai_engine_clock_ghz
    assert c.dpu.depthwise.macs_per_cycle == 4 * 256
    assert c.vector_flops_per_cycle[Precision.INT8] == round(batch * 4 * 256 * c.ai_engine_clock_ghz / c.clock_ghz)
    assert {"amd-versal-vek280": 56388, "amd-alveo-v70": 47787,
            "amd-versal-vek280-c20b1": 4267}[name] == c.vector_flops_per_cycle[Precision.INT8]
