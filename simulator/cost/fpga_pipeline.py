"""Layer-pipelined FPGA dataflow (FINN / hls4ml style): every layer gets its own DSPs and all layers
run at once on different samples. Pure.

DSPs are allocated to layers in proportion to their MACs (integer DSPs, at least one per layer with
MACs), so per-layer times are balanced; the initiation interval (II) is the slowest layer's time
per sample, the pipeline's throughput is 1 / II and one sample's latency is the sum of the layer
times. Activations flow layer to layer through on-chip FIFOs; weights must sit in BRAM/URAM, or
each layer streams its own from the off-chip memory through its share of the bandwidth.
"""
from __future__ import annotations

from ..spec.models import FpgaSpec, lookup
from ..units import GIGA
from ..workload.graph import ComputeGraph
from .base import CostOptions, Numerics, OpCost, finish


def allocate_dsps(graph: ComputeGraph, total_dsps: int) -> dict[str, int]:
    """DSPs per op, proportional to matrix MACs (floor, at least 1 for ops with MACs).

    Example:
        >>> # two layers of 3 and 1 GMAC on 8 DSPs get 6 and 2
    """
    macs = {n: graph.op(n).matrix_flops / 2 for n in graph.order}
    total = sum(macs.values()) or 1.0
    out = {}
    for n, m in macs.items():
        out[n] = max(1, int(total_dsps * m / total)) if m > 0 else 0
    return out


def pipelined_costs(graph: ComputeGraph, hw: FpgaSpec, numerics: Numerics, options: CostOptions
                    ) -> tuple[dict[str, OpCost], float]:
    """(per-op cost of one sample on its own DSPs, initiation interval in s)."""
    c = hw.compute
    p = numerics.compute
    dsps = int(c.dsp_slices * c.dsp_utilization)
    alloc = allocate_dsps(graph, dsps)
    mac_rate_per_dsp = lookup(c.macs_per_dsp_per_cycle, p) * c.clock_ghz * GIGA * hw.efficiency.compute
    vec_total = c.clock_ghz * GIGA * lookup(c.vector_flops_per_cycle, p) * hw.efficiency.vector
    vec_flops = sum(graph.op(n).vector_flops for n in graph.order) or 1.0
    main = hw.main_memory
    on_chip = hw.memory[-2].name if len(hw.memory) >= 2 else None
    weights = sum(graph.op(n).weight_read_elems for n in graph.order) * numerics.weight_bytes
    resident = on_chip is not None and weights <= hw.memory[-2].capacity_bytes
    costs: dict[str, OpCost] = {}
    for n in graph.order:
        op = graph.op(n)
        compute_s = (op.matrix_flops / 2) / (alloc[n] * mac_rate_per_dsp) if alloc[n] and mac_rate_per_dsp else 0.0
        if op.vector_flops and vec_total:
            # vector units are spread like the DSPs: each op gets its share of the fabric's rate
            compute_s += op.vector_flops / (vec_total * op.vector_flops / vec_flops)
        w = op.weight_read_elems * numerics.weight_bytes
        if resident or on_chip is None and not w:
            levels, eff = ({on_chip: w} if on_chip else {}), None
        else:
            # the layer's share of off-chip bandwidth is its share of the weights
            levels, eff = {main.name: w}, hw.efficiency.memory * max(w / weights, 1e-12)
        costs[n] = finish(hw=hw, numerics=numerics, options=options, flops=op.flops, compute_s=compute_s,
                          bytes_by_level=levels, overhead_s=0.0, memory_efficiency=eff,
                          compute_cycles=int(round(compute_s * c.clock_ghz * GIGA)) if op.gemms else None)
    ii = max((cst.duration_s for cst in costs.values()), default=0.0)
    return costs, ii
