"""Import an ONNX model as a :class:`Workload` that can be built at any batch size.

Reading is careful because the file is untrusted:

* the file must exist, be non-empty and at most :data:`MAX_FILE_BYTES` (512 MiB);
* ``onnx.load(..., load_external_data=False)``: weights kept in external files are never read;
  every external-data ``location`` must be relative and resolve (symlinks followed) inside the
  model's folder, and the file must exist, else a :class:`WorkloadError` names the tensor;
* a truncated or corrupt protobuf, a file that is not ONNX, a cyclic graph or a model that fails
  ``onnx.checker`` is one :class:`WorkloadError` naming the file.

Building at a :class:`Shape`: the batch dimension of every input (symbolic or fixed) is set to
``shape.batch_size``; for token inputs (integer, rank >= 2) dimension 1 and every other symbolic
dimension becomes ``shape.seq_len``; for images (float, rank 4) H and W become ``shape.image_size``.
The workload's ``defaults`` hold the sizes the file was exported with, so a fixed size is only
changed when the caller asks for a different one. ``onnx.shape_inference.infer_shapes`` then sizes
every tensor; shape arithmetic it cannot follow (``Range`` of a ``Shape``...) is evaluated with
``onnx.reference`` on the small constant tensors and inference re-run.

Mapping onto :mod:`simulator.workload.ops` (see :data:`SUPPORTED_OPS`):

* ``Conv`` (any rank, grouped, depthwise), ``ConvTranspose`` -> conv2d (im2col GEMMs);
* ``Gemm``; ``MatMul`` with a weight operand -> linear (a following ``Add`` of a bias vector is
  fused into it); ``MatMul`` of two activations -> batched activation-activation GEMMs;
* ``Gather`` from a float initializer -> embedding; ``LSTM``/``GRU`` -> recurrent;
* normalisations, pools, softmax, reductions, activations (``x * Sigmoid(x)`` fused to SiLU,
  the exported ``Div -> Erf -> Add -> Mul -> Mul`` chain fused to GELU);
* element-wise arithmetic and comparisons -> elementwise (FLOPs per element in :data:`ELEMENTWISE`);
* ``Transpose``, ``Concat``, ``Split``, ``Slice``, ``Pad``, ``Expand``, ``Tile``, ``Cast``, ``Gather``
  on activations, ``Resize`` ... -> data movement (bytes, no FLOPs);
* views (``Reshape``, ``Flatten``, ``Squeeze``, ``Unsqueeze``, ``Identity``, ``Dropout``) and shape
  arithmetic (anything computed only from ``Shape``, constants and initializers) are free.

Parameters are the float initializers consumed as weights (conv/linear weights and biases, norm
scales and shifts but not running statistics, embedding tables, recurrent weights, and float
tensors of more than one element added/multiplied/concatenated into activations), each counted
once. ``Identity`` of an initializer counts as its own parameter: the torch exporter de-duplicates
distinct parameters that happen to hold equal values that way.

Transformer layers are recognised by their structure (attention cores, their projections, MLPs
with a residual add) and their ops given tensor-parallel roles and layer indices
(:mod:`~simulator.workload.importers.onnx_roles`); a graph where none is recognised stays
replicated, and tensor parallelism on it is refused.

Any other node (control flow, custom domains, ``Einsum``, ``TopK``...) makes :func:`load_onnx`
raise one :class:`WorkloadError` listing every such node by name and op type, unless
``unsupported="fallback"``: then each is simulated as an element-wise op of
:data:`FALLBACK_FLOPS_PER_ELEM` FLOP per output element that reads all its activation inputs and
writes all its outputs (kind ``elementwise``, attr ``fallback=True``).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import onnx
from onnx import inliner

from .. import ops as O
from ..families import Shape
from ..graph import ComputeGraph, GraphBuilder, Tensor
from ..workload import Workload
from ..ops import Gemm, Op, OpKind
from .onnx_read import (ACTIVATIONS, ELEMENTWISE, FALLBACK_FLOPS_PER_ELEM, MAX_FILE_BYTES, NORMS, POOLS,  # noqa: F401
                        REDUCE, STATIC_SOURCES, SUPPORTED_OPS, VIEWS, WEIGHT_INPUTS, _check_external_data, _fail,
                        check_node_count,
                        _Input, _Model, _read_model)
from .onnx_roles import assign_tp_roles
from .onnx_shapes import _analyse, _infer, _is_weight, _tensor_numel
from ..saved import SUM

@dataclass
class _Ctx:
    """Per-build state handed to the node mappers."""

    m: _Model
    shapes: dict[str, tuple[int, ...] | None]
    counted: set[str] = field(default_factory=set)

    def shape(self, name: str, node: str) -> tuple[int, ...]:
        s = self.shapes.get(name)
        if s is None:
            raise _fail(self.m.path, f"cannot infer the shape of tensor {name!r} used by node {node!r}",
                        f"graph.node.{node}")
        return s

    def numel(self, name: str, node: str) -> int:
        return math.prod(self.shape(name, node))

    def params(self, n: onnx.NodeProto) -> float:
        """Elements of the not-yet-counted parameters this node consumes as weights."""
        total = 0
        for pos in WEIGHT_INPUTS.get(n.op_type, ()):
            if pos < len(n.input) and n.input[pos]:
                for src in sorted(self.m.sources.get(n.input[pos], ())):
                    if src not in self.counted:
                        self.counted.add(src)
                        total += _tensor_numel(self.m.const_dims[src])
        return float(total)


def _build(m: _Model, unsupported: str, shape: Shape, name: str) -> ComputeGraph:
    ctx = _Ctx(m, _infer(m, shape))
    b = GraphBuilder(name, batch=shape.batch_size, source=str(m.path),
                     meta={"family": "onnx", "batch_size": shape.batch_size, "seq_len": shape.seq_len,
                           "image_size": shape.image_size, "past_len": shape.past_len})
    tensors: dict[str, Tensor] = {i.name: Tensor(None, ctx.shape(i.name, i.name)) for i in m.inputs}
    linear: set[str] = set()  # MatMul / Gemm by a 2-D weight: what tensor parallelism can split
    for i, n in enumerate(m.nodes):
        if i in m.folded or i in m.absorbed or (n.op_type in STATIC_SOURCES and i not in m.unsupported):
            continue
        label = m.names[i]
        acts = [tensors[x] for x in n.input if x in tensors]
        if i in m.alias or (n.op_type in VIEWS and i not in m.unsupported):
            src = tensors[m.alias[i]] if i in m.alias else tensors.get(n.input[0])
            _check_view(ctx, n, label, src)
            for o in n.output[:1]:
                tensors[o] = Tensor(src.producer if src else None, ctx.shape(o, label))
            continue
        if i in m.fused:
            fn, x = m.fused[i]
            acts, op = [tensors[x]], O.activation(label, elems=ctx.numel(n.output[0], label), fn=fn)
        elif i in m.unsupported:
            op = _fallback(ctx, n, label, acts)
        else:
            op = _map(ctx, i, n, label, acts)
            if n.op_type in ("Gemm", "MatMul") and _is_weight(m, n.input[1]) and len(ctx.shape(n.input[1], label)) == 2:
                linear.add(label)
        out = b.add(op, acts, ctx.shape(n.output[0], label) if ctx.shapes.get(n.output[0]) else (1,))
        for o in n.output:
            if o:
                tensors[o] = Tensor(out.producer, ctx.shapes.get(o) or out.shape)
    if len(b.graph) == 0:
        raise _fail(m.path, "the graph has no operations to simulate (only constants and views)")
    shapes = {n: tensors[o].shape for o in tensors if (n := tensors[o].producer) is not None}
    return assign_tp_roles(b.build(), linear=linear, shapes=shapes, batch=shape.batch_size)


def _check_view(ctx: _Ctx, n: onnx.NodeProto, label: str, src: Tensor | None) -> None:
    if src is not None and n.op_type in ("Reshape", "Flatten"):
        out = ctx.numel(n.output[0], label)
        if out != src.elems:
            raise _fail(ctx.m.path, f"node {label!r} ({n.op_type}) turns {src.elems} elements into {out}: the "
                                    "model hard-codes a size (a traced batch or sequence length?), so it cannot "
                                    f"be built at this shape; export it with dynamic axes", f"graph.node.{label}")


def _fallback(ctx: _Ctx, n: onnx.NodeProto, label: str, acts: list[Tensor]) -> Op:
    outs = [ctx.shapes.get(o) for o in n.output if o]
    biggest = max((t.shape for t in acts), key=math.prod, default=(1,))
    out_elems = sum(math.prod(s or biggest) for s in outs) or math.prod(biggest)
    for o in n.output:
        if o and ctx.shapes.get(o) is None:
            ctx.shapes[o] = biggest  # unknown output: assume the size of the largest input
    return Op(label, OpKind.ELEMENTWISE, flops=FALLBACK_FLOPS_PER_ELEM * out_elems,
              input_elems=float(sum(t.elems for t in acts)), output_elems=float(out_elems),
              attrs=(("onnx_op", n.op_type), ("fallback", True)))


def _attr(n: onnx.NodeProto, key: str, default=None):
    for a in n.attribute:
        if a.name == key:
            return onnx.helper.get_attribute_value(a)
    return default


def _map(ctx: _Ctx, i: int, n: onnx.NodeProto, label: str, acts: list[Tensor]) -> Op:
    t = n.op_type
    out = ctx.numel(n.output[0], label)
    if t in ("Conv", "ConvTranspose"):
        return _conv(ctx, n, label)
    if t in ("Gemm", "MatMul"):
        return _matmul(ctx, i, n, label)
    if t == "Einsum":
        return _einsum(ctx, n, label, acts)
    if t in ("LSTM", "GRU"):
        return _recurrent(ctx, n, label)
    if t == "Gather" and _is_weight(ctx.m, n.input[0]):
        table = ctx.shape(n.input[0], label)
        op = O.embedding(label, tokens=ctx.numel(n.input[1], label), vocab=table[0], dim=math.prod(table[1:]))
        return op.renamed(label, param_elems=ctx.params(n))
    if t in NORMS:
        x = ctx.shape(n.input[0], label)
        axis = _attr(n, "axis", -1)
        channels = math.prod(x[axis:]) if t in ("LayerNormalization", "RMSNormalization") else x[1]
        p = ctx.params(n)
        return O.norm(label, elems=out, channels=channels, kind=NORMS[t]).renamed(label, param_elems=p,
                                                                                 weight_read_elems=p)
    if t in POOLS:
        x = ctx.shape(n.input[0], label)
        window = math.prod(x[2:]) if t.startswith("Global") else math.prod(_attr(n, "kernel_shape", [1]))
        o = ctx.shape(n.output[0], label)
        return Op(label, OpKind.POOL, flops=float(out * window), input_elems=float(math.prod(x)),
                  output_elems=float(out), attrs=(("kernel", window), ("out_h", o[2] if len(o) > 2 else 1),
                                                  ("out_w", o[3] if len(o) > 3 else 1), ("onnx_op", t)))
    if t in ("Softmax", "LogSoftmax"):
        return O.softmax(label, elems=out)
    if t in REDUCE:
        return O.reduce_sum(label, elems_in=ctx.numel(n.input[0], label), elems_out=out)
    if t in ACTIVATIONS or (t == "Clip" and _is_relu6(ctx, n)):
        fn = "relu6" if t == "Clip" else ACTIVATIONS[t]
        return O.activation(label, elems=out, fn=fn)
    p = ctx.params(n) if t in WEIGHT_INPUTS else 0.0
    reads = float(sum(x.elems for x in acts))
    if t in ELEMENTWISE:
        return Op(label, OpKind.ELEMENTWISE, flops=ELEMENTWISE[t] * out, input_elems=reads, output_elems=float(out),
                  param_elems=p, weight_read_elems=p,
                  attrs=(("onnx_op", t),) + ((("fn", SUM),) if t in ("Add", "Sum") else ()))
    total = float(sum(ctx.numel(o, label) for o in n.output if o))
    return Op(label, OpKind.DATA_MOVEMENT, flops=0.0, input_elems=reads or total, output_elems=total,
              param_elems=p, weight_read_elems=p, attrs=(("onnx_op", t),))


def _is_relu6(ctx: _Ctx, n: onnx.NodeProto) -> bool:
    """Clip(0, 6), bounds as attributes (opset < 11) or as constant inputs."""
    bounds = [_attr(n, "min"), _attr(n, "max")]
    for k, name in enumerate(n.input[1:3]):
        if name in ctx.m.small_values:
            bounds[k] = float(ctx.m.small_values[name].reshape(-1)[0])
    return bounds == [0.0, 6.0]


def _conv(ctx: _Ctx, n: onnx.NodeProto, label: str) -> Op:
    x, w, y = (ctx.shape(v, label) for v in (n.input[0], n.input[1], n.output[0]))
    g = int(_attr(n, "group", 1))
    if n.op_type == "Conv":  # weight (O, C/g, k...): per group M = N * out pixels, N = O/g, K = C/g * window
        gemm = Gemm(m=y[0] * math.prod(y[2:]), n=w[0] // g, k=math.prod(w[1:]), count=g)
    else:  # ConvTranspose, weight (C, O/g, k...): every input pixel scatters a C/g x (O/g * window) product
        gemm = Gemm(m=x[0] * math.prod(x[2:]), n=math.prod(w[1:]), k=w[0] // g, count=g)
    out = math.prod(y)
    bias = len(n.input) > 2 and bool(n.input[2])
    p = ctx.params(n)
    return Op(label, OpKind.CONV2D, flops=float(gemm.flops + (out if bias else 0)), input_elems=float(math.prod(x)),
              output_elems=float(out), param_elems=p, weight_read_elems=p, gemms=(gemm,),
              attrs=(("in_ch", x[1]), ("out_ch", y[1]), ("h", x[2] if len(x) > 2 else 1),
                     ("w", x[3] if len(x) > 3 else 1), ("kernel", "x".join(map(str, w[2:]))),
                     ("stride", tuple(_attr(n, "strides", [1]))), ("groups", g),
                     ("out_h", y[2] if len(y) > 2 else 1), ("out_w", y[3] if len(y) > 3 else 1),
                     ("onnx_op", n.op_type)))


def _matmul(ctx: _Ctx, i: int, n: onnx.NodeProto, label: str) -> Op:
    m = ctx.m
    a, bshape = ctx.shape(n.input[0], label), ctx.shape(n.input[1], label)
    if n.op_type == "Gemm":
        a = a[::-1] if _attr(n, "transA", 0) else a
        bshape = bshape[::-1] if _attr(n, "transB", 0) else bshape
    a = (1, *a) if len(a) == 1 else a
    bshape = (*bshape, 1) if len(bshape) == 1 else bshape
    k, nn = a[-1], bshape[-1]
    w_b, w_a = _is_weight(m, n.input[1]), _is_weight(m, n.input[0])
    has_bias = i in m.bias_of or (n.op_type == "Gemm" and len(n.input) > 2 and bool(n.input[2]))
    p = ctx.params(n)
    if i in m.bias_of:
        p += ctx.params(onnx.helper.make_node("Add", [m.bias_of[i]], ["_"]))
    if w_b and len(bshape) == 2:
        op = O.matmul(label, batch=1, m=math.prod(a[:-1]), k=k, n=nn, bias=has_bias)
    elif w_a and len(a) == 2:
        batch = math.prod(bshape[:-2])
        gemm = Gemm(m=a[0], n=nn, k=k, count=batch)
        op = Op(label, OpKind.MATMUL, flops=float(gemm.flops), input_elems=float(math.prod(bshape)),
                output_elems=float(batch * a[0] * nn), gemms=(gemm,), attrs=(("m", a[0]), ("k", k), ("n", nn)))
    else:
        batch = math.prod(ctx.shape(n.output[0], label)[:-2])
        op = O.matmul(label, batch=batch, m=a[-2], k=k, n=nn, bias=False, has_weight=False)
    return op.renamed(label, param_elems=p, weight_read_elems=p)


def _einsum(ctx: _Ctx, n: onnx.NodeProto, label: str, acts: list[Tensor]) -> Op:
    """One operand: a transpose or a reduction. Two: GEMMs with batch (in both and the output),
    m / n (in one operand and the output) and k (contracted) index groups; FLOPs = 2 x all sizes."""
    eq = _attr(n, "equation", b"")
    eq = (eq.decode() if isinstance(eq, bytes) else eq).replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    shapes = [ctx.shape(x, label) for x in n.input if x]
    extras = [len(shp) - len(t) + 3 if "..." in t else 0 for t, shp in zip(lhs.split(","), shapes)]
    ell = [chr(0x2460 + j) for j in range(max(extras, default=0))]  # broadcast dims, right-aligned
    terms, sizes = [], {}
    for term, shp, extra in zip(lhs.split(","), shapes, extras):
        term = term.replace("...", "".join(ell[len(ell) - extra:]))
        terms.append(term)
        for ch, d in zip(term, shp):
            sizes[ch] = max(sizes.get(ch, 1), d)
    if arrow:
        out = set(rhs.replace("...", "")) | (set(ell) if "..." in rhs else set())
    else:  # implicit output: the indices that appear once, and the broadcast dims
        out = {ch for ch in sizes if "".join(terms).count(ch) == 1} | set(ell)
    total = math.prod(ctx.shape(n.output[0], label))
    if len(terms) == 1:
        if set(terms[0]) - out:
            return O.reduce_sum(label, elems_in=math.prod(shapes[0]), elems_out=total)
        return O.data_movement(label, elems=total)
    a, b = set(terms[0]), set(terms[1])
    size = lambda letters: math.prod(sizes[c] for c in letters)  # noqa: E731
    gemm = Gemm(m=size((a - b) & out), n=size((b - a) & out), k=size((a & b) - out) * size((a ^ b) - out),
                count=size(a & b & out))
    p = ctx.params(n)
    return Op(label, OpKind.MATMUL, flops=float(gemm.flops), input_elems=float(sum(t.elems for t in acts)),
              output_elems=float(total), param_elems=p, weight_read_elems=p, gemms=(gemm,),
              attrs=(("equation", eq), ("onnx_op", "Einsum")))


def _recurrent(ctx: _Ctx, n: onnx.NodeProto, label: str) -> Op:
    x = ctx.shape(n.input[0], label)
    steps, batch = (x[1], x[0]) if _attr(n, "layout", 0) else (x[0], x[1])
    hidden = int(_attr(n, "hidden_size"))
    dirs = 2 if _attr(n, "direction", b"forward") in (b"bidirectional", "bidirectional") else 1
    gates = 4 if n.op_type == "LSTM" else 3
    gemm = Gemm(m=batch, n=gates * hidden, k=x[2] + hidden, count=steps * dirs)
    p = ctx.params(n)
    return Op(label, OpKind.RECURRENT, flops=float(gemm.flops + dirs * steps * batch * hidden * 10),
              input_elems=float(math.prod(x)), output_elems=float(dirs * steps * batch * hidden), param_elems=p,
              weight_read_elems=p, gemms=(gemm,), sequential_steps=steps,
              attrs=(("hidden", hidden), ("steps", steps), ("directions", dirs), ("onnx_op", n.op_type)))


# --- public entry point -------------------------------------------------------------------------------
def load_onnx(path: str | Path, *, unsupported: Literal["error", "fallback"] = "error") -> Workload:
    """Read an ONNX file into a :class:`Workload` whose builder maps it onto our ops at any shape.

    Args:
        path: the ``.onnx`` file (at most 512 MiB; external weight files are checked, never read).
        unsupported: ``"error"`` (default) refuses nodes we cannot map; ``"fallback"`` simulates each as
            an element-wise op of 1 FLOP per output element reading its inputs and writing its outputs.

    Raises:
        WorkloadError: naming the file: unreadable, not ONNX, corrupt or truncated, too large, a cycle,
            external data outside the model's folder, checker failure, unsupported nodes (all listed
            by name and op type), or a shape the model cannot be built at.

    Example:
        >>> from simulator.workload.loader import ZOO_ROOT
        >>> wl = load_onnx(ZOO_ROOT / "examples" / "mlp.onnx")
        >>> (wl.task, wl.build(batch_size=8).parameters)
        ('tabular', 1863690.0)
    """
    if unsupported not in ("error", "fallback"):
        raise ValueError(f"unsupported must be 'error' or 'fallback', got {unsupported!r}")
    p = Path(path)
    model = _read_model(p)
    _check_external_data(model, p)
    check_node_count(model, p)
    if model.functions:
        model = inliner.inline_local_functions(model)
    m = _analyse(model, p)  # sorts nodes and rejects cycles before the checker sees them
    try:  # the weight-free skeleton: the checker would otherwise look for external files from the cwd
        onnx.checker.check_model(onnx.ModelProto.FromString(m.skeleton))
    except Exception as exc:
        raise _fail(p, f"ONNX checker: {' '.join(str(exc).split())[:400]}") from None  # one line, node named
    if m.unsupported and unsupported == "error":
        listed = ", ".join(f"{m.names[i]} ({m.nodes[i].domain + '.' if m.nodes[i].domain else ''}"
                           f"{m.nodes[i].op_type})" for i in m.unsupported)
        raise _fail(p, f"{len(m.unsupported)} node(s) with op types we cannot map: {listed}; "
                       "load_onnx(path, unsupported='fallback') simulates them as element-wise ops", "graph.node")
    name = re.sub(r"[^a-z0-9_.\-]", "-", p.stem.lower()) or "onnx"
    first = m.inputs[0] if m.inputs else None
    defaults = _defaults(m, first)
    wl = Workload(name=name, family="onnx", params=None, source=str(p),
                  description=f"ONNX model {p.name} ({len(m.nodes)} nodes)", defaults=defaults, task=m.task,
                  uses_seq_len=m.task == "text" or any(isinstance(d, str) for i in m.inputs for d in i.dims[1:]),
                  uses_image_size=m.task == "image",
                  builder=lambda shape: _build(m, unsupported, shape, name))
    wl.build()  # fail now, not in the middle of a simulation, if the model cannot be built at its defaults
    return wl


def _defaults(m: _Model, first: _Input | None) -> dict[str, int]:
    if first is None:
        return {}
    out = {}
    if first.dims and isinstance(first.dims[0], int) and first.dims[0] > 0:
        out["batch_size"] = first.dims[0]
    if m.default_image:
        out["image_size"] = m.default_image
    if m.task == "text" and len(first.dims) > 1 and isinstance(first.dims[1], int) and first.dims[1] > 0:
        out["seq_len"] = first.dims[1]
    return out


__all__ = ["load_onnx", "MAX_FILE_BYTES", "FALLBACK_FLOPS_PER_ELEM", "SUPPORTED_OPS"]

