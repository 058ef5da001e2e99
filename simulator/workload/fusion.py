"""Pointwise-op fusion, as graph compilers do it (TensorRT, XLA, TPU/Neuron/Edge TPU compilers, DPUs).

Eager frameworks run every batch-norm, activation and residual add as its own kernel that reads
and writes the whole activation tensor. Compiled stacks fuse them into the producing kernel's
epilogue: the intermediate never reaches main memory. This module rewrites a forward graph that
way (``stack="compiled"``), so a compiled stack is simulated with the traffic it really has.

Rule: a pointwise op (norm, activation, element-wise, softmax) whose input producer has no other
consumer is merged into that producer: FLOPs and parameters add up, the merged op reads the
producer's inputs plus the pointwise op's *other* inputs (a residual's skip tensor) and writes
the pointwise op's output. Chains (conv -> bn -> add -> relu) collapse into one op, which keeps for
the backward pass what its members need (:func:`~.saved.merged_reads`).
"""
from __future__ import annotations

import dataclasses


from .digraph import DiGraph
from .graph import ComputeGraph
from .ops import STATS_ELEMS, Op, OpKind
from .saved import MASK_SHARE, READS, merged_reads, reads_inputs, reads_output

POINTWISE = (OpKind.NORM, OpKind.ACTIVATION, OpKind.ELEMENTWISE, OpKind.SOFTMAX)


def _merge(host: Op, p: Op, host_out: float) -> Op:
    other_inputs = max(0.0, p.input_elems - host_out)
    merged = dataclasses.replace(host, flops=host.flops + p.flops, input_elems=host.input_elems + other_inputs,
                                 output_elems=p.output_elems, param_elems=host.param_elems + p.param_elems,
                                 weight_read_elems=host.weight_read_elems + p.weight_read_elems)
    # the host's kind alone would decide what the fused op keeps for backward (a sum hosting a norm:
    # nothing); it keeps what its members need. A dropout host's mask share is not the fused output's.
    reads = merged_reads(host, p, other_inputs > 0)
    attrs = tuple((k, v) for k, v in host.attrs if k not in (READS, MASK_SHARE))
    bare = merged if attrs == host.attrs else dataclasses.replace(merged, attrs=attrs)
    if (reads_inputs(bare), reads_output(bare)) != reads:
        attrs += ((READS, reads),)
    return bare if attrs == bare.attrs else dataclasses.replace(bare, attrs=attrs)


def _starts_norm_kernel(graph: ComputeGraph, name: str, op: Op) -> bool:
    """An element-wise op (a residual add) whose one consumer is a norm: with ``norm_kernels`` it opens
    the norm's kernel (a skip-layernorm) instead of joining its producer's epilogue."""
    succ = list(graph.digraph.successors(name))
    return op.kind == OpKind.ELEMENTWISE and len(succ) == 1 and graph.op(succ[0]).kind == OpKind.NORM


def fuse_pointwise(graph: ComputeGraph, hosts: tuple[OpKind, ...] | None = None,
                   norm_kernels: bool = False) -> ComputeGraph:
    """A copy of ``graph`` with pointwise ops merged into their single-consumer producers.

    ``hosts``: the op kinds that may absorb them (None: any). ``(OpKind.NORM,)`` is a training
    framework's fused norm kernels (:func:`fuse_norm_epilogues`): convolutions keep their own outputs.
    ``norm_kernels``: norms run as kernels of their own, each with the residual add before it (a
    skip-layernorm plugin: NVIDIA's MLPerf BERT engines, ``CustomSkipLayerNormPluginDynamic`` after
    the attention-output and FC2 GEMMs), never in a GEMM's epilogue; activations still fuse.

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> g = load_workload("bert-large").build(batch_size=1, seq_len=128)
        >>> f = fuse_pointwise(g, norm_kernels=True)
        >>> [n for n in f.order if n.startswith("h0.")]     # 7 kernels per encoder layer, not 5
        ['h0.attn.qkv', 'h0.attn.sdpa', 'h0.attn.out', 'h0.add1', 'h0.mlp.up', 'h0.mlp.down', 'h0.add2']

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
        if op.kind in POINTWISE and not (norm_kernels and _starts_norm_kernel(graph, name, op)):
            for p in preds:
                if g.out_degree(p) == 1 and p in head and (hosts is None or ops[head[p]].kind in hosts) \
                        and not (norm_kernels and op.kind == OpKind.NORM and ops[head[p]].kind not in POINTWISE):
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


def fuse_norm_epilogues(graph: ComputeGraph) -> ComputeGraph:
    """A copy of ``graph`` where each norm absorbs the residual add and activation after it: NVIDIA's
    MLPerf MXNet ResNet-50 runs BatchNorm+ReLU (``act_type='relu'``) and BatchNormAddRelu as one NHWC
    kernel each, forward and backward, while the convolutions stay cuDNN kernels of their own.

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> g = load_workload("resnet50").build(batch_size=1)
        >>> f = fuse_norm_epilogues(g)
        >>> sorted({f.op(n).kind.value for n in f.order} - {OpKind.CONV2D.value})[:3], len(f) < len(g)
        (['loss', 'matmul', 'norm'], True)
    """
    fused = fuse_pointwise(graph, hosts=(OpKind.NORM,))
    out = fused.digraph.copy()
    for n in fused.order:
        op = fused.op(n)
        if op.kind == OpKind.NORM and op.input_elems != graph.op(n).input_elems:
            # batch statistics are taken over the normalised tensor, not over the one added after it
            out.nodes[n]["op"] = op.renamed(n, attrs=(*op.attrs, (STATS_ELEMS, float(graph.op(n).input_elems))))
    return ComputeGraph(out, name=fused.name, source=fused.source, meta=fused.meta)


def fuse_region(graph: ComputeGraph, prefix: str) -> ComputeGraph:
    """A copy of ``graph`` with every op whose name starts with ``prefix`` merged into one op, as a
    hand-written engine plugin runs a whole stage in one kernel (NVIDIA's MLPerf ResNet-50
    ``RES2_FULL_FUSION`` runs the res2 stage, torchvision's ``layer1``, as one CUDA kernel:
    closed/NVIDIA code/resnet50/tensorrt/README.md, inference_results v0.7-v4.x).

    The merged op takes the place of the region's first op: its FLOPs, parameters, weight reads and
    GEMMs (run one after another) are the sum of the region's; it reads each tensor entering the
    region once (two ops reading the same tensor share one read) and writes only the tensors that
    leave it (or that nothing reads): the intermediates stay on chip. No op matches: the graph as is.
    ``prefix`` may list alternatives separated by ``|``: consecutive stages run as one kernel (oneDNN
    Graph Compiler's batch-wise fusion of ResNet-50's res2 and res3 stages, ``"layer1.|layer2."``);
    the merged op is named after the first.

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> g = fuse_pointwise(load_workload("resnet50").build(batch_size=1))
        >>> f = fuse_region(g, "layer1.")
        >>> len(g) - len(f), f.op("layer1").input_elems, f.op("layer1").output_elems   # 10 convs -> 1
        (9, 200704.0, 802816.0)
    """
    alternatives = tuple(prefix.split("|"))
    members = [n for n in graph.order if n.startswith(alternatives)]
    if not members:
        return graph
    inside = set(members)
    g = graph.digraph
    entering: dict[str, float] = {}     # outside producer -> elements the region reads of it
    from_inputs = 0.0                   # elements read from the graph's own inputs
    out_elems = 0.0
    for n in members:
        op = graph.op(n)
        incoming = 0.0
        for p in graph.predecessors(n):
            e = g.edges[p, n].get("elems", 0) or graph.op(p).output_elems
            incoming += e
            if p not in inside:
                entering[p] = max(entering.get(p, 0.0), e)
        from_inputs += max(0.0, op.input_elems - incoming)
        succ = list(g.successors(n))
        if not succ or any(s not in inside for s in succ):
            out_elems += op.output_elems
    first = graph.op(members[0])
    parts = [graph.op(n) for n in members]
    name = alternatives[0].rstrip(".") or alternatives[0]
    fused = dataclasses.replace(
        first, name=name, flops=sum(o.flops for o in parts), input_elems=sum(entering.values()) + from_inputs,
        output_elems=out_elems, param_elems=sum(o.param_elems for o in parts),
        weight_read_elems=sum(o.weight_read_elems for o in parts), gemms=tuple(gm for o in parts for gm in o.gemms),
        scratch_elems=sum(o.scratch_elems for o in parts), attrs=(("fused_region", prefix),))
    head = {n: (name if n in inside else n) for n in graph.order}
    out = DiGraph()
    order = [n for n in graph.order if n not in inside or n == members[0]]
    for i, n in enumerate(order):
        out.add_node(head[n], op=fused if n == members[0] else graph.op(n), index=i)
    for u, v, data in g.edges(data=True):
        hu, hv = head[u], head[v]
        if hu != hv:
            if out.has_edge(hu, hv):
                out.edges[hu, hv]["elems"] = max(out.edges[hu, hv]["elems"], data.get("elems", 0))
            else:
                out.add_edge(hu, hv, elems=data.get("elems", 0))
    return ComputeGraph(out, name=graph.name, source=graph.source, meta=graph.meta)
