"""Op costs of a whole graph, computed once per (graph, device, numerics, options) and kept with the graph.

Ops that differ only in name and layer (the same convolution in every ResNet block, the same
projection in every transformer layer) cost the same: :func:`op_classes` groups them once per
graph, so a run computes one cost per class and per cache state of its inputs, never a key per op;
for GPUs, TPUs and ASICs all of them at once over the graph's op table
(:func:`simulator.cost.vector.table_costs`; in a process without numpy loaded, only for big
graphs: :data:`VECTOR_IMPORT_ROWS`), for other kinds op by op.
The costs of a (device, numerics, options) are kept in the graph's ``memo`` (the last
:data:`COSTS_PER_GRAPH` of them), so a repeated run, a ``generate`` call or a sweep over batch
sizes on one device reuses them.
"""
from __future__ import annotations

import sys
from collections import OrderedDict
from dataclasses import fields, replace
from operator import attrgetter
from typing import Any, Callable

from ..cost.base import CostOptions, Numerics, OpCost
from ..cost.dispatch import has_op_precision, op_cost
from ..engine.run import Deadline
from ..spec.models import _DeviceBase
from ..workload.graph import ComputeGraph
from ..workload.ops import Op

__all__ = ["op_classes", "graph_costs", "COSTS_PER_GRAPH"]

# Cost tables kept per graph (devices x numerics x options): enough for a device and its what-if
# variants in turn, few enough that a long sweep does not keep every point's costs alive.
COSTS_PER_GRAPH = 4


# An op's equality without its name and layer: the fields its dataclass compares (not ``block``),
# read in one call instead of building a renamed copy of every op
_class_key = attrgetter(*[f.name for f in fields(Op) if f.compare and f.name not in ("name", "layer")])


def op_classes(graph: ComputeGraph) -> tuple[list[int], list[Op]]:
    """(class index of every op in graph order, one op per class): ops in one class differ only in
    name and layer (and the transformer layer index, which is not part of an op's equality).

    Computed once per graph (kept in ``graph.memo``).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> g = load_workload("resnet50").build(batch_size=1)
        >>> classes, reps = op_classes(g)
        >>> len(classes) == len(g), len(reps) < len(g) // 2
        (True, True)
    """
    found = graph.memo.get("op_classes")
    if found is None:
        index: dict[tuple, int] = {}
        classes: list[int] = []
        reps: list[Op] = []
        for name in graph.order:
            op = graph.op(name)
            key = _class_key(op)
            i = index.get(key)
            if i is None:
                i = index[key] = len(reps)
                reps.append(op)
            classes.append(i)
        found = graph.memo["op_classes"] = (classes, reps)
    return found


def _cached_inputs(graph: ComputeGraph, hw: _DeviceBase, numerics: Numerics, cached) -> dict[str, float]:
    """``cached(graph, hw, numerics)``, kept in ``graph.memo`` by what it reads of the device: its kind
    and memory levels' sizes (a sweep over bandwidths and clocks asks again for the same answer).
    ``tests/unit/test_fast_paths.py`` checks that no other spec field changes the answer."""
    memo: OrderedDict = graph.memo.setdefault("cached_inputs", OrderedDict())
    key = (hw.kind, tuple((m.name, m.capacity_bytes) for m in hw.memory), numerics)
    found = memo.get(key)
    if found is None:
        found = memo[key] = cached(graph, hw, numerics)
        _trim(memo, 4 * COSTS_PER_GRAPH)
    return found


# numpy takes ~0.1 s to import, more than costing a few hundred distinct ops one by one: a run that
# has not loaded it (a one-off CLI call) uses the vectorised models only for graphs at least this big
VECTOR_IMPORT_ROWS = 2000


def _vectorised(graph: ComputeGraph, reps: list[Op], keys: list[tuple[int, float]], hw: _DeviceBase,
                numerics: Numerics, options: CostOptions) -> list[OpCost] | None:
    """Every row's cost from the vectorised models (:func:`simulator.cost.vector.table_costs`), or
    None (costed op by op): the device kind has none, or numpy is not loaded and the graph is small."""
    if "numpy" not in sys.modules and len(keys) < VECTOR_IMPORT_ROWS:
        return None
    from ..cost.table import OpTable
    from ..cost.vector import table_costs

    table = graph.memo.get("op_table")
    if table is None:
        table = graph.memo["op_table"] = OpTable(reps)
    return table_costs(table, keys, hw, numerics, options)


def graph_costs(graph: ComputeGraph, hw: _DeviceBase, numerics: Numerics, options: CostOptions,
                cached: Callable[[ComputeGraph, _DeviceBase, Numerics], dict[str, float]],
                deadline: Deadline | None = None) -> dict[str, OpCost]:
    """The cost of every op of ``graph`` by name, each with the input elements ``cached(graph, hw,
    numerics)`` says are still in the last on-chip cache (part of its cost, so of its class key).

    Reused from ``graph.memo`` when the same device object, numerics and options ran this graph
    recently (the device is held by the entry, so its identity cannot be reused by another).

    Raises:
        SimulationTimeout: ``deadline`` passed (checked every 256 ops).
    """
    memo: OrderedDict[Any, tuple[_DeviceBase, dict[str, OpCost]]] = graph.memo.setdefault("costs", OrderedDict())
    key = (id(hw), numerics, options)
    hit = memo.get(key)
    if hit is not None and hit[0] is hw:
        return hit[1]
    hits = _cached_inputs(graph, hw, numerics, cached)
    classes, reps = op_classes(graph)
    order = graph.order
    rows: dict[tuple[int, float], int] = {}  # (class, cached input elements) -> its row
    row_of = [rows.setdefault((c, hits.get(name, 0.0)), len(rows)) for c, name in zip(classes, order)]
    keys = list(rows)
    # ops in a format of their own (op_numerics) are costed one by one: the vectorised models take
    # one numerics for the whole table
    own = {i for i, (c, _) in enumerate(keys) if reps[c].attrs and has_op_precision(reps[c])}
    table_rows = [i for i in range(len(keys)) if i not in own] if own else range(len(keys))
    table_keys = [keys[i] for i in table_rows] if own else keys
    found = _vectorised(graph, reps, table_keys, hw, numerics, options) if table_keys else []
    if found is not None and own:
        by_row = dict(zip(table_rows, found))
        for i in own:
            c, elems = keys[i]
            by_row[i] = op_cost(reps[c], hw, numerics, replace(options, cached_input_elems=elems))
        found = [by_row[i] for i in range(len(keys))]
    if found is None:
        found = []
        for i, (c, elems) in enumerate(keys):
            if deadline is not None and i % 256 == 0:
                deadline.check("computing op costs")
            found.append(op_cost(reps[c], hw, numerics, replace(options, cached_input_elems=elems)))
    if deadline is not None:
        deadline.check("computing op costs")
    out = {name: found[r] for name, r in zip(order, row_of)}
    memo[key] = (hw, out)
    _trim(memo, COSTS_PER_GRAPH)
    return out


def _trim(memo: OrderedDict, keep: int) -> None:
    """Drop the oldest entries of ``memo`` beyond ``keep`` (another thread may drop them first)."""
    while len(memo) > keep:
        try:
            memo.popitem(last=False)
        except KeyError:
            break
