"""Training graphs: forward, then per-op backward ops in reverse order, then the optimizer step.

Backward formulas, per op kind (F = forward FLOPs of the matrix part):
- linear / conv: weight gradient (one GEMM, F) and input gradient (one GEMM, F; skipped for the
  first layer, whose input needs no gradient): 2F.
- activation-activation matmul: gradients of both inputs: 2F.
- attention: dV, dP, dQ, dK (four GEMMs, 2F); a fused kernel also recomputes Q K^T (+F/2).
- embedding: scatter-add of the rows read into the table gradient.
- recurrent: 2F, steps still sequential.
- element-wise, activation, norm, softmax, pool, loss: about twice the forward element work.
A backward op depends on the backward ops of its forward op's consumers (the incoming gradient)
and on the forward tensors it reads (saved activations: its inputs, its output or neither, as
:mod:`.saved` says), which keeps those alive.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..errors import ScenarioError
from .digraph import DiGraph
from .graph import ComputeGraph
from .dropout import with_dropout
from .ops import Gemm, Op, OpKind, Phase
from .saved import PART, reads_inputs, reads_output, saved_output_elems


class Optimizer(str, Enum):
    """Optimizers and their state per parameter (fp32 elements) and FLOPs per parameter.

    Example:
        >>> STATE_PER_PARAM[Optimizer.ADAM], FLOPS_PER_PARAM[Optimizer.ADAM]
        (2.0, 12.0)
    """

    SGD = "sgd"
    MOMENTUM = "momentum"
    ADAM = "adam"
    ADAMW = "adamw"
    ADAFACTOR = "adafactor"


STATE_PER_PARAM = {Optimizer.SGD: 0.0, Optimizer.MOMENTUM: 1.0, Optimizer.ADAM: 2.0, Optimizer.ADAMW: 2.0,
                   Optimizer.ADAFACTOR: 0.0}
FLOPS_PER_PARAM = {Optimizer.SGD: 2.0, Optimizer.MOMENTUM: 4.0, Optimizer.ADAM: 12.0, Optimizer.ADAMW: 14.0,
                   Optimizer.ADAFACTOR: 14.0}


class Checkpointing(str, Enum):
    """Activation checkpointing: none; selective (attention internals recomputed, every matmul
    output kept: MaxText's ``minimal`` policy); selective-mlp-up (those and the MLP up-projection:
    MaxText's ``save_dot_except_mlpwi``); selective-mlp (those and the MLP block: NeuronX
    Distributed's ``activations_checkpoint_recompute: [CoreAttention, LlamaMLP]``); save-qkv (all
    but the QKV projections: MaxText's ``save_qkv_proj`` / ``qkv_proj_offloaded``); full (per layer).

    Example:
        >>> Checkpointing("full") is Checkpointing.FULL
        True
    """

    NONE = "none"
    SELECTIVE = "selective"
    SELECTIVE_MLP_UP = "selective-mlp-up"
    SELECTIVE_MLP = "selective-mlp"
    SAVE_QKV = "save-qkv"
    FULL = "full"


CHECKPOINTING_CHOICES = ", ".join(c.value for c in Checkpointing) + " (+offload or +offload-all to keep saved activations in host memory)"


def parse_optimizer(value: "str | Optimizer") -> Optimizer:
    """The :class:`Optimizer` named by ``value``.

    Raises:
        ScenarioError: unknown optimizer.

    Example:
        >>> parse_optimizer("AdamW")
        <Optimizer.ADAMW: 'adamw'>
        >>> parse_optimizer("lamb")
        Traceback (most recent call last):
        ...
        simulator.errors.ScenarioError: optimizer: unknown optimizer 'lamb'; choose one of sgd, momentum, adam, adamw, adafactor
    """
    try:
        return Optimizer(str(getattr(value, "value", value)).lower())
    except ValueError:
        raise ScenarioError(f"optimizer: unknown optimizer {value!r}; choose one of "
                            f"{', '.join(o.value for o in Optimizer)}") from None


def optimizer_state_elems(graph: ComputeGraph, optimizer: Optimizer) -> float:
    """fp32 optimizer-state elements: per-parameter moments, or Adafactor's factored rows + columns.

    Adafactor (no momentum) keeps, per weight matrix and embedding table, one row and one column
    accumulator; other parameters keep a full second moment. Raises nothing.

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> g = load_workload("mlp").build(batch_size=1)           # 1,863,690 parameters
        >>> [optimizer_state_elems(g, o) for o in (Optimizer.SGD, Optimizer.ADAM, Optimizer.ADAFACTOR)]
        [0.0, 3727380.0, 4890.0]
    """
    if optimizer != Optimizer.ADAFACTOR:
        return graph.parameters * STATE_PER_PARAM[optimizer]
    total = 0.0
    for op in graph.ops:
        if not op.param_elems:
            continue
        attrs = dict(op.attrs)
        if op.gemms and op.kind in (OpKind.MATMUL, OpKind.CONV2D):
            g = op.gemms[0]
            total += (g.k + g.n) * g.count
        elif op.kind == OpKind.EMBEDDING and "vocab" in attrs and "dim" in attrs:
            total += attrs["vocab"] + attrs["dim"]  # a vocab x dim table is a matrix too
        else:  # vectors (norm scales, biases) keep an unfactored second moment
            total += op.param_elems
    return total


# attr of a weight GEMM's backward op: weight elements its input-gradient GEMMs read as an operand
WEIGHT_OPERAND = "weight_operand_elems"


def gemm_weight_elems(op: Op) -> float:
    """Weight elements ``op``'s GEMMs read as their ``k x n`` operand (over every GEMM and its count).

    Example:
        >>> from simulator.workload.ops import matmul
        >>> gemm_weight_elems(matmul("fc", batch=1, m=2, k=3, n=4))
        12.0
    """
    return float(sum(g.count * g.k * g.n for g in op.gemms))


def backward_op(op: Op, needs_input_grad: bool) -> Op:
    name = f"{op.name}.grad"
    base = dict(phase=Phase.BACKWARD, layer=op.layer, attrs=op.attrs, sequential_steps=op.sequential_steps,
                param_elems=0.0, tp_role=op.tp_role, block=op.block)
    grad_in = op.input_elems if needs_input_grad else 0.0
    if op.kind in (OpKind.MATMUL, OpKind.CONV2D, OpKind.RECURRENT) and op.param_elems:
        gemms: list[Gemm] = []
        for g in op.gemms:
            gemms.append(Gemm(m=g.k, n=g.n, k=g.m, count=g.count))  # dW = X^T dY
            if needs_input_grad:
                gemms.append(Gemm(m=g.m, n=g.k, k=g.n, count=g.count))  # dX = dY W^T
        mat = sum(g.flops for g in gemms)
        if needs_input_grad:  # dX = dY W^T takes the weight as an operand (what a quantizing GEMM quantizes)
            base["attrs"] = tuple(op.attrs) + ((WEIGHT_OPERAND, gemm_weight_elems(op)),)
        return Op(name, op.kind, flops=float(mat + op.vector_flops * 2), input_elems=op.input_elems + op.output_elems,
                  output_elems=grad_in, weight_read_elems=op.weight_read_elems * (2 if needs_input_grad else 1),
                  gemms=tuple(gemms), **base)
    if op.kind == OpKind.ATTENTION:
        qk, av = op.gemms
        gemms = (Gemm(m=av.k, n=av.n, k=av.m, count=av.count), Gemm(m=qk.m, n=qk.n, k=av.n, count=qk.count),
                 Gemm(m=qk.m, n=qk.k, k=qk.n, count=qk.count), Gemm(m=qk.n, n=qk.k, k=qk.m, count=qk.count), qk)
        return Op(name, op.kind, flops=float(sum(g.flops for g in gemms) + 2 * op.vector_flops),
                  input_elems=op.input_elems + 2 * op.output_elems, output_elems=op.input_elems,
                  scratch_elems=op.scratch_elems, gemms=gemms, **base)
    if op.kind == OpKind.MATMUL:  # activation x activation
        gemms = tuple(Gemm(m=g.m, n=g.k, k=g.n, count=g.count) for g in op.gemms) + \
            tuple(Gemm(m=g.k, n=g.n, k=g.m, count=g.count) for g in op.gemms)
        return Op(name, op.kind, flops=float(sum(g.flops for g in gemms)), input_elems=op.input_elems + op.output_elems,
                  output_elems=op.input_elems, gemms=gemms, **base)
    if op.kind == OpKind.EMBEDDING:
        return Op(name, op.kind, flops=float(op.output_elems), input_elems=op.output_elems + op.input_elems,
                  output_elems=op.weight_read_elems, **base)
    # a norm's backward reads its input and the output gradient twice: once to reduce them (the
    # scale / shift gradients and the per-channel or per-row sums), once to form the input gradient
    # (PyTorch: batch_norm_backward_reduce_kernel then batch_norm_backward_elemt_kernel)
    reads = 2.0 if op.kind == OpKind.NORM else 1.0
    return Op(name, op.kind, flops=2.0 * op.flops, input_elems=reads * (op.input_elems + op.output_elems),
              output_elems=grad_in if needs_input_grad else 0.0, weight_read_elems=op.weight_read_elems, **base)


# attr of a forward batch norm that computes batch statistics: one more read of its input
# (:func:`simulator.cost.base.op_bytes`)
STATS_PASS = "stats_pass"


def training_forward(fwd: ComputeGraph) -> ComputeGraph:
    """The forward graph as a training step runs it: the config's dropouts made real
    (:func:`~simulator.workload.dropout.with_dropout`), and batch norms reading their input twice,
    once for the batch statistics and once to normalise (PyTorch: batch_norm_collect_statistics_kernel
    then batch_norm_transform_input_kernel; inference uses the running statistics, one pass).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> fwd = load_workload("resnet18").build(batch_size=1, image_size=64)
        >>> dict(training_forward(fwd).op("stem.bn").attrs)[STATS_PASS], STATS_PASS in dict(fwd.op("stem.bn").attrs)
        (True, False)
    """
    g = with_dropout(fwd)
    bns = [n for n in g.order if g.op(n).kind == OpKind.NORM and dict(g.op(n).attrs).get("norm") == "batchnorm"]
    if not bns:
        return g
    graph = g.digraph.copy()
    for n in bns:
        op = graph.nodes[n]["op"]
        graph.nodes[n]["op"] = op.renamed(n, attrs=(*op.attrs, (STATS_PASS, True)))
    return ComputeGraph(graph, name=g.name, source=g.source, meta=g.meta)


def grad_norm_op(params: float) -> Op:
    """The global-norm reduction of gradient clipping over ``params`` gradients: each is read once
    (at the activation format, as the gradient sync delivers it), squared and summed (2 FLOPs).

    Example:
        >>> op = grad_norm_op(1e6)
        >>> op.kind.value, op.input_elems, op.flops
        ('reduce', 1000000.0, 2000000.0)
    """
    return Op("optimizer.grad_norm", OpKind.REDUCE, phase=Phase.OPTIMIZER, flops=2.0 * params, input_elems=params,
              output_elems=1.0)


def optimizer_op(params: float, optimizer: Optimizer) -> Op:
    """One fused optimizer step over ``params`` parameters (multi-tensor apply).

    Reads weights, gradients and master weights and the optimizer's state, writes them back:
    ``(3 + 2 * state) * params`` fp32 elements, ``FLOPS_PER_PARAM`` FLOPs per parameter.

    Example:
        >>> optimizer_op(1e6, Optimizer.ADAM).flops, optimizer_op(1e6, Optimizer.ADAM).weight_read_elems
        (12000000.0, 7000000.0)
    """
    return Op("optimizer.step", OpKind.OPTIMIZER, phase=Phase.OPTIMIZER, flops=params * FLOPS_PER_PARAM[optimizer],
              input_elems=0.0, output_elems=0.0, weight_read_elems=(3 + 2 * STATE_PER_PARAM[optimizer]) * params,
              attrs=(("optimizer", optimizer.value),))


@dataclass(frozen=True)
class TrainingGraph:
    """The training step graph plus what a step keeps resident (parameter and state counts in elements).

    See :func:`build_training_graph` for an example.
    """

    graph: ComputeGraph
    parameters: float
    optimizer_state_elems: float


def build_training_graph(fwd: ComputeGraph, optimizer: Optimizer = Optimizer.ADAM,
                         checkpointing: Checkpointing = Checkpointing.NONE, clip: bool = False) -> TrainingGraph:
    """Forward + backward + one fused optimizer step (multi-tensor apply, as fused Adam does); with
    ``clip``, the gradients' global norm (:func:`grad_norm_op`) between the last gradient and the step.

    With ``Checkpointing.FULL`` every forward op except layer boundaries is recomputed when the
    layer's incoming gradient arrives (the recompute depends on the saved boundaries only);
    ``SELECTIVE`` recomputes only the attention cores, norms, activations, softmax and element-wise
    ops inside a layer (cheap to recompute, large to keep); ``SELECTIVE_MLP`` also the MLP block's
    matmuls (ops named ``<layer>.mlp.*``). A layer is the first dotted component
    of an op's name (``h3`` in ``h3.attn.qkv``); layer boundaries are never recomputed.

    Raises:
        WorkloadError: the resulting graph is invalid (as :class:`ComputeGraph`; not expected for a
            valid forward graph).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> t = build_training_graph(load_workload("mlp").build(batch_size=1))
        >>> t.graph.order[5:]
        ['loss', 'loss.grad', 'classifier.grad', 'act1.grad', 'fc1.grad', 'act0.grad', 'fc0.grad', 'optimizer.step']
        >>> t.parameters, t.optimizer_state_elems
        (1863690.0, 3727380.0)
    """
    fwd = training_forward(fwd)
    g = DiGraph()
    idx = 0

    def add(op: Op) -> None:
        nonlocal idx
        g.add_node(op.name, op=op, index=idx)
        idx += 1

    order = fwd.order
    for name in order:
        add(fwd.op(name))
    for u, v, data in fwd.digraph.edges(data=True):
        g.add_edge(u, v, **data)
    recompute = recompute_set(fwd, checkpointing)
    triggers = _layer_triggers(fwd, recompute)
    for name in reversed(order):
        op = fwd.op(name)
        preds = fwd.predecessors(name)
        needs_input_grad = bool(preds) and op.kind != OpKind.EMBEDDING
        bop = backward_op(op, needs_input_grad)
        if name in recompute:
            rop = op.renamed(f"{name}.recompute", phase=Phase.RECOMPUTE, param_elems=0.0)
            add(rop)
            for p in preds:
                g.add_edge(p if p not in recompute else f"{p}.recompute", rop.name, elems=0)
            for t in triggers.get(_layer_of(name), ()):
                g.add_edge(t, rop.name, elems=0)
        add(bop)
        succs = fwd.successors(name)
        # an op nothing consumes (the loss) still orders its backward after itself
        if reads_output(op) or not succs:
            saved_from = f"{name}.recompute" if name in recompute else name
            part = saved_output_elems(op) if succs else op.output_elems
            if part < op.output_elems:  # a dropout's mask: the ledger keeps only that part for it
                g.add_edge(saved_from, bop.name, elems=part, **{PART: True})
            else:
                g.add_edge(saved_from, bop.name, elems=op.output_elems)
        if reads_inputs(op):
            for p in preds:
                src = f"{p}.recompute" if p in recompute else p
                g.add_edge(src, bop.name, elems=fwd.op(p).output_elems)
        for s in succs:
            g.add_edge(f"{s}.grad", bop.name, elems=op.output_elems)
    state = optimizer_state_elems(fwd, optimizer)
    params = fwd.parameters
    opt = optimizer_op(params, optimizer)
    # clipping scales every gradient by the norm of all of them: no update starts before the norm
    norm = grad_norm_op(params) if clip else None
    if norm is not None:
        add(norm)
    add(opt)
    for name in order:
        if fwd.op(name).param_elems:
            g.add_edge(f"{name}.grad", (norm or opt).name, elems=0)
    if norm is not None:
        g.add_edge(norm.name, opt.name, elems=0)
    # forward activations that are recomputed are freed right after the forward pass
    graph = ComputeGraph(g, name=f"{fwd.name}.train", source=fwd.source, meta={**fwd.meta, "mode": "training"})
    return TrainingGraph(graph=graph, parameters=params, optimizer_state_elems=state)


_SELECTIVE = (OpKind.ATTENTION, OpKind.SOFTMAX, OpKind.ACTIVATION, OpKind.NORM, OpKind.ELEMENTWISE)


def layer_boundaries(fwd: ComputeGraph) -> set[str]:
    """Ops whose output leaves their layer (consumed by another layer, a graph output, or an
    embedding): what every checkpointing mode keeps (MaxText's ``decoder_layer_input``).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> sorted(n for n in layer_boundaries(load_workload("gpt2").build(batch_size=1, seq_len=8)) if n.startswith("h0."))
        ['h0.add2']
    """
    keep = set()
    for n in fwd.order:
        layer = _layer_of(n)
        succ_layers = {_layer_of(s) for s in fwd.successors(n)}
        if not succ_layers or succ_layers != {layer} or fwd.op(n).kind == OpKind.EMBEDDING:
            keep.add(n)
    return keep


def recompute_set(fwd: ComputeGraph, mode: Checkpointing) -> set[str]:
    """Forward ops whose outputs are dropped after the forward pass and recomputed in backward.

    Layer boundaries (ops whose output is consumed by another layer, graph outputs, embeddings)
    are always kept, in both modes: a recomputed segment then never spans layers. Recomputing a
    residual stream across layers would chain every layer's recompute to the first one's incoming
    gradient, which is both wrong (nothing is saved) and cyclic.
    """
    if mode == Checkpointing.NONE:
        return set()
    keep = layer_boundaries(fwd)
    if mode == Checkpointing.SELECTIVE:
        return {n for n in fwd.order if n not in keep and fwd.op(n).kind in _SELECTIVE}
    if mode == Checkpointing.SELECTIVE_MLP_UP:
        return {n for n in fwd.order if n not in keep and (fwd.op(n).kind in _SELECTIVE or n.endswith(".mlp.up"))}
    if mode == Checkpointing.SELECTIVE_MLP:
        return {n for n in fwd.order if n not in keep and (fwd.op(n).kind in _SELECTIVE or ".mlp." in n)}
    if mode == Checkpointing.SAVE_QKV:
        return {n for n in fwd.order if n not in keep and not n.endswith(".attn.qkv")}
    # full: keep only the layer boundaries, recompute the rest
    return {n for n in fwd.order if n not in keep}


def _layer_triggers(fwd: ComputeGraph, recompute: set[str]) -> dict[str, frozenset[str]]:
    """Per layer, the backward ops a recompute in that layer waits for: the layer's incoming gradient.

    That is the backward of every op in another layer that consumes one of this layer's outputs,
    so a layer's dropped activations are rebuilt when its backward starts (as per-layer
    checkpointing does), not during the forward pass. Recomputed ops are never layer boundaries,
    so no recompute is consumed outside its layer, and these edges cannot close a cycle.
    """
    layers = {_layer_of(n) for n in recompute}
    out: dict[str, set[str]] = {layer: set() for layer in layers}
    for n in fwd.order:
        layer = _layer_of(n)
        if layer not in out:
            continue
        out[layer] |= {f"{s}.grad" for s in fwd.successors(n) if _layer_of(s) != layer}
    return {k: frozenset(v) for k, v in out.items()}


def _layer_of(name: str) -> str:
    return name.split(".")[0]
