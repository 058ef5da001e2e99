"""Closed-form (alpha-beta) costs of collectives; pure. The engine plays them out on link resources.

For ``n`` ranks, message ``S`` bytes per rank, per-rank bandwidth ``B`` (B/s, one direction) and
per-step latency ``a`` (s):

- ring all-reduce: reduce-scatter then all-gather, ``2 (n-1)`` steps of ``S/n``:
  ``t = 2 (n-1) (a + S / (n B))``; NCCL's *bus bandwidth* is ``2 (n-1)/n * S / t``, which tends to
  ``B`` for large messages.
- reduce-scatter, all-gather: half of that: ``(n-1) (a + S / (n B))``.
- tree all-reduce (pipelined, double binary tree): ``2 log2(n) a + 2 S / B``.
- all-to-all: each rank sends ``(n-1)/n`` of its data: ``(n-1) a + (n-1)/n * S / B``.
- point-to-point: ``a + S / B``.
- on a fully connected mesh of ``L`` peer links per device (``LinkModel.peer_links``), ``n`` ranks
  use ``n - 1`` of them: ``B`` becomes ``B * min(1, (n-1)/L)`` (one link for point-to-point).

The fabric's ``topology`` shapes what only neighbour links can do (``switch``, ``fat_tree``, ``rail``,
``mesh`` and ``pcie_tree`` reach every peer directly):

- ``torus`` of ``dims`` (``LinkModel.dims``): the ``n`` ranks of a group are laid over the dimensions
  in order (:func:`torus_spans`, e.g. 8 ranks on a 4 x 4 torus span 4 x 2). A ring collective runs
  one ring per dimension, so its latency steps are ``sum(s_i - 1)`` per reduce-scatter or all-gather
  instead of ``n - 1`` (a 16 x 16 x 16 pod: 45, not 4,095); the bandwidth term is the ring's. An
  all-to-all is dimension-ordered: along each dimension a bidirectional ring exchange of
  ``(s - 1)/s * S`` bytes whose farthest peers are ``s / 2`` hops away, bisection-bound at
  ``max(1, s / 4)`` times the direct time: ``sum_i (s_i - 1) a + max(1, s_i / 4) (s_i - 1)/s_i * S / B``.
- ``ring``: a torus of one dimension of ``n``.
The hierarchical (two-level) form lives with the fabrics, in ``engine/cluster.py``'s ``phases``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum


class Collective(str, Enum):
    """The collectives the engine knows.

    Example:
        >>> Collective("all_reduce") is Collective.ALL_REDUCE
        True
    """

    ALL_REDUCE = "all_reduce"
    REDUCE_SCATTER = "reduce_scatter"
    ALL_GATHER = "all_gather"
    ALL_TO_ALL = "all_to_all"
    P2P = "p2p"


class Algorithm(str, Enum):
    """All-reduce algorithms.

    Example:
        >>> [a.value for a in Algorithm]
        ['ring', 'tree']
    """

    RING = "ring"
    TREE = "tree"


@dataclass(frozen=True)
class LinkModel:
    """One fabric as a collective sees it: bandwidth per rank per direction (B/s) and latency per step (s).

    Example:
        >>> LinkModel(bandwidth_bps=450e9, latency_s=2e-6).bandwidth_bps / 1e9     # NVLink4, GB/s
        450.0
    """

    bandwidth_bps: float
    latency_s: float
    peer_links: int = 1  # a fully connected mesh splits bandwidth_bps over one link per peer
    topology: str = "switch"  # "torus" and "ring" reach only neighbours (see the module docstring)
    dims: tuple[int, ...] = ()  # a torus's shape


def torus_spans(n: int, dims: tuple[int, ...]) -> tuple[int, ...]:
    """The extent along each torus dimension of a group of ``n`` consecutive ranks (dimensions filled
    in order; a group larger than the torus continues as one more ring).

    Example:
        >>> torus_spans(8, (4, 4)), torus_spans(16, (4, 4)), torus_spans(4096, (16, 16, 16)), torus_spans(6, ())
        ((4, 2), (4, 4), (16, 16, 16), (6,))
    """
    spans, left = [], n
    for d in dims:
        if left <= 1:
            break
        s = min(d, left)
        spans.append(s)
        left = -(-left // s)
    if left > 1:
        spans.append(left)
    return tuple(spans)


def _rings(n: int, link: LinkModel) -> tuple[int, ...] | None:
    """Ring extents a neighbour-only fabric offers a group of ``n`` ranks (None: every peer is direct)."""
    if link.topology == "torus":
        return torus_spans(n, link.dims or (n,))
    if link.topology == "ring":
        return (n,)
    return None


def collective_time_s(kind: Collective, *, n: int, nbytes: float, link: LinkModel,
                      algorithm: Algorithm = Algorithm.RING) -> float:
    """Time of one collective among ``n`` ranks of ``nbytes`` each (see the module docstring).

    Time in s for ``nbytes`` (B) per rank; 0 for one rank or an empty message. Pure; raises nothing.

    Example:
        >>> round(collective_time_s(Collective.ALL_REDUCE, n=2, nbytes=1e9, link=LinkModel(1e11, 0.0)), 6)
        0.01
        >>> switch, torus = LinkModel(1e11, 1e-6), LinkModel(1e11, 1e-6, topology="torus", dims=(4, 4))
        >>> [round(collective_time_s(Collective.ALL_REDUCE, n=16, nbytes=1.0, link=x) * 1e6) for x in (switch, torus)]
        [30, 12]
        >>> collective_time_s(Collective.ALL_REDUCE, n=8, nbytes=1e9, link=LinkModel(1e11, 0.0),
        ...                   algorithm=Algorithm.TREE)
        0.02
    """
    if n <= 1 or nbytes <= 0:
        return 0.0
    a, b = link.latency_s, link.bandwidth_bps
    # on a mesh, n ranks reach each other over n - 1 of each device's peer links (one for a
    # point-to-point transfer); a switch port gives its whole bandwidth to any peer
    b *= min(1.0, (n - 1) / link.peer_links)
    if kind == Collective.P2P:
        return a + nbytes / b
    rings = _rings(n, link)
    if rings is not None and algorithm == Algorithm.RING:
        return _on_rings(kind, n, nbytes, a, b, rings)
    if kind == Collective.ALL_TO_ALL:
        return (n - 1) * a + (n - 1) / n * nbytes / b
    if kind in (Collective.REDUCE_SCATTER, Collective.ALL_GATHER):
        return (n - 1) * (a + nbytes / (n * b))
    if algorithm == Algorithm.TREE:
        return 2 * math.ceil(math.log2(n)) * a + 2 * nbytes / b
    return 2 * (n - 1) * (a + nbytes / (n * b))


def _on_rings(kind: Collective, n: int, nbytes: float, a: float, b: float, rings: tuple[int, ...]) -> float:
    """A collective over neighbour-only rings (a torus's dimensions): see the module docstring."""
    if kind == Collective.ALL_TO_ALL:
        return sum((s - 1) * a + max(1.0, s / 4) * (s - 1) / s * nbytes / b for s in rings)
    steps = sum(s - 1 for s in rings)  # one ring per dimension, one after another
    half = steps * a + (n - 1) / n * nbytes / b
    return half if kind in (Collective.REDUCE_SCATTER, Collective.ALL_GATHER) else 2 * half


def bus_bandwidth(*, n: int, nbytes: float, time_s: float) -> float:
    """NCCL-tests bus bandwidth of an all-reduce: ``2 (n-1)/n * S / t`` (B/s).

    Raises nothing (0 for a non-positive time).

    Example:
        >>> bus_bandwidth(n=8, nbytes=1e9, time_s=0.005) / 1e9     # GB/s
        350.0
    """
    return 2 * (n - 1) / n * nbytes / time_s if time_s > 0 else 0.0
