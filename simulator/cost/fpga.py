"""FPGA cost model: the deployed overlay (DPU-style PE array on DSP slices, plus Versal AI Engines).

MAC throughput = DSPs in use x MACs per DSP per cycle x achieved clock (+ AI-Engine tiles).
Weights live in BRAM/URAM when the whole model fits there (batch-1 latency then has no weight
traffic to DDR/HBM); otherwise they stream from the main memory every inference. Overlays that buffer
feature maps on chip (``compute.feature_maps_on_chip``, the Versal AI-Engine DPUs) keep a layer's
input and output there when they fit in half of it; otherwise feature maps go through DDR/HBM.
"""
from __future__ import annotations

from ..spec.models import FpgaSpec, lookup
from ..units import GIGA
from ..workload.ops import Op
from .base import CostOptions, Numerics, OpCost, finish, op_bytes, overhead_s
from .peaks import fpga_macs_per_s


def cost(op: Op, hw: FpgaSpec, numerics: Numerics, options: CostOptions) -> OpCost:
    """Cost of ``op`` on the FPGA overlay."""
    c = hw.compute
    macs_s = fpga_macs_per_s(hw, numerics.compute) * hw.efficiency.compute
    vec_s = c.clock_ghz * GIGA * lookup(c.vector_flops_per_cycle, numerics.compute) * hw.efficiency.vector
    compute_s = (op.matrix_flops / 2) / macs_s if op.gemms and macs_s else 0.0
    compute_s += op.vector_flops / vec_s if vec_s else 0.0
    act_in, act_out, w_read = op_bytes(op, numerics, fused_attention=options.fused_attention)
    main = hw.main_memory.name
    on_chip = hw.memory[-2].name if len(hw.memory) >= 2 else None
    levels = {main: act_in + act_out}
    if c.feature_maps_on_chip and on_chip and act_in + act_out <= 0.5 * hw.memory[-2].capacity_bytes:
        levels = {on_chip: act_in + act_out}
    weights_at = on_chip if options.weights_on_chip and on_chip else main
    levels[weights_at] = levels.get(weights_at, 0.0) + w_read
    steps = max(1, op.sequential_steps)
    return finish(hw=hw, numerics=numerics, options=options, flops=op.flops, compute_s=compute_s,
                  bytes_by_level=levels, overhead_s=overhead_s(hw) * steps,
                  compute_cycles=int(round(compute_s * c.clock_ghz * GIGA)) if op.gemms else None)
