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
from typing import Callable, Literal

import numpy as np
import onnx
from onnx import inliner, numpy_helper, shape_inference
from onnx.reference import ReferenceEvaluator

from ...errors import WorkloadError
from .. import ops as O
from ..families import Shape
from ..graph import ComputeGraph, GraphBuilder, Tensor
from ..loader import Workload
from ..ops import Gemm, Op, OpKind

MAX_FILE_BYTES = 512 * 2**20
SMALL_ELEMS = 4096  # initializers up to this size keep their values for shape arithmetic
FALLBACK_FLOPS_PER_ELEM = 1.0
_FLOAT_TYPES = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16,
                onnx.TensorProto.DOUBLE}
_INT_TYPES = {onnx.TensorProto.INT64, onnx.TensorProto.INT32, onnx.TensorProto.INT16, onnx.TensorProto.INT8,
              onnx.TensorProto.UINT8, onnx.TensorProto.UINT16, onnx.TensorProto.UINT32, onnx.TensorProto.UINT64}

# Element-wise ops: FLOPs per output element (a transcendental ~ 4, as in ops.ACTIVATION_FLOPS).
ELEMENTWISE = {**dict.fromkeys(["Add", "Sub", "Mul", "Div", "Max", "Min", "Mean", "Sum", "Pow", "Neg", "Abs",
                                "Sign", "Floor", "Ceil", "Round", "Reciprocal", "Where", "Equal", "Less",
                                "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Not", "Xor", "Mod",
                                "IsNaN", "IsInf", "CumSum", "ThresholdedRelu", "BitShift", "Shrink"], 1.0),
               **dict.fromkeys(["Sqrt", "Softsign", "PRelu", "Clip"], 2.0), "HardSigmoid": 3.0, "Selu": 5.0,
               **dict.fromkeys(["Exp", "Log", "Erf", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh",
                                "Asinh", "Acosh", "Atanh", "Softplus", "Elu", "Celu"], 4.0), "Mish": 8.0}
ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "LeakyRelu": "leaky_relu",
               "HardSwish": "hardswish", "Gelu": "gelu", "Swish": "silu"}
VIEWS = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"}
DATA_MOVEMENT = {"Transpose", "Concat", "Split", "Slice", "Pad", "Expand", "Tile", "Cast", "CastLike", "Gather",
                 "GatherElements", "GatherND", "ScatterND", "ScatterElements", "DepthToSpace", "SpaceToDepth",
                 "Resize", "Upsample", "Trilu", "ReverseSequence", "Range", "ConstantOfShape", "EyeLike", "OneHot"}
REDUCE = {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
          "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp", "ArgMax", "ArgMin"}
NORMS = {"BatchNormalization": "batchnorm", "LayerNormalization": "layernorm", "InstanceNormalization":
         "instancenorm", "GroupNormalization": "groupnorm", "RMSNormalization": "rmsnorm"}
POOLS = {"MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"}
STATIC_SOURCES = {"Constant", "Shape", "Size"}
# Inputs (by position) that hold trainable weights, per op type; others are data or statistics.
WEIGHT_INPUTS = {"Conv": (1, 2), "ConvTranspose": (1, 2), "Gemm": (0, 1, 2), "MatMul": (0, 1), "Einsum": (0, 1),
                 "BatchNormalization": (1, 2), "LayerNormalization": (1, 2), "InstanceNormalization": (1, 2),
                 "GroupNormalization": (1, 2), "RMSNormalization": (1,), "LSTM": (1, 2, 3), "GRU": (1, 2, 3),
                 "Gather": (0,), "PRelu": (1,), "Add": (0, 1), "Sub": (0, 1), "Mul": (0, 1), "Div": (0, 1),
                 "Concat": tuple(range(64))}


def _supported(op_type: str) -> bool:
    return op_type in SUPPORTED_OPS


SUPPORTED_OPS = frozenset(t for t in set(ELEMENTWISE) | set(ACTIVATIONS) | VIEWS | DATA_MOVEMENT | REDUCE
                       | set(NORMS) | POOLS | STATIC_SOURCES
                       | {"Conv", "ConvTranspose", "Gemm", "MatMul", "Softmax", "LogSoftmax", "LSTM", "GRU", "Einsum"})


# --- reading the file ---------------------------------------------------------------------------
def _fail(path: Path, message: str, fld: str = "") -> WorkloadError:
    return WorkloadError(str(path), fld, message)


def _read_model(path: Path) -> onnx.ModelProto:
    if not path.is_file():
        raise _fail(path, "no such file")
    size = path.stat().st_size
    if size == 0:
        raise _fail(path, "file is empty, not an ONNX model")
    if size > MAX_FILE_BYTES:
        raise _fail(path, f"file is {size:,} bytes, above the limit of {MAX_FILE_BYTES:,} bytes "
                          f"({MAX_FILE_BYTES / 2**20:g} MiB)")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # DecodeError, RuntimeWarning from truncated varints...
        raise _fail(path, f"not a readable ONNX model (truncated or corrupt protobuf): {exc}".strip()) from None
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.node:
        raise _fail(path, "not an ONNX model (no IR version or no graph nodes)")
    return model


def _all_tensors(graph: onnx.GraphProto):
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield from (sparse.values, sparse.indices)
    yield from _node_tensors(graph.node)


def _node_tensors(nodes):
    for node in nodes:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            for g in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                yield from _all_tensors(g)


def _check_external_data(model: onnx.ModelProto, path: Path) -> None:
    """Refuse external-data locations that are absolute or leave the model's folder."""
    folder = path.resolve().parent
    functions = [t for f in model.functions for t in _node_tensors(f.node)]
    for t in [*_all_tensors(model.graph), *functions]:
        if t.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {e.key: e.value for e in t.external_data}
        loc = info.get("location", "")
        where = f"initializer.{t.name}"
        if not loc or Path(loc).is_absolute() or re.match(r"^[A-Za-z]:|^[\\/]", loc):
            raise _fail(path, f"tensor {t.name!r}: external data location {loc!r} must be a relative path", where)
        target = (folder / loc).resolve()
        if not target.is_relative_to(folder):
            raise _fail(path, f"tensor {t.name!r}: external data location {loc!r} resolves outside the model's "
                              f"folder {folder}", where)
        if not target.is_file():
            raise _fail(path, f"tensor {t.name!r}: external data file {loc!r} not found", where)
        try:
            end = int(info.get("offset", 0) or 0) + int(info.get("length", 0) or 0)
        except ValueError:
            raise _fail(path, f"tensor {t.name!r}: external data offset/length are not integers", where) from None
        if end > target.stat().st_size:
            raise _fail(path, f"tensor {t.name!r}: external data runs past the end of {loc!r}", where)


def _sorted_nodes(model: onnx.ModelProto, path: Path) -> list[onnx.NodeProto]:
    """Nodes in topological order (ONNX requires it, but we accept any order); a cycle is an error."""
    nodes = list(model.graph.node)
    producer = {o: i for i, n in enumerate(nodes) for o in n.output if o}
    deps = [{producer[x] for x in n.input if x in producer} for n in nodes]
    state, order = [0] * len(nodes), []
    for root in range(len(nodes)):
        stack = [(root, iter(sorted(deps[root])))] if state[root] == 0 else []
        state[root] = state[root] or 1
        while stack:
            i, it = stack[-1]
            j = next(it, None)
            if j is None:
                state[i] = 2
                order.append(i)
                stack.pop()
            elif state[j] == 1:
                names = [_label(nodes[k], k) for k, _ in stack] + [_label(nodes[j], j)]
                cyc = names[names.index(_label(nodes[j], j)):]
                raise _fail(path, "graph has a cycle: " + " -> ".join(cyc), "graph.node")
            elif state[j] == 0:
                state[j] = 1
                stack.append((j, iter(sorted(deps[j]))))
    return [nodes[i] for i in order]


def _label(node: onnx.NodeProto, i: int) -> str:
    return node.name or f"{node.op_type}_{i}"


# --- analysis (shape independent, once per file) ----------------------------------------------------
@dataclass(frozen=True)
class _Input:
    name: str
    dims: tuple[int | str, ...]  # int = fixed, str = symbolic ("" when unnamed)
    elem_type: int


@dataclass
class _Model:
    """Everything about a file that does not depend on the shape it is built at."""

    path: Path
    nodes: list[onnx.NodeProto]
    names: list[str]
    opsets: dict[str, int]
    skeleton: bytes  # the model with large initializers turned into typed inputs (no weight bytes)
    inputs: list[_Input]
    task: str
    const_dims: dict[str, tuple[int, ...]]  # initializers and Constant outputs
    small_values: dict[str, np.ndarray] = field(default_factory=dict)  # scalar-ish constants (Clip bounds)
    default_image: int | None = None
    sources: dict[str, frozenset[str]] = field(default_factory=dict)  # static tensor -> parameter tensors
    static: set[str] = field(default_factory=set)
    folded: set[int] = field(default_factory=set)  # nodes computed at load time (shape arithmetic)
    consumers: dict[str, list[int]] = field(default_factory=dict)
    bias_of: dict[int, str] = field(default_factory=dict)  # MatMul index -> fused bias tensor
    alias: dict[int, str] = field(default_factory=dict)  # fused Add index -> tensor it passes through
    fused: dict[int, tuple[str, str]] = field(default_factory=dict)  # last node -> (activation, input)
    absorbed: set[int] = field(default_factory=set)  # nodes inside a fused pattern
    unsupported: list[int] = field(default_factory=list)


def _tensor_numel(dims) -> int:
    return math.prod(int(d) for d in dims)


def _analyse(model: onnx.ModelProto, path: Path) -> _Model:
    g = model.graph
    nodes = _sorted_nodes(model, path)
    inits = {t.name: t for t in g.initializer}
    const_dims = {n: tuple(t.dims) for n, t in inits.items()}
    float_param = {n for n, t in inits.items() if t.data_type in _FLOAT_TYPES and _tensor_numel(t.dims) > 1}
    names, seen = [], set()
    for i, n in enumerate(nodes):
        name = _label(n, i)
        while name in seen:
            name += "'"
        seen.add(name)
        names.append(name)
    m = _Model(path=path, nodes=nodes, names=names, opsets={o.domain or "": o.version for o in model.opset_import},
               skeleton=b"", inputs=[], task="tabular", const_dims=const_dims)
    m.static = set(inits)
    m.small_values = {n: numpy_helper.to_array(t) for n, t in inits.items()
                      if _tensor_numel(t.dims) <= 16 and t.data_location != onnx.TensorProto.EXTERNAL}
    m.sources = {n: frozenset([n]) if n in float_param else frozenset() for n in inits}
    for i, n in enumerate(nodes):
        for x in n.input:
            m.consumers.setdefault(x, []).append(i)
        live = [x for x in n.input if x]
        standard = n.domain in ("", "ai.onnx")
        if n.op_type == "Constant" and standard:
            _constant(n, m)
        elif n.op_type in ("Shape", "Size") and standard:
            m.static.update(n.output)
            for o in n.output:
                m.sources[o] = frozenset()
        elif standard and live and all(x in m.static for x in live) and not _real_gather(n, m) \
                and n.op_type not in ("If", "Loop", "Scan"):  # constant: a runtime computes it once, at load
            m.folded.add(i)
            if n.op_type == "Identity" and live[0] in inits and live[0] in float_param:
                m.sources[n.output[0]] = frozenset([n.output[0]])  # a distinct parameter (see module doc)
                const_dims[n.output[0]] = const_dims[live[0]]
            else:
                src = frozenset().union(*(m.sources.get(x, frozenset()) for x in live))
                for o in n.output:
                    m.sources[o] = src
            m.static.update(o for o in n.output if o)
        elif not standard or not _supported(n.op_type) or (n.op_type == "Einsum" and len(live) > 2):
            m.unsupported.append(i)
    _find_fusions(m, {o.name for o in g.output})
    m.inputs = [_Input(v.name, tuple(d.dim_value if d.HasField("dim_value") else d.dim_param
                                     for d in v.type.tensor_type.shape.dim), v.type.tensor_type.elem_type)
                for v in g.input if v.name not in inits]
    m.task = _task(m.inputs)
    first = m.inputs[0] if m.inputs else None
    if m.task == "image" and all(isinstance(d, int) and d > 0 for d in first.dims[2:]):
        m.default_image = first.dims[2]
    m.skeleton = _skeleton(model, nodes, inits).SerializeToString()
    m.nodes = list(onnx.ModelProto.FromString(m.skeleton).graph.node)  # drop references to the weights
    return m


def _constant(n: onnx.NodeProto, m: _Model) -> None:
    m.static.add(n.output[0])
    m.sources[n.output[0]] = frozenset()
    for a in n.attribute:
        if a.name == "value" and a.HasField("t"):
            m.const_dims[n.output[0]] = tuple(a.t.dims)
            if _tensor_numel(a.t.dims) <= 16 and a.t.data_location != onnx.TensorProto.EXTERNAL:
                m.small_values[n.output[0]] = numpy_helper.to_array(a.t)
            if a.t.data_type in _FLOAT_TYPES and _tensor_numel(a.t.dims) > 1:
                m.sources[n.output[0]] = frozenset([n.output[0]])


def _is_weight(m: _Model, name: str) -> bool:
    return name in m.static and bool(m.sources.get(name))


def _real_gather(n: onnx.NodeProto, m: _Model) -> bool:
    """A Gather from a parameter table is an embedding lookup, even with constant indices."""
    return n.op_type == "Gather" and _is_weight(m, n.input[0])


def _find_fusions(m: _Model, outputs: set[str]) -> None:
    prod = {o: i for i, n in enumerate(m.nodes) for o in n.output if o}

    def only_use(name: str) -> int | None:
        users = m.consumers.get(name, [])
        return users[0] if len(users) == 1 and name not in outputs else None

    for i, n in enumerate(m.nodes):
        if n.op_type == "MatMul" and _is_weight(m, n.input[1]) and not _is_weight(m, n.input[0]):
            j = only_use(n.output[0])
            if j is not None and m.nodes[j].op_type == "Add":
                other = [x for x in m.nodes[j].input if x != n.output[0]]
                if len(other) == 1 and _is_weight(m, other[0]) and len(m.const_dims.get(
                        next(iter(m.sources[other[0]])), ())) == 1:
                    m.bias_of[i], m.alias[j] = other[0], n.output[0]
        elif n.op_type in ("Sigmoid", "HardSigmoid"):  # x * sigmoid(x) = SiLU, x * hardsigmoid(x) = hardswish
            j = only_use(n.output[0])
            if j is not None and m.nodes[j].op_type == "Mul" and n.input[0] in m.nodes[j].input:
                m.fused[j] = ("silu" if n.op_type == "Sigmoid" else "hardswish", n.input[0])
                m.absorbed.add(i)
        elif n.op_type == "Erf" and n.input[0] in prod:
            _gelu(m, i, prod, only_use)


def _gelu(m: _Model, erf: int, prod: dict[str, int], only_use: Callable[[str], int | None]) -> None:
    """x * (erf(x / sqrt 2) + 1) * 0.5, in the order torch exports it (Div, Erf, Add, Mul, Mul)."""
    d = prod[m.nodes[erf].input[0]]
    if m.nodes[d].op_type not in ("Div", "Mul") or not any(x in m.static for x in m.nodes[d].input):
        return
    x = next(v for v in m.nodes[d].input if v not in m.static)
    if only_use(m.nodes[d].output[0]) != erf:
        return
    chain, cur = [d, erf], erf
    for want in ("Add", "Mul"):  # every intermediate feeds only the next step
        j = only_use(m.nodes[cur].output[0])
        if j is None or m.nodes[j].op_type != want:
            return
        chain.append(j)
        cur = j
    if x not in m.nodes[cur].input or not any(v in m.static for v in m.nodes[chain[2]].input):
        return
    j = only_use(m.nodes[cur].output[0])
    if j is not None and m.nodes[j].op_type == "Mul" and any(v in m.static for v in m.nodes[j].input):
        chain.append(j)
    m.fused[chain[-1]] = ("gelu", x)
    m.absorbed |= set(chain[:-1])


def _task(inputs: list[_Input]) -> str:
    if not inputs:
        return "tabular"
    first = inputs[0]
    if first.elem_type in _INT_TYPES:
        return "text"
    if first.elem_type in _FLOAT_TYPES and len(first.dims) == 4:
        return "image"
    return "tabular"


def _skeleton(model: onnx.ModelProto, nodes: list[onnx.NodeProto], inits: dict) -> onnx.ModelProto:
    """A weight-free copy for shape inference: large initializers become typed graph inputs."""
    sk = onnx.ModelProto()
    sk.CopyFrom(model)
    del sk.graph.node[:]
    sk.graph.node.extend(nodes)
    del sk.graph.initializer[:]
    declared = {v.name for v in sk.graph.input}
    for name, t in inits.items():
        if _tensor_numel(t.dims) <= SMALL_ELEMS and t.data_location != onnx.TensorProto.EXTERNAL:
            sk.graph.initializer.append(t)
        elif name not in declared:
            sk.graph.input.append(onnx.helper.make_tensor_value_info(name, t.data_type, list(t.dims)))
    del sk.graph.value_info[:]  # declared shapes hold the exported sizes; inference recomputes them
    for v in sk.graph.output:
        for k, d in enumerate(v.type.tensor_type.shape.dim):
            d.Clear()
            d.dim_param = f"{v.name}:{k}"
    return sk


# --- building at a shape ------------------------------------------------------------------------------
def _input_dims(m: _Model, shape: Shape) -> dict[str, tuple[int, ...]]:
    """Concrete dims of every graph input at ``shape`` (see the module docstring for the rules)."""
    out = {}
    for inp in m.inputs:
        dims = []
        for axis, d in enumerate(inp.dims):
            if axis == 0:
                dims.append(shape.batch_size)
            elif m.task == "image" and len(inp.dims) == 4 and axis >= 2:  # fixed H, W kept unless asked
                keep = isinstance(d, int) and d > 0 and shape.image_size == m.default_image
                dims.append(d if keep else shape.image_size)
            elif isinstance(d, int) and d > 0 and not (m.task == "text" and axis == 1):
                dims.append(d)
            elif m.task != "image":
                dims.append(shape.seq_len)
            else:
                raise _fail(m.path, f"input {inp.name!r} has a symbolic dimension {d!r} at axis {axis} that is "
                                    "neither batch nor image size", f"graph.input.{inp.name}")
        out[inp.name] = tuple(dims)
    return out


def _dims_of(vi: onnx.ValueInfoProto) -> tuple[int, ...] | None:
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        return None
    dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim)
    return None if any(d < 0 for d in dims) else dims


def _infer(m: _Model, shape: Shape) -> dict[str, tuple[int, ...]]:
    """Shapes of every tensor at ``shape``, folding shape arithmetic that inference cannot follow."""
    sk = onnx.ModelProto.FromString(m.skeleton)
    dims = _input_dims(m, shape)
    for v in sk.graph.input:
        if v.name in dims:
            for d, val in zip(v.type.tensor_type.shape.dim, dims[v.name]):
                d.Clear()
                d.dim_value = val
    for _ in range(6):
        try:
            inferred = shape_inference.infer_shapes(sk, strict_mode=True, data_prop=True)
        except Exception as exc:
            raise _fail(m.path, f"shape inference failed at batch {shape.batch_size}, seq_len {shape.seq_len}, "
                                f"image_size {shape.image_size}: {str(exc).strip().splitlines()[-1]}") from None
        g = inferred.graph
        shapes = {v.name: _dims_of(v) for v in [*g.input, *g.value_info, *g.output]}
        shapes.update({k: v for k, v in m.const_dims.items()})
        shapes.update({t.name: tuple(t.dims) for t in g.initializer})
        if not _fold(m, sk, shapes):
            return shapes
    return shapes


def _fold(m: _Model, sk: onnx.ModelProto, shapes: dict) -> bool:
    """Evaluate folded nodes whose outputs have unknown shapes; True when the skeleton changed."""
    unknown = {k for k, v in shapes.items() if v is None}
    if not unknown:
        return False
    values = {t.name: numpy_helper.to_array(t) for t in sk.graph.initializer}
    present = {o for n in sk.graph.node for o in n.output}
    # constants that real ops read (Reshape targets, Resize scales...): inference needs their values
    boundary = {x for i, n in enumerate(m.nodes) if i not in m.folded for x in n.input
                if x in m.static and x in present}
    replace: dict[str, np.ndarray] = {}
    for i in sorted(m.folded | {k for k, n in enumerate(m.nodes) if n.op_type in STATIC_SOURCES}):
        n = m.nodes[i]
        if n.op_type in ("Shape", "Size"):
            s = shapes.get(n.input[0])
            if s is None:
                continue
            attrs = {a.name: a.i for a in n.attribute}
            val = np.array(s[attrs.get("start", 0):attrs.get("end", len(s))] if n.op_type == "Shape"
                           else math.prod(s), dtype=np.int64)
            outs = [val]
        else:
            ins = [x for x in n.input if x]
            if not all(x in values for x in ins) or sum(values[x].size for x in ins) > SMALL_ELEMS:
                continue
            try:
                ref = ReferenceEvaluator(n, opsets=m.opsets)
                outs = ref.run(None, {x: values[x] for x in ins})
            except Exception:
                continue
        for o, v in zip(n.output, outs):
            values[o] = np.asarray(v)
            if o in unknown or o in boundary:
                replace[o] = np.asarray(v)
    if not replace:
        return False
    keep = [n for n in sk.graph.node if not set(n.output) & set(replace)]
    del sk.graph.node[:]
    sk.graph.node.extend(keep)
    for name, v in replace.items():
        sk.graph.initializer.append(numpy_helper.from_array(v, name))
    return True


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
        out = b.add(op, acts, ctx.shape(n.output[0], label) if ctx.shapes.get(n.output[0]) else (1,))
        for o in n.output:
            if o:
                tensors[o] = Tensor(out.producer, ctx.shapes.get(o) or out.shape)
    if len(b.graph) == 0:
        raise _fail(m.path, "the graph has no operations to simulate (only constants and views)")
    return b.build()


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
                  param_elems=p, weight_read_elems=p, attrs=(("onnx_op", t),))
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
