"""A directed graph on plain dicts: the part of ``networkx.DiGraph``'s interface the workload layer
uses to build graphs (nodes and edges with attribute dicts, neighbours, copies), with the same
insertion orders, so a simulation never imports networkx (~0.1 s of every CLI call). A graph query
asks :meth:`simulator.workload.graph.ComputeGraph.graph` for a real ``networkx.DiGraph``
(:meth:`DiGraph.to_networkx`).
"""
from __future__ import annotations

from typing import Any, Hashable, Iterator

__all__ = ["DiGraph"]


class _NodeView:
    """``g.nodes[n]`` (the node's attribute dict), ``g.nodes(data=True)``, iteration, ``len``, ``in``."""

    __slots__ = ("_node",)

    def __init__(self, node: dict) -> None:
        self._node = node

    def __getitem__(self, n: Hashable) -> dict:
        return self._node[n]

    def __iter__(self) -> Iterator:
        return iter(self._node)

    def __len__(self) -> int:
        return len(self._node)

    def __contains__(self, n: object) -> bool:
        return n in self._node

    def __call__(self, data: bool = False):
        return iter(self._node.items()) if data else iter(self._node)


class _EdgeView:
    """``g.edges[u, v]`` (the edge's attribute dict), ``g.edges(data=True)``, iteration, ``len``."""

    __slots__ = ("_succ",)

    def __init__(self, succ: dict) -> None:
        self._succ = succ

    def __getitem__(self, uv: tuple) -> dict:
        return self._succ[uv[0]][uv[1]]

    def __iter__(self) -> Iterator:
        return ((u, v) for u, nbrs in self._succ.items() for v in nbrs)

    def __len__(self) -> int:
        return sum(len(nbrs) for nbrs in self._succ.values())

    def __call__(self, data: bool = False):
        if data:
            return ((u, v, d) for u, nbrs in self._succ.items() for v, d in nbrs.items())
        return iter(self)


class DiGraph:
    """Directed graph with attribute dicts on nodes and edges, as ``networkx.DiGraph`` keeps them
    (``_node``, ``_succ``, ``_pred``; one dict per edge shared by both directions).

    Example:
        >>> g = DiGraph()
        >>> g.add_node("a", index=0); g.add_edge("a", "b", elems=4)
        >>> list(g.nodes), g.edges["a", "b"], list(g.predecessors("b")), g.out_degree("a")
        (['a', 'b'], {'elems': 4}, ['a'], 1)
        >>> sorted(g.to_networkx().edges(data=True))
        [('a', 'b', {'elems': 4})]
    """

    __slots__ = ("_node", "_succ", "_pred")

    def __init__(self) -> None:
        self._node: dict[Hashable, dict[str, Any]] = {}
        self._succ: dict[Hashable, dict[Hashable, dict]] = {}
        self._pred: dict[Hashable, dict[Hashable, dict]] = {}

    @property
    def nodes(self) -> _NodeView:
        return _NodeView(self._node)

    @property
    def edges(self) -> _EdgeView:
        return _EdgeView(self._succ)

    def add_node(self, n: Hashable, **attr: Any) -> None:
        """Add ``n`` (or update its attributes)."""
        if n not in self._succ:
            self._succ[n], self._pred[n], self._node[n] = {}, {}, dict(attr)
        else:
            self._node[n].update(attr)

    def add_edge(self, u: Hashable, v: Hashable, **attr: Any) -> None:
        """Add the edge ``u -> v`` (and its ends), or update its attributes."""
        for n in (u, v):
            if n not in self._succ:
                self._succ[n], self._pred[n], self._node[n] = {}, {}, {}
        data = self._succ[u].get(v, {})
        data.update(attr)
        self._succ[u][v] = data
        self._pred[v][u] = data

    def has_edge(self, u: Hashable, v: Hashable) -> bool:
        return u in self._succ and v in self._succ[u]

    def predecessors(self, n: Hashable) -> Iterator:
        return iter(self._pred[n])

    def successors(self, n: Hashable) -> Iterator:
        return iter(self._succ[n])

    def out_degree(self, n: Hashable) -> int:
        return len(self._succ[n])

    def in_degree(self, n: Hashable) -> int:
        return len(self._pred[n])

    def number_of_nodes(self) -> int:
        return len(self._node)

    def number_of_edges(self) -> int:
        return len(self.edges)

    def __len__(self) -> int:
        return len(self._node)

    def __iter__(self) -> Iterator:
        return iter(self._node)

    def __contains__(self, n: object) -> bool:
        try:
            return n in self._node
        except TypeError:
            return False

    def copy(self) -> "DiGraph":
        """A copy with copied attribute dicts, built in the order ``networkx.DiGraph.copy`` builds it."""
        g = DiGraph()
        for n, d in self._node.items():
            g.add_node(n, **d)
        for u, nbrs in self._succ.items():
            for v, d in nbrs.items():
                g.add_edge(u, v, **d)
        return g

    def to_networkx(self):
        """The same graph as a ``networkx.DiGraph`` (nodes, then edges, in this graph's order)."""
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from((n, dict(d)) for n, d in self._node.items())
        g.add_edges_from((u, v, dict(d)) for u, nbrs in self._succ.items() for v, d in nbrs.items())
        return g
