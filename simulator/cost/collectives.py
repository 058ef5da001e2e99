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


def collective_time_s(kind: Collective, *, n: int, nbytes: float, link: LinkModel,
                      algorithm: Algorithm = Algorithm.RING) -> float:
    """Time of one collective among ``n`` ranks of ``nbytes`` each (see the module docstring).

    Time in s for ``nbytes`` (B) per rank; 0 for one rank or an empty message. Pure; raises nothing.

    Example:
        >>> round(collective_time_s(Collective.ALL_REDUCE, n=2, nbytes=1e9, link=LinkModel(1e11, 0.0)), 6)
        0.01
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
    if kind == Collective.ALL_TO_ALL:
        return (n - 1) * a + (n - 1) / n * nbytes / b
    if kind in (Collective.REDUCE_SCATTER, Collective.ALL_GATHER):
        return (n - 1) * (a + nbytes / (n * b))
    if algorithm == Algorithm.TREE:
        return 2 * math.ceil(math.log2(n)) * a + 2 * nbytes / b
    return 2 * (n - 1) * (a + nbytes / (n * b))


def bus_bandwidth(*, n: int, nbytes: float, time_s: float) -> float:
    """NCCL-tests bus bandwidth of an all-reduce: ``2 (n-1)/n * S / t`` (B/s).

    Raises nothing (0 for a non-positive time).

    Example:
        >>> bus_bandwidth(n=8, nbytes=1e9, time_s=0.005) / 1e9     # GB/s
        350.0
    """
    return 2 * (n - 1) / n * nbytes / time_s if time_s > 0 else 0.0
