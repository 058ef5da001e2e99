"""Pointwise-op fusion, as graph compilers do it (TensorRT, XLA, TPU/Neuron/Edge TPU compilers, DPUs).

Eager frameworks run every batch-norm, activation and residual add as its own kernel that reads
and writes the whole activation tensor. Compiled stacks fuse them into the producing kernel's
epilogue: the intermediate never reaches main memory. This module rewrites a forward graph that
way (``stack="compiled"``), so a compiled stack is simulated with the traffic it really has.

Rule: a pointwise op (norm, activation, element-wise, softmax) whose input producer has no other
consumer is merged into that producer: FLOPs and parameters add up, the merged op reads the
producer's inputs plus the pointwise op's *other* inputs (a residual's skip tensor) and writes
the pointwise op's output. Chains (conv -> bn -> add -> relu) collapse into one op.
"""
from __future__ import annotations

import dataclasses


from .digraph import DiGraph
from .graph import ComputeGraph
from .ops import Op, OpKind

POINTWISE = (OpKind.NORM, OpKind.ACTIVATION, OpKind.ELEMENTWISE, OpKind.SOFTMAX)


def _merge(host: Op, p: Op, host_out: float) -> Op:
    other_inputs = max(0.0, p.input_elems - host_out)
    return dataclasses.replace(host, flops=host.flops + p.flops, input_elems=host.input_elems + other_inputs,
                               output_elems=p.output_elems, param_elems=host.param_elems + p.param_elems,
                               weight_read_elems=host.weight_read_elems + p.weight_read_elems)


def fuse_pointwise(graph: ComputeGraph) -> ComputeGraph:
    """A copy of ``graph`` with pointwise ops merged into their single-consumer producers.

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> g = load_workload("resnet50").build(batch_size=1)
        >>> len(fuse_pointwise(g)) < len(g)
        True
    """
    g = graph.digraph
    head: dict[str, str] = {}          # op name -> name of the fused op it now belongs to
    ops: dict[str, Op] = {}
    order: list[str] = []
    for name in graph.order:
        op = graph.op(name)
        preds = graph.predecessors(name)
        host = None
        if op.kind in POINTWISE:
            for p in preds:
                if g.out_degree(p) == 1 and p in head:
                    host = head[p]
                    break
        if host is None:
            head[name] = name
            ops[name] = op
            order.append(name)
        else:
            prev_out = ops[host].output_elems
            ops[host] = _merge(ops[host], op, prev_out)
            head[name] = host
    out = DiGraph()
    for i, name in enumerate(order):
        out.add_node(name, op=ops[name], index=i)
    for u, v, data in g.edges(data=True):
        hu, hv = head[u], head[v]
        if hu != hv:
            if out.has_edge(hu, hv):
                out.edges[hu, hv]["elems"] += data.get("elems", 0)
            else:
                out.add_edge(hu, hv, elems=data.get("elems", 0))
    return ComputeGraph(out, name=graph.name, source=graph.source, meta=graph.meta)
