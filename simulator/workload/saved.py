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
* anything else keeps what it did before this rule: its output and all its inputs.

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
    if op.kind == OpKind.SOFTMAX or is_sum(op):
        return False
    if op.kind == OpKind.ACTIVATION:
        return dict(op.attrs).get("fn") not in OUTPUT_DERIVATIVE
    return True


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
