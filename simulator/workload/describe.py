"""The size of a workload at a shape, without any hardware: parameters, FLOPs, activation bytes, ops."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..units import parse_precision
from .graph import kind_counts
from .loader import load_workload
from .workload import Workload

__all__ = ["describe"]


def describe(workload: "str | Path | Workload", *, batch_size: int | None = None, seq_len: int | None = None,
             image_size: int | None = None, precision: str = "bf16") -> dict[str, Any]:
    """Size of a workload at a shape: parameters, forward FLOPs (whole batch), activation bytes, op count.

    Returns:
        a dict: ``parameters`` (count), ``forward_flops`` and ``forward_matrix_flops`` (FLOP for the
        whole batch), ``activation_bytes`` and ``weight_bytes`` (B at ``precision``), ``op_count``,
        ``op_kinds`` (count per op kind) and the resolved shape.

    Raises:
        InputError: unknown workload name or bad file (a :class:`WorkloadError` names file and field).
        ScenarioError: unknown precision or an invalid shape.

    Example:
        >>> d = describe("resnet50", batch_size=1)
        >>> round(d["parameters"] / 1e6, 1)
        25.6
    """
    wl = load_workload(workload)
    p = parse_precision(precision)
    g = wl.build(batch_size=batch_size, seq_len=seq_len, image_size=image_size)
    meta = g.meta
    return {"workload": wl.name, "family": wl.family, "task": wl.task, "batch_size": meta.get("batch_size"),
            "seq_len": meta.get("seq_len") if wl.uses_seq_len else None,
            "image_size": meta.get("image_size") if wl.uses_image_size else None,
            "parameters": g.parameters, "forward_flops": g.flops, "forward_matrix_flops": g.matrix_flops,
            "activation_bytes": g.activation_elems * p.bytes, "weight_bytes": g.parameters * p.bytes,
            "op_count": len(g), "op_kinds": kind_counts(g), "precision": p.value}
