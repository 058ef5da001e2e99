"""Dropout in training graphs: the masks a model's config asks for, as the framework applies them.

Dropout is the identity at inference, so forward graphs carry only where it goes
(``graph.meta["dropout"]``: op name -> rate of the dropout on that op's output;
``graph.meta["attention_dropout"]``: attention op name -> rate on its probabilities), and
:func:`with_dropout` makes the training version:

* a hidden dropout becomes its own element-wise op after the op it masks (a separate kernel in
  eager frameworks, which is what the measured training stacks run): it draws a random number and
  scales per element (2 FLOPs) and writes the masked tensor plus a 1-byte mask, counted as half an
  element of a 16-bit activation, which the backward pass reads again: the mask is all a training
  step keeps of it (:data:`~.saved.MASK_SHARE`; neither the dropout's input nor the masked tensor,
  unless a consumer's backward reads that);
* an attention dropout makes the attention core write and read one more score-sized matrix (the
  dropped probabilities) plus its mask when the attention is not fused, and 2 FLOPs per score of
  random-number work in any case (FlashAttention generates the mask in the kernel).
"""
from __future__ import annotations

import dataclasses


from .digraph import DiGraph
from .graph import ComputeGraph
from .ops import Op, OpKind, attention_scores
from .saved import MASK_SHARE

FLOPS_PER_ELEM = 2.0
MASK_ELEMS = 0.5  # a 1-byte mask per element of a 2-byte activation
# the mask's share of a hidden dropout's output (the masked tensor plus its mask)
SHARE = MASK_ELEMS / (1.0 + MASK_ELEMS)


def with_dropout(fwd: ComputeGraph) -> ComputeGraph:
    """``fwd`` with its dropouts made real (see the module docstring); ``fwd`` itself if it has none.

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> g = with_dropout(load_workload("bert-base").build(batch_size=1, seq_len=128))
        >>> g.op("h0.attn.out.dropout").output_elems == 1.5 * g.op("h0.attn.out").output_elems
        True
        >>> g.successors("h0.attn.out")
        ['h0.attn.out.dropout']
    """
    hidden = dict(fwd.meta.get("dropout", {}))
    attention = dict(fwd.meta.get("attention_dropout", {}))
    if not hidden and not attention:
        return fwd
    src = fwd.digraph
    g = DiGraph()
    idx = 0
    for name in fwd.order:
        op = fwd.op(name)
        if attention.get(name, 0.0) > 0 and op.kind == OpKind.ATTENTION:
            scores = attention_scores(op)
            op = dataclasses.replace(op, flops=op.flops + FLOPS_PER_ELEM * scores,
                                     scratch_elems=op.scratch_elems + (1.0 + MASK_ELEMS) * scores)
        g.add_node(name, op=op, index=idx)
        idx += 1
        if hidden.get(name, 0.0) > 0:
            d = Op(f"{name}.dropout", OpKind.ELEMENTWISE, flops=FLOPS_PER_ELEM * op.output_elems,
                   input_elems=op.output_elems, output_elems=(1.0 + MASK_ELEMS) * op.output_elems,
                   layer=op.layer, block=op.block, attrs=(("dropout", hidden[name]), (MASK_SHARE, SHARE)))
            g.add_node(d.name, op=d, index=idx)
            idx += 1
            g.add_edge(name, d.name, elems=op.output_elems)
    for u, v, data in src.edges(data=True):
        tail = f"{u}.dropout" if hidden.get(u, 0.0) > 0 else u
        g.add_edge(tail, v, **data)
    return ComputeGraph(g, name=fwd.name, source=fwd.source, meta=fwd.meta)
