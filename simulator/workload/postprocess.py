"""A harness's post-processing of a network's outputs on the same cores (a stack's ``output_scans``).

An int8 network run through Intel Extension for PyTorch hands its outputs back dequantized: the
producing convolution writes FP32 (oneDNN int8 convolution with an f32 destination), four bytes per
element where the int8 tensors between layers take one. Intel's MLPerf RetinaNet harness then decodes
each image on the instance's own threads before it takes the next batch
(closed/Intel/code/retinanet/pytorch-cpu/src/dataset_utils.cpp ``RetinaNetDataset::PostProcess`` /
``ThresholdScores``): it reads every class logit of every anchor once against the score threshold,
keeps at most ``topk_candidates`` (1000) per pyramid level, and decodes and NMS-es only those. The
scan over 120087 anchors x 264 classes per 800x800 image is the part whose size the model knows;
the sort, decode and NMS of the survivors are not modelled (their count is not published).

:func:`add_score_scan` marks the output ops' tensors as FP32 and adds the scan as one op reading the
scanned outputs at FP32; the cost models charge the marked tensors at four bytes
(:func:`simulator.cost.base.op_bytes`).
"""
from __future__ import annotations

import dataclasses
import re

from .digraph import DiGraph
from .graph import ComputeGraph
from .ops import INPUT_FORMAT, OUTPUT_FORMAT, Op, OpKind

FP32 = "fp32"
SCAN_OP = "postprocess.score_scan"


def _batch(op: Op) -> int:
    a = dict(op.attrs)
    per_image = a.get("out_ch", 0) * a.get("out_h", 0) * a.get("out_w", 0)
    return max(1, round(op.output_elems / per_image)) if per_image else 1


def add_score_scan(graph: ComputeGraph, outputs: str, scanned: str, keep: int) -> ComputeGraph:
    """A copy of ``graph`` whose ops named (``re.fullmatch``) by ``outputs`` write FP32, plus one op that
    reads the outputs of the ops named by ``scanned`` once at FP32 (a score threshold: one compare per
    element) and keeps ``keep`` (index, score) pairs per scanned output and image. No op named by
    ``scanned``: the graph as is.

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> g = load_workload("retinanet-resnext50").build(batch_size=1, image_size=800)
        >>> s = add_score_scan(g, r"(cls|box)\\.p\\d\\.out", r"cls\\.p\\d\\.out", 1000)
        >>> s.op("postprocess.score_scan").input_elems, s.op("postprocess.score_scan").output_elems
        (31702968.0, 10000.0)
    """
    out_re, scan_re = re.compile(outputs), re.compile(scanned)
    scanned_ops = [n for n in graph.order if scan_re.fullmatch(n)]
    if not scanned_ops:
        return graph
    g = graph.digraph
    out = DiGraph()
    for i, n in enumerate(graph.order):
        op = graph.op(n)
        if out_re.fullmatch(n):
            op = dataclasses.replace(op, attrs=op.attrs + ((OUTPUT_FORMAT, FP32),))
        out.add_node(n, op=op, index=i)
    for u, v, data in g.edges(data=True):
        out.add_edge(u, v, **data)
    elems = float(sum(graph.op(n).output_elems for n in scanned_ops))
    kept = float(_batch(graph.op(scanned_ops[0])) * len(scanned_ops) * keep * 2)
    scan = Op(SCAN_OP, OpKind.REDUCE, flops=elems, input_elems=elems, output_elems=min(kept, elems),
              attrs=((INPUT_FORMAT, FP32),))
    out.add_node(SCAN_OP, op=scan, index=len(graph.order))
    for n in scanned_ops:
        out.add_edge(n, SCAN_OP, elems=graph.op(n).output_elems)
    return ComputeGraph(out, name=graph.name, source=graph.source, meta=graph.meta)
