"""Computation graphs: a directed graph of :class:`Op` nodes, tensors (element counts) on edges
(:class:`~simulator.workload.digraph.DiGraph`, networkx's interface on plain dicts; ``ComputeGraph.graph``
gives a real networkx graph for graph queries).

:class:`GraphBuilder` tracks tensor shapes while a model is built, so shape mismatches are caught
where they happen; :class:`ComputeGraph` is the validated, read-only result.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

from ..errors import WorkloadError
from . import ops as O
from .digraph import DiGraph
from .ops import Op, OpKind
from .saved import SUM

if TYPE_CHECKING:
    import networkx as nx

MAX_OPS = 200_000


@dataclass(frozen=True)
class Tensor:
    """A value flowing between ops: who produced it (``None`` for a graph input) and its shape.

    Example:
        >>> Tensor(None, (2, 3, 4)).elems
        24
    """

    producer: str | None
    shape: tuple[int, ...]

    @property
    def elems(self) -> int:
        """Number of elements: the product of ``shape``."""
        return math.prod(self.shape)


class ComputeGraph:
    """A validated, acyclic graph of ops. Iteration order is deterministic (insertion order among ready ops).

    Raises:
        WorkloadError: the graph has a cycle, a dangling edge, or too many ops.

    Example:
        >>> b = GraphBuilder("res", batch=1)
        >>> a = b.linear("fc1", b.input((1, 8)), 4)
        >>> _ = b.add_tensors("add", a, b.act("relu", a))      # fc1 -> relu -> add, fc1 -> add
        >>> g = b.build()
        >>> len(g), g.order
        (3, ['fc1', 'relu', 'add'])
    """

    def __init__(self, graph: "DiGraph | nx.DiGraph", *, name: str, source: str = "", meta: dict | None = None) -> None:
        self._g = graph
        self.name = name
        self.source = source or name
        self.meta = dict(meta or {})
        self._validate()
        self._order = _topological_order(graph)
        if self._order is None:
            import networkx as nx

            cycle = nx.find_cycle(graph.to_networkx() if isinstance(graph, DiGraph) else graph)
            path = " -> ".join(str(u) for u, _ in cycle) + f" -> {cycle[0][0]}"
            raise WorkloadError(self.source, "ops", f"graph has a cycle: {path}")
        rank = {n: i for i, n in enumerate(self._order)}
        nodes = graph.nodes
        self._ops = {n: nodes[n]["op"] for n in self._order}  # a dict lookup, not a networkx view
        # neighbour lists in topological (= deterministic) order, computed once: the engine asks often
        key = rank.__getitem__
        pred, succ = graph._pred, graph._succ  # networkx's adjacency dicts (its own views wrap them)
        self._preds = {n: sorted(pred[n], key=key) if len(pred[n]) > 1 else list(pred[n]) for n in self._order}
        self._succs = {n: sorted(succ[n], key=key) if len(succ[n]) > 1 else list(succ[n]) for n in self._order}
        # what the layers above derive from the graph once and reuse on every run (op classes, op
        # tables, costs per device): a built graph is never changed, so these stay valid
        self.memo: dict = {}

    @property
    def digraph(self) -> "DiGraph | nx.DiGraph":
        """The graph as it was built: nodes with ``op`` and ``index`` attributes, edges with ``elems``
        (a :class:`~simulator.workload.digraph.DiGraph`, or the ``networkx.DiGraph`` it was given).
        What the workload layer copies and rewrites; not to be changed."""
        return self._g

    @property
    def graph(self) -> nx.DiGraph:
        """The graph as a ``networkx.DiGraph``, for graph queries (built on first use: networkx is
        imported only then).

    Example:
        >>> b = GraphBuilder("res", batch=1)
        >>> a = b.linear("fc1", b.input((1, 8)), 4)
        >>> _ = b.add_tensors("add", a, b.act("relu", a))      # fc1 -> relu -> add, fc1 -> add
        >>> import networkx as nx
        >>> nx.shortest_path(b.build().graph, "fc1", "add")
        ['fc1', 'add']
        """
        if not isinstance(self._g, DiGraph):
            return self._g
        found = self.memo.get("networkx")
        if found is None:
            found = self.memo["networkx"] = self._g.to_networkx()
        return found

    def _validate(self) -> None:
        g = self._g
        if g.number_of_nodes() > MAX_OPS:
            raise WorkloadError(self.source, "ops", f"graph has {g.number_of_nodes()} ops, above the limit of {MAX_OPS}")
        for n, data in g.nodes(data=True):
            if not isinstance(data.get("op"), Op):
                raise WorkloadError(self.source, f"ops.{n}", "edge refers to an op that is not defined (dangling edge)")

    @property
    def ops(self) -> list[Op]:
        """Ops in deterministic topological order.

    Example:
        >>> b = GraphBuilder("res", batch=1)
        >>> a = b.linear("fc1", b.input((1, 8)), 4)
        >>> _ = b.add_tensors("add", a, b.act("relu", a))      # fc1 -> relu -> add, fc1 -> add
        >>> g = b.build()
        >>> [op.kind.value for op in g.ops]
        ['matmul', 'activation', 'elementwise']
        """
        return [self._ops[n] for n in self._order]

    @property
    def order(self) -> list[str]:
        """Op names in deterministic topological order (a fresh list each call).

    Example:
        >>> b = GraphBuilder("res", batch=1)
        >>> a = b.linear("fc1", b.input((1, 8)), 4)
        >>> _ = b.add_tensors("add", a, b.act("relu", a))      # fc1 -> relu -> add, fc1 -> add
        >>> g = b.build()
        >>> g.order
        ['fc1', 'relu', 'add']
        """
        return list(self._order)

    @property
    def op_map(self) -> dict[str, Op]:
        """``{name: op}`` in topological order: the graph's own dict, for loops over every op (not to
        be changed)."""
        return self._ops

    @property
    def adjacency(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """(predecessors, successors) of every op, each list in topological order: the dicts
        :meth:`predecessors` and :meth:`successors` read (not to be changed)."""
        return self._preds, self._succs

    def op(self, name: str) -> Op:
        """The :class:`Op` called ``name``.

        Raises:
            KeyError: no op of that name.
        """
        return self._ops[name]

    def predecessors(self, name: str) -> list[str]:
        """Producers of ``name``'s inputs, in topological order.

        Raises:
            KeyError: no op of that name.

    Example:
        >>> b = GraphBuilder("res", batch=1)
        >>> a = b.linear("fc1", b.input((1, 8)), 4)
        >>> _ = b.add_tensors("add", a, b.act("relu", a))      # fc1 -> relu -> add, fc1 -> add
        >>> g = b.build()
        >>> g.predecessors("add")
        ['fc1', 'relu']
        """
        return self._preds[name]

    def successors(self, name: str) -> list[str]:
        """Consumers of ``name``'s output, in topological order.

        Raises:
            KeyError: no op of that name.

    Example:
        >>> b = GraphBuilder("res", batch=1)
        >>> a = b.linear("fc1", b.input((1, 8)), 4)
        >>> _ = b.add_tensors("add", a, b.act("relu", a))      # fc1 -> relu -> add, fc1 -> add
        >>> g = b.build()
        >>> g.successors("fc1")
        ['relu', 'add']
        """
        return self._succs[name]

    def edge_elems(self, producer: str, consumer: str) -> float | None:
        """Elements of the tensor on the edge ``producer -> consumer`` when the builder recorded
        them (None otherwise); a dict lookup, built on first use.

        Raises:
            KeyError: no such edge.

    Example:
        >>> b = GraphBuilder("res", batch=1)
        >>> a = b.linear("fc1", b.input((1, 8)), 4)
        >>> _ = b.add_tensors("add", a, b.act("relu", a))      # fc1 -> relu -> add, fc1 -> add
        >>> b.build().edge_elems("fc1", "add")
        4
        """
        elems = self.memo.get("edge_elems")
        if elems is None:
            elems = self.memo["edge_elems"] = {(u, v): d.get("elems") for u, v, d in self._g.edges(data=True)}
        return elems[producer, consumer]

    def __len__(self) -> int:
        return self._g.number_of_nodes()

    @property
    def parameters(self) -> float:
        """Trainable parameter count (elements).

    Example:
        >>> b = GraphBuilder("res", batch=1)
        >>> a = b.linear("fc1", b.input((1, 8)), 4)
        >>> _ = b.add_tensors("add", a, b.act("relu", a))      # fc1 -> relu -> add, fc1 -> add
        >>> g = b.build()
        >>> g.parameters                  # 8 x 4 weights + 4 biases
        36.0
        """
        found = self.memo.get("parameters")
        if found is None:
            found = self.memo["parameters"] = float(sum(op.param_elems for op in self.ops))
        return found

    @property
    def flops(self) -> float:
        """Total FLOPs of all ops (FLOP, whole batch).

    Example:
        >>> b = GraphBuilder("res", batch=1)
        >>> a = b.linear("fc1", b.input((1, 8)), 4)
        >>> _ = b.add_tensors("add", a, b.act("relu", a))      # fc1 -> relu -> add, fc1 -> add
        >>> g = b.build()
        >>> g.flops                       # matmul 64 + bias 4, relu 4, add 4
        76.0
        """
        return float(sum(op.flops for op in self.ops))

    @property
    def matrix_flops(self) -> float:
        """FLOPs of the matrix parts (conv / linear / attention matmuls), in FLOP.

    Example:
        >>> b = GraphBuilder("res", batch=1)
        >>> a = b.linear("fc1", b.input((1, 8)), 4)
        >>> _ = b.add_tensors("add", a, b.act("relu", a))      # fc1 -> relu -> add, fc1 -> add
        >>> g = b.build()
        >>> g.matrix_flops
        64.0
        """
        return float(sum(op.matrix_flops for op in self.ops))

    @property
    def activation_elems(self) -> float:
        """Sum of every op's output elements (what a training step saves, without checkpointing).

    Example:
        >>> b = GraphBuilder("res", batch=1)
        >>> a = b.linear("fc1", b.input((1, 8)), 4)
        >>> _ = b.add_tensors("add", a, b.act("relu", a))      # fc1 -> relu -> add, fc1 -> add
        >>> g = b.build()
        >>> g.activation_elems
        12.0
        """
        return float(sum(op.output_elems for op in self.ops))


class GraphBuilder:
    """Builds a graph op by op while tracking tensor shapes (NCHW for images, (B, S, D) for sequences).

    Example:
        >>> b = GraphBuilder("tiny", batch=2)
        >>> x = b.input((2, 8))
        >>> y = b.linear("fc", x, 4)
        >>> b.build().parameters
        36.0
    """

    def __init__(self, name: str, *, batch: int, source: str = "", meta: dict | None = None) -> None:
        self.name = name
        self.batch = batch
        self.source = source or name
        self.meta = dict(meta or {})
        self.graph = DiGraph()
        self._index = 0

    # -- core -------------------------------------------------------------------------------
    def input(self, shape: Sequence[int]) -> Tensor:
        """A graph input (data from the host), no producer.

        Raises:
            WorkloadError: a non-positive dimension.

        Example:
            >>> GraphBuilder("g", batch=1).input((1, 3, 224, 224)).producer is None
            True
        """
        if any(int(d) <= 0 for d in shape):
            raise WorkloadError(self.source, "input", f"input shape must be positive, got {tuple(shape)}")
        return Tensor(None, tuple(int(d) for d in shape))

    def add(self, op: Op, inputs: Iterable[Tensor], out_shape: Sequence[int], layer: str = "") -> Tensor:
        """Add ``op`` consuming ``inputs``; returns its output tensor of ``out_shape``.

        Raises:
            WorkloadError: a duplicate op name, or more than :data:`MAX_OPS` ops.

        Example:
            >>> b = GraphBuilder("g", batch=1)
            >>> x = b.input((1, 16))
            >>> b.add(O.softmax("sm", elems=16), [x], (1, 16)).producer
            'sm'
            >>> b.add(O.softmax("sm", elems=16), [x], (1, 16))
            Traceback (most recent call last):
            ...
            simulator.errors.WorkloadError: g: ops.sm: duplicate op name
        """
        g = self.graph
        name = op.name
        if name in g:
            raise WorkloadError(self.source, f"ops.{name}", "duplicate op name")
        if len(g) >= MAX_OPS:
            raise WorkloadError(self.source, "ops", f"graph exceeds the limit of {MAX_OPS} ops")
        if layer:
            op = op.renamed(name, layer=layer)
        g.add_node(name, op=op, index=self._index)
        self._index += 1
        succ = g._succ
        for t in inputs:
            u = t.producer
            if u is not None:
                data = succ[u].get(name) if u in succ else None
                if data is not None:
                    data["elems"] += t.elems
                else:
                    g.add_edge(u, name, elems=t.elems)
        return Tensor(name, tuple(map(int, out_shape)))

    def tag(self, t: Tensor, **changes: object) -> Tensor:
        """``t`` itself, after changing fields of the op that produced it (its ``tp_role``...).

        Raises:
            WorkloadError: ``t`` is a graph input (no op produced it).
            TypeError: a change names a field :class:`Op` does not have.

        Example:
            >>> b = GraphBuilder("g", batch=1)
            >>> y = b.tag(b.linear("fc", b.input((1, 4)), 2), tp_role=O.TpRole.COLUMN)
            >>> b.build().op("fc").tp_role.value
            'column'
        """
        if t.producer is None:
            raise WorkloadError(self.source, "input", "a graph input has no op to tag")
        self.tag_ops([t.producer], **changes)
        return t

    def tag_ops(self, names: Iterable[str], **changes: object) -> None:
        """Change fields of the ops called ``names`` (e.g. the ``block`` of a transformer layer's ops).

        Raises:
            KeyError: no op of one of the names.
            TypeError: a change names a field :class:`Op` does not have.

        Example:
            >>> b = GraphBuilder("g", batch=1)
            >>> _ = b.act("relu", b.linear("fc", b.input((1, 4)), 2))
            >>> b.tag_ops(list(b.graph), block=0)
            >>> [op.block for op in b.build().ops]
            [0, 0]
        """
        for n in names:
            op = self.graph.nodes[n]["op"]
            self.graph.nodes[n]["op"] = op.renamed(op.name, **changes)

    def build(self) -> ComputeGraph:
        """Validate and freeze the graph.

        Raises:
            WorkloadError: as :class:`ComputeGraph`.

        Example:
            >>> b = GraphBuilder("g", batch=1)
            >>> _ = b.linear("fc", b.input((1, 4)), 2)
            >>> b.build().order
            ['fc']
        """
        return ComputeGraph(self.graph, name=self.name, source=self.source, meta=self.meta)

    def _check(self, cond: bool, where: str, message: str) -> None:
        if not cond:
            raise WorkloadError(self.source, f"ops.{where}", message)

    # -- layers -----------------------------------------------------------------------------
    def linear(self, name: str, x: Tensor, out_features: int, *, bias: bool = True) -> Tensor:
        """Linear layer over the last dimension.

        Example:
            >>> b = GraphBuilder("g", batch=4)
            >>> b.linear("fc", b.input((4, 128, 768)), 3072).shape
            (4, 128, 3072)
        """
        rows = math.prod(x.shape[:-1])
        op = O.matmul(name, batch=1, m=rows, k=x.shape[-1], n=out_features, bias=bias)
        return self.add(op, [x], (*x.shape[:-1], out_features))

    def conv(self, name: str, x: Tensor, out_ch: int, kernel: int | tuple[int, int], *, stride: int = 1,
             pad: int | tuple[int, int] | None = None, groups: int = 1, bias: bool = False) -> Tensor:
        """2-D convolution on an NCHW tensor; ``pad=None`` means 'same' padding (kernel // 2).

        Raises:
            WorkloadError: not NCHW, channels not divisible by ``groups``, or a kernel larger than the input.

        Example:
            >>> b = GraphBuilder("g", batch=1)
            >>> b.conv("conv1", b.input((1, 3, 224, 224)), 64, 7, stride=2).shape
            (1, 64, 112, 112)
        """
        self._check(len(x.shape) == 4, name, f"conv2d needs an NCHW input, got shape {x.shape}")
        n, c, h, w = x.shape
        # a width multiplier below 1/32 rounds a layer to 0 channels: say so, not ZeroDivisionError
        self._check(out_ch >= 1 and c >= 1 and groups >= 1, name,
                    f"conv2d needs at least one input and output channel and group, got {c} -> {out_ch} "
                    f"in {groups} group(s) (a width multiplier too small?)")
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        if pad is None:
            pad = (kh // 2, kw // 2)
        try:
            op = O.conv2d(name, batch=n, in_ch=c, h=h, w=w, out_ch=out_ch, kernel=(kh, kw), stride=stride,
                          pad=pad, groups=groups, bias=bias)
        except ValueError as exc:
            raise WorkloadError(self.source, f"ops.{name}", str(exc)) from None
        attrs = dict(op.attrs)
        return self.add(op, [x], (n, out_ch, attrs["out_h"], attrs["out_w"]))

    def pool(self, name: str, x: Tensor, kernel: int, stride: int, pad: int = 0) -> Tensor:
        """Max / average pooling of an NCHW tensor (floor output size).

        Raises:
            WorkloadError: the window is larger than the input.

        Example:
            >>> b = GraphBuilder("g", batch=1)
            >>> b.pool("pool", b.input((1, 64, 112, 112)), 3, 2, 1).shape
            (1, 64, 56, 56)
        """
        n, c, h, w = x.shape
        op = O.pool(name, batch=n, ch=c, h=h, w=w, kernel=kernel, stride=stride, pad=pad)
        attrs = dict(op.attrs)
        self._check(attrs["out_h"] > 0 and attrs["out_w"] > 0, name, f"pool window larger than input {h}x{w}")
        return self.add(op, [x], (n, c, attrs["out_h"], attrs["out_w"]))

    def global_pool(self, name: str, x: Tensor) -> Tensor:
        """Average over the whole H x W map of an NCHW tensor: (N, C).

        Example:
            >>> b = GraphBuilder("g", batch=1)
            >>> b.global_pool("gap", b.input((1, 2048, 7, 7))).shape
            (1, 2048)
        """
        n, c, h, w = x.shape
        op = O.pool(name, batch=n, ch=c, h=h, w=w, kernel=h, stride=1, global_pool=True)
        return self.add(op, [x], (n, c))

    def norm(self, name: str, x: Tensor, *, kind: str = "batchnorm") -> Tensor:
        """Normalisation (``batchnorm`` over dim 1, ``layernorm``/``rmsnorm`` over the last dim).

        Example:
            >>> b = GraphBuilder("g", batch=1)
            >>> _ = b.norm("bn", b.input((1, 64, 8, 8)))
            >>> b.build().parameters          # scale and shift per channel
            128.0
        """
        channels = x.shape[1] if kind == "batchnorm" else x.shape[-1]
        return self.add(O.norm(name, elems=x.elems, channels=channels, kind=kind), [x], x.shape)

    def act(self, name: str, x: Tensor, fn: str = "relu") -> Tensor:
        """Activation ``fn`` (see :data:`~simulator.workload.ops.ACTIVATION_FLOPS`), same shape.

        Raises:
            ValueError: an unknown ``fn``.

        Example:
            >>> b = GraphBuilder("g", batch=1)
            >>> b.act("gelu", b.input((1, 10)), "gelu").shape
            (1, 10)
        """
        return self.add(O.activation(name, elems=x.elems, fn=fn), [x], x.shape)

    def add_tensors(self, name: str, a: Tensor, b: Tensor) -> Tensor:
        """Element-wise sum (residual connection); shapes must agree.

        Raises:
            WorkloadError: the shapes differ.

        Example:
            >>> b = GraphBuilder("g", batch=1)
            >>> b.add_tensors("add", b.input((1, 4)), b.input((1, 5)))
            Traceback (most recent call last):
            ...
            simulator.errors.WorkloadError: g: ops.add: shape mismatch in add: (1, 4) vs (1, 5)
        """
        self._check(a.shape == b.shape, name, f"shape mismatch in add: {a.shape} vs {b.shape}")
        return self.add(O.elementwise(name, elems=a.elems, inputs=2, fn=SUM), [a, b], a.shape)

    def mul_tensors(self, name: str, a: Tensor, b: Tensor) -> Tensor:
        """Element-wise product; ``b`` may broadcast (e.g. squeeze-excite scales).

        Example:
            >>> b = GraphBuilder("g", batch=1)
            >>> b.mul_tensors("se", b.input((1, 32, 8, 8)), b.input((1, 32, 1, 1))).shape
            (1, 32, 8, 8)
        """
        return self.add(O.elementwise(name, elems=a.elems, inputs=1 + b.elems / a.elems), [a, b], a.shape)

    def concat(self, name: str, tensors: Sequence[Tensor], axis: int = 1) -> Tensor:
        """Concatenate along ``axis``; other dimensions must agree.

        Raises:
            WorkloadError: the other dimensions differ.

        Example:
            >>> b = GraphBuilder("g", batch=1)
            >>> b.concat("cat", [b.input((1, 16, 8, 8)), b.input((1, 32, 8, 8))]).shape
            (1, 48, 8, 8)
        """
        base = list(tensors[0].shape)
        for t in tensors[1:]:
            other = [d for i, d in enumerate(t.shape) if i != axis]
            self._check(other == [d for i, d in enumerate(base) if i != axis], name,
                        f"shape mismatch in concat: {[t.shape for t in tensors]}")
        base[axis] = sum(t.shape[axis] for t in tensors)
        out = Tensor(None, tuple(base))
        return self.add(O.data_movement(name, elems=out.elems), tensors, base)

    def flatten(self, x: Tensor) -> Tensor:
        """Reshape to (N, features): no op, no data movement.

        Example:
            >>> GraphBuilder("g", batch=1).flatten(Tensor("pool", (2, 512, 7, 7))).shape
            (2, 25088)
        """
        return Tensor(x.producer, (x.shape[0], math.prod(x.shape[1:])))

    def reshape(self, x: Tensor, shape: Sequence[int]) -> Tensor:
        """View with a new shape of the same size: no op.

        Raises:
            WorkloadError: the element counts differ.

        Example:
            >>> GraphBuilder("g", batch=1).reshape(Tensor("fc", (2, 768)), (2, 12, 64)).shape
            (2, 12, 64)
        """
        self._check(math.prod(shape) == x.elems, "reshape", f"cannot reshape {x.shape} to {tuple(shape)}")
        return Tensor(x.producer, tuple(shape))

    def softmax(self, name: str, x: Tensor) -> Tensor:
        """Softmax over the last dimension, same shape.

        Example:
            >>> b = GraphBuilder("g", batch=1)
            >>> b.softmax("sm", b.input((1, 1000))).shape
            (1, 1000)
        """
        return self.add(O.softmax(name, elems=x.elems), [x], x.shape)

    def loss(self, name: str, logits: Tensor) -> Tensor:
        """Softmax cross-entropy of (..., classes) logits; one value per sample.

        Example:
            >>> b = GraphBuilder("g", batch=8)
            >>> b.loss("loss", b.input((8, 10))).shape
            (8,)
        """
        return self.add(O.loss(name, batch=math.prod(logits.shape[:-1]), classes=logits.shape[-1]), [logits],
                        (logits.shape[0],))

    def op(self, op: Op, inputs: Sequence[Tensor], out_shape: Sequence[int]) -> Tensor:
        """Add a ready-made op (from :mod:`ops`).

        Raises:
            WorkloadError: as :meth:`add`.

        Example:
            >>> b = GraphBuilder("g", batch=1)
            >>> b.op(O.data_movement("copy", elems=16), [b.input((1, 16))], (1, 16)).shape
            (1, 16)
        """
        return self.add(op, inputs, out_shape)

    # -- small general helpers for vision models ---------------------------------------------
    def pool_ceil(self, name: str, x: Tensor, kernel: int, stride: int, pad: int = 0) -> Tensor:
        """Pooling with PyTorch's ``ceil_mode=True`` output size (GoogLeNet): a last partial window counts.

        Raises:
            WorkloadError: the window is larger than the padded input.

        Example:
            >>> b = GraphBuilder("g", batch=1)
            >>> b.pool_ceil("p", b.input((1, 64, 112, 112)), 3, 2).shape
            (1, 64, 56, 56)
        """
        self._check(len(x.shape) == 4, name, f"pool needs an NCHW input, got shape {x.shape}")
        n, c, h, w = x.shape
        oh, ow = (_ceil_out(d, kernel, stride, pad) for d in (h, w))
        self._check(oh > 0 and ow > 0, name, f"pool window {kernel} larger than input {h}x{w}")
        out = n * c * oh * ow
        op = Op(name, OpKind.POOL, flops=float(out * kernel * kernel), input_elems=x.elems, output_elems=out,
                attrs=(("kernel", kernel), ("stride", stride), ("out_h", oh), ("out_w", ow), ("ceil_mode", True)))
        return self.add(op, [x], (n, c, oh, ow))

    def adaptive_pool(self, name: str, x: Tensor, out_hw: int | tuple[int, int]) -> Tensor:
        """Adaptive average pooling to a fixed ``out_hw`` grid (torchvision's AlexNet/VGG head).

        Each output reads a window of about ceil(H / out_h) x ceil(W / out_w) inputs; a smaller input
        is up-sampled (windows repeat), as ``nn.AdaptiveAvgPool2d`` does.

        Example:
            >>> b = GraphBuilder("g", batch=1)
            >>> b.adaptive_pool("ap", b.input((1, 256, 13, 13)), 6).shape
            (1, 256, 6, 6)
        """
        self._check(len(x.shape) == 4, name, f"adaptive pool needs an NCHW input, got shape {x.shape}")
        n, c, h, w = x.shape
        oh, ow = (out_hw, out_hw) if isinstance(out_hw, int) else out_hw
        self._check(oh > 0 and ow > 0, name, f"output size must be positive, got {oh}x{ow}")
        window = O.ceil_div(h, oh) * O.ceil_div(w, ow)
        out = n * c * oh * ow
        op = Op(name, OpKind.POOL, flops=float(out * window), input_elems=x.elems, output_elems=out,
                attrs=(("out_h", oh), ("out_w", ow), ("adaptive", True)))
        return self.add(op, [x], (n, c, oh, ow))

    def upsample(self, name: str, x: Tensor, factor: int) -> Tensor:
        """Nearest-neighbour up-sampling of an NCHW tensor by an integer ``factor``: pure data movement.

        Example:
            >>> b = GraphBuilder("g", batch=1)
            >>> b.upsample("up", b.input((1, 8, 20, 20)), 2).shape
            (1, 8, 40, 40)
        """
        self._check(len(x.shape) == 4 and factor >= 1, name, f"upsample needs NCHW and factor >= 1, got {x.shape}")
        n, c, h, w = x.shape
        out = (n, c, h * factor, w * factor)
        op = Op(name, OpKind.DATA_MOVEMENT, flops=0.0, input_elems=x.elems, output_elems=math.prod(out),
                attrs=(("factor", factor), ("mode", "nearest")))
        return self.add(op, [x], out)

    def conv_transpose(self, name: str, x: Tensor, out_ch: int, kernel: int, *, stride: int, pad: int = 0,
                       bias: bool = True) -> Tensor:
        """Transposed 2-D convolution ("up-convolution", U-Net decoders).

        Every input pixel scatters a ``kernel x kernel x out_ch`` patch, so it is one GEMM of
        M = N*H*W, N = out_ch*k*k, K = in_ch; output size (H - 1) * stride - 2 * pad + kernel.

        Example:
            >>> b = GraphBuilder("g", batch=1)
            >>> b.conv_transpose("up", b.input((1, 64, 16, 16)), 32, 2, stride=2).shape
            (1, 32, 32, 32)
        """
        self._check(len(x.shape) == 4, name, f"conv_transpose needs an NCHW input, got shape {x.shape}")
        n, c, h, w = x.shape
        oh, ow = ((d - 1) * stride - 2 * pad + kernel for d in (h, w))
        self._check(oh > 0 and ow > 0, name, f"padding {pad} leaves no output for input {h}x{w}")
        gemm = O.Gemm(m=n * h * w, n=out_ch * kernel * kernel, k=c)
        params = c * out_ch * kernel * kernel + (out_ch if bias else 0)
        out = n * out_ch * oh * ow
        op = Op(name, OpKind.CONV2D, flops=float(gemm.flops + (out if bias else 0)), input_elems=x.elems,
                output_elems=out, param_elems=params, weight_read_elems=params, gemms=(gemm,),
                attrs=(("in_ch", c), ("out_ch", out_ch), ("kernel", f"{kernel}x{kernel}"), ("stride", stride),
                       ("transposed", True), ("out_h", oh), ("out_w", ow)))
        return self.add(op, [x], (n, out_ch, oh, ow))


def _ceil_out(size: int, kernel: int, stride: int, pad: int) -> int:
    """PyTorch ``ceil_mode`` pooling size: the last window must start inside the input or left padding."""
    out = -(-(size + 2 * pad - kernel) // stride) + 1
    if (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _topological_order(graph: "DiGraph | nx.DiGraph") -> list[str] | None:
    """Ops in topological order, ready ops by their ``index`` (then insertion order): what
    ``networkx.lexicographical_topological_sort(graph, key=index)`` yields, on the adjacency dicts
    directly (4x faster on a 100k-op graph). None when the graph has a cycle.

    Example:
        >>> g = DiGraph()
        >>> g.add_node("b", index=0); g.add_node("a", index=1); g.add_node("c", index=2)
        >>> g.add_edge("a", "c"); _topological_order(g)
        ['b', 'a', 'c']
        >>> g.add_edge("c", "a"); _topological_order(g) is None
        True
    """
    nodes, succ, pred = graph.nodes, graph._succ, graph._pred
    names = list(graph)
    # a builder's graph: indices increase in insertion order and every edge points forward, so the
    # smallest-index ready op is always the next one inserted (the sort below would return ``names``)
    position = {n: i for i, n in enumerate(names)}
    last = None
    for n in names:
        index = nodes[n].get("index")
        if not isinstance(index, int) or (last is not None and index <= last):
            break
        last = index
        i = position[n]
        if any(position[c] <= i for c in succ[n]):
            break
    else:
        return names
    need = {n: len(pred[n]) for n in names}
    ready = [(nodes[n]["index"], i) for i, n in enumerate(names) if not need[n]]
    heapq.heapify(ready)
    order = []
    while ready:
        n = names[heapq.heappop(ready)[1]]
        order.append(n)
        for child in succ[n]:
            need[child] -= 1
            if not need[child]:
                heapq.heappush(ready, (nodes[child]["index"], position[child]))
    return order if len(order) == len(names) else None


def kind_counts(graph: ComputeGraph) -> dict[str, int]:
    """Number of ops per :class:`OpKind` value, sorted by name.

    Example:
        >>> b = GraphBuilder("g", batch=1)
        >>> _ = b.act("relu", b.linear("fc", b.input((1, 4)), 4))
        >>> kind_counts(b.build())
        {'activation': 1, 'matmul': 1}
    """
    out: dict[str, int] = {}
    for op in graph.ops:
        out[op.kind.value] = out.get(op.kind.value, 0) + 1
    return dict(sorted(out.items()))


__all__ = ["ComputeGraph", "GraphBuilder", "Tensor", "kind_counts", "MAX_OPS", "OpKind"]
