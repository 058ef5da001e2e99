"""The GPU cost model (:mod:`.gpu`) over a whole op table at once: the same tile plans, waves,
split-K, stream-K, Winograd, L2 reuse and roofline, as numpy columns. :func:`costs` gives the same
:class:`~simulator.cost.base.OpCost` objects as :func:`simulator.cost.gpu.cost` op by op.
"""
from __future__ import annotations

import math

import numpy as np

from ..spec.models import GpuSpec, lookup
from ..units import GIGA
from ..workload.ops import Gemm
from .base import CostOptions, Numerics, OpCost, overhead_s
from .gpu import (SPLIT_K_MIN, STREAM_K_BLOCK, STREAM_K_MIN_K, WINOGRAD_SPEEDUP, _fill_rate_per_sm, _fit_dim,
                  dense_grouped_gemm, kernel_floor_s, nchw_transform_bytes, repeated_kv_bytes)
from .table import OpTable, finish_columns, op_bytes_columns, score_pass_columns

__all__ = ["costs"]


def _cdiv(a, b):
    return -(-a // b)


def _columns(t: OpTable) -> dict:
    """What the GPU model derives from the ops alone: per-step GEMMs (a recurrent op's GEMMs split
    over its steps), their dimensions padded to a power of two, and the Winograd-shaped convolutions."""
    per_step = []
    for op, steps in zip(t.ops, t.steps.tolist()):
        per_step.append([(g.m, g.n, g.k, max(1, g.count // steps)) if steps > 1 else (g.m, g.n, g.k, g.count)
                         for g in op.gemms])
    m, n, k, c = (np.ones((t.rows, t.slots), dtype=np.int64) for _ in range(4))
    used = np.zeros((t.rows, t.slots), dtype=bool)
    fit_m, fit_n = np.full((t.rows, t.slots), 16, dtype=np.int64), np.full((t.rows, t.slots), 16, dtype=np.int64)
    # the GEMMs a path without tensor cores runs instead (:func:`~simulator.cost.gpu.dense_grouped_gemm`)
    cuda_n, cuda_k, cuda_c, cuda_fit_n = n.copy(), k.copy(), c.copy(), fit_n.copy()
    for i, gs in enumerate(per_step):
        for j, (gm, gn, gk, gc) in enumerate(gs):
            m[i, j], n[i, j], k[i, j], c[i, j], used[i, j] = gm, gn, gk, gc, True
            fit_m[i, j], fit_n[i, j] = _fit_dim(gm), _fit_dim(gn)
            d = dense_grouped_gemm(t.ops[i], Gemm(m=gm, n=gn, k=gk, count=gc), tensor_path=False)
            cuda_n[i, j], cuda_k[i, j], cuda_c[i, j], cuda_fit_n[i, j] = d.n, d.k, d.count, _fit_dim(d.n)
    winograd = np.array([t.conv[i] and a.get("kernel") == "3x3" and a.get("stride") == 1 and a.get("groups", 1) == 1
                         for i, a in enumerate(t.attrs)], dtype=bool)
    causal = np.array([bool(a.get("causal")) for a in t.attrs], dtype=bool)
    # the causal mask's length: a context-parallel rank's chunks follow the whole sequence's
    q_len = np.array([int(a.get("causal_len", a.get("q_len", 1))) for a in t.attrs], dtype=np.int64)
    matrix = np.array([op.matrix_flops if c else 0.0 for op, c in zip(t.ops, causal.tolist())])
    single = np.array([len(op.gemms) == 1 for op in t.ops], dtype=bool)
    return {"m": m, "n": n, "k": k, "c": c, "used": used, "fit_m": fit_m, "fit_n": fit_n, "winograd": winograd,
            "cuda_n": cuda_n, "cuda_k": cuda_k, "cuda_c": cuda_c, "cuda_fit_n": cuda_fit_n,
            "causal": causal, "q_len": q_len, "single": single, "matrix": matrix}


def _option(sm: int, rate: float, m, n, k, c, tm, tn):
    """One tile option of :func:`~simulator.cost.gpu.gemm_plan` for every row: (seconds, waves, split, tiles)."""
    tiles = _cdiv(m, tm) * _cdiv(n, tn) * c
    split = np.where(tiles >= sm, 1, np.maximum(1, np.minimum(sm // np.maximum(tiles, 1), k // SPLIT_K_MIN)))
    waves = _cdiv(tiles * split, sm)
    seconds = waves * (2.0 * tm * tn * _cdiv(k, split)) / rate
    return seconds, waves, split, tiles


def _plans(hw: GpuSpec, rate: float, m, n, k, c, fit_m, fit_n):
    """:func:`~simulator.cost.gpu.gemm_plan` of every row: (seconds, waves, split-K, tile m, tile n)."""
    cm = hw.compute
    sm = cm.sm_count
    tm0, tn0 = np.minimum(cm.tile_m, fit_m), np.minimum(cm.tile_n, fit_n)
    half_m, half_n = np.minimum(np.maximum(64, tm0 // 2), tm0), np.minimum(np.maximum(64, tn0 // 2), tn0)
    seconds, waves, split, tiles0 = _option(sm, rate, m, n, k, c, tm0, tn0)
    tm, tn = tm0.copy(), tn0.copy()
    full = tiles0 >= sm  # a full wave with the spec's tile: no smaller tile is tried
    for om, on in ((tm0, half_n), (half_m, half_n), (np.minimum(64, tm0), np.minimum(64, tn0))):
        s, w, sp, _ = _option(sm, rate, m, n, k, c, om, on)
        better = ~full & (s < seconds)
        seconds, waves, split = np.where(better, s, seconds), np.where(better, w, waves), np.where(better, sp, split)
        tm, tn = np.where(better, om, tm), np.where(better, on, tn)
    streamed = full & (tiles0 % sm != 0) & (k >= STREAM_K_MIN_K)
    if streamed.any():
        per_sm = _cdiv(tiles0 * _cdiv(k, STREAM_K_BLOCK), sm)
        s = per_sm * 2.0 * tm0 * tn0 * STREAM_K_BLOCK / rate
        better = streamed & (s < seconds)
        seconds, waves = np.where(better, s, seconds), np.where(better, _cdiv(tiles0, sm) + 1, waves)
        split = np.where(better, 1, split)
        tm, tn = np.where(better, tm0, tm), np.where(better, tn0, tn)
    return seconds, waves, split, tm, tn


def _gemm_time(hw: GpuSpec, numerics: Numerics, t: OpTable, col: dict, idx: np.ndarray, steps: np.ndarray):
    """(compute seconds of the GEMMs, fp32 partial-sum bytes through HBM, through L2) of every row."""
    c, p, eff = hw.compute, numerics.compute, hw.efficiency
    clock = c.clock_ghz * GIGA
    tensor = lookup(c.tensor_flops_per_cycle_per_sm, p)
    rate = (tensor or lookup(c.vector_flops_per_cycle_per_sm, p)) * clock * eff.compute
    fill_rate = _fill_rate_per_sm(hw, p) or rate
    divide = np.where(col["winograd"][idx] & (not tensor), WINOGRAD_SPEEDUP, 1.0)
    l2 = hw.memory[0] if len(hw.memory) > 1 else None
    rows = len(idx)
    compute_s, partials, partials_l2 = np.zeros(rows), np.zeros(rows), np.zeros(rows)
    for j in range(t.slots):
        used = col["used"][idx, j]
        if not used.any():
            continue
        m = col["m"][idx, j]
        n, k, cnt, fit_n = (col[x if tensor else "cuda_" + x][idx, j] for x in ("n", "k", "c", "fit_n"))
        seconds, waves, split, tm, tn = _plans(hw, rate, m, n, k, cnt, col["fit_m"][idx, j], fit_n)
        fill = waves * 2.0 * tm * tn * eff.tile_fill_k / fill_rate
        compute_s = np.where(used, compute_s + (seconds + fill) * steps / divide, compute_s)
        workspace = 4.0 * split * m * n * cnt
        split_used = used & (split > 1)
        in_l2 = split_used & (workspace <= 0.5 * l2.capacity_bytes) if l2 is not None else np.zeros(rows, dtype=bool)
        partials_l2 = np.where(in_l2, partials_l2 + 2.0 * workspace * steps, partials_l2)
        partials = np.where(split_used & ~in_l2, partials + 2.0 * workspace * steps, partials)
    return compute_s, partials, partials_l2


def _hbm(hw: GpuSpec, numerics: Numerics, t: OpTable, col: dict, idx: np.ndarray, act_in, act_out, w_read):
    """HBM bytes of every row before L2 hits: operands once, or GEMM panels re-read (:func:`~simulator.cost.gpu.gemm_hbm_bytes`)."""
    hbm = act_in + act_out + w_read
    gemm = (t.matmul[idx] | t.conv[idx]) & col["single"][idx] & (t.steps[idx] == 1)
    if not gemm.any():
        return hbm
    c, act = hw.compute, numerics.act_bytes
    m, n, k, cnt = t.gm[idx, 0], t.gn[idx, 0], t.gk[idx, 0], t.gc[idx, 0]
    w_elem = np.where(w_read != 0, w_read / (k * n * cnt), act)
    a = np.where(t.conv[idx], act_in / np.maximum(1, cnt), m * k * act)
    b, o = k * n * w_elem, m * n * act
    l2 = hw.memory[0].capacity_bytes if len(hw.memory) > 1 else 0.0
    side = max(1, math.isqrt(c.sm_count))
    once = (cnt > 1) | (np.minimum(a, b) <= 0.5 * l2)
    reread = a * np.maximum(1, _cdiv(n, c.tile_n * side)) + b * np.maximum(1, _cdiv(m, c.tile_m * side)) + o
    return np.where(gemm, np.maximum(hbm, np.where(once, (a + b + o) * cnt, reread)), hbm)


def costs(t: OpTable, idx: np.ndarray, cached_elems: np.ndarray, hw: GpuSpec, numerics: Numerics,
          options: CostOptions) -> list[OpCost]:
    """:func:`simulator.cost.gpu.cost` of the ops ``idx`` of ``t`` (rows may repeat), each with its
    ``cached_elems`` input elements still in L2 (``options.cached_input_elems`` is ignored).

    Example:
        >>> from dataclasses import replace
        >>> from simulator.cost.gpu import cost
        >>> from simulator.spec.loader import load_hardware
        >>> from simulator.units import Precision
        >>> from simulator.workload.loader import load_workload
        >>> ops = load_workload("resnet50").build(batch_size=8).ops
        >>> h100, bf16 = load_hardware("nvidia-h100-sxm"), Numerics(Precision.BF16, Precision.BF16)
        >>> fast = costs(OpTable(ops), np.arange(len(ops)), np.zeros(len(ops)), h100, bf16, CostOptions())
        >>> fast == [cost(op, h100, bf16, CostOptions()) for op in ops]
        True
    """
    col = t.derived("gpu", _columns)
    c, p = hw.compute, numerics.compute
    steps = t.steps[idx]
    passes = options.score_passes if not options.fused_attention else 0
    act_in, act_out, w_read = op_bytes_columns(t, idx, numerics, options.fused_attention, passes=passes)
    compute_s, partials, partials_l2 = _gemm_time(hw, numerics, t, col, idx, steps)
    attention, forward = t.attention[idx], t.forward[idx]
    if c.sfu_ops_per_cycle_per_sm:
        exp = attention & (forward | options.fused_attention)
        compute_s = np.where(exp, compute_s + t.scores[idx] / (c.sfu_ops_per_cycle_per_sm * c.sm_count * c.clock_ghz
                                                                * GIGA), compute_s)
    flops = None
    if options.fused_attention:
        causal = attention & col["causal"][idx] & forward
        kept = 0.5 + 0.5 / np.maximum(1, _cdiv(col["q_len"][idx], c.tile_m))
        compute_s = np.where(causal, compute_s * kept, compute_s)
        if causal.any():  # the skipped tiles' FLOPs are not executed (as gpu.cost reports them)
            flops = np.where(causal, t.flops[idx] - col["matrix"][idx] * (1.0 - kept), t.flops[idx])
    hbm = _hbm(hw, numerics, t, col, idx, act_in, act_out, w_read)
    clock = c.clock_ghz * GIGA
    vec_rate = lookup(c.vector_flops_per_cycle_per_sm, p) * c.sm_count * clock * hw.efficiency.vector
    if vec_rate:
        compute_s = compute_s + t.vector_flops[idx] / vec_rate
    l2 = hw.memory[0] if len(hw.memory) > 1 else None
    if options.kv_per_query_head and l2 is not None:
        partials_l2 = partials_l2 + np.array([repeated_kv_bytes(t.ops[i], numerics) for i in idx.tolist()])
    cached = np.minimum(act_in, cached_elems * numerics.act_bytes) if l2 is not None else np.zeros(len(idx))
    hbm = np.maximum(0.0, hbm - cached)
    partials_l2 = partials_l2 + cached
    kernels = steps + score_pass_columns(t, idx, passes)
    if options.wide_convs_nchw:
        transforms = np.array([nchw_transform_bytes(t.ops[i], hw, numerics, options) for i in idx.tolist()])
        hbm = hbm + transforms
        kernels = kernels + np.where(transforms > 0, 2, 0)
    levels = {hw.main_memory.name: hbm + partials}
    keyed = {hw.main_memory.name: np.ones(len(idx), dtype=bool)}
    if l2 is not None:
        levels[l2.name], keyed[l2.name] = partials_l2, partials_l2 != 0
    return finish_columns(hw=hw, numerics=numerics, options=options, ops=[t.ops[i] for i in idx.tolist()],
                          compute_s=compute_s, levels=levels, keyed=keyed, overhead_s=overhead_s(hw) * kernels,
                          flops=flops, floor_s=kernels * kernel_floor_s(hw))
