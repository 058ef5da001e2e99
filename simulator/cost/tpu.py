"""TPU cost model: GEMMs on the MXU systolic arrays of every core, the rest on the vector units."""
from __future__ import annotations

from ..spec.models import TpuSpec, lookup
from ..units import GIGA
from ..workload.ops import Op
from .array import ArrayShape, array_cost
from .base import CostOptions, Numerics, OpCost


def cost(op: Op, hw: TpuSpec, numerics: Numerics, options: CostOptions) -> OpCost:
    """Cost of ``op`` on a TPU chip: ``cores_per_chip * mxus_per_core`` arrays work on its folds.

    Depthwise convolutions run on the vector units when that is faster (XLA and the Edge TPU
    compiler do so), see :func:`~simulator.cost.array.depthwise_on_vector`. An MXU that shifts its
    next weight tile in behind the current one (``compute.background_load``) pays the systolic fill
    and drain once per GEMM, see :func:`~simulator.cost.systolic.map_gemm_background`.
    """
    c = hw.compute
    arr = ArrayShape(rows=c.mxu_rows, cols=c.mxu_cols, arrays=c.cores_per_chip * c.mxus_per_core,
                     dataflow=c.dataflow, macs_per_pe_per_cycle=lookup(c.mxu_macs_per_pe_per_cycle, numerics.compute),
                     clock_hz=c.clock_ghz * GIGA,
                     vector_flops_per_s=c.cores_per_chip * c.clock_ghz * GIGA
                     * lookup(c.vector_flops_per_cycle_per_core, numerics.compute) * hw.efficiency.vector,
                     vector_depthwise=True,
                     background_load=(c.background_load.max_moving, c.background_load.min_issue_cycles)
                     if c.background_load else None)
    return array_cost(op, hw, numerics, options, arr, compute_efficiency=hw.efficiency.compute)
