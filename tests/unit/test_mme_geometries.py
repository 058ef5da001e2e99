"""Gaudi2's MME output geometries (simulator.cost.systolic.map_gemm_geometries) and the SynapseAI
graph compiler's fused batch norms (stack habana-graph), against hand computations."""
from __future__ import annotations

import pytest

from simulator.cost.asic import cost
from simulator.cost.base import CostOptions, Numerics
from simulator.cost.systolic import map_gemm, map_gemm_geometries
from simulator.spec.loader import load_hardware
from simulator.spec.models import Dataflow
from simulator.spec.stack import load_stack
from simulator.units import Precision
from simulator.workload import ops as O
from simulator.workload.ops import Gemm
from validation.rows import Row
from validation.stacks import stack_for

GAUDI2 = dict(shapes=((1024, 128), (512, 256), (256, 512), (128, 1024)), min_step_cycles=256)


def test_the_spec_carries_habanas_four_geometries_of_both_mmes():
    c = load_hardware("intel-gaudi2").compute
    assert c.geometries.shapes == GAUDI2["shapes"] and c.geometries.min_step_cycles == 256
    # every geometry is all the MACs of the two 256 x 256 MMEs
    assert {r * k for r, k in c.geometries.shapes} == {c.arrays * c.pe_rows * c.pe_cols} == {131072}


def test_narrow_conv_takes_the_tall_geometry_at_the_rollup_floor():
    # ResNet-50 layer1 1x1 conv, 64 -> 64 channels, batch 256 at 56x56: M = 802,816 rows, N = 64, K = 64
    g = Gemm(m=256 * 56 * 56, n=64, k=64)
    m = map_gemm_geometries(g, **GAUDI2)
    # 1024 x 128 tiles: 784 x 1 steps, each max(64, 256) = 256 cycles
    assert (m.shape, m.folds, m.cycles_per_fold, m.cycles) == ((1024, 128), 784, 256, 784 * 256 - 1)
    assert m.utilization == pytest.approx(g.macs / (784 * 256 * 131072))           # 64/256 x 64/128 = 1/8
    # the fixed 256x256 output-stationary fold on 2 arrays: 3136 folds / 2 x (64 + 510) cycles
    fixed = map_gemm(g, rows=256, cols=256, dataflow=Dataflow.OS, arrays=2)
    assert fixed.cycles == 1568 * 574 - 1 and fixed.cycles / m.cycles == pytest.approx(4.48, abs=0.01)


def test_long_common_dim_runs_at_one_k_per_cycle_on_the_squarest_tile():
    g = Gemm(m=14336, n=15360, k=2048)
    m = map_gemm_geometries(g, **GAUDI2)
    # every geometry divides the shape: 28 x 60 steps of 512 x 256 = 14 x 120 of 1024 x 128; the squarer wins
    assert m.shape == (512, 256) and m.folds == 28 * 60 and m.cycles == 28 * 60 * 2048 - 1
    assert m.utilization == pytest.approx(1.0)


def test_wide_short_gemm_takes_the_wide_geometry():
    g = Gemm(m=100, n=4096, k=4096)           # 100 rows: only the 128-row tile is not mostly idle
    m = map_gemm_geometries(g, **GAUDI2)
    assert m.shape == (128, 1024) and m.folds == 4 and m.cycles == 4 * 4096 - 1


def test_gaudi2_conv_cost_uses_the_geometries():
    hw = load_hardware("intel-gaudi2")
    op = O.conv2d("c", batch=256, in_ch=64, h=56, w=56, out_ch=64, kernel=1)
    c = cost(op, hw, Numerics(Precision.BF16, Precision.BF16), CostOptions())
    assert c.compute_cycles == 784 * 256 - 1          # counted from 0, as SCALE-Sim does
    assert c.compute_s == pytest.approx((784 * 256) / 1.65e9 / hw.efficiency.compute
                                        + op.vector_flops / (2 * 1.65e9 * 3072 * hw.efficiency.vector))


def _row(software: str) -> Row:
    return Row(id="X", device="Intel Gaudi2", n_devices=8, workload="MLPerf Training ResNet-50 v1.5", mode="training",
               precision="bf16", batch_size="256/device", shape="224x224", metric="images_per_s", value=1.0,
               software=software, notes="")


def test_gaudi_training_rows_run_under_the_synapse_graph_compiler():
    for sw in ("TensorFlow 2.8.0, synapseAI 1.4.99", "PyTorch 2.0.1a0, synapseAI 1.13.99"):
        assert stack_for(_row(sw), "asic", "training", "intel-gaudi2") == "habana-graph"
    assert stack_for(_row("PyTorch"), "asic", "training", "aws-trainium") == "default"
    s = load_stack("habana-graph")
    assert s.fuse_norm_training and not s.fuse_pointwise and s.kinds == ("asic",)
    # what the stack does to a training step: tests/unit/test_norm_fusion.py
