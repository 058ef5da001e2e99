"""The PE-array cost models (:mod:`.array` for TPUs and ASICs, :mod:`.systolic` mappings) over a whole
op table at once. :func:`costs` gives the same :class:`~simulator.cost.base.OpCost` objects as
:func:`simulator.cost.tpu.cost` and :func:`simulator.cost.asic.cost` op by op.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..spec.models import Dataflow, _DeviceBase, lookup
from ..units import GIGA, Precision
from ..workload.ops import OpKind, attention_scores
from .array import ArrayShape, level_roles
from .base import CostOptions, Numerics, OpCost, overhead_s
from .table import OpTable, finish_columns, op_bytes_columns
from .tpu import FLASH_BLOCK, aqt_vector_flops, gqa_grouped

__all__ = ["costs", "array_shape"]


def _cdiv(a, b):
    return -(-a // b)


def array_shape(hw: _DeviceBase, numerics: Numerics) -> ArrayShape:
    """The matrix engine :func:`simulator.cost.tpu.cost` / :func:`simulator.cost.asic.cost` builds for ``hw``.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> from simulator.units import Precision
        >>> a = array_shape(load_hardware("google-tpu-v4"), Numerics(Precision.BF16, Precision.BF16))
        >>> a.rows, a.cols, a.arrays
        (128, 128, 8)
    """
    c, p = hw.compute, numerics.compute
    background = (c.background_load.max_moving, c.background_load.min_issue_cycles) if c.background_load else None
    if hw.kind == "tpu":
        return ArrayShape(rows=c.mxu_rows, cols=c.mxu_cols, arrays=c.cores_per_chip * c.mxus_per_core,
                          dataflow=c.dataflow, macs_per_pe_per_cycle=lookup(c.mxu_macs_per_pe_per_cycle, p),
                          clock_hz=c.clock_ghz * GIGA,
                          vector_flops_per_s=c.cores_per_chip * c.clock_ghz * GIGA
                          * lookup(c.vector_flops_per_cycle_per_core, p) * hw.efficiency.vector,
                          vector_depthwise=True, background_load=background, vector_overlaps_array=c.vector_overlaps_mxu)
    return ArrayShape(rows=c.pe_rows, cols=c.pe_cols, arrays=c.arrays, dataflow=c.dataflow,
                      macs_per_pe_per_cycle=lookup(c.macs_per_pe_per_cycle, p), clock_hz=c.clock_ghz * GIGA,
                      vector_flops_per_s=c.arrays * c.clock_ghz * GIGA * lookup(c.vector_flops_per_cycle, p)
                      * hw.efficiency.vector, background_load=background, gemm_output_via_vector=c.gemm_output_via_vector,
                      vector_overlaps_array=c.vector_overlaps_array,
                      geometries=tuple(tuple(s) for s in c.geometries.shapes) if c.geometries else (),
                      min_step_cycles=c.geometries.min_step_cycles if c.geometries else 0)


def _geometry_map(arr: ArrayShape, m, n, k, c):
    """(cycles, steps, tile rows, tile cols) of :func:`~simulator.cost.systolic.map_gemm_geometries` per row."""
    best = None
    for rows, cols in arr.geometries:
        steps = _cdiv(m, rows) * _cdiv(n, cols) * c
        cycles = steps * np.maximum(k, arr.min_step_cycles) - 1
        if best is None:
            best = (cycles, steps, np.full_like(m, rows), np.full_like(m, cols))
            continue
        take = (cycles < best[0]) | ((cycles == best[0]) & (rows + cols < best[2] + best[3]))
        best = tuple(np.where(take, new, old) for new, old in zip((cycles, steps, rows, cols), best))
    return best


def _tpu_columns(t: OpTable) -> dict:
    """The TPU's view of the ops: grouped-query attention as its kernels run it (:func:`gqa_grouped`),
    the score count it leaves, the AQT vector work, and the causal share a flash kernel computes."""
    grouped = [gqa_grouped(op) for op in t.ops]
    m, n, k, c, used = t.gemm_columns([op.gemms for op in grouped])
    scores = np.array([attention_scores(op) if op.kind == OpKind.ATTENTION else 0.0 for op in grouped])
    aqt = np.array([aqt_vector_flops(op) for op in grouped])
    causal = []
    for a in t.attrs:
        q, kv = int(a.get("causal_len", a.get("q_len", 1))), int(a.get("kv_len", 1))
        blocks = _cdiv(q, FLASH_BLOCK)
        causal.append((blocks + 1) / (2 * blocks) if a.get("causal") and q == kv else 1.0)
    return {"gemms": (m, n, k, c, used), "scores": scores, "aqt": aqt, "causal": np.array(causal),
            "flops": np.array([float(op.flops) for op in grouped]),
            "matrix": np.array([op.matrix_flops for op in grouped])}


def _plain_columns(t: OpTable) -> dict:
    return {"gemms": (t.gm, t.gn, t.gk, t.gc, t.gv), "scores": t.scores, "aqt": np.zeros(t.rows),
            "causal": np.ones(t.rows), "flops": t.flops, "matrix": np.array([op.matrix_flops for op in t.ops])}


def _map(arr: ArrayShape, m, n, k, c, *, background: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(cycles, folds) of :func:`~simulator.cost.systolic.map_gemm` (or ``map_gemm_background``) per row."""
    rows, cols = arr.rows, arr.cols
    if arr.geometries:
        cycles, steps, _, _ = _geometry_map(arr, m, n, k, c)
        return cycles, steps
    if background and arr.background_load:
        moving, issue = arr.background_load
        best = None
        for on_cols, streamed in ((n, m), (m, n)):
            chunks = _cdiv(streamed, moving)
            last = streamed - (chunks - 1) * moving
            per_fold = (chunks - 1) * max(moving, issue) + np.maximum(last, issue)
            folds = _cdiv(k, rows) * _cdiv(on_cols, cols) * c
            cycles = _cdiv(folds, arr.arrays) * per_fold + 2 * rows + cols - 2 - 1
            best = (cycles, folds) if best is None else (np.where(cycles < best[0], cycles, best[0]),
                                                          np.where(cycles < best[0], folds, best[1]))
        return best
    arrays = arr.arrays if background else 1
    if arr.dataflow == Dataflow.OS:
        on_rows, on_cols, per_fold = m, n, k + rows + cols - 2
    elif arr.dataflow == Dataflow.IS:
        on_rows, on_cols, per_fold = k, m, 2 * rows + cols + n - 2
    else:
        on_rows, on_cols, per_fold = k, n, 2 * rows + cols + m - 2
    folds = _cdiv(on_rows, rows) * _cdiv(on_cols, cols) * c
    return _cdiv(folds, arrays) * per_fold - 1, folds


def _buffer_elems(arr: ArrayShape, m, n, k, c) -> np.ndarray:
    """:func:`~simulator.cost.array.buffer_traffic` per row."""
    rows, cols = arr.rows, arr.cols
    if arr.geometries:  # output stationary on the chosen tile
        _, steps, rows, cols = _geometry_map(arr, m, n, k, c)
        return steps * (rows * k + cols * k + rows * cols)
    _, folds = _map(arr, m, n, k, c, background=False)
    if arr.dataflow == Dataflow.OS:
        return folds * (rows * k + cols * k + rows * cols)
    streamed = m if arr.dataflow in (Dataflow.WS, Dataflow.RS) else n
    return folds * (rows * cols + streamed * rows + streamed * cols)


def _array_work(arr: ArrayShape, gemms, idx: np.ndarray, efficiency: float):
    """(array cycles + 1 per GEMM, seconds of depthwise GEMMs on the vector unit, buffer elements) per row."""
    gm, gn, gk, gc, gv = gemms
    rows = len(idx)
    cycles, on_vector, buffer = np.zeros(rows, dtype=np.int64), np.zeros(rows), np.zeros(rows)
    per_mac = max(arr.macs_per_pe_per_cycle, 1e-9)
    for j in range(gm.shape[1]):
        used = gv[idx, j]
        if not used.any():
            continue
        m, n, k, c = gm[idx, j], gn[idx, j], gk[idx, j], gc[idx, j]
        mapped, _ = _map(arr, m, n, k, c)
        bn, bk, bc = n, k, c
        depthwise = (n == 1) & (c > 1)
        if arr.vector_depthwise:
            p = arr.rows // np.maximum(1, k)
            pack = depthwise & (p >= 2)
            pn, pk, pc = np.where(pack, p, n), np.where(pack, p * k, k), np.where(pack, _cdiv(c, np.maximum(p, 1)), c)
            packed, _ = _map(arr, m, pn, pk, pc)
            take = pack & (packed < mapped)
            mapped = np.where(take, packed, mapped)
            bn, bk, bc = np.where(take, pn, n), np.where(take, pk, k), np.where(take, pc, c)
        vector = np.zeros(rows, dtype=bool)
        if arr.vector_depthwise and arr.vector_flops_per_s > 0:
            array_s = ((mapped + 1) / per_mac) / arr.clock_hz / efficiency
            vector_s = 2.0 * (m * n * k * c) / arr.vector_flops_per_s
            vector = used & depthwise & (vector_s < array_s)
            on_vector = np.where(vector, on_vector + vector_s, on_vector)
        on_array = used & ~vector
        cycles = np.where(on_array, cycles + mapped + 1, cycles)
        buffer = np.where(on_array, buffer + _buffer_elems(arr, m, bn, bk, bc), buffer)
    return cycles, on_vector, buffer


def _costs(t: OpTable, col: dict, idx: np.ndarray, hw: _DeviceBase, numerics: Numerics, options: CostOptions,
           serial: np.ndarray) -> list[OpCost]:
    arr = array_shape(hw, numerics)
    rf, buf, main = level_roles(hw)
    act_in, act_out, w_read = op_bytes_columns(t, idx, numerics, options.fused_attention, col["scores"])
    cycles, on_vector_s, buffer_elems = _array_work(arr, col["gemms"], idx, hw.efficiency.compute)
    gm, gn, gk, gc, gv = col["gemms"]
    macs = np.where(gv[idx], gm[idx] * gn[idx] * gk[idx] * gc[idx], 0).sum(axis=1)
    array_s = np.where(cycles != 0, (cycles / max(arr.macs_per_pe_per_cycle, 1e-9)) / arr.clock_hz
                       / hw.efficiency.compute, 0.0)
    vector_s, serial_s = on_vector_s, np.zeros(len(idx))
    if arr.vector_flops_per_s > 0:
        evacuated = np.where(gv[idx], gm[idx] * gn[idx] * gc[idx], 0).sum(axis=1) if arr.gemm_output_via_vector \
            else 0.0
        vector_s = vector_s + (t.vector_flops[idx] + evacuated) / arr.vector_flops_per_s
        serial_s = serial / arr.vector_flops_per_s
    overlapped = np.maximum(array_s, vector_s) if arr.vector_overlaps_array else array_s + vector_s
    work = col["causal"][idx] if options.fused_attention else np.ones(len(idx))
    fraction = np.where(t.attention[idx], work, 1.0)
    compute_s = overlapped * fraction + serial_s
    # the skipped blocks' FLOPs are not executed (as array.array_cost reports them)
    flops = col["flops"][idx] - col["matrix"][idx] * (1.0 - fraction)
    levels: dict[str, np.ndarray] = {}
    if options.weights_on_chip and buf is not None:
        levels[main], levels[buf] = act_in + act_out, w_read
    else:
        levels[main] = act_in + act_out + w_read
    if buf is not None and buf != main:
        levels[buf] = levels.get(buf, 0.0) + buffer_elems * numerics.act_bytes
    if rf is not None:
        levels[rf] = macs * 3 * numerics.act_bytes
    keyed = {name: np.ones(len(idx), dtype=bool) for name in levels}
    compute_cycles = [x - 1 if x else None for x in cycles.tolist()]
    return finish_columns(hw=hw, numerics=numerics, options=options, ops=[t.ops[i] for i in idx.tolist()],
                          compute_s=compute_s, levels=levels, keyed=keyed,
                          overhead_s=np.full(len(idx), overhead_s(hw)), compute_cycles=compute_cycles,
                          flops=flops)


def costs(t: OpTable, idx: np.ndarray, cached_elems: np.ndarray, hw: _DeviceBase, numerics: Numerics,
          options: CostOptions) -> list[OpCost]:
    """:func:`simulator.cost.tpu.cost` (``hw.kind == "tpu"``) or :func:`simulator.cost.asic.cost` of
    the ops ``idx`` of ``t`` (rows may repeat). The array models read no cache state, so
    ``cached_elems`` is ignored. AQT int8 training costs attention in bf16 and quantizes the rest
    on the vector units, as the reference does.

    Example:
        >>> from simulator.cost.tpu import cost
        >>> from simulator.spec.loader import load_hardware
        >>> from simulator.units import Precision
        >>> from simulator.workload.loader import load_workload
        >>> ops = load_workload("gpt2").build(batch_size=2, seq_len=128).ops
        >>> v4, bf16 = load_hardware("google-tpu-v4"), Numerics(Precision.BF16, Precision.BF16)
        >>> fast = costs(OpTable(ops), np.arange(len(ops)), np.zeros(len(ops)), v4, bf16, CostOptions())
        >>> fast == [cost(op, v4, bf16, CostOptions()) for op in ops]
        True
    """
    tpu = hw.kind == "tpu"
    col = t.derived("tpu" if tpu else "array", _tpu_columns if tpu else _plain_columns)
    if not (tpu and numerics.training and numerics.compute == Precision.INT8):
        return _costs(t, col, idx, hw, numerics, options, np.zeros(len(idx)))
    # AQT: attention runs in bf16; the projections quantize their operands (serial vector work)
    attention = t.attention[idx]
    out: list[OpCost | None] = [None] * len(idx)
    for mask, num, serial in ((attention, replace(numerics, compute=Precision.BF16), None), (~attention, numerics, "aqt")):
        where = np.flatnonzero(mask)
        if len(where):
            sub = idx[where]
            extra = col["aqt"][sub] if serial else np.zeros(len(sub))
            for i, c in zip(where.tolist(), _costs(t, col, sub, hw, num, options, extra)):
                out[i] = c
    return out
