"""Mixed-precision inference that keeps FP32 weights (PyTorch ``torch.autocast``): a cast kernel per
weighted matrix op per forward pass.

Under autocast a model's parameters stay FP32; each op on the autocast FP16/BF16 list (convolutions,
linear layers, matmuls) converts its FP32 weight to the compute format on first use, as its own
kernel, and the converted copy is cached only until the autocast region exits, i.e. for one forward
pass (PyTorch documentation, "Automatic Mixed Precision package - torch.amp": autocast op reference
and the ``cache_enabled`` argument of ``torch.autocast``). So every forward pass of an eager model pays
one extra kernel, and one extra host dispatch, per weighted matrix op, and reads its weights at four
bytes to write them at two. NVIDIA's DeepLearningExamples ResNet-50 v1.5 PyTorch tables show it:
at batch 1 on a V100 the AMP latency (12.78 ms) is above the FP32 one (10.37 ms), both host-bound.

A scenario asks for it by storing weights wider than it computes (``precision=fp16``,
``weight_precision=fp32``); :func:`add_weight_casts` adds the casts, and the matrix ops then read the
cast copies at the compute format.
"""
from __future__ import annotations

from .digraph import DiGraph
from .graph import ComputeGraph
from .ops import INPUT_FORMAT, Op, OpKind

CAST_PREFIX = "autocast."
FP32 = "fp32"


def casts_weights(compute_bytes: float, weight_bytes: float, training: bool) -> bool:
    """Whether a run converts its stored weights to the compute format every forward pass: weights
    stored at FP32 and a 16-bit compute format, in inference (training's mixed precision keeps its own
    working copy, :func:`simulator.run.graphs.memory_plan`).

    Example:
        >>> casts_weights(2, 4, False), casts_weights(2, 2, False), casts_weights(2, 4, True), casts_weights(1, 4, False)
        (True, False, False, False)
    """
    return not training and compute_bytes == 2 and weight_bytes == 4


def read_weights(compute, weights, training: bool):
    """The format matrix ops read their weights in: the compute format's cast copies when the run casts
    (:func:`casts_weights`), else the stored format (``compute``/``weights``: Precision members)."""
    return compute if casts_weights(compute.bytes, weights.bytes, training) else weights


def add_weight_casts(graph: ComputeGraph) -> ComputeGraph:
    """A copy of ``graph`` with, before every op that multiplies by its own weights, a cast op that reads
    those weights at FP32 and writes them at the compute format, feeding the op.

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> g = load_workload("resnet50").build(batch_size=1)
        >>> c = add_weight_casts(g)
        >>> len(c) - len(g), c.op("autocast.fc").input_elems == g.op("fc").weight_read_elems
        (54, True)
        >>> c.order.index("autocast.fc") + 1 == c.order.index("fc")
        True
    """
    g = graph.digraph
    out = DiGraph()
    index = 0
    for n in graph.order:
        op = graph.op(n)
        if op.gemms and op.weight_read_elems > 0:
            w = float(op.weight_read_elems)
            cast = Op(CAST_PREFIX + n, OpKind.ELEMENTWISE, flops=w, input_elems=w, output_elems=w, layer=op.layer,
                      attrs=((INPUT_FORMAT, FP32),), block=op.block)
            out.add_node(cast.name, op=cast, index=index)
            index += 1
        out.add_node(n, op=op, index=index)
        index += 1
    for u, v, data in g.edges(data=True):
        out.add_edge(u, v, **data)
    for n in graph.order:
        op = graph.op(n)
        if op.gemms and op.weight_read_elems > 0:
            out.add_edge(CAST_PREFIX + n, n, elems=float(op.weight_read_elems))
    return ComputeGraph(out, name=graph.name, source=graph.source, meta=graph.meta)
