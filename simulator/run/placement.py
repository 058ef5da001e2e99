"""Where a model copy runs: one device, or several devices of a system spec (or of one device spec
over its own links) with a parallel layout; and how a layout's groups map onto the system's fabrics.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..cost.collectives import LinkModel
from ..engine.cluster import Fabrics, GroupShape
from ..errors import ScenarioError, SpecError
from ..parallel.layout import MAX_MICROBATCHES, Parallelism, parse_parallelism
from ..spec.loader import load_hardware
from ..spec.models import LinkKind, _DeviceBase
from ..spec.system import DEFAULT_LINK_EFFICIENCY, Fabric, SystemSpec
from ..units import PICO, GIGA
from ..workload.workload import Workload

__all__ = ["MAX_DEVICES", "Placement", "placement", "load_target", "kv_share", "implicit_system", "fabrics_for",
           "check_microbatches", "device_of"]

MAX_DEVICES = 1_000_000


def load_target(hardware: Any, overrides: "dict | None") -> tuple[Any, dict | None]:
    """(device or system spec, overrides of a system's device): ``device.``-prefixed keys of
    ``overrides`` change the device a system is built of (``{"device.memory.hbm.bandwidth_gbs":
    4000}`` on ``dgx-h100``); the other keys change the spec itself.

    Raises:
        SpecError: a bad file, name or override; ScenarioError: ``device.`` keys on a device spec.

    Example:
        >>> sys_, dev = load_target("dgx-h100", {"device.memory.hbm.bandwidth_gbs": 4000})
        >>> sys_.name, dev
        ('dgx-h100', {'memory.hbm.bandwidth_gbs': 4000})
    """
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ScenarioError(f"overrides: expected a mapping of dotted spec paths to values, got {overrides!r}")
    own = {k: v for k, v in (overrides or {}).items() if not str(k).startswith("device.")}
    dev = {str(k)[len("device."):]: v for k, v in (overrides or {}).items() if str(k).startswith("device.")}
    target = load_hardware(hardware, own or None)
    if dev and not isinstance(target, SystemSpec):
        raise ScenarioError(f"overrides: 'device.' keys change a system's device; {target.name} is a device spec, "
                            "so give its fields directly (e.g. memory.hbm.bandwidth_gbs)")
    return target, dev or None


@dataclass(frozen=True)
class Placement:
    """Where one copy of a model runs: one device, or ``devices`` devices of a system (or of one
    device spec over its own links) with a parallel layout. Built by :func:`placement`.

    ``device`` is the device spec with its what-ifs; ``target`` what
    :func:`simulator.run.cluster.simulate_cluster` takes; :func:`simulator.run.step.run_placed` runs a step here.
    """

    device: _DeviceBase
    target: Any = None
    devices: int = 1
    parallelism: Parallelism | None = None
    device_overrides: dict | None = None
    microbatches: int | None = None

    @property
    def name(self) -> str:
        """The device's name, or the system's (``nvidia-h100-sxm-x2`` for two H100 over NVLink)."""
        if self.target is None:
            return self.device.name
        return self.target.name if isinstance(self.target, SystemSpec) else f"{self.device.name}-x{self.devices}"

    def kv_share(self, wl: Workload) -> float:
        """Share of a model copy's KV cache one device holds (see :func:`kv_share`)."""
        if self.parallelism is None:
            return 1.0
        params = wl.params
        kv_heads = (getattr(params, "kv_heads", None) or getattr(params, "heads", None)) if params else None
        return kv_share(self.parallelism, kv_heads or self.parallelism.tensor)


def kv_share(p: Parallelism, kv_heads: int) -> float:
    """Share of the whole KV cache one device holds: split over data replicas, pipeline stages and
    tensor ranks, each KV head replicated on ``tensor / kv_heads`` ranks when they outnumber the heads.

    Example:
        >>> kv_share(Parallelism(tensor=2), 8), kv_share(Parallelism(tensor=16), 8)   # Llama 3 8B: 8 KV heads
        (0.5, 0.125)
    """
    return max(1.0, p.tensor / kv_heads) / p.devices


def placement(hardware: Any, overrides: "dict | None" = None, *, devices: int | None = None, parallelism: Any = None,
              microbatches: int | None = None, one_copy: bool = False) -> Placement:
    """Resolve ``hardware`` (+ what-ifs) and a device count / layout into a :class:`Placement`.

    One device unless ``hardware`` is a system spec (default: all its devices), ``devices > 1`` or a
    ``parallelism`` is given. With no layout the devices run data parallel, or, for ``one_copy``
    (one served model copy: generation and serving replicas), tensor parallel over all of them.

    Raises:
        SpecError, ScenarioError: a bad name, override or layout.

    Example:
        >>> pl = placement("nvidia-h100-sxm", devices=2, parallelism="tp=2")
        >>> pl.name, pl.parallelism.tensor
        ('nvidia-h100-sxm-x2', 2)
    """
    if devices is not None and (not isinstance(devices, int) or isinstance(devices, bool)
                                or not 1 <= devices <= MAX_DEVICES):
        raise ScenarioError(f"devices: must be an integer in 1..{MAX_DEVICES:,}, got {devices!r}")
    check_microbatches(microbatches)
    target, device_overrides = load_target(hardware, overrides)
    if not (isinstance(target, SystemSpec) or (devices or 1) > 1 or parallelism is not None):
        return Placement(device=target)
    n = devices or (target.devices_per_node * (target.max_nodes or 1) if isinstance(target, SystemSpec) else 1)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_DEVICES:
        raise ScenarioError(f"devices: must be an integer in 1..{MAX_DEVICES}, got {n!r}")
    device = device_of(target, device_overrides) if isinstance(target, SystemSpec) else target
    if parallelism is None and one_copy:
        parallelism = {"tensor": n}
    return Placement(device=device, target=target, devices=n, parallelism=parse_parallelism(parallelism, n),
                     device_overrides=device_overrides, microbatches=microbatches)


def device_of(system: SystemSpec, overrides: "dict | None" = None) -> _DeviceBase:
    """The device spec a system is built of (with what-if ``overrides``).

    Raises:
        SpecError: the system's ``device`` names another system, or no device.

    Example:
        >>> device_of(load_hardware("dgx-h100")).name
        'nvidia-h100-sxm'
    """
    device = load_hardware(system.device, overrides)
    if isinstance(device, SystemSpec):
        raise SpecError(system.name, "device", f"{system.device!r} is a system, not a device; a system is built "
                                               "of one device spec (e.g. nvidia-h100-sxm)")
    return device


def check_microbatches(microbatches: Any) -> None:
    """Refuse a micro-batch count outside 1..:data:`~simulator.parallel.layout.MAX_MICROBATCHES` (None: the default).

    Raises:
        ScenarioError: naming ``microbatches`` and the bound.

    Example:
        >>> check_microbatches(0)
        Traceback (most recent call last):
        ...
        simulator.errors.ScenarioError: microbatches: must be an integer in 1..10,000, got 0
    """
    if microbatches is not None and (not isinstance(microbatches, int) or isinstance(microbatches, bool)
                                     or not 1 <= microbatches <= MAX_MICROBATCHES):
        raise ScenarioError(f"microbatches: must be an integer in 1..{MAX_MICROBATCHES:,}, got {microbatches!r}")


def slice_shape(devices: int, dims: int) -> tuple[int, ...]:
    """The torus shape of a slice of ``devices`` chips on a ``dims``-dimensional ICI torus: each prime
    factor, largest first, multiplies the shortest side, so the sides stay as equal as the size allows
    (Google's slice shapes: v5p 4x4x4 = 64, 8x8x8 = 512, 8x8x16 = 1024, 16x16x24 = 6144 chips; v5e/v6e
    16x16 = 256, 2x4 = 8; docs.cloud.google.com/tpu/docs/v5p and v6e, topology tables). Sides sorted.

    Example:
        >>> slice_shape(512, 3), slice_shape(1024, 3), slice_shape(6144, 3), slice_shape(256, 2), slice_shape(8, 2)
        ((8, 8, 8), (8, 8, 16), (16, 16, 24), (16, 16), (2, 4))
        >>> slice_shape(12, 1), slice_shape(1, 3)
        ((12,), (1, 1, 1))
    """
    primes, n, f = [], devices, 2
    while n > 1 and f * f <= n:
        while n % f == 0:
            primes.append(f)
            n //= f
        f += 1
    if n > 1:
        primes.append(n)
    sides = [1] * dims
    for q in sorted(primes, reverse=True):
        sides[sides.index(min(sides))] *= q
    return tuple(sorted(sides))


def implicit_system(hw: _DeviceBase, devices: int) -> SystemSpec:
    """One node of ``devices`` copies of ``hw`` over the device's own first declared link
    (NVLink, ICI, NeuronLink, UPI...), or its host link (a PCIe tree) if it declares none.

    ICI links form a torus of the device's ``torus_dims`` dimensions (:func:`slice_shape`: a v5p slice
    of 512 chips is 8 x 8 x 8); a PCIe tree shares the host link (:func:`fabrics_for` splits it).

    Raises:
        ScenarioError: the device declares no link at all.

    Example:
        >>> s = implicit_system(load_hardware("nvidia-h100-sxm"), 8)
        >>> s.name, s.intra_node.topology, s.intra_node.bandwidth_gbs
        ('nvidia-h100-sxm-x8', 'switch', 450.0)
        >>> implicit_system(load_hardware("nvidia-l4"), 4).intra_node.topology     # no NVLink: PCIe
        'pcie_tree'
    """
    link = hw.links[0] if hw.links else hw.host_link
    if link is None:
        raise ScenarioError(f"devices: {hw.name} declares no links to connect {devices} devices")
    topology = {LinkKind.ICI: "torus", LinkKind.PCIE: "pcie_tree", LinkKind.USB: "pcie_tree"}.get(link.kind, "switch")
    if link.peer_links > 1:
        topology = "mesh"
    fabric = Fabric(topology=topology, link=link.kind, bandwidth_gbs=link.bandwidth_gbs, latency_us=link.latency_us,
                    energy_pj_per_byte=link.energy_pj_per_byte, efficiency=DEFAULT_LINK_EFFICIENCY,
                    peer_links=link.peer_links, dims=slice_shape(devices, link.torus_dims) if topology == "torus" else (),
                    source=link.source)
    return SystemSpec(name=f"{hw.name}-x{devices}", display_name=f"{devices} x {hw.display_name}", vendor=hw.vendor,
                      kind="system", device=hw.name, devices_per_node=devices, max_nodes=1, intra_node=fabric,
                      source=f"implicit node over {hw.name}'s {link.name} link")


def _link(f: Fabric, sharing: int = 1) -> LinkModel:
    """The collective model's view of fabric ``f``; a PCIe tree's bridge is shared by ``sharing`` devices."""
    share = sharing / 2 if f.topology == "pcie_tree" and sharing > 2 else 1  # two devices use it both ways
    return LinkModel(bandwidth_bps=f.bandwidth_gbs * GIGA * f.efficiency / f.oversubscription / share,
                     latency_s=f.latency_us * 1e-6, peer_links=f.peer_links, topology=f.topology, dims=f.dims)


def fabrics_for(system: SystemSpec, p: Parallelism, devices: int) -> Fabrics:
    """Map the tensor, data and expert groups, the ZeRO shard groups and their replica groups
    (hybrid sharding, :class:`~simulator.parallel.layout.Parallelism`) and the pipeline hops onto
    the system's two fabrics.

    Ranks are ordered tensor fastest, then data, then pipeline (Megatron's order). Link bandwidths
    in the result are effective B/s (declared GB/s x efficiency / oversubscription, a PCIe tree's split
    over the node's devices), latencies in s; each link keeps its topology and torus dims for the
    collective model.

    Raises:
        ScenarioError: more devices than the system holds (nodes x devices per node), or more than
            one node's worth on a system without an inter-node network.

    Example:
        >>> f = fabrics_for(load_hardware("h100-ib-cluster-1024"), Parallelism(data=16, tensor=8, pipeline=8), 1024)
        >>> f.groups["tp"], f.groups["dp"], f.pipeline_link     # TP inside a node, DP across nodes
        (GroupShape(intra=8, nodes=1), GroupShape(intra=1, nodes=16), 'inter')
    """
    per_node = min(system.devices_per_node, devices)
    if system.inter_node is None and devices > system.devices_per_node:
        raise ScenarioError(f"devices: {system.name} has {system.devices_per_node} devices per node and no "
                            f"inter-node network; asked for {devices}")
    if system.max_nodes and system.nodes_for(devices) > system.max_nodes and system.max_nodes > 1:
        raise ScenarioError(f"devices: {system.name} has at most {system.max_nodes} nodes "
                            f"({system.max_nodes * system.devices_per_node} devices); asked for {devices}")
    tp = GroupShape(p.tensor, 1) if p.tensor <= per_node else GroupShape(per_node, -(-p.tensor // per_node))
    ranks = p.data * p.context  # the data axis holds data x context ranks, context fastest
    dp_local = max(1, min(ranks, per_node // p.tensor)) if p.tensor < per_node else 1
    dp = GroupShape(dp_local, -(-ranks // dp_local))
    cp = GroupShape(min(p.context, dp_local), -(-p.context // dp_local))
    ep_local = min(p.expert, dp_local)
    ep = GroupShape(ep_local, -(-p.expert // ep_local))
    # hybrid sharding: a ZeRO group is shard_group consecutive data ranks, its replicas lie shard_group apart
    sg = p.shard_group
    zero = GroupShape(min(sg, dp_local), -(-sg // dp_local))
    rep_local = max(1, min(p.replicas, dp_local // sg)) if sg < dp_local else 1
    replica = GroupShape(rep_local, -(-p.replicas // rep_local))
    pipeline_link = "inter" if (p.tensor * ranks >= per_node and system.inter_node is not None
                                and devices > per_node) else "intra"
    inter = system.inter_node
    return Fabrics(intra=_link(system.intra_node, per_node), inter=_link(inter) if inter else None,
                   intra_energy_j_per_byte=system.intra_node.energy_pj_per_byte * PICO,
                   inter_energy_j_per_byte=(inter.energy_pj_per_byte if inter else 0.0) * PICO,
                   groups={"tp": tp, "dp": dp, "cp": cp, "ep": ep, "zero": zero, "replica": replica},
                   pipeline_link=pipeline_link)
