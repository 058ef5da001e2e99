"""TPU MXU: the next weight tile shifts in behind the current one (double-buffered weights).

Hand computations from Jouppi et al., ISCA 2017 (a tile takes one cycle per array row to shift in,
hidden behind the current tile's computation) and the scaling book's Appendix B (one pipeline
bubble per matmul, none between tiles), with the spec figures of google-tpu-v5p.
"""
from __future__ import annotations

import pytest

from simulator.cost.base import CostOptions, Numerics
from simulator.cost.dispatch import op_cost
from simulator.spec.loader import load_hardware
from simulator.units import GIGA, Precision
from simulator.workload import ops as O

BF16 = Numerics(compute=Precision.BF16, weights=Precision.BF16)
FILL = 2 * 128 + 128 - 2  # one systolic fill and drain per GEMM on a 128 x 128 MXU


def test_a_gemv_tile_costs_its_shift_in_time():
    """Decode at batch 1: Gemm(1, 4096, 4096) is 32 x 32 weight tiles over v5p's 8 MXUs; each
    tile streams one vector but needs 128 cycles to shift in: 128 waves x 128 cycles + one fill."""
    hw = load_hardware("google-tpu-v5p")
    op = O.matmul("q", batch=1, m=1, k=4096, n=4096, bias=False)
    c = op_cost(op, hw, BF16, CostOptions())
    cycles = (32 * 32 // 8) * 128 + FILL
    assert c.compute_s == pytest.approx(cycles / (1.75 * GIGA) / hw.efficiency.compute, rel=1e-9)
    # the weights (32 MiB bf16) take longer from HBM than the MXU needs: memory-bound, as decode is
    assert c.bound.value == "memory_bandwidth"


def test_a_long_stream_costs_its_length_and_one_fill():
    """4096 tokens through the same weights: every tile streams 4096 vectors (two 2048-vector
    accumulator halves), the shift-in of the next tile is hidden."""
    hw = load_hardware("google-tpu-v5p")
    op = O.matmul("ffn", batch=1, m=4096, k=4096, n=4096, bias=False)
    c = op_cost(op, hw, BF16, CostOptions())
    cycles = (32 * 32 // 8) * 4096 + FILL
    assert c.compute_s == pytest.approx(cycles / (1.75 * GIGA) / hw.efficiency.compute, rel=1e-9)


def test_without_background_load_every_tile_pays_fill_and_drain():
    hw = load_hardware("google-tpu-v5p")
    serial = load_hardware("google-tpu-v5p", {"compute.background_load": None})
    op = O.matmul("q", batch=1, m=1, k=4096, n=4096, bias=False)
    overlapped, plain = op_cost(op, hw, BF16, CostOptions()), op_cost(op, serial, BF16, CostOptions())
    per_fold = 2 * 128 + 128 + 1 - 2  # SCALE-Sim's ws fold: 2R + C + T - 2
    assert plain.compute_s == pytest.approx((128 * per_fold) / (1.75 * GIGA) / hw.efficiency.compute, rel=1e-9)
    assert plain.compute_s / overlapped.compute_s == pytest.approx(128 * per_fold / (128 * 128 + FILL), rel=1e-9)


def test_trillium_tiles_are_256_rows():
    hw = load_hardware("google-tpu-v6e")
    assert hw.compute.background_load.min_issue_cycles == hw.compute.mxu_rows == 256
