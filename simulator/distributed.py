"""Simulate a step on many devices: a system spec (or one device spec replicated over its own links),
a parallelism layout, micro-batches; returns a SimulationResult with per-device roles.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .cost.base import CostOptions
from .cost.dispatch import check_supported, device_numerics
from .cost.collectives import LinkModel
from .cost.peaks import matrix_flops_per_s
from .engine.cluster import Fabrics, GroupShape, run_cluster
from .errors import ScenarioError
from .gcpause import paused_gc
from .parallel import Parallelism, default_microbatches, microbatch_size, parse_parallelism
from .plan import build_plan
from .result import SimulationResult
from .scenario import Mode, Scenario
from .software import Stack, fuses_pointwise
from .spec.loader import load_hardware
from .spec.models import LinkKind, _DeviceBase
from .spec.system import DEFAULT_LINK_EFFICIENCY, Fabric, SystemSpec
from .trace import Trace
from .units import GIGA, PICO
from .workload.fusion import fuse_pointwise
from .workload.loader import Workload
from .workload.ops import OpKind

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

    ``device`` is the device spec with its what-ifs; ``target`` what :func:`simulate_cluster` takes.
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

    def run(self, wl: Workload, sc: Scenario, *, past_len: int = 0, logits: str = "all",
            kv_cache_bytes: float = 0.0, fused_attention: bool = True) -> SimulationResult:
        """One step of ``sc`` here (:func:`simulator.api.run_scenario` or :func:`simulate_cluster`)."""
        if self.target is None:
            from .api import run_scenario

            return run_scenario(wl, self.device, sc, past_len=past_len, logits=logits,
                                extra_static_bytes=kv_cache_bytes)
        return simulate_cluster(wl, self.target, sc, devices=self.devices, parallelism=self.parallelism,
                                microbatches=self.microbatches, fused_attention=fused_attention, past_len=past_len,
                                logits=logits, kv_cache_bytes=kv_cache_bytes, device_overrides=self.device_overrides)

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
    target, device_overrides = load_target(hardware, overrides)
    if not (isinstance(target, SystemSpec) or (devices or 1) > 1 or parallelism is not None):
        return Placement(device=target)
    n = devices or (target.devices_per_node * (target.max_nodes or 1) if isinstance(target, SystemSpec) else 1)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_DEVICES:
        raise ScenarioError(f"devices: must be an integer in 1..{MAX_DEVICES}, got {n!r}")
    device = load_hardware(target.device, device_overrides) if isinstance(target, SystemSpec) else target
    if parallelism is None and one_copy:
        parallelism = {"tensor": n}
    return Placement(device=device, target=target, devices=n, parallelism=parse_parallelism(parallelism, n),
                     device_overrides=device_overrides, microbatches=microbatches)


def implicit_system(hw: _DeviceBase, devices: int) -> SystemSpec:
    """One node of ``devices`` copies of ``hw`` over the device's own first declared link
    (NVLink, ICI, NeuronLink, UPI...), or its host link (a PCIe tree) if it declares none.

    A PCIe tree shares the host link: each of more than 2 devices gets ``bandwidth_gbs / (devices / 2)``.

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
    bw = link.bandwidth_gbs / (devices / 2 if topology == "pcie_tree" and devices > 2 else 1)
    fabric = Fabric(topology=topology, link=link.kind, bandwidth_gbs=bw, latency_us=link.latency_us,
                    energy_pj_per_byte=link.energy_pj_per_byte, efficiency=DEFAULT_LINK_EFFICIENCY,
                    peer_links=link.peer_links, source=link.source)
    return SystemSpec(name=f"{hw.name}-x{devices}", display_name=f"{devices} x {hw.display_name}", vendor=hw.vendor,
                      kind="system", device=hw.name, devices_per_node=devices, max_nodes=1, intra_node=fabric,
                      source=f"implicit node over {hw.name}'s {link.name} link")


def _link(f: Fabric) -> LinkModel:
    return LinkModel(bandwidth_bps=f.bandwidth_gbs * GIGA * f.efficiency / f.oversubscription,
                     latency_s=f.latency_us * 1e-6, peer_links=f.peer_links)


def fabrics_for(system: SystemSpec, p: Parallelism, devices: int) -> Fabrics:
    """Map the tensor, data and expert groups and the pipeline hops onto the system's two fabrics.

    Ranks are ordered tensor fastest, then data, then pipeline (Megatron's order). Link bandwidths
    in the result are effective B/s (declared GB/s x efficiency / oversubscription), latencies in s.

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
    dp_local = max(1, min(p.data, per_node // p.tensor)) if p.tensor < per_node else 1
    dp = GroupShape(dp_local, -(-p.data // dp_local))
    ep_local = min(p.expert, dp_local)
    ep = GroupShape(ep_local, -(-p.expert // ep_local))
    pipeline_link = "inter" if (p.tensor * p.data >= per_node and system.inter_node is not None
                                and devices > per_node) else "intra"
    inter = system.inter_node
    return Fabrics(intra=_link(system.intra_node), inter=_link(inter) if inter else None,
                   intra_energy_j_per_byte=system.intra_node.energy_pj_per_byte * PICO,
                   inter_energy_j_per_byte=(inter.energy_pj_per_byte if inter else 0.0) * PICO,
                   groups={"tp": tp, "dp": dp, "ep": ep}, pipeline_link=pipeline_link)


@paused_gc()
def simulate_cluster(wl: Workload, target: "SystemSpec | _DeviceBase", sc: Scenario, *, devices: int,
                     parallelism: Any = None, microbatches: int | None = None, symmetric: bool = True,
                     fused_attention: bool = True, past_len: int = 0, logits: str = "all",
                     kv_cache_bytes: float = 0.0, device_overrides: "dict | None" = None) -> SimulationResult:
    """One training step or inference batch on ``devices`` devices (see :func:`simulator.simulate`).

    ``sc.batch_size`` is the global batch (samples) over all data-parallel replicas; the result adds
    ``bubble_fraction``, ``communication_time_s`` (s), ``scaling_efficiency`` and ``per_device``.
    For LLM serving (inference only), ``past_len`` and ``logits`` shape a decode step as in
    :func:`simulator.api.build_graph`, and ``kv_cache_bytes`` (the whole batch's KV cache, B) is
    resident memory split over the devices: by data replica, pipeline stage and tensor rank, KV
    heads replicated when tensor parallelism exceeds them (``tp > kv_heads``). ``device_overrides``
    are what-if changes of a system spec's device (a device spec carries its own).

    Raises:
        ScenarioError: a device count outside 1..1,000,000, a bad parallelism layout or micro-batch
            count, a batch that does not split, or more devices than the system holds; a KV cache
            or past context in training.

    Example:
        >>> from simulator.scenario import make_scenario
        >>> from simulator.workload.loader import load_workload
        >>> sc = make_scenario(mode="training", batch_size=64, seq_len=512)
        >>> r = simulate_cluster(load_workload("gpt2"), load_hardware("dgx-h100"), sc, devices=8,
        ...                      parallelism="dp=4,tp=2")
        >>> r.devices, r.fits_in_memory, 0 <= r.bubble_fraction < 1
        (8, True, True)
    """
    if not isinstance(devices, int) or isinstance(devices, bool) or not 1 <= devices <= MAX_DEVICES:
        raise ScenarioError(f"devices: must be an integer in 1..{MAX_DEVICES}, got {devices!r}")
    system = target if isinstance(target, SystemSpec) else implicit_system(target, devices)
    # a device spec given directly keeps its what-if overrides; a system names its device
    hw = target if not isinstance(target, SystemSpec) else load_hardware(system.device, device_overrides)
    p = parse_parallelism(parallelism, devices)
    global_batch = sc.batch_size or wl.defaults.get("batch_size", 1)
    m = microbatches or default_microbatches(global_batch, p)
    if not isinstance(m, int) or m < 1:
        raise ScenarioError(f"microbatches: must be a positive integer, got {m!r}")
    if p.virtual_stages > 1 and m % p.pipeline:
        raise ScenarioError(f"microbatches: the interleaved pipeline needs a multiple of pipeline ({p.pipeline}) "
                            f"micro-batches per replica, got {m}")
    mb = microbatch_size(global_batch, p, m)
    if sc.mode == Mode.TRAINING and (past_len or kv_cache_bytes):
        raise ScenarioError("past_len / kv_cache_bytes: a KV cache is for inference (decode steps), not training")
    if sc.stack == Stack.EAGER:
        raise ScenarioError("stack: the eager host's per-op dispatch is modelled for one device; use default "
                            "or compiled with several devices")
    fwd = wl.build(batch_size=mb, seq_len=sc.seq_len, image_size=sc.image_size, past_len=past_len, logits=logits)
    if fuses_pointwise(sc):
        fwd = fuse_pointwise(fwd)
    options = CostOptions(fused_attention=fused_attention, power_cap_w=sc.power_cap_w)
    numerics = device_numerics(hw, sc.precision, sc.weight_precision)
    check_supported(hw, numerics)
    requested = sc.precision
    sc = sc.with_(precision=numerics.compute)  # what the device really computes and stores
    plan = build_plan(fwd, hw, sc, p, m, mb, options=options)
    if kv_cache_bytes:
        plan = _with_kv_cache(plan, fwd, p, kv_cache_bytes)
    fab = fabrics_for(system, p, devices)
    training = sc.mode == Mode.TRAINING
    ct = run_cluster(plan, fab, device_name=hw.name, training=training, symmetric=symmetric)
    result = _result(wl, hw, system, sc, p, plan, ct, fwd, global_batch, devices, options)
    if requested != sc.precision:
        result.summary["precision"] = requested.value
        result.extra["effective_precision"] = sc.precision.value
    return result


def _with_kv_cache(plan, fwd, p: Parallelism, kv_cache_bytes: float):
    """``plan`` with each device's share of the KV cache added to its resident memory."""
    attn = [fwd.op(n) for n in fwd.order if fwd.op(n).kind == OpKind.ATTENTION]
    kv_heads = dict(attn[0].attrs).get("kv_heads", dict(attn[0].attrs).get("heads", 1)) if attn else p.tensor
    per_device = kv_cache_bytes * kv_share(p, kv_heads)
    stages = tuple(replace(st, static_bytes={**st.static_bytes, "kv_cache": per_device}) for st in plan.stages)
    return replace(plan, stages=stages)


def _ideal_step_s(wl: Workload, hw: _DeviceBase, sc: Scenario, fwd, global_batch: int, devices: int,
                  options: CostOptions) -> float:
    """Perfect scaling: one device's time per sample (no communication) x global batch / devices."""
    one = build_plan(fwd, hw, sc, Parallelism(), 1, fwd.meta["batch_size"], options=options)
    st = one.stages[0]
    per_mb = sum(s.duration_s for s in st.forward + st.backward if s.collective is None)
    opt = sum(s.duration_s for s in st.optimizer if s.collective is None)
    return (per_mb * global_batch / fwd.meta["batch_size"] + opt) / devices


def _rank_static_bytes(plan, p: Parallelism, rank: int) -> dict[str, float]:
    """Resident bytes by category of pipeline rank ``rank``: its model chunks' together."""
    out: dict[str, float] = {}
    for x in range(rank, p.chunks, p.pipeline):
        for k, v in plan.stages[x].static_bytes.items():
            out[k] = out.get(k, 0.0) + v
    return out


def _result(wl, hw, system, sc, p, plan, ct, fwd, global_batch, devices, options) -> SimulationResult:
    step = ct.end_s
    per_role = []
    energy = 0.0
    bubble = 0.0
    exposed_comm = 0.0
    busy_total = 0.0
    fits = True
    worst = None
    copies = devices // p.pipeline if len(ct.stats) == p.pipeline else 1
    for st in ct.stats:
        ledger = st.ledger
        static = _rank_static_bytes(plan, p, st.stage)
        cap = hw.main_memory.capacity_bytes
        role_fits = ledger.peak <= cap
        fits = fits and role_fits
        if worst is None or ledger.peak > worst[0]:
            worst = (ledger.peak, st, static)
        link_energy = sum(e.energy_j for e in ct.events if e.device == st.name and e.track != "compute")
        dev_energy = hw.power.idle_w * step + st.energy_dynamic_j + link_energy
        energy += dev_energy * copies
        bubble += (st.wait_s + (step - st.end_s)) / step if step > 0 else 0.0
        exposed_comm = max(exposed_comm, st.comm_blocking_s)
        busy_total += st.busy_s * copies
        per_role.append({"role": f"stage {st.stage}" if copies > 1 else st.name, "device": st.name,
                         "count": copies, "peak_memory_bytes": ledger.peak, "peak_memory_time_s": ledger.peak_time_s,
                         "fits_in_memory": role_fits, "busy_s": st.busy_s, "idle_s": max(0.0, step - st.busy_s),
                         "communication_s": st.link_busy_s, "exposed_communication_s": st.comm_blocking_s,
                         "memory_breakdown": {**static, "activations": ledger.peak - sum(static.values())}})
    nodes = system.nodes_for(devices)
    energy += system.node_overhead_w * nodes * step
    bubble /= max(1, len(ct.stats))
    total_flops = sum(e.flops for e in ct.events if e.track == "compute") * copies
    peak_rate = matrix_flops_per_s(hw, sc.precision) * devices
    ideal = _ideal_step_s(wl, hw, sc, fwd, global_batch, devices, options) if step > 0 else 0.0
    cap = hw.main_memory.capacity_bytes
    peak, st_w, static_w = worst
    shares = _shares(ct, step)
    bottleneck = max(shares, key=lambda k: (shares[k], k)) if step > 0 else "overhead"
    breakdown = {**static_w, "activations": max(0.0, peak - sum(static_w.values()))}
    if not fits:
        bottleneck = "memory_capacity"
    seq = fwd.meta.get("seq_len") if wl.uses_seq_len else None
    summary = {
        "workload": wl.name, "hardware": system.name, "kind": hw.kind, "mode": sc.mode.value,
        "precision": sc.precision.value, "batch_size": global_batch, "seq_len": seq,
        "image_size": fwd.meta.get("image_size") if wl.uses_image_size else None,
        "step_time_s": step, "throughput_samples_per_s": global_batch / step if step > 0 else 0.0,
        "tokens_per_s": global_batch * seq / step if seq and step > 0 else None,
        "peak_memory_bytes": peak, "memory_capacity_bytes": cap, "fits_in_memory": fits,
        "memory_shortfall_bytes": max(0.0, peak - cap), "memory_dominant": max(breakdown, key=lambda k: (breakdown[k], k)),
        "energy_j": energy, "average_power_w": energy / step if step > 0 else 0.0,
        "tdp_w": hw.power.tdp_w * devices + system.node_overhead_w * nodes,
        "throttled_fraction": _throttled_fraction(ct, step), "bottleneck": bottleneck, "total_flops": total_flops,
        "utilization": total_flops / (step * peak_rate) if step > 0 else 0.0,
        "parameters": fwd.parameters, "op_count": len(fwd), "devices": devices,
    }
    extra = {"bubble_fraction": bubble, "communication_time_s": exposed_comm,
             "scaling_efficiency": min(1.0, ideal / step) if step > 0 else 0.0,
             "parallelism": {"data": p.data, "tensor": p.tensor, "pipeline": p.pipeline, "expert": p.expert,
                             "zero_stage": p.zero_stage, "schedule": p.schedule,
                             "sequence_parallel": p.sequence_parallel, "tp_overlap": p.tp_overlap,
                             "virtual_stages": p.virtual_stages},
             "microbatches": plan.microbatches, "microbatch_size": plan.microbatch_size, "nodes": nodes,
             "per_device": per_role, "oom_at_s": st_w.ledger.peak_time_s if not fits else None}
    trace = Trace(events=ct.events, memory=ct.memory, end_s=step, peak_bytes=peak)
    return SimulationResult(summary=summary, memory_breakdown=breakdown, bottleneck_shares=shares, trace=trace,
                            extra=extra)


def _throttled_fraction(ct, step: float) -> float:
    """Share of the step the most throttled device spent stretched by its power cap."""
    if step <= 0:
        return 0.0
    per_device: dict[str, float] = {}
    for e in ct.events:
        per_device[e.device] = per_device.get(e.device, 0.0) + e.throttled_s
    return min(1.0, max(per_device.values(), default=0.0) / step)


def _shares(ct, step: float) -> dict[str, float]:
    totals = {"compute": 0.0, "memory_bandwidth": 0.0, "overhead": 0.0, "interconnect": 0.0, "host": 0.0}
    for st in ct.stats:
        totals["interconnect"] += st.comm_blocking_s
    for e in ct.events:
        if e.track == "compute" and e.bound in totals:
            totals[e.bound] += e.duration_s
    total = sum(totals.values()) or 1.0
    return {k: v / total for k, v in totals.items()}


def collective_benchmark(hardware: "str | SystemSpec | _DeviceBase", *, collective: str = "all_reduce",
                         nbytes: float, devices: int | None = None) -> dict[str, float]:
    """Play one collective among ``devices`` data-parallel ranks in the engine, like nccl-tests.

    Returns ``time_s``, ``algbw_gbs`` (S / t) and ``busbw_gbs`` (nccl-tests' bus bandwidth: all-reduce
    x 2(n-1)/n, all-gather / reduce-scatter x (n-1)/n, p2p x 1), in decimal GB/s.

    Raises:
        ScenarioError: unknown collective, non-positive size or device count.

    Example:
        >>> r = collective_benchmark("dgx-h100", nbytes=2**30)
        >>> 300 < r["busbw_gbs"] < 450
        True
    """
    from .cost.collectives import Collective
    from .engine.cluster import run_cluster
    from .plan import ClusterPlan, Segment, StagePlan

    try:
        kind = Collective(collective)
    except ValueError:
        raise ScenarioError(f"collective: unknown {collective!r}; choose one of "
                            f"{', '.join(c.value for c in Collective)}") from None
    if not nbytes > 0 or nbytes > 1e15:
        raise ScenarioError(f"nbytes: must be in (0, 1e15], got {nbytes!r}")
    target = load_hardware(hardware)
    n = devices or (target.devices_per_node * (target.max_nodes or 1) if isinstance(target, SystemSpec) else 2)
    if not isinstance(n, int) or n < 2 or n > MAX_DEVICES:
        raise ScenarioError(f"devices: a collective needs 2..{MAX_DEVICES} devices, got {n!r}")
    system = target if isinstance(target, SystemSpec) else implicit_system(target, n)
    p = Parallelism(data=n)
    fab = fabrics_for(system, p, n)
    if kind == Collective.P2P:
        # sendrecv: every rank sends to its neighbour at once; each uses its own link once
        from .cost.collectives import collective_time_s
        link = fab.intra if fab.groups["dp"].nodes == 1 or fab.inter is None else fab.inter
        t = collective_time_s(kind, n=2, nbytes=nbytes, link=link)
        return {"time_s": t, "algbw_gbs": nbytes / t / GIGA, "busbw_gbs": nbytes / t / GIGA, "devices": n}
    stage = StagePlan(stage=0, forward=(Segment(collective=kind, group="dp", nbytes=nbytes, label=kind.value),),
                      backward=(), optimizer=(), static_bytes={}, activation_bytes_per_microbatch=0.0,
                      boundary_bytes=0.0, params=0.0)
    ct = run_cluster(ClusterPlan(stages=(stage,), parallelism=p, microbatches=1, microbatch_size=1), fab,
                     device_name=system.device, training=False)
    t = ct.end_s
    factor = {Collective.ALL_REDUCE: 2 * (n - 1) / n, Collective.ALL_GATHER: (n - 1) / n,
              Collective.REDUCE_SCATTER: (n - 1) / n, Collective.ALL_TO_ALL: (n - 1) / n}[kind]
    return {"time_s": t, "algbw_gbs": nbytes / t / GIGA, "busbw_gbs": nbytes / t / GIGA * factor, "devices": n}
