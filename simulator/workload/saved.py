"""What an op's backward pass reads from its forward pass: the activations a training step keeps.

Autograd (and JAX's saved residuals) keep a forward tensor only while some backward op still reads
it, so a step holds less than every forward tensor:

* a matrix product (linear, convolution, or two activations multiplied) and a norm read their
  inputs, never their output: for C = A B, dA = dC B^T and dB = A^T dC; batch/layer norm
  backward recomputes from the input and the saved per-channel statistics (PyTorch's
  ``cudnn_batch_norm_backward(input, grad_output, weight, ..., save_mean, save_var)``,
  ``native_layer_norm_backward(grad_out, input, ..., mean, rstd, ...)``);
* an activation whose derivative is a function of its output (ReLU, ReLU6, leaky ReLU, sigmoid,
  tanh) and softmax read their output, never their input (``threshold_backward(grad, result, 0)``,
  ``sigmoid_backward(grad, output)``, ``tanh_backward(grad, output)``,
  ``_softmax_backward_data(grad, output, ...)``); GELU, SiLU and hard-swish need their input;
* a residual sum reads neither operand (its gradient passes through);
* pooling reads its input (max pooling: where the maximum was; average pooling needs nothing, kept
  as the upper bound), an embedding its indices, neither their output;
* a dropout reads only its mask (PyTorch's ``native_dropout_backward(grad_output, mask, scale)``
  keeps a bool mask, 1 byte per element), neither its input nor the masked tensor: the mask is
  the share :data:`MASK_SHARE` of its output (:mod:`.dropout`), and only that share is saved;
* anything else keeps what it did before this rule: its output and all its inputs;
* a fused op (:func:`.fusion.fuse_pointwise`) reads what its members read (:data:`READS`).

So in a ResNet bottleneck the batch-norm outputs and the residual sums are dead once the next op
has consumed them: 6 of the block's 10 tensors are saved, not 10.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .ops import Op, OpKind

if TYPE_CHECKING:
    from .graph import ComputeGraph

OUTPUT_DERIVATIVE = frozenset({"relu", "relu6", "leaky_relu", "sigmoid", "tanh"})
"""Activations whose derivative can be computed from the output alone (so in-place versions exist)."""

SUM = "sum"
"""``fn`` attribute of an element-wise residual sum (:meth:`GraphBuilder.add_tensors`)."""

MASK_SHARE = "mask_share"
"""Attribute of an op whose backward reads only part of its output (a dropout: its mask): that
part's share of the output elements."""

READS = "saved_reads"
"""Attribute of a fused op: (reads its inputs, reads its output) in backward, the union of what its
members read (:func:`merged_reads`), where that differs from the rule for the host's kind."""

PART = "part"
"""Edge attribute of a backward op reading only part of a forward output (its ``elems`` are that
part): the memory ledger keeps only that part alive for it (:func:`held_elems`)."""


def is_sum(op: Op) -> bool:
    """True for an element-wise residual sum, whose gradient needs neither operand.

    Example:
        >>> from simulator.workload import ops as O
        >>> is_sum(O.elementwise("add", elems=4, fn=SUM)), is_sum(O.elementwise("mul", elems=4))
        (True, False)
    """
    return op.kind == OpKind.ELEMENTWISE and dict(op.attrs).get("fn") == SUM


def reads_output(op: Op) -> bool:
    """Whether ``op``'s backward reads ``op``'s own output.

    Example:
        >>> from simulator.workload import ops as O
        >>> reads_output(O.activation("r", elems=4)), reads_output(O.activation("g", elems=4, fn="gelu"))
        (True, False)
        >>> reads_output(O.matmul("fc", batch=1, m=2, k=3, n=4))
        False
    """
    told = dict(op.attrs).get(READS)
    if told is not None:
        return told[1]
    if op.kind in (OpKind.MATMUL, OpKind.CONV2D, OpKind.POOL, OpKind.EMBEDDING):
        return False
    if op.kind == OpKind.NORM or is_sum(op):
        return False
    if op.kind == OpKind.ACTIVATION:
        return dict(op.attrs).get("fn") in OUTPUT_DERIVATIVE
    return True


def reads_inputs(op: Op) -> bool:
    """Whether ``op``'s backward reads the tensors ``op`` consumed in the forward pass.

    Example:
        >>> from simulator.workload import ops as O
        >>> reads_inputs(O.activation("r", elems=4)), reads_inputs(O.norm("bn", elems=4, channels=2))
        (False, True)
        >>> reads_inputs(O.softmax("sm", elems=4)), reads_inputs(O.elementwise("add", elems=4, fn=SUM))
        (False, False)
    """
    told = dict(op.attrs).get(READS)
    if told is not None:
        return told[0]
    if op.kind == OpKind.SOFTMAX or is_sum(op) or MASK_SHARE in dict(op.attrs):
        return False
    if op.kind == OpKind.ACTIVATION:
        return dict(op.attrs).get("fn") not in OUTPUT_DERIVATIVE
    return True


def merged_reads(host: Op, member: Op, other_inputs: bool) -> tuple[bool, bool]:
    """(reads its inputs, reads its output) of the op fusing ``member`` into ``host``'s epilogue: the
    union of what the two read. The tensor between them stays inside the kernel, so a need for it
    (the host's output, the member's input from the host) is kept as the fused output, the same
    size for a pointwise member; ``other_inputs``: the member also reads tensors from outside (a
    residual's skip), which are the fused op's inputs.

    Example:
        >>> from simulator.workload import ops as O
        >>> add, ln = O.elementwise("add", elems=4, fn=SUM), O.norm("ln", elems=4, channels=2)
        >>> merged_reads(add, ln, other_inputs=False)     # the norm's input, the sum, is kept
        (False, True)
        >>> merged_reads(O.matmul("fc", batch=1, m=2, k=3, n=4), O.activation("r", elems=8), False)
        (True, True)
    """
    inputs = reads_inputs(host) or (reads_inputs(member) and other_inputs)
    output = reads_output(member) or reads_output(host) or reads_inputs(member)
    return inputs, output


def kept_for_backward(fwd: "ComputeGraph", name: str, recomputed: "frozenset[str] | set[str]" = frozenset()) -> bool:
    """Whether the output of forward op ``name`` stays on the device for the backward pass: its own
    backward or a consumer's reads it, or a consumer in ``recomputed`` runs again from it (a graph
    output is kept: its backward is ordered after it).

    Example:
        >>> from simulator.workload.graph import GraphBuilder
        >>> b = GraphBuilder("g", batch=1)
        >>> _ = b.linear("fc2", b.act("relu", b.norm("bn", b.linear("fc1", b.input((1, 8)), 8))), 2)
        >>> [n for n in ("fc1", "bn", "relu", "fc2") if kept_for_backward(b.build(), n)]
        ['fc1', 'relu', 'fc2']
        >>> kept_for_backward(b.build(), "bn", recomputed={"relu"})     # the recompute reads it again
        True
    """
    succ = fwd.successors(name)
    return (not succ or reads_output(fwd.op(name))
            or any(s in recomputed or reads_inputs(fwd.op(s)) for s in succ))


def saved_output_elems(op: Op) -> float:
    """Elements of ``op``'s own output that its backward reads, when it reads its output at all:
    a dropout's mask only, every element otherwise.

    Example:
        >>> from simulator.workload import ops as O
        >>> d = O.elementwise("d", elems=4).renamed("d", output_elems=6.0, attrs=((MASK_SHARE, 1 / 3),))
        >>> saved_output_elems(d), saved_output_elems(O.activation("r", elems=4))
        (2.0, 4)
    """
    share = dict(op.attrs).get(MASK_SHARE)
    return op.output_elems if share is None else op.output_elems * share


def kept_elems(fwd: "ComputeGraph", name: str, recomputed: "frozenset[str] | set[str]" = frozenset(),
               op: Op | None = None) -> float:
    """Elements of forward op ``name``'s output that stay on the device for the backward pass: all of
    them when a consumer's backward or recompute reads them (or nothing consumes them), the part its
    own backward reads (:func:`saved_output_elems`) when only that does, else none. ``op``: the op
    as run (a tensor-parallel shard), ``fwd.op(name)`` by default.

    Example:
        >>> from simulator.workload.graph import GraphBuilder
        >>> b = GraphBuilder("g", batch=1)
        >>> _ = b.linear("fc2", b.act("relu", b.norm("bn", b.linear("fc1", b.input((1, 8)), 8))), 2)
        >>> [kept_elems(b.build(), n) for n in ("fc1", "bn", "relu", "fc2")]
        [8, 0.0, 8, 2]
    """
    op = fwd.op(name) if op is None else op
    own = fwd.op(name)
    succ = fwd.successors(name)
    if not succ or any(s in recomputed or reads_inputs(fwd.op(s)) for s in succ):
        return op.output_elems
    return saved_output_elems(op) if reads_output(own) else 0.0


def held_elems(graph: "ComputeGraph") -> dict[str, float]:
    """Per op of a training graph, the elements of its output that backward ops reading only part of
    it (edges marked :data:`PART`) keep alive once its other consumers are done.

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> from simulator.workload.training import build_training_graph
        >>> g = build_training_graph(load_workload("bert-base").build(batch_size=1, seq_len=128)).graph
        >>> held_elems(g)["h0.attn.out.dropout"] == 128 * 768 * 0.5     # the 1-byte mask of a 2-byte tensor
        True
    """
    out: dict[str, float] = {}
    for u, _, data in graph.digraph.edges(data=True):
        if data.get(PART):
            out[u] = max(out.get(u, 0.0), data["elems"])
    return out
