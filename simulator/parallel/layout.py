"""Data, tensor, pipeline and expert parallelism: how a model's ops are split onto devices. Pure.

Tensor parallelism is Megatron-style for transformer workloads: QKV and FFN-up are column-parallel,
attention-out and FFN-down row-parallel with an all-reduce of the layer output after each (and of
the input gradient of QKV / FFN-up in backward); the vocabulary of the embedding and LM head is
split too. Pipeline parallelism cuts the layer sequence into contiguous stages of equal layer count
(embedding with the first, head with the last); other models are cut by cumulative FLOPs. Expert
parallelism spreads MoE experts over the data-parallel group with two all-to-alls per MoE layer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Mapping

from ..errors import ScenarioError
from ..workload.graph import ComputeGraph
from ..workload.ops import Gemm, Op, OpKind, ceil_div

MAX_DEGREE = 1_000_000  # any one degree of parallelism (as many as devices)
MAX_MICROBATCHES = 10_000  # pipeline micro-batches per replica: Megatron runs use tens to a few thousand

_LAYER = re.compile(r"^h(\d+)\.")
_COLUMN = (".attn.qkv", ".mlp.up")
_ROW = (".attn.out", ".mlp.down")


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
    ``virtual_stages`` for more point-to-point traffic. Not validated here: build it with
    :func:`parse_parallelism`, which raises :class:`~simulator.errors.ScenarioError`.

    Example:
        >>> Parallelism(data=16, tensor=8, pipeline=8).devices
        1024
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

    @property
    def chunks(self) -> int:
        """Model chunks the layers are cut into: ``pipeline * virtual_stages``."""
        return self.pipeline * self.virtual_stages

    @property
    def devices(self) -> int:
        """Devices the layout occupies: ``data * tensor * pipeline``."""
        return self.data * self.tensor * self.pipeline


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
                 "sp": "sequence_parallel", "vp": "virtual_stages"}
        flags = ("sequence_parallel", "tp_overlap")
        clean: dict = {}
        for k, v in pairs:
            key = alias.get(k, k)
            if key in clean:  # tp=2,tp=4 (or tp and tensor): never silently keep one of them
                raise ScenarioError(f"parallelism: {key} is given twice (again as {k}={v})")
            if key not in ("data", "tensor", "pipeline", "expert", "zero_stage", "schedule", "virtual_stages") + flags:
                raise ScenarioError(f"parallelism: unknown key {k!r}; use data/dp, tensor/tp, pipeline/pp, "
                                    "expert/ep, zero_stage, schedule, sequence_parallel/sp, tp_overlap, "
                                    "virtual_stages/vp")
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
            rest = clean.get("tensor", 1) * clean.get("pipeline", 1)
            clean["data"] = max(1, devices // rest) if rest else 1
        p = Parallelism(**clean)
    for key in ("data", "tensor", "pipeline", "expert", "virtual_stages"):
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
        raise ScenarioError(f"parallelism: dp x tp x pp = {p.data} x {p.tensor} x {p.pipeline} = {p.devices}, "
                            f"but devices = {devices}")
    if p.data % p.expert:
        raise ScenarioError(f"parallelism: expert ({p.expert}) must divide data ({p.data})")
    return p


def layer_of(name: str) -> int | None:
    """Transformer layer index from an op name (``h12.mlp.up`` -> 12), None outside layers.

    Example:
        >>> layer_of("h12.mlp.up"), layer_of("lm_head")
        (12, None)
    """
    m = _LAYER.match(name)
    return int(m.group(1)) if m else None


def _div(x: int, t: int) -> int:
    return max(1, ceil_div(x, t))


def shard_op(op: Op, tp: int, ep: int = 1, sequence_parallel: bool = False) -> tuple[Op, str | None]:
    """The part of ``op`` one tensor-parallel rank runs, and the collective that must follow it.

    With ``sequence_parallel``, a layer's remaining ops (norms, residual adds) run on 1/tp of the
    sequence.

    Returns (op, "tp_all_reduce" | "ep_all_to_all" | None). Pure; raises nothing (degrees are
    checked by :func:`parse_parallelism` and :func:`check_tensor_parallel`).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> g = load_workload("gpt2").build(batch_size=1, seq_len=64)
        >>> part, collective = shard_op(g.op("h0.attn.out"), tp=4)   # row-parallel: all-reduce after
        >>> part.flops / g.op("h0.attn.out").flops, collective
        (0.25, 'tp_all_reduce')
        >>> shard_op(g.op("h0.attn.qkv"), tp=4)[0].gemms             # column-parallel: N split
        (Gemm(m=64, n=576, k=768, count=1),)
    """
    name = op.name
    if op.kind == OpKind.MATMUL and "experts" in dict(op.attrs) and ep > 1:
        g = tuple(Gemm(m=x.m, n=x.n, k=x.k, count=_div(x.count, ep)) for x in op.gemms)
        return replace(op, flops=op.flops / ep, param_elems=op.param_elems / ep,
                       weight_read_elems=op.weight_read_elems / ep, gemms=g), "ep_all_to_all"
    if tp == 1:
        return op, None
    if name.endswith(_COLUMN) or name == "lm_head":
        g = tuple(Gemm(m=x.m, n=_div(x.n, tp), k=x.k, count=x.count) for x in op.gemms)
        return replace(op, flops=op.flops / tp, output_elems=op.output_elems / tp, param_elems=op.param_elems / tp,
                       weight_read_elems=op.weight_read_elems / tp, gemms=g), None
    if name.endswith(_ROW):
        g = tuple(Gemm(m=x.m, n=x.n, k=_div(x.k, tp), count=x.count) for x in op.gemms)
        out = op.output_elems / tp if sequence_parallel else op.output_elems  # reduce-scattered
        return replace(op, flops=op.flops / tp, input_elems=op.input_elems / tp, output_elems=out,
                       param_elems=op.param_elems / tp, weight_read_elems=op.weight_read_elems / tp,
                       gemms=g), "tp_all_reduce"
    if op.kind == OpKind.ATTENTION or (layer_of(name) is not None and ".mlp." in name and op.kind in
                                       (OpKind.ACTIVATION, OpKind.ELEMENTWISE)):
        g = tuple(Gemm(m=x.m, n=x.n, k=x.k, count=_div(x.count, tp)) for x in op.gemms)
        return replace(op, flops=op.flops / tp, input_elems=op.input_elems / tp, output_elems=op.output_elems / tp,
                       scratch_elems=op.scratch_elems / tp, gemms=g), None
    if op.kind == OpKind.EMBEDDING and name == "embed":
        return replace(op, param_elems=op.param_elems / tp, weight_read_elems=op.weight_read_elems / tp), \
            "tp_all_reduce"
    if op.kind == OpKind.LOSS:
        return replace(op, flops=op.flops / tp, input_elems=op.input_elems / tp), None
    if sequence_parallel and layer_of(name) is not None and not op.gemms:
        return replace(op, flops=op.flops / tp, input_elems=op.input_elems / tp,
                       output_elems=op.output_elems / tp), None
    return op, None


def stage_of_ops(graph: ComputeGraph, pipeline: int) -> dict[str, int]:
    """Assign every op to a pipeline stage: by layer index for transformers, else by cumulative FLOPs.

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
    layers = sorted({layer_of(n) for n in order if layer_of(n) is not None})
    if pipeline == 1:
        return {n: 0 for n in order}
    if layers:
        if pipeline > len(layers):
            raise ScenarioError(f"parallelism: pipeline ({pipeline}) exceeds the model's {len(layers)} layers")
        per = len(layers) / pipeline
        out = {}
        seen_layers = False
        for n in order:
            li = layer_of(n)
            if li is None:
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
    """Tensor parallelism needs the transformer layout (heads divisible by tp).

    Raises:
        ScenarioError: a non-transformer workload, or heads not divisible by tp.

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
    attn = [graph.op(n) for n in graph.order if graph.op(n).kind == OpKind.ATTENTION]
    if not attn:
        raise ScenarioError("parallelism: tensor parallelism is modelled for transformer workloads only")
    heads = dict(attn[0].attrs).get("heads", 1)
    kv = dict(attn[0].attrs).get("kv_heads", heads)
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

