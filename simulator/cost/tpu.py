"""TPU cost model: GEMMs on the MXU systolic arrays of every core, the rest on the vector units."""
from __future__ import annotations

from dataclasses import replace

from ..spec.models import TpuSpec, lookup
from ..units import GIGA, Precision
from ..workload.ops import Op, OpKind, Phase, ceil_div
from ..workload.training import WEIGHT_OPERAND, gemm_weight_elems
from .array import ArrayShape, array_cost
from .base import CostOptions, Numerics, OpCost

# Query / key block of the fused attention kernels MaxText runs on TPUs (Pallas flash attention at
# AI-Hypercomputer/maxtext@76bd53b0 MaxText/layers/attentions.py, block_q = block_k = 512; splash
# attention's sa_block_q / sa_block_kv default 512 in later base.yml)
FLASH_BLOCK = 512


# AQT int8 training (MaxText / PAX quantization=int8) quantizes both operands of every projection's
# dot_general on the fly, forward and backward, and dequantizes its int32 result: per operand
# element abs, max (the per-channel scale), multiply by the inverse scale, round, clip (2), convert;
# per result element convert and the two scale multiplies (google/aqt aqt_dot_general: quantizer
# calibration abs-max, then round and clip; dequantize by lhs_scale * rhs_scale). On the vector units.
AQT_QUANTIZE_OPS = 7.0
AQT_DEQUANTIZE_OPS = 3.0


def weight_operand_elems(op: Op) -> float:
    """Weight elements ``op``'s GEMMs take as an operand: a weight GEMM's ``k x n`` forward (and when
    recomputed), the ``dX = dY W^T`` GEMMs of its backward (:data:`WEIGHT_OPERAND`); 0 otherwise.

    Example:
        >>> from simulator.workload import ops as O
        >>> from simulator.workload.training import backward_op
        >>> fc = O.matmul("fc", batch=1, m=2, k=3, n=4)
        >>> weight_operand_elems(fc), weight_operand_elems(backward_op(fc, True)), weight_operand_elems(backward_op(fc, False))
        (12.0, 12.0, 0.0)
        >>> weight_operand_elems(O.matmul("qk", batch=1, m=2, k=3, n=4, has_weight=False))
        0.0
    """
    if op.phase == Phase.BACKWARD:
        return float(dict(op.attrs).get(WEIGHT_OPERAND, 0.0))
    if op.kind == OpKind.MATMUL and op.param_elems:
        return gemm_weight_elems(op)
    return 0.0


def aqt_vector_flops(op: Op, weight_shards: int = 1) -> float:
    """Vector work AQT int8 training adds to one op: every GEMM quantizes its ``m x k`` and ``k x n``
    operands and dequantizes its ``m x n`` result (:data:`AQT_QUANTIZE_OPS`, :data:`AQT_DEQUANTIZE_OPS`).

    A weight operand sharded over ``weight_shards`` ZeRO-3 / FSDP ranks is quantized on each rank's
    shard, before the all-gather: XLA's SPMD partitioner propagates the parameter's sharding through
    the element-wise quantization (abs, scale multiply, round, clip, convert; the per-channel abs-max
    over a sharded contraction axis becomes a shard-local max and a small all-reduce) and inserts the
    all-gather where the dot needs the whole operand, so what is gathered is the int8 tensor (1 byte
    per weight, as :func:`simulator.parallel.plan._gather_bytes` gathers it). The weight's full
    quantization is then paid by the group together, 1 / ``weight_shards`` of it per rank.

    Example:
        >>> from simulator.workload import ops as O
        >>> aqt_vector_flops(O.matmul("fc", batch=1, m=2, k=3, n=4))     # 7 x (6 + 12) + 3 x 8
        150.0
        >>> aqt_vector_flops(O.matmul("fc", batch=1, m=2, k=3, n=4), weight_shards=4)   # 7 x (6 + 12 / 4) + 3 x 8
        87.0
    """
    whole = sum(g.count * (AQT_QUANTIZE_OPS * (g.m * g.k + g.k * g.n) + AQT_DEQUANTIZE_OPS * g.m * g.n)
                for g in op.gemms)
    if weight_shards <= 1:
        return whole
    return whole - AQT_QUANTIZE_OPS * weight_operand_elems(op) * (1.0 - 1.0 / weight_shards)


def gqa_grouped(op: Op) -> Op:
    """An attention op with grouped-query heads as TPU attention kernels run it: the query heads that
    share a K/V head are one matrix against it (``group * q_len`` rows, ``batch * kv_heads`` GEMMs),
    so a decode step streams the group's queries past each K/V tile instead of loading the tile
    once per query head (ragged paged attention in vLLM TPU / JetStream packs the query heads of a
    KV head into one block: ``num_q_heads_per_kv_head``). Same MACs; other ops are returned as they are.

    Example:
        >>> from simulator.workload import ops as O
        >>> a = O.attention("a", batch=2, heads=8, q_len=1, kv_len=100, head_dim=128, kv_heads=2)
        >>> gqa_grouped(a).gemms[0]
        Gemm(m=4, n=100, k=128, count=4)
    """
    attrs = dict(op.attrs)
    heads, kv = int(attrs.get("heads", 1)), int(attrs.get("kv_heads", attrs.get("heads", 1)))
    if op.kind != OpKind.ATTENTION or kv >= heads or heads % kv or len(op.gemms) != 2:
        return op
    group = heads // kv
    if any(g.count % group for g in op.gemms):
        return op
    gemms = tuple(replace(g, m=g.m * group, count=g.count // group) for g in op.gemms)
    return replace(op, gemms=gemms)


def causal_work_fraction(op: Op, options: CostOptions) -> float:
    """Share of a fused causal attention's blocks a TPU kernel computes: the Pallas TPU flash
    attention runs a (query, key) block only when ``below_or_on_diag`` (jax/experimental/pallas/ops/
    tpu/flash_attention.py), in the forward and both backward kernels: with ``n`` blocks per side,
    ``n (n + 1) / 2`` of ``n^2``. A decode step (one query against the cache) skips nothing.

    Example:
        >>> from simulator.workload import ops as O
        >>> a = O.attention("a", batch=1, heads=8, q_len=2048, kv_len=2048, head_dim=128, causal=True)
        >>> causal_work_fraction(a, CostOptions())     # 4 blocks of 512: 10 of 16 run
        0.625
    """
    attrs = dict(op.attrs)
    if op.kind != OpKind.ATTENTION or not options.fused_attention or not attrs.get("causal"):
        return 1.0
    # a context-parallel rank's load-balanced query chunks do 1/cp of the whole sequence's blocks
    q, kv = int(attrs.get("causal_len", attrs.get("q_len", 1))), int(attrs.get("kv_len", 1))
    if q != kv:
        return 1.0
    n = ceil_div(q, FLASH_BLOCK)
    return (n + 1) / (2 * n)


def cost(op: Op, hw: TpuSpec, numerics: Numerics, options: CostOptions) -> OpCost:
    """Cost of ``op`` on a TPU chip: ``cores_per_chip * mxus_per_core`` arrays work on its folds.

    Depthwise convolutions run on the vector units when that is faster (XLA and the Edge TPU
    compiler do so), see :func:`~simulator.cost.array.depthwise_on_vector`. An MXU that shifts its
    next weight tile in behind the current one (``compute.background_load``) pays the systolic fill
    and drain once per GEMM, see :func:`~simulator.cost.systolic.map_gemm_background`. A fused
    causal attention computes only its blocks on or below the diagonal (:func:`causal_work_fraction`).
    Grouped-query attention runs each K/V head's query heads together (:func:`gqa_grouped`).
    int8 training (AQT) pays the quantization of every GEMM's operands on the vector units
    (:func:`aqt_vector_flops`) and runs the fused attention in bf16. On a VLIW TensorCore
    (``compute.vector_overlaps_mxu``) an op's vector work issues in the same bundles as its MXU work:
    the op takes the longer of the two.
    """
    c = hw.compute
    op = gqa_grouped(op)
    serial = 0.0
    if numerics.training and numerics.compute == Precision.INT8:
        # AQT wraps the projections' dot_generals; the fused attention kernel stays in bf16. The
        # quantization (a reduction over each operand first) runs in fusions of its own, before
        # the matmul, so it does not overlap it
        if op.kind == OpKind.ATTENTION:
            numerics = replace(numerics, compute=Precision.BF16)
        else:
            serial = aqt_vector_flops(op, options.weight_shards)
    arr = ArrayShape(rows=c.mxu_rows, cols=c.mxu_cols, arrays=c.cores_per_chip * c.mxus_per_core,
                     dataflow=c.dataflow, macs_per_pe_per_cycle=lookup(c.mxu_macs_per_pe_per_cycle, numerics.compute),
                     clock_hz=c.clock_ghz * GIGA,
                     vector_flops_per_s=c.cores_per_chip * c.clock_ghz * GIGA
                     * lookup(c.vector_flops_per_cycle_per_core, numerics.compute) * hw.efficiency.vector,
                     vector_depthwise=True,
                     background_load=(c.background_load.max_moving, c.background_load.min_issue_cycles)
                     if c.background_load else None, vector_overlaps_array=c.vector_overlaps_mxu)
    return array_cost(op, hw, numerics, options, arr, compute_efficiency=hw.efficiency.compute,
                      work_fraction=causal_work_fraction(op, options), serial_vector_flops=serial)
