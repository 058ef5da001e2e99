"""CPU cost model: SIMD / matrix-extension GEMMs over the cores, cache-blocked, DRAM bandwidth bound.

Work that cannot fill the cores does not get them: an op uses ``min(cores, work / grain)`` cores,
where a core needs at least :data:`GRAIN_FLOPS` to amortise threading; recurrent steps run one
after another, each with its own framework dispatch. Operands that fit in the last-level cache
are served from it instead of DRAM.
"""
from __future__ import annotations

from ..spec.models import CpuSpec, lookup
from ..units import GIGA
from ..workload.ops import Op
from .base import CostOptions, Numerics, OpCost, finish, op_bytes, overhead_s
from .peaks import cpu_vector_flops_per_cycle_per_core

GRAIN_FLOPS = 2e6  # ~1 ms of one core's scalar work at 2 GHz: below this, threading does not pay


def _cores_used(hw: CpuSpec, flops: float) -> int:
    return int(max(1, min(hw.compute.cores, flops // GRAIN_FLOPS)))


def cost(op: Op, hw: CpuSpec, numerics: Numerics, options: CostOptions) -> OpCost:
    """Cost of ``op`` on one CPU socket."""
    c = hw.compute
    p = numerics.compute
    eff = hw.efficiency
    steps = max(1, op.sequential_steps)
    per_step_flops = op.flops / steps
    cores = _cores_used(hw, per_step_flops)
    # one core turbos, but never past what the whole socket's peak counts (cores x all-core clock):
    # on a one-core socket (--set compute.cores=1) the turbo would beat the roofline (utilization 1.35)
    turbo = min(c.single_core_clock_ghz or c.clock_ghz, c.cores * c.clock_ghz)
    one_core_clock = turbo if cores == 1 else c.clock_ghz
    clock = one_core_clock * GIGA
    vec_per_core = cpu_vector_flops_per_cycle_per_core(hw, p)
    mat_per_core = max(lookup(c.matrix_flops_per_cycle_per_core, p), vec_per_core)
    compute_s = 0.0
    if op.gemms:
        compute_s += op.matrix_flops / (cores * clock * mat_per_core * eff.compute)
    compute_s += op.vector_flops / (cores * clock * vec_per_core * eff.vector)
    act_in, act_out, w_read = op_bytes(op, numerics, fused_attention=options.fused_attention)
    total = act_in + act_out + w_read
    levels: dict[str, float] = {}
    # cache blocking: a working set that fits in the last cache level before DRAM is served from it
    main = hw.main_memory.name
    llc = hw.memory[-2] if len(hw.memory) >= 2 else None
    working_set = (act_in + act_out + w_read) / steps
    if llc is not None and working_set <= 0.5 * llc.capacity_bytes:
        levels[llc.name] = total
        levels[main] = (act_out if steps == 1 else act_out / steps)  # results eventually written back
    else:
        levels[main] = total
    # a single core cannot pull the socket's full DRAM bandwidth
    mem_eff = eff.memory * min(1.0, cores / max(1.0, c.cores * 0.25))
    return finish(hw=hw, numerics=numerics, options=options, flops=op.flops, compute_s=compute_s,
                  bytes_by_level=levels, overhead_s=overhead_s(hw) * steps, memory_efficiency=mem_eff)
