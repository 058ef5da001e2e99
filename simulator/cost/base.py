"""What every cost model returns, and the roofline arithmetic they share.

An :class:`OpCost` is the time, traffic per memory level, and dynamic energy of one op on one
device. ``finish`` turns a compute time and per-level byte counts into an OpCost: each level's
time is bytes / (bandwidth x efficiency), compute and traffic overlap (the roofline), the fixed
per-op overhead is added, and the clock throttles when the op's power would exceed the cap.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ..spec.models import _DeviceBase, lookup
from ..units import GIGA, PICO, Precision


class Bound(str, Enum):
    """The resource that set an op's (or a step's) time."""

    COMPUTE = "compute"
    MEMORY = "memory_bandwidth"
    OVERHEAD = "overhead"
    INTERCONNECT = "interconnect"
    HOST = "host"
    CAPACITY = "memory_capacity"


def tensor_bytes(compute: Precision, training: bool = False) -> float:
    """Bytes per element of the activations, activation gradients and weight gradients a run at
    ``compute`` precision keeps between ops and sends between devices.

    FP8 recipes quantize only the operands of each GEMM; the tensors between ops stay in 16 bits
    (NVIDIA Transformer Engine: FP8 for GEMM inputs, higher precision for outputs and the rest of
    the layer; TensorRT-LLM FP8 likewise keeps BF16/FP16 activations). int8 training does the same
    (AQT in MaxText/PAX, ``quantization=int8``: each dot_general's operands are quantized on the
    fly, forward and backward, and its result dequantized to bf16). Other formats keep their own
    width (int8 TensorRT engines pass int8 tensors between layers).

    Example:
        >>> tensor_bytes(Precision.FP8), tensor_bytes(Precision.BF16), tensor_bytes(Precision.INT8)
        (2.0, 2.0, 1.0)
        >>> tensor_bytes(Precision.INT8, training=True)
        2.0
    """
    if compute == Precision.FP8 or (training and compute == Precision.INT8):
        return 2.0
    return float(compute.bytes)


@dataclass(frozen=True)
class Numerics:
    """Number formats of a run: ``compute`` for arithmetic and activations, ``weights`` for stored weights.

    Weight-only quantization is ``Numerics(compute=bf16, weights=int4)``. Activations are held at
    :func:`tensor_bytes` of ``compute`` (16 bits under FP8, and under int8 when ``training``).
    ``weight_scale_bytes``: bytes of block scales stored per weight besides the weight itself (a stack's
    :class:`~simulator.spec.stack.WeightBlockScale`: GGUF Q8_0 keeps one FP16 scale per 32 int8 weights,
    2 / 32 bytes), read with every weight.

    Example:
        >>> Numerics(Precision.BF16, Precision.INT8, weight_scale_bytes=2 / 32).weight_bytes   # 34 B per 32 weights
        1.0625
    """

    compute: Precision
    weights: Precision
    training: bool = False
    weight_scale_bytes: float = 0.0

    @property
    def act_bytes(self) -> float:
        return tensor_bytes(self.compute, self.training)

    @property
    def weight_bytes(self) -> float:
        return self.weights.bytes + self.weight_scale_bytes


def run_numerics(compute: Precision, stored: Precision, read: Precision, training: bool,
                 scale_bytes_per_weight: float) -> Numerics:
    """The numerics a run executes at: weights ``read`` in the format the framework reads them (an
    autocast may read FP32 masters although ``stored`` names the checkpoint's format), with a stack's
    block-scale bytes only when they are read in the stored, quantized format.

    Example:
        >>> run_numerics(Precision.FP32, Precision.INT8, Precision.INT8, False, 2 / 32).weight_bytes
        1.0625
        >>> run_numerics(Precision.BF16, Precision.INT8, Precision.FP32, True, 2 / 32).weight_bytes
        4.0
    """
    scales = scale_bytes_per_weight if read == stored else 0.0
    return Numerics(compute=compute, weights=read, training=training, weight_scale_bytes=scales)


@dataclass(frozen=True)
class CostOptions:
    """Choices that change how an op executes.

    ``fused_attention``: FlashAttention-style kernels, no score matrix in memory.
    ``attention_fusion_limit``: the stack's :class:`~simulator.spec.stack.AttentionFusionLimit` when it
    binds on this device and precision: attentions beyond it run unfused (:func:`attention_fused`).
    ``weights_on_chip``: the whole model's weights sit in on-chip memory (FPGA BRAM/URAM, SRAM devices).
    ``power_cap_w``: clock throttles so idle + dynamic power stays at or under this (TDP if None).
    ``score_passes``: element-wise kernels an unfused attention's forward runs over its score matrix
    besides the softmax, as the model code writes them (the stack's ``attention_score_passes``;
    :func:`score_passes`).
    ``cached_input_elems``: activation elements of the op's inputs that the op just before it wrote
    and that are still in the last on-chip cache level (the run decides: :func:`simulator.run.device.cached_inputs`);
    they are read from that level, not from main memory.
    ``kv_per_query_head``: the stack's decode attention runs one thread block per (sequence, query
    head), so a grouped-query attention loads each K/V head once per query head (the stack's
    ``decode_kv_per_query_head``; :func:`simulator.cost.gpu.repeated_kv_bytes`).
    ``weight_shards``: ranks a ZeRO-3 / FSDP group splits each weight over (1 without one). Element-wise
    work on a weight before its all-gather runs on the rank's shard (XLA's sharding propagation keeps
    the parameter's sharding through element-wise ops and all-gathers at the dot: AQT's weight
    quantization, :func:`simulator.cost.tpu.aqt_vector_flops`).
    ``wide_convs_nchw``: convolutions with activations wider than 16 bits keep NCHW tensors (the
    stack's ``wide_convs_nchw``; :func:`simulator.cost.gpu.nchw_transform_bytes`).
    """

    fused_attention: bool = True
    weights_on_chip: bool = False
    power_cap_w: float | None = None
    cached_input_elems: float = 0.0
    attention_fusion_limit: object | None = None
    score_passes: int = 0
    kv_per_query_head: bool = False
    weight_shards: int = 1
    wide_convs_nchw: bool = False


def score_passes(op, passes: int, fused_attention: bool) -> int:
    """Element-wise kernels over the score matrix an attention op runs besides its softmax, when it
    runs unfused and its forward makes ``passes`` of them (0 fused).

    BERT's attention as eager model code writes it (NVIDIA DeepLearningExamples
    PyTorch/LanguageModeling/BERT/modeling.py, BertSelfAttention.forward: ``scores / sqrt(d)`` and
    ``+ attention_mask`` as two statements between the Q.K^T bmm and the softmax) runs a scale
    kernel and a mask-add kernel, each reading and writing every score. Backward, the scale's
    gradient is one more such kernel; the add's gradient is its output gradient, passed on without
    a kernel, so a backward makes one pass fewer than its forward.

    Example:
        >>> from simulator.workload import ops as O
        >>> att = O.attention("a", batch=1, heads=16, q_len=384, kv_len=384, head_dim=64)
        >>> score_passes(att, 2, False), score_passes(att, 2, True), score_passes(O.softmax("s", elems=8), 2, False)
        (2, 0, 0)
    """
    from ..workload.ops import OpKind, Phase

    if fused_attention or passes <= 0 or op.kind != OpKind.ATTENTION:
        return 0
    return passes if op.phase != Phase.BACKWARD else passes - 1


def attention_fused(op, options: CostOptions) -> bool:
    """Whether attention ``op`` runs as one fused kernel: the scenario's choice, unless the stack's
    fused kernel does not take the op's shape (``options.attention_fusion_limit``).

    Example:
        >>> from simulator.spec.stack import AttentionFusionLimit
        >>> from simulator.workload import ops as O
        >>> lim = AttentionFusionLimit(kinds=("cpu",), precisions=("int8",), max_k=512, max_n=256, source="doc")
        >>> att = O.attention("a", batch=1, heads=16, q_len=384, kv_len=384, head_dim=64)
        >>> attention_fused(att, CostOptions()), attention_fused(att, CostOptions(attention_fusion_limit=lim))
        (True, False)
    """
    from ..workload.ops import OpKind

    if not options.fused_attention or op.kind != OpKind.ATTENTION or options.attention_fusion_limit is None:
        return options.fused_attention
    attrs = dict(op.attrs)
    return options.attention_fusion_limit.fuses(head_dim=int(attrs["head_dim"]), kv_len=int(attrs["kv_len"]))


@dataclass(frozen=True)
class OpCost:
    """Cost of one op on one device. Times in s, bytes in B, energy in J.

    ``bytes_by_level`` maps memory level name to bytes moved there; ``level_s`` the time each level
    would need alone. ``throttled_s`` is the extra time from power capping (included in duration).
    """

    duration_s: float
    compute_s: float
    memory_s: float
    overhead_s: float
    flops: float
    bytes_by_level: dict[str, float]
    level_s: dict[str, float]
    bound: Bound
    dynamic_energy_j: float
    compute_cycles: int | None = None
    throttled_s: float = 0.0
    energy_by_level_j: dict[str, float] = field(default_factory=dict)

    @property
    def bytes_moved(self) -> float:
        """Bytes moved at the main memory level (what a roofline plots against)."""
        return self.bytes_by_level.get("_main", 0.0)


def active_power_w(hw: _DeviceBase, cap_w: float | None = None) -> float:
    """Power above idle while the device runs work (``power.active_w``), scaled down under a power
    cap by the cap's share of the TDP's headroom (lower clocks and voltage for everything).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> h = load_hardware("nvidia-h100-sxm")                     # 700 W TDP, 70 W idle, 340 W active
        >>> active_power_w(h), round(active_power_w(h, 385.0), 1)   # a cap halfway down the headroom
        (340.0, 170.0)
    """
    p = hw.power
    if not p.active_w:
        return 0.0
    if cap_w is None or cap_w >= p.tdp_w:
        return p.active_w
    return p.active_w * max(0.0, cap_w - p.idle_w) / (p.tdp_w - p.idle_w)


def finish(*, hw: _DeviceBase, numerics: Numerics, options: CostOptions, flops: float, compute_s: float,
           bytes_by_level: dict[str, float], overhead_s: float, compute_cycles: int | None = None,
           extra_energy_j: float = 0.0, memory_efficiency: float | None = None, floor_s: float = 0.0) -> OpCost:
    """Combine compute time and traffic into an :class:`OpCost` (roofline + overhead + power cap).

    Main memory runs at ``efficiency.memory`` of its peak; inner levels at their peak. ``floor_s``:
    the shortest busy time of the op's kernels (a GPU's per-kernel floor,
    :func:`simulator.cost.gpu.kernel_floor_s`); an op it binds is overhead-bound, since its time is
    launch and drain latency, not arithmetic or traffic.

    Example:
        >>> # 1 GFLOP at 1 TFLOP/s and 1 GB at 1 TB/s: both 1 ms, so duration = 1 ms + overhead
    """
    main = hw.main_memory.name
    eff_main = memory_efficiency if memory_efficiency is not None else hw.efficiency.memory
    level_s: dict[str, float] = {}
    energy_levels: dict[str, float] = {}
    for level in hw.memory:
        b = bytes_by_level.get(level.name, 0.0)
        if b <= 0:
            continue
        eff = eff_main if level.name == main else 1.0
        level_s[level.name] = b / (level.bandwidth_gbs * GIGA * eff)
        energy_levels[level.name] = b * level.energy_pj_per_byte * PICO
    memory_s = max(level_s.values(), default=0.0)
    busy = max(max(compute_s, memory_s), floor_s)
    if busy <= 0 and overhead_s <= 0:
        bound = Bound.OVERHEAD
    elif overhead_s > busy or floor_s > max(compute_s, memory_s):
        bound = Bound.OVERHEAD
    else:
        bound = Bound.COMPUTE if compute_s >= memory_s else Bound.MEMORY
    duration = busy + overhead_s
    energy = flops * lookup(hw.power.energy_pj_per_flop, numerics.compute) * PICO + sum(energy_levels.values())
    energy += extra_energy_j
    cap = min(hw.power.tdp_w, options.power_cap_w) if options.power_cap_w else hw.power.tdp_w
    throttled = 0.0
    # under a cap the clock and voltage drop for everything that runs: the active power shrinks in
    # proportion to the cap's share of the TDP's headroom, and the work gets the rest
    active = active_power_w(hw, cap)
    headroom = cap - hw.power.idle_w - active  # what the work itself may draw
    if busy > 0 and energy > 0:
        need = energy / headroom if headroom > 0 else float("inf")
        if need > busy:
            # the clock drops until dynamic power fits under the cap: the op stretches
            throttled = need - busy if headroom > 0 else 0.0
            duration += throttled
    if active and duration > 0:
        energy_levels["active"] = active * duration  # the device is up while this op runs
        energy += energy_levels["active"]
    out = dict(bytes_by_level)
    out["_main"] = bytes_by_level.get(main, 0.0)
    return OpCost(duration_s=duration, compute_s=compute_s, memory_s=memory_s, overhead_s=overhead_s, flops=flops,
                  bytes_by_level=out, level_s=level_s, bound=bound, dynamic_energy_j=energy,
                  compute_cycles=compute_cycles, throttled_s=throttled, energy_by_level_j=energy_levels)


# Unfused attention at 16-bit precision is what eager frameworks run under mixed precision, and
# both keep the softmax in FP32: PyTorch autocast lists softmax among the ops that autocast to
# float32 (a cast kernel in, FP32 probabilities out, a cast back to 16 bits for the P.V matmul), and
# TF's AMP graph rewrite keeps Softmax on its FP32 list. Per score, beyond the 16-bit pass: the cast
# in (read 2 B, write 4 B), the softmax at 4 B (2 B more each way), the cast back (read 4 B, write
# 2 B): 8 B more read and 8 B more written, forward and backward alike.
FP32_SOFTMAX_EXTRA_BYTES = 8.0


def op_bytes(op, numerics: Numerics, *, fused_attention: bool,
             fp32_softmax: bool = True, passes: int = 0) -> tuple[float, float, float]:
    """(activation bytes read, activation bytes written, weight bytes read) at main memory, no reuse.

    A non-fused attention writes its score and probability matrices and reads them back (plus the
    FP32 softmax of mixed precision, :data:`FP32_SOFTMAX_EXTRA_BYTES`, when its tensors are 16-bit). An
    attention's K and V operands (the KV cache when decoding) are read at the compute format itself
    (FP8 serving keeps an FP8 KV cache), its queries and output at :func:`tensor_bytes`.
    ``fp32_softmax`` False: the unfused softmax reads and writes the tensors' own format (a graph
    compiler's softmax node, as OpenVINO's CPU plugin runs it under BF16 inference precision).
    ``passes``: the unfused attention's element-wise kernels over its scores (:func:`score_passes`,
    with ``passes`` its forward's count), each reading and writing every score at the tensors' format
    (the mask they add is one row per sequence, not counted). A GEMM declaring ``OUTPUT_READ``
    (``beta != 0``) also reads C, its output's size at the output's width.
    """
    from ..workload.ops import INPUT_FORMAT, OUTPUT_FORMAT, OUTPUT_READ, STATS_ELEMS, OpKind, Phase, attention_scores
    from ..workload.training import STATS_PASS

    act_in = op.input_elems * numerics.act_bytes
    if op.kind == OpKind.ATTENTION:
        kv = max(0.0, op.input_elems - op.output_elems)  # inputs are q + k + v; q has the output's size
        kv_bytes = numerics.act_bytes if numerics.training else numerics.compute.bytes
        act_in = op.output_elems * numerics.act_bytes + kv * kv_bytes
    if op.phase != Phase.BACKWARD and dict(op.attrs).get(STATS_PASS):
        # batch statistics first, then normalise (a fused norm + add takes them over its own input only)
        act_in += float(dict(op.attrs).get(STATS_ELEMS, op.input_elems)) * numerics.act_bytes
    act_out = op.output_elems * numerics.act_bytes
    if op.kind == OpKind.ATTENTION and not fused_attention:
        act_in += op.scratch_elems * numerics.act_bytes
        act_out += op.scratch_elems * numerics.act_bytes
        if numerics.act_bytes < 4 and fp32_softmax:
            scores = attention_scores(op)
            act_in += scores * FP32_SOFTMAX_EXTRA_BYTES
            act_out += scores * FP32_SOFTMAX_EXTRA_BYTES
        extra = score_passes(op, passes, fused_attention) * attention_scores(op) * numerics.act_bytes
        act_in += extra
        act_out += extra
    # tensors an op declares FP32 whatever the run's precision (an int8 network's dequantized outputs and
    # the harness code that reads them: simulator.workload.postprocess)
    declared = dict(op.attrs)
    if declared.get(INPUT_FORMAT) == "fp32":
        act_in = op.input_elems * 4.0
    if declared.get(OUTPUT_FORMAT) == "fp32":
        act_out = op.output_elems * 4.0
    if declared.get(OUTPUT_READ):
        act_in += act_out  # beta != 0: C, of D's shape and width, is read before D is written
    # optimizer state and master weights are fp32 whatever the compute precision
    w_bytes = 4.0 if op.kind == OpKind.OPTIMIZER else numerics.weight_bytes
    return act_in, act_out, op.weight_read_elems * w_bytes


def overhead_s(hw: _DeviceBase) -> float:
    """Fixed per-op launch / dispatch time of this device."""
    return hw.efficiency.op_overhead_us * 1e-6


def per_tensor_launch_s(hw: _DeviceBase, tensors: int) -> float:
    """Launch time (s) an optimizer pass pays on top of its one fused kernel's when the framework runs
    it as ``tensors`` kernels, one per parameter tensor (optax's tree_map under XLA): ``tensors - 1``
    more per-kernel times; 0 for the fused form (``tensors`` 0 or 1). The one- and multi-device steps
    both charge it here.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> hw = load_hardware("google-tpu-v5p", {"efficiency.op_overhead_us": 5.0})
        >>> round(per_tensor_launch_s(hw, 686) * 1e3, 6), per_tensor_launch_s(hw, 0)
        (3.425, 0.0)
    """
    return max(tensors - 1, 0) * overhead_s(hw)
