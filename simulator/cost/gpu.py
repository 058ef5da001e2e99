"""GPU cost model: thread-block tiles in waves over the SMs on tensor cores, L2 reuse, HBM streaming.

GEMM: the output is cut into ``tile_m x tile_n`` tiles (smaller tiles when the big ones would leave
SMs idle, as cuBLAS heuristics do, and never larger than the GEMM itself rounded up to a power of
two); tiles run in waves of ``sm_count``; a wave takes one tile's time at the per-SM tensor rate, so
a 133-tile GEMM on 132 SMs takes two waves, unless a persistent stream-K kernel (K-iterations dealt
evenly over the SMs, a fix-up for shared tiles) is faster. When the tiles alone leave SMs idle, K is
split across them (split-K) and the fp32 partial sums are reduced in L2 (through HBM when the
workspace exceeds half the L2). Every wave also pays a fixed
pipeline fill / epilogue (``efficiency.tile_fill_k``). fp32 3x3 stride-1 convolutions without a tensor-core
path run as Winograd; grouped (not depthwise) ones on such paths run as the dense convolution of the
same channels (:func:`dense_grouped_gemm`). HBM traffic is each operand once if the smaller one fits in half the L2 (an
implicit-GEMM convolution's A operand is its input tensor, not the im2col matrix), else operand
panels are re-read once per block of concurrently running tiles.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..spec.models import GpuSpec, lookup
from ..units import GIGA, Precision
from ..workload.ops import Gemm, Op, OpKind, attention_scores, ceil_div
from .base import CostOptions, Numerics, OpCost, finish, op_bytes, overhead_s, score_passes


def _tile_options(c, g: Gemm | None = None) -> list[tuple[int, int]]:
    """Thread-block tiles to try, the spec's first. A GEMM dimension smaller than the tile gets a
    tile cut down to it (rounded up to a power of two, at least the 16-wide MMA fragment): a
    decode-step attention with one query row is not padded to a 128-row tile."""
    tm, tn = c.tile_m, c.tile_n
    if g is not None:
        tm = min(tm, _fit_dim(g.m))
        tn = min(tn, _fit_dim(g.n))
    opts = [(tm, tn)]
    for cand in ((tm, max(64, tn // 2)), (max(64, tm // 2), max(64, tn // 2)), (64, 64)):
        cand = (min(cand[0], tm), min(cand[1], tn))
        if cand not in opts:
            opts.append(cand)
    return opts


def _fit_dim(n: int) -> int:
    """Smallest power of two >= n, at least 16 (the MMA fragment)."""
    return max(16, 1 << max(0, (n - 1).bit_length()))


# Smallest K slice one thread block of a split-K (or stream-K) kernel takes: below it, the
# partial-sum reduction costs more than the extra parallelism gains (cuBLAS heuristics split K
# only for skinny GEMMs with long K, e.g. weight gradients dW = X^T dY of convolutions).
SPLIT_K_MIN = 256
# cuDNN runs 3x3 stride-1 convolutions without a tensor-core path (fp32 on V100/T4) as Winograd
# F(2x2, 3x3): 16 instead of 36 multiplies per 2x2 output tile (2.25x), less the input/output
# transforms; Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016,
# measure 1.5-2x over direct convolution on Maxwell in fp32. Midpoint.
WINOGRAD_SPEEDUP = 1.75
# Stream-K (Osama et al., PPoPP 2023; CUTLASS 2.11+ and cuBLAS's persistent kernels): instead of
# whole tiles in waves, the GEMM's tiles x K-iterations are dealt out evenly to one persistent
# block per SM, so a partial last wave costs its share, not a whole tile time. SMs whose share
# straddles a tile boundary fix the tile up through L2: counted as one more pipeline fill.
STREAM_K_BLOCK = 64  # K per main-loop iteration of the persistent kernel
# Libraries choose stream-K for few-wave GEMMs with a long K loop, where the fix-up of shared tiles
# and the lost tile-level L2 locality are amortised over many iterations; short-K GEMMs (most
# convolutions, the classic 133-tiles-on-132-SMs case at K = 1024) keep whole-tile waves.
STREAM_K_MIN_K = 4096


def dense_grouped_gemm(op: Op, g: Gemm, tensor_path: bool) -> Gemm:
    """The GEMM a grouped (not depthwise) convolution runs as on a path without tensor cores: the
    dense convolution's, all groups' output channels against all input channels.

    cuDNN's grouped convolutions on CUDA cores take the time of the ungrouped convolution of the
    same channels: tensorflow/tensorflow#49147 (TF 2.4, cuDNN 8.0, Titan RTX, the T4's Turing SM,
    FP32) trains a groups=8 network in about the regular network's time although it has 1/8 of
    its FLOPs; in pytorch/pytorch#15513 (ngimel, cuDNN 7.6.3) PyTorch sends depthwise convolutions
    to cuDNN only with FP16 inputs on Volta/Turing, "Cudnn kernels for other cases are not very
    fast". Depthwise convolutions (one input channel per group) keep kernels of their own. Tensor-core
    paths keep the per-group GEMMs (measured T4/V100 AMP and A100 ResNeXt latencies do not ask for more).

    Example:
        >>> from simulator.workload.ops import conv2d
        >>> c = conv2d("g", batch=1, in_ch=512, h=14, w=14, out_ch=512, kernel=3, pad=1, groups=32)
        >>> c.gemms[0], dense_grouped_gemm(c, c.gemms[0], tensor_path=False)
        (Gemm(m=196, n=16, k=144, count=32), Gemm(m=196, n=512, k=4608, count=1))
    """
    a = dict(op.attrs)
    groups = a.get("groups", 1)
    if tensor_path or op.kind != OpKind.CONV2D or groups <= 1 or a.get("in_ch") == groups or g.count != groups:
        return g
    return Gemm(m=g.m, n=g.n * groups, k=g.k * groups, count=1)


@dataclass(frozen=True)
class GemmPlan:
    """How one GEMM runs: ``blocks`` thread blocks (output tiles x K slices) in ``waves`` waves."""

    seconds: float
    waves: int
    blocks: int
    split_k: int
    tile: tuple[int, int]
    stream_k: bool = False


def split_k(sm_count: int, tiles: int, k: int) -> int:
    """K slices per output tile: enough to give every SM a block when the tiles alone leave SMs idle.

    Example:
        >>> split_k(108, 1, 401408)   # a 64x64 dW of a 1x1 conv: one tile, K = batch*pixels
        108
        >>> split_k(132, 132, 4096)   # a full wave already: no split
        1
    """
    if tiles >= sm_count:
        return 1
    return max(1, min(sm_count // tiles, k // SPLIT_K_MIN))


def gemm_plan(hw: GpuSpec, g: Gemm, rate_per_sm: float) -> GemmPlan:
    """The fastest plan for ``g`` at ``rate_per_sm`` FLOP/s per SM.

    The spec's tile is used unless it yields less than one full wave, in which case smaller tiles
    are tried to occupy more SMs (as cuBLAS heuristics do for skinny GEMMs), and K is split across
    otherwise idle SMs (split-K) with the partial sums reduced afterwards.
    """
    c = hw.compute
    best = None
    for i, (tm, tn) in enumerate(_tile_options(c, g)):
        tiles = ceil_div(g.m, tm) * ceil_div(g.n, tn) * g.count
        s = split_k(c.sm_count, tiles, g.k)
        blocks = tiles * s
        waves = ceil_div(blocks, c.sm_count)
        t = waves * (2.0 * tm * tn * ceil_div(g.k, s)) / rate_per_sm
        if best is None or t < best.seconds:
            best = GemmPlan(seconds=t, waves=waves, blocks=blocks, split_k=s, tile=(tm, tn))
        if i == 0 and tiles >= c.sm_count:
            if tiles % c.sm_count and g.k >= STREAM_K_MIN_K:
                streamed = stream_k_plan(c.sm_count, tiles, g.k, (tm, tn), rate_per_sm)
                best = streamed if streamed.seconds < best.seconds else best
            break
    return best


def stream_k_plan(sm_count: int, tiles: int, k: int, tile: tuple[int, int], rate_per_sm: float) -> GemmPlan:
    """Stream-K: ``tiles x ceil(k / STREAM_K_BLOCK)`` main-loop iterations shared evenly by the SMs.

    ``waves`` counts pipeline fills per SM: its whole tiles plus one for a tile it shares.

    Example:
        >>> p = stream_k_plan(132, 160, 12032, (128, 256), 1.0)   # 160 tiles on 132 SMs
        >>> p.waves, round(p.seconds / (2 * 128 * 256 * 12032), 3)     # 1.21 tiles' work, not 2
        (3, 1.213)
    """
    iters = tiles * ceil_div(k, STREAM_K_BLOCK)
    per_sm = ceil_div(iters, sm_count)
    t = per_sm * 2.0 * tile[0] * tile[1] * STREAM_K_BLOCK / rate_per_sm
    return GemmPlan(seconds=t, waves=ceil_div(tiles, sm_count) + 1, blocks=sm_count, split_k=1, tile=tile,
                    stream_k=True)


def gemm_hbm_bytes(hw: GpuSpec, g: Gemm, in_bytes: float, w_bytes: float, out_bytes: float, *,
                   a_total_bytes: float | None = None) -> float:
    """HBM bytes of a GEMM: each operand once if the smaller of A and B fits in half the L2 (it stays
    resident while the other streams past it), or the GEMM is one of a batch of small ones; else
    operand panels are re-read once per square block of concurrent tiles.

    ``a_total_bytes`` replaces ``m * k * in_bytes`` for the A operand: an implicit-GEMM convolution
    reads its input tensor (about once), not the im2col matrix, which is kh*kw times larger.

    Example:
        >>> # 8192^3 bf16 on H100: 128 MiB operands, 50 MiB L2 -> panels re-read
    """
    c = hw.compute
    a = g.m * g.k * in_bytes if a_total_bytes is None else a_total_bytes / max(1, g.count)
    b, o = g.k * g.n * w_bytes, g.m * g.n * out_bytes
    l2 = hw.memory[0].capacity_bytes if len(hw.memory) > 1 else 0.0
    if g.count > 1 or min(a, b) <= 0.5 * l2:
        return (a + b + o) * g.count
    side = max(1, math.isqrt(c.sm_count))
    rereads_a = max(1, ceil_div(g.n, c.tile_n * side))
    rereads_b = max(1, ceil_div(g.m, c.tile_m * side))
    return a * rereads_a + b * rereads_b + o


def _fill_rate_per_sm(hw: GpuSpec, p: Precision) -> float:
    """FLOP/s per SM that ``efficiency.tile_fill_k`` is counted in for precision ``p``, 0 without a 16-bit
    tensor path.

    A fill is the first operand slabs arriving and the output tile stored: bytes through the memory
    pipeline, not arithmetic, so its time scales with the operand width, not with the arithmetic
    rate. On tensor paths the two agree (FP8 runs at twice the 16-bit rate on half the bytes, TF32
    at half on twice), and this is the precision's own tensor rate. An fp32 GEMM on CUDA cores
    moves twice the 16-bit bytes at 1/8 (V100, T4) of the rate: counting the fill at that rate
    made it 4x too long, and fp32 convolutions ~40 % slow (M035, M037).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> v = load_hardware("nvidia-v100-sxm2")        # 1024 fp16 tensor, 128 fp32 CUDA-core FLOP/cycle/SM
        >>> round(_fill_rate_per_sm(v, Precision.FP32) / _fill_rate_per_sm(v, Precision.FP16), 2)
        0.5
    """
    c = hw.compute
    t = c.tensor_flops_per_cycle_per_sm
    ref = max(t.get(Precision.FP16, 0.0), t.get(Precision.BF16, 0.0))
    return ref * 2.0 / p.bytes * c.clock_ghz * GIGA * hw.efficiency.compute


def softmax_exp_s(hw: GpuSpec, scores: float) -> float:
    """Time of one exponential per attention score on the special-function units (SFU).

    A fused attention kernel's softmax exponentials do not run on the tensor cores: at 16 results
    per cycle per SM an H100 has 3.9 T exp/s against 989 TFLOP/s of matmul, so with head dimension
    128 (512 matmul FLOPs per score) the exponentials take half as long as the matmuls
    (FlashAttention-3, Shah et al. 2024, sec. 3.1). Counted after the matmuls, as FlashAttention-2
    schedules them; a backward pass recomputes the probabilities, one exponential per score again.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> h = load_hardware("nvidia-h100-sxm")        # 132 SMs x 16 x 1.83 GHz
        >>> round(softmax_exp_s(h, 3.865e12), 3)         # 3.865 T exponentials: one second
        1.0
    """
    c = hw.compute
    if not c.sfu_ops_per_cycle_per_sm:
        return 0.0
    return scores / (c.sfu_ops_per_cycle_per_sm * c.sm_count * c.clock_ghz * GIGA)


def repeated_kv_bytes(op: Op, numerics: Numerics) -> float:
    """K/V bytes a decode attention loads beyond once per K/V head when its kernel runs one thread
    block per (sequence, query head), served from L2.

    TensorRT-LLM's masked multi-head attention kernel up to release 0.7 assigns "a threadblock for
    B x H pair" and reads the K/V cache of head ``hi / (heads / kv_heads)``
    (github:NVIDIA/TensorRT-LLM@027cd518 cpp/tensorrt_llm/kernels/decoderMaskedMultiheadAttention/
    decoderMaskedMultiheadAttentionTemplate.h); release 0.7.1 added "MMHA optimization for MQA and
    GQA" and the grouped XQA kernel's FP8 KV cache (docs/source/release-notes.md). A query group's
    blocks are neighbours in the launch grid (grid = (heads, batch), heads fastest), so the group's
    repeat loads find the K/V in L2: HBM reads it once, L2 serves it ``heads / kv_heads`` times.
    Only decode steps (one query token per sequence) run this kernel; training never does.

    Example:
        >>> from simulator.units import Precision
        >>> from simulator.workload.ops import attention
        >>> a = attention("a", batch=2, heads=64, kv_heads=8, q_len=1, kv_len=100, head_dim=128)
        >>> repeated_kv_bytes(a, Numerics(Precision.FP8, Precision.FP8)) == 7 * 2 * 2 * 8 * 100 * 128
        True
    """
    a = dict(op.attrs)
    heads, kv_heads = a.get("heads", 1), a.get("kv_heads", 1)
    if op.kind != OpKind.ATTENTION or a.get("q_len") != 1 or kv_heads >= heads or numerics.training:
        return 0.0
    kv = max(0.0, op.input_elems - op.output_elems)  # K and V elements (inputs are q + k + v)
    return (heads / kv_heads - 1.0) * kv * numerics.compute.bytes


def nchw_transform_bytes(op: Op, hw: GpuSpec, numerics: Numerics, options: CostOptions) -> float:
    """HBM bytes of the layout transforms cuDNN runs around a tensor-core convolution on NCHW tensors:
    each activation operand converted to NHWC (read and written once) and the output converted back.

    cuDNN's tensor-core convolution kernels work on NHWC data; given NCHW tensors with tensor-op math
    "the cuDNN library may use padding, folding, and NCHW-to-NHWC transformations to call the Tensor
    Core operations" (cuDNN Developer Guide, Legacy API, "Data and Filter Formats",
    docs.nvidia.com/deeplearning/cudnn/developer/legacy-api.html), and the output comes back to NCHW,
    as separate kernels. Frameworks keep wider-than-16-bit convolutions NCHW: TensorFlow 1.x computes
    a GPU convolution in NHWC only for DT_HALF (github:DeepRec-AI/DeepRec@0c31c942, a TF 1.15 fork,
    tensorflow/core/kernels/conv_ops.cc: ``compute_in_nhwc = DataTypeToEnum<T>::value == DT_HALF &&
    IsVoltaOrLater``, "Grappler layout optimizer selects preferred layout"), and TF 1.15's XLA
    assigns NCHW to every convolution that is not F16 (github:DeepRec-AI/DeepRec@91efd721
    tensorflow/compiler/xla/service/gpu/gpu_layout_assignment.cc HeuristicLayoutAssignment, "If
    we're not Volta or not fp16 ... Use NCHW"); NVIDIA DeepLearningExamples' PyTorch ConvNets set
    ``memory_format: nhwc`` for AMP only (github:NVIDIA/DeepLearningExamples@729963dd47e7
    PyTorch/Classification/ConvNets/configs.yml), so TF32 runs NCHW. On a GPU without a tensor path
    for the precision (FP32 on V100/T4) cuDNN's NCHW kernels need no transform: 0. The filter
    transform (weights only) is left out.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> from simulator.units import Precision
        >>> from simulator.workload.ops import conv2d
        >>> c = conv2d("c", batch=1, in_ch=64, h=56, w=56, out_ch=256, kernel=1, pad=0)
        >>> a100, tf32 = load_hardware("nvidia-a100-sxm-40gb"), Numerics(Precision.TF32, Precision.TF32)
        >>> nchw_transform_bytes(c, a100, tf32, CostOptions(wide_convs_nchw=True)) == 2 * 4 * 56 * 56 * (64 + 256)
        True
        >>> nchw_transform_bytes(c, load_hardware("nvidia-v100-sxm2"), Numerics(Precision.FP32, Precision.FP32),
        ...                      CostOptions(wide_convs_nchw=True))
        0.0
        >>> nchw_transform_bytes(c, a100, Numerics(Precision.FP16, Precision.FP16), CostOptions(wide_convs_nchw=True))
        0.0
    """
    if not options.wide_convs_nchw or op.kind != OpKind.CONV2D or numerics.act_bytes <= 2:
        return 0.0
    if not lookup(hw.compute.tensor_flops_per_cycle_per_sm, numerics.compute):
        return 0.0
    return 2.0 * (op.input_elems + op.output_elems) * numerics.act_bytes


def kernel_floor_s(hw: GpuSpec) -> float:
    """Shortest busy time of one kernel: ``efficiency.min_kernel_cycles`` SM clock cycles (0: no floor).

    A kernel smaller than one wave of thread blocks does not finish in its FLOPs' or bytes' time: its
    blocks are handed to the SMs, each loads its operands from memory before the first MMA, stores its
    output, and the kernel completes only when the last block has drained (NVIDIA's "Matrix
    Multiplication Background" guide, docs.nvidia.com/deeplearning/performance: wave quantization and
    the tail effect; a null kernel still takes ~3 us end to end on recent GPUs: NVIDIA developer forum
    thread 233645, "launch overhead of null kernels ... about 3 microseconds"). That latency chain
    (dispatch, DRAM round trips, pipeline fill, store, completion) runs at the SM clock, so it is
    counted in cycles: the same engine takes longer on an SM clocked lower. The kernel's roofline time
    overlaps it (a kernel's own work runs within its launch-to-drain window), hence the floor is a
    ``max`` with the busy time, not a sum. The cycle count is not published: it is fitted
    (:mod:`validation.calibrate`, with ``op_overhead_us``, the gap between kernels that follows).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> h = load_hardware("nvidia-l4", {"efficiency.min_kernel_cycles": 5100.0})   # 2.04 GHz
        >>> round(kernel_floor_s(h) * 1e6, 3)        # 5100 / 2.04e9 s
        2.5
    """
    return hw.efficiency.min_kernel_cycles / (hw.compute.clock_ghz * GIGA)


def cost(op: Op, hw: GpuSpec, numerics: Numerics, options: CostOptions) -> OpCost:
    """Cost of ``op`` on a GPU.

    Recurrent ops run their ``sequential_steps`` one after another, one kernel launch each; an
    unfused attention's element-wise passes over its scores (:func:`~.base.score_passes`) are
    kernels of their own, each with its launch. Each of those kernels keeps the SMs busy for at
    least :func:`kernel_floor_s`: the op's busy time is floored at that many floors, before the
    per-kernel gap (``op_overhead_us``) is added by :func:`~.base.finish`.
    """
    c = hw.compute
    p = numerics.compute
    eff = hw.efficiency
    clock = c.clock_ghz * GIGA
    vector = lookup(c.vector_flops_per_cycle_per_sm, p)
    rate_per_sm = (lookup(c.tensor_flops_per_cycle_per_sm, p) or vector) * clock * eff.compute
    fill_rate = _fill_rate_per_sm(hw, p) or rate_per_sm
    vec_rate = vector * c.sm_count * clock * eff.vector
    passes = score_passes(op, options.score_passes, options.fused_attention)
    act_in, act_out, w_read = op_bytes(op, numerics, fused_attention=options.fused_attention, passes=options.score_passes)
    hbm = act_in + act_out + w_read
    steps = max(1, op.sequential_steps)
    compute_s = 0.0
    partials = partials_l2 = 0.0
    l2 = hw.memory[0] if len(hw.memory) > 1 else None
    attrs = dict(op.attrs)
    winograd = (op.kind == OpKind.CONV2D and not lookup(c.tensor_flops_per_cycle_per_sm, p)
                and attrs.get("kernel") == "3x3" and attrs.get("stride") == 1 and attrs.get("groups", 1) == 1)
    tensor_path = bool(lookup(c.tensor_flops_per_cycle_per_sm, p))
    for g in op.gemms:
        per_step = Gemm(m=g.m, n=g.n, k=g.k, count=max(1, g.count // steps)) if steps > 1 else g
        per_step = dense_grouped_gemm(op, per_step, tensor_path)
        plan = gemm_plan(hw, per_step, rate_per_sm)
        fill = plan.waves * 2.0 * plan.tile[0] * plan.tile[1] * hw.efficiency.tile_fill_k / fill_rate
        compute_s += (plan.seconds + fill) * steps / (WINOGRAD_SPEEDUP if winograd else 1.0)
        if plan.split_k > 1:
            # fp32 partial sums of every K slice are written, then read back by the reduction: in L2
            # when the workspace fits in half of it (it is re-read right away), else through HBM
            workspace = 4.0 * plan.split_k * per_step.m * per_step.n * per_step.count
            if l2 is not None and workspace <= 0.5 * l2.capacity_bytes:
                partials_l2 += 2.0 * workspace * steps
            else:
                partials += 2.0 * workspace * steps
    if op.kind == OpKind.ATTENTION and c.sfu_ops_per_cycle_per_sm and (options.fused_attention or op.phase.value == "forward"):
        compute_s += softmax_exp_s(hw, attention_scores(op))
    flops = op.flops
    if op.kind == OpKind.ATTENTION and options.fused_attention and attrs.get("causal") and op.phase.value == "forward":
        # a causal fused kernel skips the tiles above the diagonal: their time and their FLOPs (counting
        # them would report more FLOP/s than the tensor cores have, utilization above 1 at head_dim 512)
        # (a context-parallel rank's load-balanced chunks do 1/cp of the whole sequence's causal work)
        kept = 0.5 + 0.5 / max(1, ceil_div(int(attrs.get("causal_len", attrs.get("q_len", 1))), c.tile_m))
        compute_s *= kept
        flops -= op.matrix_flops * (1.0 - kept)
    if op.kind in (OpKind.MATMUL, OpKind.CONV2D) and len(op.gemms) == 1 and steps == 1:
        g = op.gemms[0]
        w_elem = (w_read / (g.k * g.n * g.count)) if w_read else numerics.act_bytes
        a_total = act_in if op.kind == OpKind.CONV2D else None
        hbm = max(hbm, gemm_hbm_bytes(hw, g, numerics.act_bytes, w_elem, numerics.act_bytes, a_total_bytes=a_total))
    if vec_rate:
        compute_s += op.vector_flops / vec_rate
    if options.kv_per_query_head and l2 is not None:
        partials_l2 += repeated_kv_bytes(op, numerics)
    # inputs the previous kernel just wrote into L2 are read from it (the write-back to HBM stays)
    cached = min(act_in, options.cached_input_elems * numerics.act_bytes) if l2 is not None else 0.0
    hbm = max(0.0, hbm - cached)
    partials_l2 += cached
    transforms = nchw_transform_bytes(op, hw, numerics, options)
    hbm += transforms
    kernels = steps + passes + (2 if transforms else 0)  # the input and output transform kernels
    levels = {hw.main_memory.name: hbm + partials}
    if partials_l2:
        levels[l2.name] = partials_l2
    return finish(hw=hw, numerics=numerics, options=options, flops=flops, compute_s=compute_s,
                  bytes_by_level=levels, overhead_s=overhead_s(hw) * kernels,
                  floor_s=kernels * kernel_floor_s(hw))
