"""Resident memory of a model, by category: one formula for one device and for sharded clusters. Pure."""
from __future__ import annotations

from ..units import Precision
from .base import tensor_bytes


def resident_bytes(*, params: float, state_elems: float, training: bool, compute: Precision, weights: Precision,
                   zero_stage: int = 0, data_parallel: int = 1) -> dict[str, float]:
    """Bytes that stay resident through a step, by category, per device.

    Weights are stored at ``weights``; training adds gradients at the wider of the stored weights'
    format and the ``compute`` tensors' (16 bits under FP8, :func:`~simulator.cost.base.tensor_bytes`), fp32 master
    weights when weights are stored below fp32, and ``state_elems`` fp32 optimizer values. ZeRO shards
    over ``data_parallel`` ranks: stage 1 the optimizer state and master weights, stage 2 also the
    gradients, stage 3 also the weights.

    Example:
        >>> b = resident_bytes(params=1e9, state_elems=2e9, training=True, compute=Precision.BF16,
        ...                    weights=Precision.BF16)        # mixed-precision Adam: 2 + 2 + 4 + 8 B
        >>> [b[k] / 1e9 for k in ("weights", "gradients", "master_weights", "optimizer_state")]
        [2.0, 2.0, 4.0, 8.0]
        >>> resident_bytes(params=1e9, state_elems=2e9, training=True, compute=Precision.BF16,
        ...                weights=Precision.BF16, zero_stage=3, data_parallel=8)["weights"] / 1e9
        0.25
    """
    dp = max(1, data_parallel)
    w = params * weights.bytes
    out = {"weights": w / dp if zero_stage >= 3 else w, "gradients": 0.0, "master_weights": 0.0,
           "optimizer_state": 0.0}
    if training:
        # a gradient has its parameter's format (JAX, autograd), at least the tensors' 16 bits
        g = params * max(tensor_bytes(compute, training=True), weights.bytes)
        out["gradients"] = g / dp if zero_stage >= 2 else g
        shard = dp if zero_stage >= 1 else 1
        out["master_weights"] = (params * 4.0 if weights.bytes < 4 else 0.0) / shard
        out["optimizer_state"] = state_elems * 4.0 / shard
    return out
