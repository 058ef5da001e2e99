"""Data, tensor, pipeline and expert parallelism: how a model's ops are split onto devices. Pure.

Tensor parallelism is Megatron-style for transformer workloads: QKV and FFN-up are column-parallel,
attention-out and FFN-down row-parallel with an all-reduce of the layer output after each (and of
the input gradient of QKV / FFN-up in backward); the vocabulary of the embedding and LM head is
split too. Which op is which is typed data on the op (``op.tp_role``, a
:class:`~simulator.workload.ops.TpRole` set by the model builders and the ONNX importer), never
read from op names. Pipeline parallelism cuts the layer sequence (``op.block``) into contiguous
stages of equal layer count (embedding with the first, head with the last); other models are cut
by cumulative FLOPs. Expert parallelism spreads MoE experts over the data-parallel group with two
all-to-alls per MoE layer.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

from ..errors import ScenarioError
from ..workload.graph import ComputeGraph
from ..workload.ops import Gemm, Op, OpKind, TpRole, ceil_div

MAX_DEGREE = 1_000_000  # any one degree of parallelism (as many as devices)
MAX_MICROBATCHES = 10_000  # pipeline micro-batches per replica: Megatron runs use tens to a few thousand


@dataclass(frozen=True)
class Parallelism:
    """Degrees of parallelism; ``devices = data * tensor * pipeline``. ``expert`` must divide ``data``.

    ``zero_stage`` 0-3 shards optimizer state / gradients / weights over the data-parallel group;
    ``schedule`` is the pipeline schedule (``1f1b`` or ``gpipe``); ``sequence_parallel`` splits the
    ops between tensor-parallel blocks (norms, residual adds, dropout) along the sequence over the
    tensor ranks, as Megatron's sequence parallelism does (Korthikanti et al., MLSys 2023): their
    activations and work divide by ``tensor``, and each all-reduce becomes a reduce-scatter plus an
    all-gather of the same total time. ``tp_overlap`` runs the tensor-parallel collectives alongside
    the next GEMMs of the same pass (Megatron's ``--tp-comm-overlap``: chunked and pipelined with
    the GEMMs), so only what outlasts that pass's compute is exposed. ``virtual_stages`` > 1 is
    Megatron's interleaved 1F1B: the layers are cut into ``pipeline * virtual_stages`` chunks and
    pipeline rank ``s`` holds chunks ``s, s + pipeline, ...``, which divides the bubble by
    ``virtual_stages`` for more point-to-point traffic. ``fsdp`` > 0 is hybrid sharding (PyTorch
    HSDP, MaxText's ``ici_fsdp`` x ``dcn_data``): ZeRO shards over groups of ``fsdp`` consecutive
    data-parallel ranks and the ``data / fsdp`` groups hold replicas, so weights are gathered within
    a group and gradients reduce-scattered within it, then all-reduced across the replicas; 0 shards
    over the whole data-parallel group. ``context`` > 1 is context parallelism (Megatron-Core's
    ``--context-parallel-size``, ring attention): each sample's sequence is split over ``context``
    ranks, every per-token op runs on 1/context of the tokens, and each attention gathers the keys
    and values of the whole sequence from its peers (ring exchange overlapped with the attention);
    gradients are reduced over data x context ranks. Ranks are ordered tensor fastest, then context,
    then data, then pipeline. Not validated here: build it with
    :func:`parse_parallelism`, which raises :class:`~simulator.errors.ScenarioError`.

    Example:
        >>> Parallelism(data=16, tensor=8, pipeline=8).devices
        1024
        >>> p = Parallelism(data=512, zero_stage=3, fsdp=64)     # 8 slices of 64, FSDP within each
        >>> p.shard_group, p.replicas
        (64, 8)
    """

    data: int = 1
    tensor: int = 1
    pipeline: int = 1
    expert: int = 1
    zero_stage: int = 0
    schedule: str = "1f1b"
    sequence_parallel: bool = False
    tp_overlap: bool = False
    virtual_stages: int = 1
    fsdp: int = 0
    context: int = 1

    @property
    def shard_group(self) -> int:
        """Data-parallel ranks one ZeRO shard spans: ``fsdp``, or all of them (context ranks included)."""
        return self.fsdp or self.data * self.context

    @property
    def replicas(self) -> int:
        """Copies of the sharded state across data-parallel groups (1 without hybrid sharding)."""
        return self.data * self.context // self.shard_group

    @property
    def chunks(self) -> int:
        """Model chunks the layers are cut into: ``pipeline * virtual_stages``."""
        return self.pipeline * self.virtual_stages

    @property
    def devices(self) -> int:
        """Devices the layout occupies: ``data * tensor * pipeline * context``."""
        return self.data * self.tensor * self.pipeline * self.context


def _pairs(value: "Mapping | str | None", devices: int) -> list[tuple]:
    """(key, value) items of a layout as written, in order (duplicates kept for the caller to refuse)."""
    if value is None or value == "":
        return [("data", devices)]
    if isinstance(value, str):
        pairs = []
        for part in value.split(","):
            if "=" not in part:
                raise ScenarioError(f"parallel: expected KEY=N items like dp=16,tp=8,pp=8, got {part!r}")
            k, v = part.split("=", 1)
            pairs.append((k.strip(), v.strip()))
        return pairs
    if isinstance(value, Mapping):
        return list(value.items())
    raise ScenarioError(f"parallelism: expected a mapping or text like 'dp=2,tp=4', got {value!r}")


def parse_parallelism(value: "Mapping | str | Parallelism | None", devices: int) -> Parallelism:
    """Parse ``dict(data=16, tensor=8, pipeline=8, zero_stage=1)`` or ``"dp=16,tp=8,pp=8"``.

    With no value, all ``devices`` do data parallelism.

    Raises:
        ScenarioError: unknown keys, non-positive degrees, or a product that is not ``devices``.

    Example:
        >>> parse_parallelism("dp=2,tp=4", 8).tensor
        4
    """
    if isinstance(value, Parallelism):
        p = value
    else:
        pairs = _pairs(value, devices)
        alias = {"dp": "data", "tp": "tensor", "pp": "pipeline", "ep": "expert", "zero": "zero_stage",
                 "sp": "sequence_parallel", "vp": "virtual_stages", "cp": "context"}
        flags = ("sequence_parallel", "tp_overlap")
        clean: dict = {}
        for k, v in pairs:
            key = alias.get(k, k)
            if key in clean:  # tp=2,tp=4 (or tp and tensor): never silently keep one of them
                raise ScenarioError(f"parallelism: {key} is given twice (again as {k}={v})")
            if key not in ("data", "tensor", "pipeline", "expert", "zero_stage", "schedule", "virtual_stages",
                           "fsdp", "context") + flags:
                raise ScenarioError(f"parallelism: unknown key {k!r}; use data/dp, tensor/tp, pipeline/pp, "
                                    "context/cp, expert/ep, zero_stage, schedule, sequence_parallel/sp, "
                                    "tp_overlap, virtual_stages/vp, fsdp")
            if key in flags:
                if str(v).lower() not in ("0", "1", "true", "false"):
                    raise ScenarioError(f"parallelism: {k} must be 0/1 or true/false, got {v!r}")
                clean[key] = str(v).lower() in ("1", "true")
                continue
            if key == "schedule":
                clean[key] = str(v).lower()
                continue
            try:
                if isinstance(v, bool) or (isinstance(v, float) and v != int(v)):
                    raise ValueError
                clean[key] = int(v)
            except (TypeError, ValueError, OverflowError):
                raise ScenarioError(f"parallelism: {k} must be an integer, got {v!r}") from None
        if "data" not in clean:
            rest = clean.get("tensor", 1) * clean.get("pipeline", 1) * clean.get("context", 1)
            clean["data"] = max(1, devices // rest) if rest else 1
        p = Parallelism(**clean)
    for key in ("data", "tensor", "pipeline", "expert", "virtual_stages", "context"):
        if not 1 <= getattr(p, key) <= MAX_DEGREE:
            raise ScenarioError(f"parallelism: {key} must be in 1..{MAX_DEGREE:,}, got {getattr(p, key)}")
    if p.virtual_stages > 1 and (p.pipeline == 1 or p.schedule != "1f1b"):
        raise ScenarioError("parallelism: virtual_stages (interleaved pipeline) needs pipeline > 1 and the 1f1b "
                            "schedule")
    if p.zero_stage not in (0, 1, 2, 3):
        raise ScenarioError(f"parallelism: zero_stage must be 0, 1, 2 or 3, got {p.zero_stage}")
    if p.schedule not in ("1f1b", "gpipe"):
        raise ScenarioError(f"parallelism: schedule must be 1f1b or gpipe, got {p.schedule!r}")
    if p.devices != devices:
        raise ScenarioError(f"parallelism: dp x tp x pp x cp = {p.data} x {p.tensor} x {p.pipeline} x {p.context} "
                            f"= {p.devices}, but devices = {devices}")
    if p.data % p.expert:
        raise ScenarioError(f"parallelism: expert ({p.expert}) must divide data ({p.data})")
    if p.fsdp < 0 or (p.fsdp and (p.data % p.fsdp or not p.zero_stage)):
        raise ScenarioError(f"parallelism: fsdp ({p.fsdp}) must divide data ({p.data}) and needs a zero_stage")
    return p


def split_context(op: Op, cp: int) -> Op:
    """The part of ``op`` one of ``cp`` context-parallel ranks runs: 1/cp of its tokens. Weights are
    read whole; an attention's queries and output are split but it reads the whole sequence's keys
    and values (gathered from the peers), each rank's queries attending over all of them.

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> g = load_workload("gpt2").build(batch_size=1, seq_len=64)
        >>> a, part = g.op("h0.attn.sdpa"), split_context(g.op("h0.attn.sdpa"), 4)
        >>> part.flops / a.flops, part.output_elems / a.output_elems
        (0.25, 0.25)
        >>> part.input_elems - part.output_elems == a.input_elems - a.output_elems   # K and V whole
        True
    """
    if cp == 1 or op.kind == OpKind.OPTIMIZER:
        return op
    g = tuple(Gemm(m=_div(x.m, cp), n=x.n, k=x.k, count=x.count) for x in op.gemms)
    if op.kind == OpKind.ATTENTION:
        # the rank's query rows against every key (load-balanced chunks, as Megatron-Core orders them
        # for causal masks, so each rank does 1/cp of the causal work)
        attrs = tuple((k, _div(v, cp) if k == "q_len" else v) for k, v in op.attrs)
        if dict(op.attrs).get("causal"):  # the mask (and the blocks a kernel skips) is the whole sequence's
            attrs += (("causal_len", dict(op.attrs).get("q_len", 1)),)
        kv = max(0.0, op.input_elems - op.output_elems)
        return replace(op, flops=op.flops / cp, input_elems=op.output_elems / cp + kv,
                       output_elems=op.output_elems / cp, scratch_elems=op.scratch_elems / cp, gemms=g, attrs=attrs)
    return replace(op, flops=op.flops / cp, input_elems=op.input_elems / cp, output_elems=op.output_elems / cp,
                   scratch_elems=op.scratch_elems / cp, gemms=g)


def _div(x: int, t: int) -> int:
    return max(1, ceil_div(x, t))


def _column(op: Op, tp: int) -> Op:
    """Output features (GEMM N) split; each rank writes its slice of the output."""
    g = tuple(Gemm(m=x.m, n=_div(x.n, tp), k=x.k, count=x.count) for x in op.gemms)
    return replace(op, flops=op.flops / tp, output_elems=op.output_elems / tp, param_elems=op.param_elems / tp,
                   weight_read_elems=op.weight_read_elems / tp, gemms=g)


def _row(op: Op, tp: int, sequence_parallel: bool) -> Op:
    """Input features (GEMM K) split; each rank writes a full-size partial sum, all-reduced after
    (reduce-scattered with sequence parallelism, so it keeps 1/tp of it)."""
    g = tuple(Gemm(m=x.m, n=x.n, k=_div(x.k, tp), count=x.count) for x in op.gemms)
    out = op.output_elems / tp if sequence_parallel else op.output_elems
    return replace(op, flops=op.flops / tp, input_elems=op.input_elems / tp, output_elems=out,
                   param_elems=op.param_elems / tp, weight_read_elems=op.weight_read_elems / tp, gemms=g)


def _heads(op: Op, tp: int) -> Op:
    """1/tp of the heads (or hidden features): fewer independent GEMMs, less of everything."""
    g = tuple(Gemm(m=x.m, n=x.n, k=x.k, count=_div(x.count, tp)) for x in op.gemms)
    return replace(op, flops=op.flops / tp, input_elems=op.input_elems / tp, output_elems=op.output_elems / tp,
                   scratch_elems=op.scratch_elems / tp, gemms=g)


def _vocab(op: Op, tp: int) -> tuple[Op, tuple[str, ...]]:
    """The vocabulary split: the LM head is column-parallel over the vocabulary; the embedding
    table's rows are split, each rank looks up the tokens in its rows and the outputs are
    all-reduced; the cross-entropy runs on each rank's slice of the logits."""
    if op.kind == OpKind.EMBEDDING:
        return replace(op, param_elems=op.param_elems / tp, weight_read_elems=op.weight_read_elems / tp), \
            ("tp_all_reduce",)
    if op.kind == OpKind.LOSS:
        return replace(op, flops=op.flops / tp, input_elems=op.input_elems / tp), ()
    if op.gemms:
        return _column(op, tp), ()
    return op, ()


def _experts(op: Op, tp: int, ep: int, sequence_parallel: bool) -> tuple[Op, tuple[str, ...]]:
    """An MoE layer's expert GEMMs (``gemms`` = (up, down), one of each per expert). Expert
    parallelism spreads whole experts over the expert group (1/ep of them per rank, an all-to-all
    dispatching the tokens before and one combining them after); tensor parallelism then splits
    every expert's FFN as a dense MLP's: up (and gate) columns, down rows, each rank reading all its
    routed tokens and writing a partial output all-reduced with the layer's. That is Megatron-Core's
    expert tensor parallelism, whose size defaults to tp, and what vLLM and TensorRT-LLM do without
    expert parallelism. The expert-count vector work (activation, gating, weighted combine) is split
    with the GEMMs, as a dense row-parallel GEMM's bias add is."""
    after: tuple[str, ...] = ()
    if ep > 1:
        g = tuple(Gemm(m=x.m, n=x.n, k=x.k, count=_div(x.count, ep)) for x in op.gemms)
        op = replace(op, flops=op.flops / ep, param_elems=op.param_elems / ep,
                     weight_read_elems=op.weight_read_elems / ep, gemms=g)
        after += ("ep_all_to_all",)
    if tp > 1:
        up, *down = op.gemms
        g = (Gemm(m=up.m, n=_div(up.n, tp), k=up.k, count=up.count),
             *(Gemm(m=x.m, n=x.n, k=_div(x.k, tp), count=x.count) for x in down))
        out = op.output_elems / tp if sequence_parallel else op.output_elems  # reduce-scattered
        op = replace(op, flops=op.flops / tp, output_elems=out, param_elems=op.param_elems / tp,
                     weight_read_elems=op.weight_read_elems / tp, gemms=g)
        after += ("tp_all_reduce",)
    return op, after


def shard_op(op: Op, tp: int, ep: int = 1, sequence_parallel: bool = False) -> tuple[Op, tuple[str, ...]]:
    """The part of ``op`` one tensor-parallel rank runs, and the collectives it needs.

    Read from the op's :class:`~simulator.workload.ops.TpRole` (``op.tp_role``), never its name.
    With ``sequence_parallel``, a layer's replicated ops (``op.block`` set, no GEMMs: norms,
    residual adds, dropouts) run on 1/tp of the sequence.

    Returns (op, collectives): ``"ep_all_to_all"`` (a dispatch before the op and a combine after
    it over the expert group), then ``"tp_all_reduce"`` (after it, over the tensor group); empty
    when it needs none. Pure; raises nothing (degrees are checked by :func:`parse_parallelism` and
    :func:`check_tensor_parallel`).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> g = load_workload("gpt2").build(batch_size=1, seq_len=64)
        >>> part, collectives = shard_op(g.op("h0.attn.out"), tp=4)  # row-parallel: all-reduce after
        >>> part.flops / g.op("h0.attn.out").flops, collectives
        (0.25, ('tp_all_reduce',))
        >>> shard_op(g.op("h0.attn.qkv"), tp=4)[0].gemms             # column-parallel: N split
        (Gemm(m=64, n=576, k=768, count=1),)
    """
    role = op.tp_role
    if role == TpRole.EXPERT:
        return _experts(op, tp, ep, sequence_parallel)
    if tp == 1:
        return op, ()
    if role == TpRole.COLUMN:
        return _column(op, tp), ()
    if role == TpRole.ROW:
        return _row(op, tp, sequence_parallel), ("tp_all_reduce",)
    if role == TpRole.HEADS:
        return _heads(op, tp), ()
    if role == TpRole.VOCAB:
        return _vocab(op, tp)
    if sequence_parallel and op.block is not None and not op.gemms:
        return replace(op, flops=op.flops / tp, input_elems=op.input_elems / tp,
                       output_elems=op.output_elems / tp), ()
    return op, ()


def _rows_fed(graph: ComputeGraph, name: str) -> frozenset[str]:
    """The row-parallel GEMMs that ``name``'s output reaches through the ops between (heads role)."""
    rows, todo, seen = set(), [name], {name}
    while todo:
        for s in graph.successors(todo.pop()):
            role = graph.op(s).tp_role
            if s not in seen and role in (TpRole.ROW, TpRole.HEADS):
                seen.add(s)
                (rows.add if role == TpRole.ROW else todo.append)(s)
    return frozenset(rows)


def input_grad_all_reduces(graph: ComputeGraph, tp: int) -> dict[str, float]:
    """Ops after whose backward the input gradient is all-reduced over the tensor group, with the
    elements reduced. A column-parallel GEMM reads a replicated input, so each rank's input
    gradient is a partial sum (Megatron's ``f`` operator). Column GEMMs that read the same tensor
    and feed the same row GEMM (separate Q, K, V projections; an MLP's gate and up) are one fused
    GEMM in Megatron-LM and vLLM: their gradients add up locally and are all-reduced once, after
    the backward of the first of them in forward order (whose backward runs last). An MoE layer's
    expert GEMMs, split by tensor parallelism too, all-reduce the gradient of the layer's hidden
    states. Pure; raises nothing.

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> g = load_workload("gpt2").build(batch_size=1, seq_len=64)
        >>> sums = input_grad_all_reduces(g, 2)
        >>> sums["h0.attn.qkv"], sums["h0.mlp.up"], "h0.mlp.down" in sums, input_grad_all_reduces(g, 1)
        (49152, 49152, False, {})
    """
    if tp == 1:
        return {}
    out: dict[str, float] = {}
    groups = set()
    for n in graph.order:
        op = graph.op(n)
        if op.tp_role == TpRole.EXPERT:  # its up GEMMs are column-parallel over the layer's hidden
            out[n] = op.output_elems     # states (tokens x hidden, the size of its output)
        elif op.tp_role == TpRole.COLUMN:
            group = (tuple(graph.predecessors(n)), _rows_fed(graph, n))
            if group not in groups:
                groups.add(group)
                out[n] = op.input_elems
    return out


def stage_of_ops(graph: ComputeGraph, pipeline: int) -> dict[str, int]:
    """Assign every op to a pipeline stage: by transformer layer (``op.block``) where the ops have
    one, else by cumulative FLOPs.

    Raises:
        ScenarioError: more stages than layers (or ops).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> g = load_workload("gpt2").build(batch_size=1, seq_len=64)    # 12 layers
        >>> stages = stage_of_ops(g, 4)
        >>> stages["embed"], stages["h2.attn.qkv"], stages["h3.attn.qkv"], stages["loss"]
        (0, 0, 1, 3)
    """
    order = graph.order
    block = {n: graph.op(n).block for n in order}
    layers = sorted({b for b in block.values() if b is not None})
    if pipeline == 1:
        return {n: 0 for n in order}
    if layers:
        if pipeline > len(layers):
            raise ScenarioError(f"parallelism: pipeline ({pipeline}) exceeds the model's {len(layers)} layers")
        per = len(layers) / pipeline
        out = {}
        seen_layers = False
        for n in order:
            li = block[n]
            if li is None:  # before the first layer: the first stage; after (or between): the last
                out[n] = pipeline - 1 if seen_layers else 0
            else:
                seen_layers = True
                out[n] = min(pipeline - 1, int(layers.index(li) // per))
        return out
    if pipeline > len(order):
        raise ScenarioError(f"parallelism: pipeline ({pipeline}) exceeds the model's {len(order)} ops")
    total = sum(graph.op(n).flops for n in order) or 1.0
    out, acc = {}, 0.0
    for i, n in enumerate(order):
        stage = min(pipeline - 1, int(acc / total * pipeline))
        stage = max(stage, pipeline - (len(order) - i)) if len(order) - i <= pipeline else stage
        out[n] = stage
        acc += graph.op(n).flops
    return out


def check_tensor_parallel(graph: ComputeGraph, tp: int) -> None:
    """Tensor parallelism needs ops that carry column- or row-parallel roles (a transformer built
    by a model family, or an ONNX transformer whose layers the importer recognised), and attention
    heads divisible by tp.

    Raises:
        ScenarioError: no op with a column- or row-parallel role (the model would run unsplit), or
            heads not divisible by tp.

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> check_tensor_parallel(load_workload("gpt2").build(batch_size=1, seq_len=64), 4)  # 12 heads: fine
        >>> check_tensor_parallel(load_workload("gpt2").build(batch_size=1, seq_len=64), 5)
        Traceback (most recent call last):
        ...
        simulator.errors.ScenarioError: parallelism: tensor (5) must divide the attention heads (12)
    """
    if tp == 1:
        return
    ops = graph.ops
    if not any(op.tp_role in (TpRole.COLUMN, TpRole.ROW) for op in ops):
        raise ScenarioError(f"parallelism: tensor parallelism is modelled for transformer workloads only: "
                            f"{graph.name!r} has no column- or row-parallel op (in an ONNX model: no attention or "
                            "MLP layer was recognised)")
    attn = [dict(op.attrs) for op in ops if op.tp_role == TpRole.HEADS and "heads" in dict(op.attrs)]
    if attn:
        heads = attn[0]["heads"]
        kv = attn[0].get("kv_heads", heads)
        if heads % tp or (kv % tp and tp % kv):
            raise ScenarioError(f"parallelism: tensor ({tp}) must divide the attention heads ({heads})")


def microbatch_size(global_batch: int, p: Parallelism, microbatches: int) -> int:
    """Samples per micro-batch per data-parallel replica.

    Raises:
        ScenarioError: the global batch does not split evenly.

    Example:
        >>> microbatch_size(64, Parallelism(data=4, pipeline=2), 4)    # 16 per replica, 4 micro-batches
        4
    """
    per_replica, rem = divmod(global_batch, p.data)
    if rem or per_replica == 0:
        raise ScenarioError(f"batch_size {global_batch} must be a positive multiple of data parallelism {p.data}")
    mb, rem = divmod(per_replica, microbatches)
    if rem or mb == 0:
        raise ScenarioError(f"microbatches ({microbatches}) must divide the per-replica batch ({per_replica})")
    return mb


def default_microbatches(global_batch: int, p: Parallelism) -> int:
    """With pipelining, as many micro-batches as fit (up to 4 x stages); otherwise 1.

    The largest divisor of the per-replica batch not above ``4 * pipeline``. Raises nothing.

    Example:
        >>> default_microbatches(64, Parallelism(data=4, pipeline=2)), default_microbatches(64, Parallelism(data=4))
        (8, 1)
    """
    if p.pipeline == 1:
        return 1
    per_replica = max(1, global_batch // p.data)
    best = 1
    step = p.pipeline if p.virtual_stages > 1 else 1  # interleaving runs micro-batches in groups of pipeline
    for m in range(step, max(min(per_replica, 4 * p.pipeline), step) + 1, step):
        if per_replica % m == 0:
            best = m
    return best

