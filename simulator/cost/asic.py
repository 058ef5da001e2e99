"""ASIC cost model: a PE array with a declared dataflow and a buffer hierarchy (Eyeriss / Accelergy style).

Energy comes out per level: register-file accesses per MAC, buffer traffic per fold, DRAM traffic
per operand, plus the MAC energy itself (``power.energy_pj_per_flop``).
"""
from __future__ import annotations

from ..spec.models import AsicSpec, lookup
from ..units import GIGA
from ..workload.ops import Op
from .array import ArrayShape, array_cost
from .base import CostOptions, Numerics, OpCost


def cost(op: Op, hw: AsicSpec, numerics: Numerics, options: CostOptions) -> OpCost:
    """Cost of ``op`` on an ASIC's PE arrays."""
    c = hw.compute
    arr = ArrayShape(rows=c.pe_rows, cols=c.pe_cols, arrays=c.arrays, dataflow=c.dataflow,
                     macs_per_pe_per_cycle=lookup(c.macs_per_pe_per_cycle, numerics.compute),
                     clock_hz=c.clock_ghz * GIGA,
                     vector_flops_per_s=c.arrays * c.clock_ghz * GIGA * lookup(c.vector_flops_per_cycle, numerics.compute)
                     * hw.efficiency.vector,
                     background_load=(c.background_load.max_moving, c.background_load.min_issue_cycles)
                     if c.background_load else None,
                     gemm_output_via_vector=c.gemm_output_via_vector, vector_overlaps_array=c.vector_overlaps_array,
                     geometries=tuple(tuple(s) for s in c.geometries.shapes) if c.geometries else (),
                     min_step_cycles=c.geometries.min_step_cycles if c.geometries else 0)
    return array_cost(op, hw, numerics, options, arr, compute_efficiency=hw.efficiency.compute)
