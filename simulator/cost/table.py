"""Ops as columns: what the cost models read of every op, as numpy arrays built once per graph, and
the roofline arithmetic of :func:`simulator.cost.base.finish` over whole columns.

The vectorised cost models (:mod:`.vgpu`, :mod:`.varray`) compute every op's cost at once from an
:class:`OpTable`; the per-op models (:mod:`.gpu`, :mod:`.tpu`, :mod:`.asic`) stay the reference, and
``tests/unit/test_vector_costs.py`` asserts both give equal :class:`~simulator.cost.base.OpCost`
objects (exactly: every float is computed with the same operations in the same order, so IEEE
arithmetic gives the same bits; quantities that depend only on the op, such as its FLOPs or the
padded GEMM sizes, are computed in Python when the table is built, as the reference computes them).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..spec.models import _DeviceBase, lookup
from ..units import GIGA, PICO
from ..workload.ops import INPUT_FORMAT, OUTPUT_FORMAT, OUTPUT_READ, STATS_ELEMS, Op, OpKind, Phase, attention_scores
from .base import FP32_SOFTMAX_EXTRA_BYTES, Bound, CostOptions, Numerics, OpCost, active_power_w

__all__ = ["OpTable", "op_bytes_columns", "score_pass_columns", "finish_columns"]


def _f(values) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def _i(values) -> np.ndarray:
    return np.array(values, dtype=np.int64)


class OpTable:
    """Columns of ``ops`` (one row per op): kinds and phases as masks, element counts, FLOPs, and
    up to :attr:`slots` GEMMs per op (``gm``, ``gn``, ``gk``, ``gc`` of shape ``(rows, slots)``,
    ``gv`` marks the slots an op uses). Model-specific columns are derived on first use and kept
    (:meth:`derived`).

    Example:
        >>> from simulator.workload import ops as O
        >>> t = OpTable([O.matmul("fc", batch=2, m=1, k=8, n=4), O.softmax("sm", elems=8)])
        >>> t.rows, t.slots, t.gm[:, 0].tolist(), t.gv[:, 0].tolist()
        (2, 1, [2, 1], [True, False])
    """

    def __init__(self, ops: Sequence[Op]) -> None:
        from ..workload.training import STATS_PASS

        self.ops = tuple(ops)
        self.rows = len(self.ops)
        self.slots = max([1] + [len(op.gemms) for op in self.ops])
        kind = [op.kind for op in self.ops]
        self.attention = np.array([k == OpKind.ATTENTION for k in kind], dtype=bool)
        self.conv = np.array([k == OpKind.CONV2D for k in kind], dtype=bool)
        self.matmul = np.array([k == OpKind.MATMUL for k in kind], dtype=bool)
        self.optimizer = np.array([k == OpKind.OPTIMIZER for k in kind], dtype=bool)
        self.forward = np.array([op.phase == Phase.FORWARD for op in self.ops], dtype=bool)
        self.backward = np.array([op.phase == Phase.BACKWARD for op in self.ops], dtype=bool)
        attrs = [dict(op.attrs) for op in self.ops]
        self.attrs = attrs
        # ops that declare a tensor format of their own or read their output: only the per-op models
        # charge it (op_bytes)
        self.declared_formats = any(INPUT_FORMAT in a or OUTPUT_FORMAT in a or OUTPUT_READ in a for a in attrs)
        self.stats_pass = np.array([op.phase != Phase.BACKWARD and bool(a.get(STATS_PASS))
                                    for op, a in zip(self.ops, attrs)], dtype=bool)
        self.flops = _f([float(op.flops) for op in self.ops])
        self.input = _f([float(op.input_elems) for op in self.ops])
        self.stats_elems = _f([float(a.get(STATS_ELEMS, op.input_elems)) for op, a in zip(self.ops, attrs)])
        self.output = _f([float(op.output_elems) for op in self.ops])
        # inputs of an attention beyond its queries: K and V (max as op_bytes takes it)
        self.kv = _f([float(max(0.0, op.input_elems - op.output_elems)) for op in self.ops])
        self.scratch = _f([float(op.scratch_elems) for op in self.ops])
        self.weight_read = _f([float(op.weight_read_elems) for op in self.ops])
        self.vector_flops = _f([op.vector_flops for op in self.ops])
        self.scores = _f([attention_scores(op) if op.kind == OpKind.ATTENTION else 0.0 for op in self.ops])
        self.steps = _i([max(1, op.sequential_steps) for op in self.ops])
        self.gm, self.gn, self.gk, self.gc, self.gv = self.gemm_columns([op.gemms for op in self.ops])
        self._derived: dict = {}

    def gemm_columns(self, gemms: Sequence[Sequence]) -> tuple[np.ndarray, ...]:
        """(m, n, k, count, used) arrays of shape ``(rows, slots)`` from each op's GEMM list; unused
        slots hold 1s (never 0, so divisions in masked-out lanes stay finite)."""
        shape = (self.rows, self.slots)
        m, n, k, c = (np.ones(shape, dtype=np.int64) for _ in range(4))
        used = np.zeros(shape, dtype=bool)
        for i, gs in enumerate(gemms):
            for j, g in enumerate(gs):
                m[i, j], n[i, j], k[i, j], c[i, j], used[i, j] = g.m, g.n, g.k, g.count, True
        return m, n, k, c, used

    def derived(self, name: str, make):
        """``make(self)`` computed on first use and kept under ``name`` (columns a model derives)."""
        if name not in self._derived:
            self._derived[name] = make(self)
        return self._derived[name]


def op_bytes_columns(t: OpTable, idx: np.ndarray, numerics: Numerics, fused_attention: bool,
                     scores: np.ndarray | None = None, passes: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`simulator.cost.base.op_bytes` of the rows ``idx``: (activation bytes read, written,
    weight bytes read), as arrays. ``scores`` replaces the table's attention score counts (a model
    that costs a rewritten op, such as a grouped-query attention, reads that op's). ``passes``: the
    unfused attentions' element-wise kernels over their scores (:func:`score_pass_columns`).

    Example:
        >>> from simulator.units import Precision
        >>> from simulator.workload import ops as O
        >>> t = OpTable([O.matmul("fc", batch=2, m=1, k=8, n=4)])
        >>> [a.tolist() for a in op_bytes_columns(t, np.array([0]), Numerics(Precision.BF16, Precision.INT8), True)]
        [[32.0], [16.0], [36.0]]
    """
    act = numerics.act_bytes
    attention = t.attention[idx]
    inputs, outputs = t.input[idx], t.output[idx]
    kv_bytes = act if numerics.training else numerics.compute.bytes
    act_in = np.where(attention, outputs * act + t.kv[idx] * kv_bytes, inputs * act)
    act_in = np.where(t.stats_pass[idx], act_in + t.stats_elems[idx] * act, act_in)
    act_out = outputs * act
    if not fused_attention:
        scratch = t.scratch[idx]
        act_in = np.where(attention, act_in + scratch * act, act_in)
        act_out = np.where(attention, act_out + scratch * act, act_out)
        if act < 4:
            extra = (t.scores if scores is None else scores)[idx] * FP32_SOFTMAX_EXTRA_BYTES
            act_in = np.where(attention, act_in + extra, act_in)
            act_out = np.where(attention, act_out + extra, act_out)
        if passes > 0:
            extra = score_pass_columns(t, idx, passes) * (t.scores if scores is None else scores)[idx] * act
            act_in = np.where(attention, act_in + extra, act_in)
            act_out = np.where(attention, act_out + extra, act_out)
    w_read = t.weight_read[idx] * np.where(t.optimizer[idx], 4.0, float(numerics.weight_bytes))
    return act_in, act_out, w_read


def score_pass_columns(t: OpTable, idx: np.ndarray, passes: int) -> np.ndarray:
    """:func:`simulator.cost.base.score_passes` of the rows ``idx`` of an unfused run (int64).

    Example:
        >>> from simulator.workload import ops as O
        >>> t = OpTable([O.attention("a", batch=1, heads=1, q_len=4, kv_len=4, head_dim=8), O.softmax("s", elems=8)])
        >>> score_pass_columns(t, np.array([0, 1]), 2).tolist()
        [2, 0]
    """
    attention = t.attention[idx]
    per_row = np.where(t.backward[idx], passes - 1, passes)
    return np.where(attention, per_row, 0).astype(np.int64) if passes > 0 else np.zeros(len(idx), dtype=np.int64)


def finish_columns(*, hw: _DeviceBase, numerics: Numerics, options: CostOptions, ops: Sequence[Op],
                   compute_s: np.ndarray, levels: dict[str, np.ndarray], keyed: dict[str, np.ndarray],
                   overhead_s: np.ndarray, compute_cycles: Sequence[int | None] | None = None,
                   flops: np.ndarray | None = None, floor_s: np.ndarray | None = None) -> list[OpCost]:
    """:func:`simulator.cost.base.finish` of every row: one :class:`OpCost` per op of ``ops``.

    ``flops``: the FLOPs each row executes when not its op's (a causal kernel skips blocks).
    ``floor_s``: each row's shortest busy time (``finish``'s ``floor_s``; None: 0).

    ``levels`` maps memory level names to bytes per row, in the order the reference model inserts
    them into its ``bytes_by_level``; ``keyed[name]`` says in which rows that level is a key at all
    (the reference leaves some out when they are zero). Raises nothing.
    """
    main = hw.main_memory.name
    eff_main = hw.efficiency.memory
    rows = len(ops)
    level_s: dict[str, np.ndarray] = {}
    energy: dict[str, np.ndarray] = {}
    memory_s = np.zeros(rows)
    present: dict[str, np.ndarray] = {}
    for level in hw.memory:
        b = levels.get(level.name)
        if b is None:
            continue
        present[level.name] = b > 0
        eff = eff_main if level.name == main else 1.0
        level_s[level.name] = np.where(b > 0, b / (level.bandwidth_gbs * GIGA * eff), 0.0)
        energy[level.name] = np.where(b > 0, b * level.energy_pj_per_byte * PICO, 0.0)
        memory_s = np.maximum(memory_s, level_s[level.name])
    floor = np.zeros(rows) if floor_s is None else floor_s
    roof = np.maximum(compute_s, memory_s)
    busy = np.maximum(roof, floor)
    bound = np.where((busy <= 0) & (overhead_s <= 0), 0, np.where((overhead_s > busy) | (floor > roof), 0,
                                                                  np.where(compute_s >= memory_s, 1, 2)))
    duration = busy + overhead_s
    level_sum = np.zeros(rows)
    for name in energy:
        level_sum = level_sum + energy[name]
    executed = _f([float(op.flops) for op in ops]) if flops is None else flops
    total = executed * lookup(hw.power.energy_pj_per_flop, numerics.compute) * PICO \
        + level_sum
    total = total + 0.0  # the reference adds its extra energy (0 here) before the cap
    cap = min(hw.power.tdp_w, options.power_cap_w) if options.power_cap_w else hw.power.tdp_w
    active = active_power_w(hw, cap)
    headroom = cap - hw.power.idle_w - active
    throttled = np.zeros(rows)
    if headroom > 0:
        need = total / headroom
        throttled = np.where((busy > 0) & (total > 0) & (need > busy), need - busy, 0.0)
    duration = duration + throttled
    active_j = active * duration
    with_active = (duration > 0) if active else np.zeros(rows, dtype=bool)
    total = np.where(with_active, total + active_j, total)
    return _op_costs(ops, hw, duration, compute_s, memory_s, overhead_s, bound, total, throttled, levels, keyed,
                     level_s, energy, present, active_j, with_active, compute_cycles,
                     None if flops is None else flops.tolist())


_BOUNDS = (Bound.OVERHEAD, Bound.COMPUTE, Bound.MEMORY)


def _op_costs(ops, hw, duration, compute_s, memory_s, overhead_s, bound, total, throttled, levels, keyed, level_s,
              energy, present, active_j, with_active, compute_cycles, flops=None) -> list[OpCost]:
    """The :class:`OpCost` objects of :func:`finish_columns` (dicts keyed as the reference keys them)."""
    main = hw.main_memory.name
    cols = [a.tolist() for a in (duration, compute_s, memory_s, overhead_s, bound, total, throttled, active_j,
                                 with_active)]
    lv = {name: (levels[name].tolist(), keyed[name].tolist()) for name in levels}
    ls = {name: (level_s[name].tolist(), energy[name].tolist(), present[name].tolist()) for name in level_s}
    cycles = compute_cycles if compute_cycles is not None else [None] * len(ops)
    out = []
    for i, op in enumerate(ops):
        by_level = {name: b[i] for name, (b, k) in lv.items() if k[i]}
        by_level["_main"] = by_level.get(main, 0.0)
        seconds = {name: s[i] for name, (s, _, p) in ls.items() if p[i]}
        joules = {name: e[i] for name, (_, e, p) in ls.items() if p[i]}
        if cols[8][i]:
            joules["active"] = cols[7][i]
        out.append(OpCost(duration_s=cols[0][i], compute_s=cols[1][i], memory_s=cols[2][i], overhead_s=cols[3][i],
                          flops=op.flops if flops is None else flops[i], bytes_by_level=by_level, level_s=seconds, bound=_BOUNDS[cols[4][i]],
                          dynamic_energy_j=cols[5][i], compute_cycles=cycles[i], throttled_s=cols[6][i],
                          energy_by_level_j=joules))
    return out
