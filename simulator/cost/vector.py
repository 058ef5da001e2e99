"""Every op's cost at once for the device kinds with a vectorised model (:mod:`.vgpu`, :mod:`.varray`).

:func:`table_costs` is what a run asks for a whole graph; kinds without a vectorised model (CPUs,
FPGAs) answer None and the caller costs op by op with :func:`simulator.cost.dispatch.op_cost`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..spec.models import _DeviceBase
from . import varray, vgpu
from .base import CostOptions, Numerics, OpCost
from .table import OpTable

__all__ = ["table_costs", "VECTOR_KINDS", "VECTOR_MIN_ROWS"]

VECTOR_KINDS = {"gpu": vgpu.costs, "tpu": varray.costs, "asic": varray.costs}
# Below this many distinct ops numpy's per-call overhead outweighs the loop it replaces.
VECTOR_MIN_ROWS = 24


def table_costs(table: OpTable, rows: Sequence[tuple[int, float]], hw: _DeviceBase, numerics: Numerics,
                options: CostOptions) -> list[OpCost] | None:
    """The cost of each ``(op index in table, input elements still in cache)`` of ``rows``, or None
    when ``hw``'s kind has no vectorised model, there are too few rows to gain from one, or an op
    declares a tensor format of its own (the per-op models charge it).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> from simulator.units import Precision
        >>> from simulator.workload.loader import load_workload
        >>> t = OpTable(load_workload("resnet50").build(batch_size=8).ops)
        >>> bf16 = Numerics(Precision.BF16, Precision.BF16)
        >>> len(table_costs(t, [(i, 0.0) for i in range(t.rows)], load_hardware("nvidia-h100-sxm"), bf16, CostOptions())) == t.rows
        True
        >>> table_costs(t, [(0, 0.0)], load_hardware("intel-xeon-platinum-8480"), bf16, CostOptions()) is None
        True
    """
    model = VECTOR_KINDS.get(getattr(hw, "kind", ""))
    if model is None or len(rows) < VECTOR_MIN_ROWS or table.declared_formats:
        return None
    idx = np.array([r[0] for r in rows], dtype=np.int64)
    cached = np.array([r[1] for r in rows], dtype=np.float64)
    return model(table, idx, cached, hw, numerics, options)
