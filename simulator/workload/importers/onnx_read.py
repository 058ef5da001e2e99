"""Reading an untrusted ONNX file: limits, external-data checks, node order, op vocabulary.

See :mod:`simulator.workload.importers.onnx_import` for the whole import.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx

from ...errors import WorkloadError
from ...yamlio import MAX_INPUT_FILE_BYTES, read_file_bytes

MAX_FILE_BYTES = MAX_INPUT_FILE_BYTES  # 512 MiB
SMALL_ELEMS = 4096  # initializers up to this size keep their values for shape arithmetic
MAX_NODES = 200_000  # nodes of a model once its functions are inlined: as many as a graph may have ops
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
    data = read_file_bytes(path, limit_bytes=MAX_FILE_BYTES, what="an ONNX model", error_type=WorkloadError)
    if not data:
        raise _fail(path, "file is empty, not an ONNX model")
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # DecodeError, RuntimeWarning from truncated varints...
        raise _fail(path, f"not a readable ONNX model (truncated or corrupt protobuf): {exc}".strip()) from None
    del data
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.node:
        raise _fail(path, "not an ONNX model (no IR version or no graph nodes)")
    return model


def _fn_key(domain: str, name: str, overload: str) -> tuple[str, str, str]:
    return (domain or "", name, overload or "")


def check_node_count(model: onnx.ModelProto, path: Path) -> None:
    """Refuse a model that has more than :data:`MAX_NODES` nodes once its local functions are inlined.

    Counted before inlining, from each function's own count (memoized), so a 2 KB file of nested
    functions that would inline to 10^23 nodes is refused in microseconds; a function that calls
    itself (directly or through others) is refused too, as ONNX forbids it.

    Raises:
        WorkloadError: too many nodes, or recursive functions.
    """
    funcs = {_fn_key(f.domain, f.name, getattr(f, "overload", "")): f for f in model.functions}
    memo: dict[tuple[str, str, str], int] = {}
    active: list[tuple[str, str, str]] = []

    def count(nodes) -> int:
        total = 0
        for n in nodes:
            key = _fn_key(n.domain, n.op_type, getattr(n, "overload", ""))
            total += function(key) if key in funcs else 1
            for a in n.attribute:
                for g in ([a.g] if a.HasField("g") else []) + list(a.graphs):
                    total += count(g.node)
            if total > MAX_NODES:
                raise _fail(path, f"more than {MAX_NODES:,} nodes once its functions are inlined "
                                  f"(the limit for an ONNX model)", "graph.node")
        return total

    def function(key: tuple[str, str, str]) -> int:
        if key not in memo:
            if key in active:
                cycle = " -> ".join(f"{d + '.' if d else ''}{n}" for d, n, _ in [*active[active.index(key):], key])
                raise _fail(path, f"recursive functions cannot be inlined: {cycle}", "functions")
            active.append(key)
            memo[key] = count(funcs[key].node)
            active.pop()
        return memo[key]

    try:
        count(model.graph.node)
    except RecursionError:
        raise _fail(path, "functions or subgraphs nested too deeply", "functions") from None


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


