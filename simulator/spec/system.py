"""Systems: many identical devices joined by an intra-node fabric and, across nodes, a network.

A system spec names its device (a catalogue name) and two fabrics. ``topology`` says how a
collective's traffic crosses the fabric (:mod:`simulator.cost.collectives` models each): ``switch``
(NVSwitch: every device has its full injection bandwidth to every other), ``ring`` and ``torus``
(neighbour links only: a ring per torus dimension, so fewer latency steps than one long ring, and a
bisection-bound all-to-all; a torus needs ``dims``, whose product is the devices per node for
``intra_node`` or the nodes for ``inter_node``), ``fat_tree`` / ``rail`` (non-blocking InfiniBand /
Ethernet, ``oversubscription`` >= 1 divides the bandwidth), ``pcie_tree`` (devices share the host
bridge: more than two split its bandwidth, ``bandwidth_gbs / (devices / 2)`` each), ``mesh`` (fully
connected: one direct link per peer, ``peer_links`` of them sharing the per-device bandwidth, as AMD's
xGMI platforms).
"""
from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .models import MAX_BANDWIDTH_GBS, MIN_FRACTION, MIN_RATE, Count, Frozen, LinkKind, Name, Price, Source, at_least

Topology = Literal["switch", "ring", "torus", "fat_tree", "rail", "pcie_tree", "mesh"]


def torus_shape(devices: int, rank: int) -> tuple[int, ...]:
    """The most nearly cubic ``rank``-dimensional torus of ``devices`` devices (largest side first):
    what a run on a smaller slice of a torus system gets when it overrides ``devices_per_node`` alone,
    as Cloud TPU slices of a pod are (v5e-64 is 8 x 8, v4-128's 64 chips 4 x 4 x 4).

    Example:
        >>> torus_shape(64, 2), torus_shape(64, 3), torus_shape(4, 2), torus_shape(12, 2), torus_shape(7, 2)
        ((8, 8), (4, 4, 4), (2, 2), (4, 3), (7, 1))
    """
    divisors = sorted({d for i in range(1, math.isqrt(devices) + 1) if devices % i == 0
                       for d in (i, devices // i)}, reverse=True)
    best: tuple[int, ...] = ()

    def search(left: int, parts: tuple[int, ...], ceiling: int) -> None:
        nonlocal best
        if len(parts) == rank - 1:
            cand = (*parts, left)
            if left <= ceiling and (not best or cand[0] / cand[-1] < best[0] / best[-1]):
                best = cand
            return
        for d in divisors:
            if d <= min(ceiling, left) and left % d == 0 and d ** (rank - len(parts)) >= left:
                search(left // d, (*parts, d), d)
    search(devices, (), devices)
    return best


# Achievable fraction of link peak for large collectives: NCCL all-reduce bus bandwidth on 8x H100
# NVLink4 reaches ~360-370 of 450 GB/s per direction (~0.8); see validation/ for the calibration rows.
DEFAULT_LINK_EFFICIENCY = 0.8


class Fabric(Frozen):
    """One level of interconnect. ``bandwidth_gbs`` is per device, per direction (injection bandwidth);
    ``efficiency`` is the achievable fraction of it for large collectives.

    ``latency_us`` per step in microseconds, ``energy_pj_per_byte`` per byte sent; ``dims`` the torus
    shape; ``peer_links``: direct links the bandwidth is split over (a mesh): a point-to-point
    transfer gets one link's share, collectives over all peers use all of them. Raises ``pydantic.ValidationError`` on bad values (see :class:`~simulator.spec.models.Frozen`).

    Example:
        >>> f = Fabric(topology="switch", link="nvlink", bandwidth_gbs=450, source="DGX H100 datasheet")
        >>> f.efficiency, f.latency_us
        (0.8, 2.0)
    """

    topology: Topology
    link: LinkKind
    bandwidth_gbs: Annotated[float, Field(gt=0, le=MAX_BANDWIDTH_GBS), at_least(MIN_RATE)]
    latency_us: Annotated[float, Field(ge=0, le=1e6)] = 2.0
    dims: tuple[Count, ...] = ()
    oversubscription: Annotated[float, Field(ge=1, le=64)] = 1.0
    efficiency: Annotated[float, Field(gt=0, le=1), at_least(MIN_FRACTION)] = DEFAULT_LINK_EFFICIENCY
    energy_pj_per_byte: Annotated[float, Field(ge=0, le=1e5)] = 10.0
    peer_links: Count = 1
    source: Source

    @model_validator(mode="after")
    def _dims_shape_a_torus(self) -> "Fabric":
        if self.dims and self.topology != "torus":
            raise ValueError(f"dims (the torus shape) only apply to topology torus, not {self.topology}")
        if self.topology == "torus" and not self.dims:
            raise ValueError("a torus needs dims, its shape (e.g. [16, 16, 16])")
        return self


class SystemSpec(Frozen):
    """A node or a cluster of nodes of one device type.

    ``max_nodes`` bounds how far the system scales out (None: any number, over ``inter_node``).
    ``node_overhead_w`` is the non-accelerator power of a node (CPUs, NICs, fans), counted in energy.

    Raises:
        pydantic.ValidationError: bad values, or ``max_nodes > 1`` without an ``inter_node`` fabric.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> s = load_hardware("h100-ib-cluster-1024")
        >>> s.device, s.devices_per_node, s.max_nodes, s.intra_node.topology, s.inter_node.topology
        ('nvidia-h100-sxm', 8, 128, 'switch', 'rail')
    """

    name: Name
    display_name: Annotated[str, Field(min_length=1, max_length=200)]
    vendor: Annotated[str, Field(min_length=1, max_length=100)]
    kind: Literal["system"]
    device: Name
    devices_per_node: Count
    max_nodes: Count | None = None
    intra_node: Fabric
    inter_node: Fabric | None = None
    node_overhead_w: Annotated[float, Field(ge=0, le=1e6)] = 0.0
    price: Price | None = None
    source: Source
    notes: Annotated[str, Field(max_length=5000)] = ""

    @model_validator(mode="after")
    def _scale_out_needs_a_network(self) -> "SystemSpec":
        if (self.max_nodes or 1) > 1 and self.inter_node is None:
            raise ValueError("max_nodes > 1 needs an inter_node fabric")
        for where, fabric, size in (("intra_node", self.intra_node, self.devices_per_node),
                                    ("inter_node", self.inter_node, self.max_nodes)):
            if fabric is not None and fabric.dims and math.prod(fabric.dims) != size:
                what = "devices_per_node" if where == "intra_node" else "max_nodes"
                raise ValueError(f"{where}.dims {list(fabric.dims)} hold {math.prod(fabric.dims)} "
                                 f"{'devices' if where == 'intra_node' else 'nodes'}, but {what} is {size}")
        return self

    def nodes_for(self, devices: int) -> int:
        """Nodes needed for ``devices`` devices (ceil).

        Example:
            >>> from simulator.spec.loader import load_hardware
            >>> load_hardware("dgx-h100").nodes_for(12)
            2
        """
        return -(-devices // self.devices_per_node)
