"""Vitis AI DPU boards, checked by hand: lane padding, cores x batch over shared memory, the runner's host stage."""
from __future__ import annotations

import pytest

import simulator as sim
from simulator.cost.dpu import conv_lane_macs, depthwise_lane_macs, dpu_lane_macs
from simulator.cost.peaks import fpga_macs_per_s
from simulator.run.dpu_board import board_layout, core_view, host_element_s
from simulator.spec.loader import load_hardware
from simulator.spec.models import DepthwiseLanes, DpuLanes
from simulator.units import Precision
from simulator.workload import ops as O

B4096 = DpuLanes(pixels=8, input_channels=16, output_channels=16)


def test_conv_lanes_pad_width_and_channels():
    # 3x3, 40 -> 24 channels, 14 x 14 out: 40 -> 48 input lanes, 24 -> 32 output, 14 -> 16 pixels
    c = O.conv2d("c", batch=2, in_ch=40, h=14, w=14, out_ch=24, kernel=3, pad=1)
    assert conv_lane_macs(c, B4096, depthwise_engine=True) == 2 * 3 * (3 * 48) * 32 * 14 * 16


def test_image_stem_packs_kernel_width_into_the_channel_lanes():
    stem = O.conv2d("stem", batch=1, in_ch=3, h=224, w=224, out_ch=64, kernel=7, stride=2, pad=3)
    # channel augmentation: 7 x 3 = 21 -> 32 lanes per kernel row (not 7 x 16 = 112)
    assert conv_lane_macs(stem, B4096, depthwise_engine=True) == 7 * 32 * 64 * 112 * 112
    assert stem.matrix_flops / 2 == 7 * 7 * 3 * 64 * 112 * 112


def test_fully_connected_layer_uses_one_pixel_lane():
    fc = O.matmul("fc", batch=1, m=1, k=1000, n=10)          # 1000 -> 1008 inputs, 10 -> 16 outputs
    assert conv_lane_macs(fc, B4096, depthwise_engine=True) == 8 * 1008 * 16


def test_depthwise_runs_on_its_engine_or_as_one_channel_groups():
    dw = O.conv2d("dw", batch=1, in_ch=24, h=14, w=14, out_ch=24, kernel=3, pad=1, groups=24)
    engine = DepthwiseLanes(pixels=4, channels=16, clock_ghz=0.3)
    assert depthwise_lane_macs(dw, engine) == 9 * 32 * 14 * 16        # 24 -> 32 channels, 14 -> 16 pixels
    assert conv_lane_macs(dw, B4096, depthwise_engine=True) == 0.0
    # no engine: 24 groups of 1 channel, each padded to 16 input (augmented 3 x 1 -> 16) and 16 output lanes
    assert conv_lane_macs(dw, B4096, depthwise_engine=False) == 24 * 3 * 16 * 16 * 14 * 16


def test_zcu102_depthwise_op_costs_its_engine_time():
    hw = load_hardware("amd-zcu102", {"efficiency.compute": 1.0, "efficiency.op_overhead_us": 0.0})
    dw = O.conv2d("dw", batch=1, in_ch=64, h=56, w=56, out_ch=64, kernel=3, pad=1, groups=64)
    conv, on_engine = dpu_lane_macs(dw, hw.compute.dpu)
    assert conv == 0.0 and on_engine == 9 * 64 * 56 * 56
    from simulator.cost.base import CostOptions, Numerics
    from simulator.cost.dispatch import op_cost
    cost = op_cost(dw, hw, Numerics(Precision.INT8, Precision.INT8), CostOptions())
    # 1 core x 16 channels x 4 pixels x 4 MACs per cycle at 281 MHz
    assert cost.compute_s == pytest.approx(9 * 64 * 56 * 56 / (256 * 0.281e9))


def test_core_view_splits_peak_and_shares_bandwidth_up_to_the_ports():
    u250 = load_hardware("amd-alveo-u250")                    # 4 kernels, 77 GB/s DDR4, no port limit
    one = core_view(u250, 4)
    assert fpga_macs_per_s(one, Precision.INT8) == pytest.approx(fpga_macs_per_s(u250, Precision.INT8) / 4)
    assert one.main_memory.bandwidth_gbs == pytest.approx(77 / 4)
    kv = load_hardware("amd-kria-kv260")                      # 1 core, 19.2 GB/s DDR4, 32 B/cycle ports
    assert core_view(kv, 1).main_memory.bandwidth_gbs == pytest.approx(32 * 0.3)   # 9.6 GB/s < 19.2
    with pytest.raises(sim.ScenarioError):
        core_view(kv, 2)


def test_board_layout_spreads_runs_over_cores():
    zcu = load_hardware("amd-zcu102")                         # 3 cores x batch 1
    assert board_layout(zcu, 1) == (1, 1, 1)
    assert board_layout(zcu, 7) == (7, 3, 3)
    vck = load_hardware("amd-versal-vck5000")                 # 1 DPU x batch 6
    assert board_layout(vck, 7) == (2, 1, 2)


def test_board_step_is_rounds_of_one_cores_run():
    kw = dict(batch_size=3, precision="int8", stack="compiled", image_size=64)
    three = sim.simulate("resnet50", "amd-zcu102", **kw)
    six = sim.simulate("resnet50", "amd-zcu102", **{**kw, "batch_size": 6})
    one = sim.simulate("resnet50", "amd-zcu102", **{**kw, "batch_size": 1})
    assert six.step_time_s == pytest.approx(2 * three.step_time_s)      # 2 rounds of 3 cores
    assert three.extra["dpu_board"]["active_cores"] == 3
    assert one.step_time_s <= three.step_time_s                         # alone, a core has more bandwidth


def test_runner_threads_by_hand():
    kw = dict(batch_size=3, precision="int8", stack="compiled")
    st = sim.simulate("resnet50", "amd-zcu102", input_workers=1, **kw).extra["end_to_end"]
    mt = sim.simulate("resnet50", "amd-zcu102", input_workers=8, **kw)
    e2e = mt.extra["end_to_end"]
    host = (3 * 224 * 224 + 1000) * 4.1 / 1.333e9                      # A53: 4.1 cycles per element
    assert st["host_s_per_run"] == pytest.approx(host) and st["link_s_per_run"] == 0.0
    assert st["latency_s"] == pytest.approx(host + st["dpu_s_per_run"])
    # 8 threads: the smallest of the thread population, the 3 DPU cores and the 4 A53 cores
    d = e2e["dpu_s_per_run"]
    rate = min(8 / (host + d), 3 / d, 4 / host)
    assert mt.throughput_samples_per_s == pytest.approx(rate)


def test_pcie_card_runner_pays_the_host_link():
    card = load_hardware("amd-alveo-u50")                      # Gen3 x4: 3.94 GB/s, 5 us
    r = sim.simulate("resnet50", card, batch_size=6, precision="int8", stack="compiled", input_workers=1)
    e2e = r.extra["end_to_end"]
    assert e2e["link_s_per_run"] == pytest.approx(5e-6 + 3 * (3 * 224 * 224 + 1000) / 3.94e9)
    per_elem, cores = host_element_s(card)
    assert cores == 16 and per_elem == pytest.approx(3.5 / 3.5e9)


def test_dpu_layer_floor_by_hand():
    from simulator.cost.base import CostOptions, Numerics
    from simulator.cost.dispatch import op_cost
    num, opts = Numerics(Precision.INT8, Precision.INT8), CostOptions()
    hw = load_hardware("amd-alveo-v70", {"efficiency.compute": 1.0, "efficiency.op_overhead_us": 0.0})
    assert hw.compute.dpu.layer_floor_us == pytest.approx(32.3)
    # 14 images x 8 x 8 x 64 -> 64 1x1 conv: 14 * 8 * 8 * 64 * 64 padded MACs (8 = 2 x 4 pixel lanes,
    # 64 = 2 x 32 channel lanes) at 224 AIE-ML tiles x 256 MACs x 1.00 GHz = 4.59 us < 32.3 us: the floor
    small = O.conv2d("s", batch=14, in_ch=64, h=8, w=8, out_ch=64, kernel=1)
    assert 14 * 8 * 8 * 64 * 64 / (224 * 256 * 1.0e9) < 32.3e-6
    assert op_cost(small, hw, num, opts).compute_s == pytest.approx(32.3e-6)
    # 14 x 56 x 56 x 256 -> 256 3x3: 14 * 9 * 256 * 256 * 56 * 56 / 57.34e12 = 2.84 ms, far above the floor
    big = O.conv2d("b", batch=14, in_ch=256, h=56, w=56, out_ch=256, kernel=3, pad=1)
    assert op_cost(big, hw, num, opts).compute_s == pytest.approx(14 * 9 * 256 * 256 * 56 * 56 / (224 * 256 * 1.0e9))
    # a DPU without a floor (the default) costs the small layer its lanes only
    zcu = load_hardware("amd-zcu102", {"efficiency.compute": 1.0, "efficiency.op_overhead_us": 0.0})
    assert zcu.compute.dpu.layer_floor_us == 0.0
    one = O.conv2d("s1", batch=1, in_ch=64, h=8, w=8, out_ch=64, kernel=1)
    # 8 x 8 pixels fill the 8 pixel lanes, 64 channels the 16-wide channel lanes: no padding; ~3 x 2048 MACs
    # per cycle at 281 MHz (the spec's DSP share gives the exact peak)
    assert fpga_macs_per_s(zcu, Precision.INT8) == pytest.approx(3 * 2048 * 0.281e9, rel=1e-3)
    assert op_cost(one, zcu, num, opts).compute_s == pytest.approx(8 * 8 * 64 * 64 / fpga_macs_per_s(zcu, Precision.INT8))
