"""Analysing an ONNX graph: weights vs activations, fused patterns, shape inference at a Shape.

See :mod:`simulator.workload.importers.onnx_import` for the whole import.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference
from onnx.reference import ReferenceEvaluator

from ..families import Shape
from .onnx_read import (SMALL_ELEMS, STATIC_SOURCES, _FLOAT_TYPES, _INT_TYPES, _fail, _Input, _label, _Model,
                        _sorted_nodes, _supported)

# The largest tensor computed at load time (shape arithmetic), in elements (8 B each at most): 32 MiB.
# Anything larger is sized by shape inference instead, never materialised (an ONNX constant-folding
# bomb: a 200-byte ConstantOfShape of shape [30000, 30000] would otherwise allocate 3.6 GB).
MAX_FOLD_ELEMS = 4 * 2**20
MAX_DATA_PROP_ELEMS = 65_536  # 1-D integer inputs beyond this turn ONNX data propagation off (see below)


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
            inferred = shape_inference.infer_shapes(sk, strict_mode=True, data_prop=_data_prop_is_bounded(sk))
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


def _data_prop_is_bounded(sk: onnx.ModelProto) -> bool:
    """ONNX data propagation turns every element of a 1-D integer tensor into a symbolic dimension
    (~130 B each, in C++: a 10^8-element input is a 13 GB allocation). Use it only while every 1-D
    integer input holds at most :data:`MAX_DATA_PROP_ELEMS` elements; shape arithmetic never needs more.

    Example:
        >>> from onnx import helper, TensorProto
        >>> g = helper.make_graph([], "g", [helper.make_tensor_value_info("ids", TensorProto.INT64, [10**8])], [])
        >>> _data_prop_is_bounded(helper.make_model(g))
        False
    """
    for v in sk.graph.input:
        tt = v.type.tensor_type
        if tt.elem_type in _INT_TYPES and len(tt.shape.dim) == 1:
            d = tt.shape.dim[0]
            if not d.HasField("dim_value") or d.dim_value > MAX_DATA_PROP_ELEMS:
                return False
    return True


def _fold(m: _Model, sk: onnx.ModelProto, shapes: dict) -> bool:
    """Evaluate folded nodes whose outputs have unknown shapes; True when the skeleton changed.

    A value is computed only when ONNX shape inference of the node alone (its inputs known) says
    its outputs hold at most :data:`MAX_FOLD_ELEMS` elements: a ``ConstantOfShape`` of a huge shape
    is never materialised. Such an output enters the skeleton as a typed input of its shape, which
    is all shape inference downstream needs.
    """
    unknown = {k for k, v in shapes.items() if v is None}
    if not unknown:
        return False
    values = {t.name: numpy_helper.to_array(t) for t in sk.graph.initializer}
    present = {o for n in sk.graph.node for o in n.output}
    # constants that real ops read (Reshape targets, Resize scales...): inference needs their values
    boundary = {x for i, n in enumerate(m.nodes) if i not in m.folded for x in n.input
                if x in m.static and x in present}
    replace: dict[str, np.ndarray] = {}
    typed: dict[str, tuple[int, list[int]]] = {}
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
            kinds = _node_output_types(n, {x: values[x] for x in ins}, m.opsets)
            if kinds is None:
                continue  # sizes unknown without computing: never computed (an unbounded allocation)
            if any(math.prod(d) > MAX_FOLD_ELEMS for _, d in kinds.values()):
                typed.update({o: kinds[o] for o in n.output if o in kinds and (o in unknown or o in boundary)})
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
    if not replace and not typed:
        return False
    keep = [n for n in sk.graph.node if not set(n.output) & (set(replace) | set(typed))]
    del sk.graph.node[:]
    sk.graph.node.extend(keep)
    for name, v in replace.items():
        sk.graph.initializer.append(numpy_helper.from_array(v, name))
    for name, (elem_type, dims) in typed.items():
        sk.graph.input.append(onnx.helper.make_tensor_value_info(name, elem_type, dims))
    return True


def _node_output_types(n: onnx.NodeProto, inputs: dict[str, np.ndarray],
                       opsets: dict[str, int]) -> dict[str, tuple[int, list[int]]] | None:
    """(element type, dims) of each output of ``n`` given its input values, by ONNX shape inference of
    the node alone (no computation); None when inference cannot size every output.

    Example:
        >>> from onnx import helper, TensorProto
        >>> node = helper.make_node("ConstantOfShape", ["s"], ["big"])
        >>> _node_output_types(node, {"s": np.array([30000, 30000])}, {"": 17})
        {'big': (1, [30000, 30000])}
    """
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in inputs.items()]
    graph = onnx.helper.make_graph([n], "fold", [], [], initializer=inits)
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid(d, v) for d, v in opsets.items()])
    try:
        inferred = shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception:
        return None
    out = {}
    for vi in inferred.graph.value_info:
        tt = vi.type.tensor_type
        if not tt.HasField("shape") or not all(d.HasField("dim_value") for d in tt.shape.dim):
            return None
        out[vi.name] = (tt.elem_type, [d.dim_value for d in tt.shape.dim])
    return out if all(o in out for o in n.output if o) else None
