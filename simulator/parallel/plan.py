"""Turn (workload, device, parallelism) into per-stage work lists for the cluster engine. Pure.

Each pipeline stage's forward and backward pass for one micro-batch is a list of :class:`Segment`:
runs of consecutive ops merged into one compute segment (times from the cost models), separated
by the collectives tensor and expert parallelism need. Data-parallel gradient all-reduces are
bucketed (``bucket_bytes``, as PyTorch DDP does) and marked asynchronous so they overlap with the
rest of the backward pass.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ScenarioError
from ..cost.base import CostOptions, Numerics, OpCost, per_tensor_launch_s, run_numerics
from ..cost.collectives import Collective
from ..cost.dispatch import op_cost
from .layout import (Parallelism, check_tensor_parallel, input_grad_all_reduces, shard_op, split_context,
                     stage_of_ops)
from ..scenario import Mode, Scenario
from ..spec.models import _DeviceBase
from ..workload.autocast import read_weights
from ..workload.graph import ComputeGraph
from ..workload.ops import OpKind
from ..workload.saved import kept_elems
from ..cost.memory import resident_bytes
from ..workload.training import (backward_op, grad_norm_op, layer_boundaries, optimizer_op, optimizer_state_elems,
                                 recompute_set, training_forward)

BUCKET_BYTES = 25 * 1024 * 1024
ZERO3_LIVE_LAYERS = 2  # the layer being computed and the one being prefetched


@dataclass(frozen=True)
class Segment:
    """A piece of one stage's work for one micro-batch.

    ``collective`` is None for compute. ``group`` is "tp", "dp" or "ep"; ``async_`` collectives
    (gradient syncs) run once per step, in the last micro-batch's backward, on the links while
    compute continues until the end of the step; ``overlap`` ones until the end
    of the pass (forward or backward of one micro-batch) they belong to. Units: ``duration_s`` and ``throttled_s`` in s, ``flops``
    in FLOP, ``energy_j`` in J, ``bytes_moved`` (memory traffic) and ``nbytes`` (collective payload) in B.

    Example:
        >>> Segment(collective=Collective.ALL_REDUCE, group="dp", nbytes=25 * 2**20, async_=True).bound
        'compute'
    """

    duration_s: float = 0.0
    flops: float = 0.0
    energy_j: float = 0.0
    bytes_moved: float = 0.0
    bound: str = "compute"
    collective: Collective | None = None
    group: str = ""
    nbytes: float = 0.0
    async_: bool = False
    overlap: bool = False
    label: str = ""
    throttled_s: float = 0.0


@dataclass(frozen=True)
class StagePlan:
    """Work and memory of one pipeline stage (per device of that stage); with an interleaved
    pipeline, of one model chunk (pipeline rank ``s`` holds chunks ``s, s + pipeline, ...``).

    ``static_bytes``: resident B by category (weights, gradients, master_weights, optimizer_state);
    ``activation_bytes_per_microbatch`` and ``boundary_bytes`` (sent to the next stage) in B;
    ``params``: parameter count held by one device of the stage. See :func:`build_plan`.
    """

    stage: int
    forward: tuple[Segment, ...]
    backward: tuple[Segment, ...]
    optimizer: tuple[Segment, ...]
    static_bytes: dict[str, float]
    activation_bytes_per_microbatch: float
    boundary_bytes: float
    params: float


@dataclass(frozen=True)
class ClusterPlan:
    """All stages, the parallelism, and the micro-batching (``microbatch_size`` in samples).

    See :func:`build_plan` for an example.
    """

    stages: tuple[StagePlan, ...]
    parallelism: Parallelism
    microbatches: int
    microbatch_size: int
    meta: dict[str, Any] = field(default_factory=dict)


def _merge(items: list[tuple[OpCost | None, Segment | None, str]]) -> tuple[Segment, ...]:
    out: list[Segment] = []
    acc: dict[str, float] = {"d": 0.0, "f": 0.0, "e": 0.0, "b": 0.0, "t": 0.0}
    bounds: dict[str, float] = {}
    first = ""

    def flush() -> None:
        nonlocal first
        if acc["d"] > 0 or acc["f"] > 0:
            bound = max(bounds, key=lambda k: (bounds[k], k)) if bounds else "compute"
            out.append(Segment(duration_s=acc["d"], flops=acc["f"], energy_j=acc["e"], bytes_moved=acc["b"],
                               bound=bound, label=first, throttled_s=acc["t"]))
        acc.update(d=0.0, f=0.0, e=0.0, b=0.0, t=0.0)
        bounds.clear()
        first = ""

    for cost, seg, name in items:
        if cost is not None:
            first = first or name
            acc["d"] += cost.duration_s
            acc["f"] += cost.flops
            acc["e"] += cost.dynamic_energy_j
            acc["b"] += cost.bytes_moved
            acc["t"] += cost.throttled_s
            bounds[cost.bound.value] = bounds.get(cost.bound.value, 0.0) + cost.duration_s
        if seg is not None:
            flush()
            out.append(seg)
    flush()
    return tuple(out)


def build_plan(fwd: ComputeGraph, hw: _DeviceBase, sc: Scenario, p: Parallelism, microbatches: int,
               mb_size: int, *, options: CostOptions) -> ClusterPlan:
    """Plan every stage: sharded op costs, collectives, DP buckets, optimizer and resident memory.

    ``fwd`` is the forward graph at the micro-batch size ``mb_size``; ``microbatches`` per replica.

    Raises:
        ScenarioError: tensor parallelism on a non-transformer or heads not divisible by it, or more
            pipeline stages than layers. The precision is not checked here (the caller runs
            :func:`~simulator.cost.dispatch.check_supported` first).

    Example:
        >>> from simulator.scenario import make_scenario
        >>> from simulator.spec.loader import load_hardware
        >>> from simulator.workload.loader import load_workload
        >>> fwd = load_workload("gpt2").build(batch_size=2, seq_len=128)
        >>> plan = build_plan(fwd, load_hardware("nvidia-h100-sxm"), make_scenario(mode="training"),
        ...                   Parallelism(data=2, tensor=2, pipeline=2), 4, 2, options=CostOptions())
        >>> len(plan.stages), sorted({s.group for st in plan.stages for s in st.backward if s.collective})
        (2, ['dp', 'tp'])
        >>> sorted(plan.stages[0].static_bytes)
        ['gradients', 'master_weights', 'optimizer_state', 'weights']
    """
    training = sc.mode == Mode.TRAINING
    if training:
        fwd = training_forward(fwd)
    check_tensor_parallel(fwd, p.tensor)
    if p.context > 1 and not any(fwd.op(n).kind == OpKind.ATTENTION for n in fwd.order):
        raise ScenarioError("parallelism: context parallelism (cp) splits a sequence's tokens; this workload "
                            "has no attention layers to split")
    if p.zero_stage >= 3 and p.shard_group > 1:
        options = replace(options, weight_shards=p.shard_group)
    weights = read_weights(sc.precision, sc.weights, training)
    numerics = run_numerics(sc.precision, sc.weights, weights, training, sc.stack.weight_scale_bytes(weights.value))
    ctx = _Ctx(fwd=fwd, hw=hw, sc=sc, p=p, numerics=numerics, options=options, training=training,
               recompute=recompute_set(fwd, sc.checkpointing) if training else set(),
               grad_sums=input_grad_all_reduces(fwd, p.tensor))
    stage_of = stage_of_ops(fwd, p.chunks)  # interleaving: chunk c*pipeline + s lives on rank s
    stages = tuple(_stage(ctx, s, [n for n in fwd.order if stage_of[n] == s]) for s in range(p.chunks))
    return ClusterPlan(stages=stages, parallelism=p, microbatches=microbatches, microbatch_size=mb_size,
                       meta={"layers": len({op.block for op in fwd.ops if op.block is not None})})


@dataclass
class _Ctx:
    """What every stage of one plan shares: the graph, device, scenario, layout and an op-cost cache."""

    fwd: ComputeGraph
    hw: _DeviceBase
    sc: Scenario
    p: Parallelism
    numerics: Numerics
    options: CostOptions
    training: bool
    recompute: set
    grad_sums: dict = field(default_factory=dict)  # op -> elements of its input-gradient all-reduce
    cache: dict = field(default_factory=dict)

    @property
    def act(self) -> float:
        return self.numerics.act_bytes

    def cost(self, op) -> OpCost:
        key = replace(op, name="", layer="")
        if key not in self.cache:
            self.cache[key] = op_cost(op, self.hw, self.numerics, self.options)
        return self.cache[key]

    def shard(self, n: str):
        op, after = shard_op(self.fwd.op(n), self.p.tensor, self.p.expert, self.p.sequence_parallel)
        return split_context(op, self.p.context), after

    def kv_gather(self, n: str, label: str, kind: Collective) -> Segment | None:
        """Context parallelism: the keys and values of the whole sequence an attention needs, exchanged
        over the context ranks in a ring overlapped with the attention (gathered forward, their
        gradients reduce-scattered backward); None for other ops or without context parallelism."""
        op = self.fwd.op(n)
        if self.p.context == 1 or op.kind != OpKind.ATTENTION:
            return None
        tp_share = self.shard(n)[0]
        kv = max(0.0, tp_share.input_elems - tp_share.output_elems)
        return Segment(collective=kind, group="cp", nbytes=kv * self.act, overlap=True, label=f"{label} kv {kind.value}")


def _stage(ctx: _Ctx, s: int, names: list[str]) -> StagePlan:
    """One pipeline stage (model chunk) ``s`` holding the ops ``names``."""
    p, sc, fwd = ctx.p, ctx.sc, ctx.fwd
    layer_params: dict[Any, float] = {}
    for n in names:
        block = fwd.op(n).block
        layer_params[block] = layer_params.get(block, 0.0) + shard_op(fwd.op(n), p.tensor, p.expert)[0].param_elems
    gather = layer_params if p.zero_stage >= 3 and p.shard_group > 1 else None
    params = sum(ctx.shard(n)[0].param_elems for n in names)
    # optimizer state per parameter of the whole model (Adafactor's factored state included)
    state = optimizer_state_elems(fwd, sc.optimizer) / max(fwd.parameters, 1.0) * params if ctx.training else 0.0
    static = resident_bytes(params=params, state_elems=state, training=ctx.training, compute=sc.precision,
                            weights=sc.weights, zero_stage=p.zero_stage, data_parallel=p.shard_group)
    if gather:
        # ZeRO-3 gathers a layer's full weights before use and prefetches the next layer's: at
        # most the two largest layers live at once (DeepSpeed prefetches one bucket ahead)
        static["gathered_weights"] = sum(sorted(layer_params.values())[-ZERO3_LIVE_LAYERS:]) * _gather_bytes(ctx)
    last = names[-1] if names else None
    boundary = fwd.op(last).output_elems * ctx.act if last and s < p.chunks - 1 else 0.0
    if p.sequence_parallel:
        boundary /= p.tensor  # each tensor rank sends its sequence shard to its peer of the next stage
    opt = (_optimizer_segments(params, sc, p, ctx.hw, ctx.numerics, ctx.options, _weighted_share(fwd, names))
           if ctx.training else ())
    backward = _merge(_backward_items(ctx, names, gather)) if ctx.training else ()
    return StagePlan(stage=s, forward=_merge(_forward_items(ctx, names, gather)), backward=backward, optimizer=opt,
                     static_bytes=static, activation_bytes_per_microbatch=_saved_bytes(ctx, names),
                     boundary_bytes=boundary, params=params)


def _forward_items(ctx: _Ctx, names: list[str], gather: dict | None) -> list:
    p, items, current = ctx.p, [], object()
    for n in names:
        op, after = ctx.shard(n)
        if gather is not None and ctx.fwd.op(n).block != current:
            current = ctx.fwd.op(n).block
            items.append((None, _param_gather(gather[current], ctx, n), ""))
        gather_kv = ctx.kv_gather(n, n, Collective.ALL_GATHER)
        if gather_kv is not None:
            items.append((None, gather_kv, ""))
        items.append((ctx.cost(op), None, n))
        if "ep_all_to_all" in after:
            nbytes = ctx.fwd.op(n).input_elems * ctx.act
            items.insert(len(items) - 1, (None, Segment(collective=Collective.ALL_TO_ALL, group="ep",
                                                        nbytes=nbytes, label=f"{n} dispatch"), ""))
            items.append((None, Segment(collective=Collective.ALL_TO_ALL, group="ep", nbytes=nbytes,
                                        label=f"{n} combine"), ""))
        if "tp_all_reduce" in after:
            items.append((None, Segment(collective=Collective.ALL_REDUCE, group="tp",
                                        nbytes=ctx.fwd.op(n).output_elems * ctx.act, overlap=p.tp_overlap,
                                        label=f"{n} all-reduce"), ""))
    return items


def _backward_items(ctx: _Ctx, names: list[str], gather: dict | None) -> list:
    p, fwd, items, bucket, current = ctx.p, ctx.fwd, [], 0.0, object()
    for n in reversed(names):
        op, after = ctx.shard(n)
        if gather is not None and fwd.op(n).block != current:
            current = fwd.op(n).block
            items.append((None, _param_gather(gather[current], ctx, n), ""))
        bop = backward_op(op, bool(fwd.predecessors(n)) and op.kind != OpKind.EMBEDDING)
        if n in ctx.recompute:  # checkpointed: run the forward op again just before its backward
            items.append((ctx.cost(op), None, f"{n}.recompute"))
        items.append((ctx.cost(bop), None, bop.name))
        scatter_kv = ctx.kv_gather(n, bop.name, Collective.REDUCE_SCATTER)
        if scatter_kv is not None:
            items.append((None, scatter_kv, ""))
        if n in ctx.grad_sums:
            items.append((None, Segment(collective=Collective.ALL_REDUCE, group="tp",
                                        nbytes=ctx.grad_sums[n] * ctx.act, overlap=p.tp_overlap,
                                        label=f"{bop.name} all-reduce"), ""))
        if "ep_all_to_all" in after:
            nbytes = fwd.op(n).input_elems * ctx.act
            for tag in ("combine", "dispatch"):
                items.append((None, Segment(collective=Collective.ALL_TO_ALL, group="ep", nbytes=nbytes,
                                            label=f"{bop.name} {tag}"), ""))
        bucket += op.param_elems * _grad_bytes(ctx)
        if p.data * p.context > 1 and bucket >= BUCKET_BYTES:
            items += [(None, seg, "") for seg in _grad_sync(p, bucket, n)]
            bucket = 0.0
    if p.data * p.context > 1 and bucket > 0:
        items += [(None, seg, "") for seg in _grad_sync(p, bucket, "last")]
    return items


def _saved_bytes(ctx: _Ctx, names: list[str]) -> float:
    """Activation bytes one micro-batch leaves on the device for its backward pass.

    Kept are the outputs of the ops that are not recomputed and that some backward op reads
    (:func:`..workload.saved.kept_elems`: a matmul's input, a ReLU's output, not a batch-norm
    output a ReLU consumes nor one only residual sums consume; of a dropout's output only its mask,
    unless a consumer's backward reads the masked tensor too). Activations offloaded
    to host memory (``sc.activation_offload``) leave the device: the kept tensors inside each layer
    ("saved"), and the layer inputs too ("all").
    """
    if not ctx.training:
        return 0.0
    fwd, offload = ctx.fwd, ctx.sc.activation_offload
    boundaries = layer_boundaries(fwd)
    total = 0.0
    for n in names:
        if n in ctx.recompute or (offload == "all" or (offload == "saved" and n not in boundaries)):
            continue
        total += kept_elems(fwd, n, ctx.recompute, ctx.shard(n)[0])
    return total * ctx.act


def _grad_bytes(ctx: _Ctx) -> float:
    # a gradient has its parameter's format (fp32 parameters: fp32 gradients), at least 16 bits
    return max(ctx.act, ctx.sc.weights.bytes)


def _gather_bytes(ctx: _Ctx) -> float:
    # weights stored wider than the compute format are cast on each shard before the gather
    # (an element-wise cast keeps the sharding; Flax casts param_dtype to dtype inside the layer)
    return min(ctx.sc.weights.bytes, ctx.act)


def _grad_sync(p: Parallelism, nbytes: float, where: str) -> list[Segment]:
    # With any ZeRO stage a rank updates only its shard, so it needs only its shard's reduced
    # gradients: a reduce-scatter (half an all-reduce's traffic), paired with the all-gather of the
    # updated weights after the optimizer: 2x the model bytes per step, as plain data parallelism
    # (Rajbhandari et al., ZeRO, SC20, sec. 7.2.1; Megatron's distributed optimizer does the same).
    # Hybrid sharding reduce-scatters within the shard group, then all-reduces each rank's shard
    # across the replicas (PyTorch HSDP; MaxText's dcn_data axis over the data-center network)
    if p.zero_stage < 1:
        return [Segment(collective=Collective.ALL_REDUCE, group="dp", nbytes=nbytes, async_=True,
                        label=f"grad all_reduce @{where}")]
    out = [Segment(collective=Collective.REDUCE_SCATTER, group="zero", nbytes=nbytes, async_=True,
                   label=f"grad reduce_scatter @{where}")] if p.shard_group > 1 else []
    if p.replicas > 1:
        out.append(Segment(collective=Collective.ALL_REDUCE, group="replica", nbytes=nbytes / p.shard_group,
                           async_=True, label=f"grad shard all_reduce across replicas @{where}"))
    return out


def _param_gather(params: float, ctx: _Ctx, where: str) -> Segment:
    # ZeRO-3 keeps 1/shard of each layer's weights and gathers the rest before use, prefetched
    # behind the compute of the layer before (DeepSpeed's prefetch bucket, XLA's async all-gather):
    # the pass waits for the gathers only at its end
    return Segment(collective=Collective.ALL_GATHER, group="zero", nbytes=params * _gather_bytes(ctx), overlap=True,
                   label=f"zero-3 weights all-gather @{where}")


def _weighted_share(fwd: ComputeGraph, names: list[str]) -> float:
    """The share of the model's weighted ops among ``names`` (1.0 for the whole model): a stage's share of
    its parameter tensors, each weighted op holding its weight and bias, whatever their sizes."""
    weighted = [n for n in fwd.order if fwd.op(n).param_elems]
    return sum(1 for n in names if fwd.op(n).param_elems) / len(weighted) if weighted else 1.0


def _optimizer_segments(params: float, sc: Scenario, p: Parallelism, hw, numerics, options,
                        tensor_share: float = 1.0) -> tuple[Segment, ...]:
    shard = p.shard_group if p.zero_stage >= 1 else 1  # ZeRO: each rank updates its shard
    # a framework that updates tensor by tensor (sc.optimizer_tensors > 0) runs each pass as that many
    # kernels, each paying the device's per-kernel time; one multi-tensor kernel otherwise. A pipeline
    # stage updates only its own tensors (tensor_share of them); tensor and ZeRO ranks hold a slice of each.
    launches = per_tensor_launch_s(hw, math.ceil(sc.optimizer_tensors * tensor_share))
    ops = ([grad_norm_op(params / shard)] if sc.grad_clip else []) + [optimizer_op(params / shard, sc.optimizer)]
    segs = []
    for op in ops:
        c = op_cost(op, hw, numerics, options)
        segs.append(Segment(duration_s=c.duration_s + launches, flops=c.flops, energy_j=c.dynamic_energy_j,
                            bytes_moved=c.bytes_moved, bound=c.bound.value, label=op.name, throttled_s=c.throttled_s))
    if p.zero_stage in (1, 2) and shard > 1:
        # each rank updated its shard: gather the updated weights (ZeRO-3 keeps them sharded and
        # gathers each layer's before use in the next step)
        segs.append(Segment(collective=Collective.ALL_GATHER, group="zero", nbytes=params * sc.weights.bytes,
                            label="weights all-gather"))
    return tuple(segs)
