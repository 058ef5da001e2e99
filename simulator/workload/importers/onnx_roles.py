"""Tensor-parallel roles and transformer layers recognised in an imported graph, by its structure.

An exporter names nodes as it likes (``/layers.0/qkv/MatMul``, ``node_MatMul_7``), so the roles
(:class:`~simulator.workload.ops.TpRole`) come from the pattern Megatron-LM splits, read off the
graph of our ops:

* an **attention core** is a softmax with an activation-by-activation MatMul before it (Q.K^T) and
  one after it (P.V). Walking back from the two MatMuls through data movement, element-wise and
  norm ops (transposes, splits, rotary embeddings, per-head norms) reaches the Q/K/V projections:
  the linear layers whose input width is the model width, **column**-parallel. Walking forward
  from P.V through data movement reaches one linear layer, the output projection: **row**-parallel.
  Every op between the projections (the core itself, head reshapes, rotary work) is **heads**.
* an **MLP** is a linear layer (down) reached backwards from whose input, through element-wise and
  data-movement ops with at least one activation among them, are only linear layers (up, gate)
  taking the model width that the down projection gives back, with down's output added to the
  residual stream its up projections read: up / gate **column**, down **row**, between **heads**.
* the largest embedding table (``Gather`` on a parameter) is the **vocab**-split token embedding,
  and a linear layer from the model width to that vocabulary the **vocab**-split LM head.
* a **block** (transformer layer index) is an attention with the MLPs that follow it; the ops
  ordered from its first projection to the residual add after its last row projection belong to
  it, and so do the ops just before it that feed only it (a pre-norm's norm), while an op that is
  itself the residual stream (a post-norm's norm) stays with the layer that made it. Ops before
  the first layer and after the last (embeddings, final norm, head) have no block: for a
  post-norm model the last layer's closing norm is among them.

All or nothing: a softmax core whose projections are not found leaves the whole graph replicated,
so tensor parallelism on it is refused (:func:`simulator.parallel.layout.check_tensor_parallel`) rather
than run half split. The attention heads (for that check) are written on the Q.K^T MatMul as
``heads`` / ``kv_heads`` attrs.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from typing import Iterable, Mapping

from ..graph import ComputeGraph
from ..ops import OpKind, TpRole

MOVE = frozenset({OpKind.DATA_MOVEMENT})
POINTWISE = frozenset({OpKind.DATA_MOVEMENT, OpKind.ELEMENTWISE})
TO_PROJECTIONS = frozenset({OpKind.DATA_MOVEMENT, OpKind.ELEMENTWISE, OpKind.NORM})
IN_MLP = frozenset({OpKind.DATA_MOVEMENT, OpKind.ELEMENTWISE, OpKind.ACTIVATION})
WALK_LIMIT = 64  # ops a walk may pass through: a projection is a few reshapes away, never a layer


@dataclass(frozen=True)
class _Unit:
    """One recognised attention or MLP: its column GEMMs, the ops between, its row GEMM."""

    columns: frozenset[str]
    heads: frozenset[str]
    row: str
    attrs: tuple[str, tuple] | None = None  # (Q.K^T op, its heads attrs) for an attention


def _walk(g: ComputeGraph, starts: Iterable[str], *, forward: bool, through: frozenset) -> tuple[set, set]:
    """Ops with GEMMs where walks from ``starts`` end, and the ops passed through (kinds ``through``,
    no GEMMs) on the way; other ops end a branch silently."""
    stops: set[str] = set()
    passed: set[str] = set()
    todo, seen = list(starts), set(starts)
    while todo:
        n = todo.pop()
        for m in (g.successors(n) if forward else g.predecessors(n)):
            if m in seen:
                continue
            seen.add(m)
            op = g.op(m)
            if op.gemms:
                stops.add(m)
            elif op.kind in through and len(passed) < WALK_LIMIT:
                passed.add(m)
                todo.append(m)
    return stops, passed


def _reach(g: ComputeGraph, starts: Iterable[str], pos: Mapping[str, int], *, forward: bool, bound: int) -> set:
    """Ops reachable from ``starts`` (included), not going past topological position ``bound``."""
    out, todo = set(starts), list(starts)
    while todo:
        n = todo.pop()
        for m in (g.successors(n) if forward else g.predecessors(n)):
            if m not in out and (pos[m] <= bound if forward else pos[m] >= bound):
                out.add(m)
                todo.append(m)
    return out


def _between(g: ComputeGraph, columns: Iterable[str], row: str, pos: Mapping[str, int]) -> frozenset[str]:
    """The ops on paths from the column GEMMs to the row GEMM, both excluded."""
    columns = set(columns)
    after = _reach(g, columns, pos, forward=True, bound=pos[row])
    before = _reach(g, [row], pos, forward=False, bound=min(pos[c] for c in columns))
    return frozenset((after & before) - columns - {row})


def _heads_attrs(g: ComputeGraph, qk: str, columns: Iterable[str], shapes: Mapping, batch: int) -> tuple:
    """(heads, kv_heads) of an attention from its Q.K^T output (batch, heads, q, kv) and the
    projections' total width (heads + 2 kv_heads) x head_dim."""
    heads = max(1, math.prod(shapes[qk][:-2]) // batch)
    dim = g.op(qk).gemms[0].k
    width = sum(g.op(c).gemms[0].n for c in columns)
    kv2 = width // dim - heads if width % dim == 0 else 0
    kv = kv2 // 2 if kv2 > 0 and kv2 % 2 == 0 else heads
    return (("heads", heads), ("kv_heads", kv))


def _attention(g: ComputeGraph, sm: str, linear: set, pos: Mapping, shapes: Mapping, batch: int) -> _Unit | None:
    """The attention around softmax ``sm``; None if ``sm`` is no attention core (a classifier's
    softmax); raises LookupError if it is a core whose projections are not found."""
    before, _ = _walk(g, [sm], forward=False, through=POINTWISE)
    after, _ = _walk(g, [sm], forward=True, through=POINTWISE)
    qk, pv = [n for n in before if n not in linear], [n for n in after if n not in linear]
    if len(qk) != 1 or len(pv) != 1:
        return None
    rows, _ = _walk(g, pv, forward=True, through=MOVE)
    if len(rows) != 1 or not rows <= linear:
        raise LookupError(f"no single output projection after {pv[0]!r}")
    row = rows.pop()
    width = g.op(row).gemms[0].n
    stops, _ = _walk(g, qk + pv, forward=False, through=TO_PROJECTIONS)
    columns = {c for c in stops if c in linear and g.op(c).gemms[0].k == width}
    if not columns:
        raise LookupError(f"no Q/K/V projection of width {width} before {qk[0]!r}")
    return _Unit(frozenset(columns), _between(g, columns, row, pos), row,
                 (qk[0], _heads_attrs(g, qk[0], columns, shapes, batch)))


def _residual_adds(g: ComputeGraph, row: str) -> list[str]:
    """Element-wise ops of two or more inputs right after ``row``: the residual adds."""
    return [s for s in g.successors(row) if g.op(s).kind == OpKind.ELEMENTWISE and len(g.predecessors(s)) >= 2]


def _mlp(g: ComputeGraph, down: str, linear: set, taken: set, pos: Mapping) -> _Unit | None:
    """The MLP whose down projection is ``down``, or None if ``down`` is not one."""
    ups, passed = _walk(g, [down], forward=False, through=IN_MLP)
    width = g.op(down).gemms[0].n
    if not ups or not ups <= linear or ups & taken or any(g.op(u).gemms[0].k != width for u in ups):
        return None
    if not any(g.op(p).kind == OpKind.ACTIVATION for p in passed):
        return None
    stream = {p for u in ups for p in g.predecessors(u)}
    first = min(pos[u] for u in ups)
    for add in _residual_adds(g, down):
        others = [p for p in g.predecessors(add) if p != down]
        if any(_reach(g, [p], pos, forward=True, bound=first) & (stream | set(ups)) for p in others):
            return _Unit(frozenset(ups), _between(g, ups, down, pos), down)
    return None


def _units(g: ComputeGraph, linear: set, pos: Mapping, shapes: Mapping, batch: int) -> list[_Unit]:
    """Every attention, then every MLP, in graph order; [] when an attention core is not understood."""
    try:
        attn = [u for u in (_attention(g, n, linear, pos, shapes, batch) for n in g.order
                            if g.op(n).kind == OpKind.SOFTMAX) if u is not None]
    except LookupError:
        return []
    taken = {n for u in attn for n in (*u.columns, u.row)}
    mlps = []
    for n in g.order:
        if n in linear and n not in taken:
            u = _mlp(g, n, linear, taken, pos)
            if u is not None:
                mlps.append(u)
                taken |= {*u.columns, u.row}
    return attn + mlps if attn else []


def _layers(units: list[_Unit], pos: Mapping[str, int]) -> list[set[str]]:
    """Each attention's ops with those of the MLPs after it (before the next attention)."""
    first = lambda u: min(pos[c] for c in u.columns)  # noqa: E731
    attn = sorted((u for u in units if u.attrs), key=first)
    starts = [first(u) for u in attn]
    layers = [set(u.columns | u.heads | {u.row}) for u in attn]
    for u in units:
        if not u.attrs:
            i = bisect_right(starts, first(u)) - 1
            if i >= 0:  # an MLP before the first attention belongs to no layer
                layers[i] |= u.columns | u.heads | {u.row}
    return layers


def _blocks(g: ComputeGraph, layers: list[set[str]], rows: set[str], pos: Mapping) -> dict[str, int | None]:
    """Layer index of every op (see the module docstring), None outside layers."""
    order = g.order
    residual = {a for r in rows for a in _residual_adds(g, r)}
    block: dict[str, int | None] = {}
    for i, ops in enumerate(layers):
        ends = ops | {a for r in ops & rows for a in _residual_adds(g, r)}
        for n in order[min(pos[n] for n in ops):max(pos[n] for n in ends) + 1]:
            block[n] = i
    after: int | None = None  # the layer that follows the current gap (walking backwards)
    for n in reversed(order):
        if n in block:
            after = block[n]
            continue
        if after is None:  # after the last layer
            block[n] = None
            continue
        succ = g.successors(n)
        feeds_only_next = bool(succ) and all(block.get(s) == after and s not in residual for s in succ)
        block[n] = after if feeds_only_next else (after - 1 if after > 0 else None)
    return block


def _vocab(g: ComputeGraph, linear: set, taken: set, width: int) -> set[str]:
    """The largest embedding table (the token embedding) and the LM head projecting onto it."""
    tables = [n for n in g.order if g.op(n).kind == OpKind.EMBEDDING]
    if not tables:
        return set()
    embed = max(tables, key=lambda n: dict(g.op(n).attrs).get("vocab", 0))
    vocab = dict(g.op(embed).attrs).get("vocab", 0)
    heads = {n for n in g.order if n in linear and n not in taken
             and (g.op(n).gemms[0].n, g.op(n).gemms[0].k) == (vocab, width)}
    return {embed} | heads


def _roles(units: list[_Unit]) -> dict[str, TpRole] | None:
    """Role of every op the units cover; None if one op would get two roles."""
    roles: dict[str, TpRole] = {}
    for u in units:
        for names, role in ((u.columns, TpRole.COLUMN), (u.heads, TpRole.HEADS), ((u.row,), TpRole.ROW)):
            for n in names:
                if roles.setdefault(n, role) != role:
                    return None
    return roles


def assign_tp_roles(graph: ComputeGraph, *, linear: set[str], shapes: Mapping[str, tuple[int, ...]],
                    batch: int) -> ComputeGraph:
    """``graph`` with the tensor-parallel roles and layer indices (``block``) of the transformer
    layers it recognises (see the module docstring); ``graph`` itself when it recognises none.

    ``linear``: names of the MatMul / Gemm ops with a weight operand; ``shapes``: output shape of
    every op; ``batch``: the batch size the graph was built at. Pure; raises nothing.

    Example:
        >>> from simulator.workload.loader import ZOO_ROOT
        >>> from simulator.workload.importers.onnx_import import load_onnx
        >>> g = load_onnx(ZOO_ROOT / "examples" / "tiny-encoder.onnx").build(batch_size=1, seq_len=16)
        >>> [(g.op(n).tp_role.value, g.op(n).block) for n in ("/tok/Gather", "/layers.0/qkv/MatMul",
        ...                                                  "/layers.0/Softmax", "/layers.1/down/MatMul")]
        [('vocab', None), ('column', 0), ('heads', 0), ('row', 1)]
        >>> dict(g.op("/layers.0/MatMul").attrs)["heads"]
        4
    """
    pos = {n: i for i, n in enumerate(graph.order)}
    units = _units(graph, linear, pos, shapes, batch)
    roles = _roles(units) if units else None
    if not roles:
        return graph
    taken = set(roles)
    width = graph.op(next(u.row for u in units if u.attrs)).gemms[0].n
    roles.update(dict.fromkeys(_vocab(graph, linear, taken, width), TpRole.VOCAB))
    block = _blocks(graph, _layers(units, pos), {u.row for u in units}, pos)
    heads = dict(u.attrs for u in units if u.attrs)
    out = graph.digraph.copy()
    for n in graph.order:
        op = graph.op(n)
        out.nodes[n]["op"] = op.renamed(n, tp_role=roles.get(n, TpRole.REPLICATED), block=block[n],
                                        attrs=(*op.attrs, *heads.get(n, ())))
    return ComputeGraph(out, name=graph.name, source=graph.source, meta=graph.meta)


__all__ = ["assign_tp_roles"]
