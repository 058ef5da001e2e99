"""One step on many devices: the parallel plan (:mod:`simulator.parallel.plan`) played in the cluster
engine (:mod:`simulator.engine.cluster`), reduced to a :class:`~simulator.result.SimulationResult`
with per-device roles; and nccl-tests-style collective benchmarks on the same engine.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..cost.base import CostOptions
from ..cost.collectives import Collective, collective_time_s
from ..cost.dispatch import check_supported, device_numerics
from ..cost.peaks import matrix_flops_per_s
from ..deadline import Deadline, check, make_deadline
from ..engine.bubble import schedule_idle_s
from ..engine.cluster import ClusterTrace, run_cluster
from ..errors import ScenarioError
from ..progress import report
from ..parallel.layout import Parallelism, default_microbatches, microbatch_size, parse_parallelism
from ..parallel.plan import ClusterPlan, Segment, StagePlan, build_plan
from ..result import SimulationResult, busy_shares, step_summary
from ..scenario import Mode, Scenario, check_stack_runs_on
from ..spec.loader import load_hardware
from ..spec.models import _DeviceBase
from ..spec.system import SystemSpec
from ..trace import Trace, fields_of
from ..units import GIGA
from ..workload.graph import ComputeGraph
from ..workload.ops import OpKind
from ..workload.workload import Workload
from .device import check_power_cap, stack_options
from .gcpause import paused_gc
from .graphs import forward_graph
from .stackhw import stack_device
from .placement import MAX_DEVICES, check_microbatches, device_of, fabrics_for, implicit_system, kv_share

__all__ = ["simulate_cluster", "collective_benchmark"]


@paused_gc()
def simulate_cluster(wl: Workload, target: "SystemSpec | _DeviceBase", sc: Scenario, *, devices: int,
                     parallelism: Any = None, microbatches: int | None = None, symmetric: bool = True,
                     fused_attention: bool = True, past_len: int = 0, logits: str = "all",
                     kv_cache_bytes: float = 0.0, device_overrides: "dict | None" = None,
                     deadline: Deadline | None = None) -> SimulationResult:
    """One training step or inference batch on ``devices`` devices (see :func:`simulator.simulate`).

    ``sc.batch_size`` is the global batch (samples) over all data-parallel replicas; the result adds
    ``bubble_fraction``, ``communication_time_s`` (s), ``scaling_efficiency`` and ``per_device``.
    For LLM serving (inference only), ``past_len`` and ``logits`` shape a decode step as in
    :func:`simulator.run.graphs.build_graph`, and ``kv_cache_bytes`` (the whole batch's KV cache, B) is
    resident memory split over the devices: by data replica, pipeline stage and tensor rank, KV
    heads replicated when tensor parallelism exceeds them (``tp > kv_heads``). ``device_overrides``
    are what-if changes of a system spec's device (a device spec carries its own).

    Raises:
        ScenarioError: a device count outside 1..1,000,000, a bad parallelism layout or micro-batch
            count, a batch that does not split, or more devices than the system holds; a KV cache
            or past context in training; a step above the engine's event limit.
        SimulationTimeout: ``deadline`` passed (checked between phases and in the event loop).

    Example:
        >>> from simulator.scenario import make_scenario
        >>> from simulator.spec.loader import load_hardware
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
    hw = target if not isinstance(target, SystemSpec) else device_of(system, device_overrides)
    hw = stack_device(hw, sc.stack)
    p = parse_parallelism(parallelism, devices)
    global_batch = sc.batch_size or wl.defaults.get("batch_size", 1)
    check_microbatches(microbatches)
    m = default_microbatches(global_batch, p) if microbatches is None else microbatches
    if p.virtual_stages > 1 and m % p.pipeline:
        raise ScenarioError(f"microbatches: the interleaved pipeline needs a multiple of pipeline ({p.pipeline}) "
                            f"micro-batches per replica, got {m}")
    mb = microbatch_size(global_batch, p, m)
    if sc.mode == Mode.TRAINING and (past_len or kv_cache_bytes):
        raise ScenarioError("past_len / kv_cache_bytes: a KV cache is for inference (decode steps), not training")
    if sc.stack.host_dispatch_us > 0 or sc.dispatch_us:
        raise ScenarioError(f"stack: {sc.stack.name}'s per-op host dispatch is modelled for one device; use a "
                            "stack without it (default, compiled, xla, tensorrt...) with several devices")
    fwd = forward_graph(wl, sc, mb, past_len=past_len, logits=logits)
    check_stack_runs_on(sc, hw.kind)
    numerics = device_numerics(hw, sc.precision, sc.weight_precision)
    options = stack_options(sc, hw, numerics, fused_attention=fused_attention)
    check_supported(hw, numerics, training=sc.mode == Mode.TRAINING)
    check_power_cap(hw, sc.power_cap_w)
    requested = sc.precision
    sc = sc.with_(precision=numerics.compute)  # what the device really computes and stores
    check(deadline, "building the graph")
    plan = build_plan(fwd, hw, sc, p, m, mb, options=options)
    if kv_cache_bytes:
        plan = _with_kv_cache(plan, fwd, p, kv_cache_bytes)
    fab = fabrics_for(system, p, devices)
    if hw.efficiency.collective_compute_share:
        fab = replace(fab, compute_share=hw.efficiency.collective_compute_share)
    training = sc.mode == Mode.TRAINING
    check(deadline, "planning the parallel step")
    report(f"{devices} devices" + ("" if symmetric else ", every one simulated"))
    ct = run_cluster(plan, fab, device_name=hw.name, training=training, symmetric=symmetric, deadline=deadline)
    check(deadline, "running the event simulation")
    result = _cluster_result(wl, hw, system, sc, p, plan, ct, fwd, global_batch, devices, options)
    result.summary["precision"] = requested.value
    result.extra["effective_precision"] = sc.precision.value
    return result


def _with_kv_cache(plan: ClusterPlan, fwd: ComputeGraph, p: Parallelism, kv_cache_bytes: float) -> ClusterPlan:
    """``plan`` with each device's share of the KV cache added to its resident memory."""
    attn = [fwd.op(n) for n in fwd.order if fwd.op(n).kind == OpKind.ATTENTION]
    kv_heads = dict(attn[0].attrs).get("kv_heads", dict(attn[0].attrs).get("heads", 1)) if attn else p.tensor
    per_device = kv_cache_bytes * kv_share(p, kv_heads)
    stages = tuple(replace(st, static_bytes={**st.static_bytes, "kv_cache": per_device}) for st in plan.stages)
    return replace(plan, stages=stages)


def _ideal_step_s(hw: _DeviceBase, sc: Scenario, fwd: ComputeGraph, global_batch: int, devices: int,
                  options: CostOptions) -> float:
    """Perfect scaling: one device's time per sample (no communication) x global batch / devices."""
    one = build_plan(fwd, hw, sc, Parallelism(), 1, fwd.meta["batch_size"], options=options)
    st = one.stages[0]
    per_mb = sum(s.duration_s for s in st.forward + st.backward if s.collective is None)
    opt = sum(s.duration_s for s in st.optimizer if s.collective is None)
    return (per_mb * global_batch / fwd.meta["batch_size"] + opt) / devices


def _rank_static_bytes(plan: ClusterPlan, p: Parallelism, rank: int) -> dict[str, float]:
    """Resident bytes by category of pipeline rank ``rank``: its model chunks' together."""
    out: dict[str, float] = {}
    for x in range(rank, p.chunks, p.pipeline):
        for k, v in plan.stages[x].static_bytes.items():
            out[k] = out.get(k, 0.0) + v
    return out


def _roles(hw: _DeviceBase, p: Parallelism, plan: ClusterPlan, ct: ClusterTrace, copies: int) -> list[dict[str, Any]]:
    """One row per simulated device (or pipeline stage standing for ``copies`` devices)."""
    step = ct.end_s
    rows = []
    for st in ct.stats:
        static = _rank_static_bytes(plan, p, st.stage)
        rows.append({"role": f"stage {st.stage}" if copies > 1 else st.name, "device": st.name,
                     "count": copies, "peak_memory_bytes": st.ledger.peak, "peak_memory_time_s": st.ledger.peak_time_s,
                     "fits_in_memory": st.ledger.peak <= hw.main_memory.capacity_bytes, "busy_s": st.busy_s,
                     "idle_s": max(0.0, step - st.busy_s), "communication_s": st.link_busy_s,
                     "exposed_communication_s": st.comm_blocking_s,
                     "memory_breakdown": {**static, "activations": st.ledger.peak - sum(static.values())}})
    return rows


def _energy_j(hw: _DeviceBase, system: SystemSpec, ct: ClusterTrace, copies: int, nodes: int) -> float:
    """Energy of the step (J): every device's idle and dynamic energy, links, and the nodes' overhead."""
    step = ct.end_s
    energy = 0.0
    links: dict[str, float] = {}  # each device's link energy, summed in event order (one pass)
    for e, device, track in fields_of(ct.events, "energy_j", "device", "track"):
        if track != "compute":
            links[device] = links.get(device, 0) + e
    for st in ct.stats:
        energy += (hw.power.idle_w * step + st.energy_dynamic_j + links.get(st.name, 0.0)) * copies
    return energy + system.node_overhead_w * nodes * step


def _cluster_result(wl: Workload, hw: _DeviceBase, system: SystemSpec, sc: Scenario, p: Parallelism,
                    plan: ClusterPlan, ct: ClusterTrace, fwd: ComputeGraph, global_batch: int, devices: int,
                    options: CostOptions) -> SimulationResult:
    step = ct.end_s
    copies = devices // p.pipeline if len(ct.stats) == p.pipeline else 1
    roles = _roles(hw, p, plan, ct, copies)
    fits = all(r["fits_in_memory"] for r in roles)
    worst = max(ct.stats, key=lambda st: st.ledger.peak)  # the first of equal peaks
    static_w = _rank_static_bytes(plan, p, worst.stage)
    peak = worst.ledger.peak
    idle = _idle_fractions(plan, ct, sc.mode == Mode.TRAINING)
    nodes = system.nodes_for(devices)
    ideal = _ideal_step_s(hw, sc, fwd, global_batch, devices, options) if step > 0 else 0.0
    shares = busy_shares(ct.events, interconnect_s=sum(st.comm_blocking_s for st in ct.stats))
    breakdown = {**static_w, "activations": max(0.0, peak - sum(static_w.values()))}
    summary = step_summary(
        wl, sc, fwd, hardware=system.name, kind=hw.kind, batch_size=global_batch, step_s=step, peak_bytes=peak,
        capacity_bytes=hw.main_memory.capacity_bytes, breakdown=breakdown,
        energy_j=_energy_j(hw, system, ct, copies, nodes), idle_w=0.0,
        tdp_w=hw.power.tdp_w * devices + system.node_overhead_w * nodes,
        throttled_fraction=_throttled_fraction(ct, step), shares=shares,
        total_flops=sum(f for f, track in fields_of(ct.events, "flops", "track") if track == "compute") * copies,
        peak_flops_per_s=matrix_flops_per_s(hw, sc.precision) * devices, op_count=len(fwd), devices=devices)
    extra = {**idle, "bubble_fraction": idle["pipeline_bubble_fraction"], "communication_time_s": max((st.comm_blocking_s for st in ct.stats), default=0.0),
             "scaling_efficiency": min(1.0, ideal / step) if step > 0 else 0.0,
             "parallelism": {"data": p.data, "tensor": p.tensor, "pipeline": p.pipeline, "expert": p.expert,
                             "zero_stage": p.zero_stage, "schedule": p.schedule,
                             "sequence_parallel": p.sequence_parallel, "tp_overlap": p.tp_overlap,
                             "virtual_stages": p.virtual_stages},
             "microbatches": plan.microbatches, "microbatch_size": plan.microbatch_size, "nodes": nodes,
             "per_device": roles, "oom_at_s": worst.ledger.peak_time_s if not fits else None}
    trace = Trace(events=ct.events, memory=ct.memory, end_s=step, peak_bytes=peak)
    return SimulationResult(summary=summary, memory_breakdown=breakdown, bottleneck_shares=shares, trace=trace,
                            extra=extra)


def _idle_fractions(plan: ClusterPlan, ct: ClusterTrace, training: bool) -> dict[str, float]:
    """Where the simulated devices' idle time went, as fractions of the step averaged over them.

    ``pipeline_bubble_fraction``: the schedule's own idle time, with free communication
    (:func:`~simulator.engine.bubble.schedule_idle_s`; (p-1)/(m+p-1) for 1F1B over p equal stages);
    ``exposed_communication_fraction``: waiting for collectives; ``other_idle_fraction``: the rest
    (a neighbour's communication propagated down the pipeline, unequal stages, the tail).
    Busy share + the three = 1 on every device.
    """
    step = ct.end_s
    if step <= 0 or not ct.stats:
        return {"pipeline_bubble_fraction": 0.0, "exposed_communication_fraction": 0.0, "other_idle_fraction": 0.0}
    sched = schedule_idle_s(plan, training)
    bubble = comm = other = 0.0
    for st in ct.stats:
        idle = max(0.0, step - st.busy_s)
        b = min(sched[st.stage], idle)
        c = min(st.comm_blocking_s, idle - b)
        bubble, comm, other = bubble + b, comm + c, other + (idle - b - c)
    n = len(ct.stats) * step
    return {"pipeline_bubble_fraction": bubble / n, "exposed_communication_fraction": comm / n,
            "other_idle_fraction": other / n}


def _throttled_fraction(ct: ClusterTrace, step: float) -> float:
    """Share of the step the most throttled device spent stretched by its power cap."""
    if step <= 0:
        return 0.0
    per_device: dict[str, float] = {}
    for device, throttled in fields_of(ct.events, "device", "throttled_s"):
        per_device[device] = per_device.get(device, 0.0) + throttled
    return min(1.0, max(per_device.values(), default=0.0) / step)


def collective_benchmark(hardware: "str | SystemSpec | _DeviceBase", *, collective: str = "all_reduce",
                         nbytes: float, devices: int | None = None,
                         time_limit_s: float | None = None) -> dict[str, float]:
    """Play one collective among ``devices`` data-parallel ranks in the engine, like nccl-tests.

    Returns ``time_s``, ``algbw_gbs`` (S / t) and ``busbw_gbs`` (nccl-tests' bus bandwidth: all-reduce
    x 2(n-1)/n, all-gather / reduce-scatter x (n-1)/n, p2p x 1), in decimal GB/s.

    Raises:
        ScenarioError: unknown collective, non-positive size or device count.
        SimulationTimeout: the call went past ``time_limit_s``.

    Example:
        >>> r = collective_benchmark("dgx-h100", nbytes=2**30)
        >>> 300 < r["busbw_gbs"] < 450
        True
    """
    deadline = make_deadline(time_limit_s)
    try:
        kind = Collective(collective)
    except ValueError:
        raise ScenarioError(f"collective: unknown {collective!r}; choose one of "
                            f"{', '.join(c.value for c in Collective)}") from None
    if isinstance(nbytes, bool) or not isinstance(nbytes, (int, float)) or not 0 < nbytes <= 1e15:
        raise ScenarioError(f"nbytes: must be in (0, 1e15], got {nbytes!r}")
    target = load_hardware(hardware)
    n = devices if devices is not None else (target.devices_per_node * (target.max_nodes or 1)
                                             if isinstance(target, SystemSpec) else 2)
    if not isinstance(n, int) or n < 2 or n > MAX_DEVICES:
        raise ScenarioError(f"devices: a collective needs 2..{MAX_DEVICES} devices, got {n!r}")
    if isinstance(target, SystemSpec):
        device_of(target)  # a system built of a system is refused here too
    check(deadline, "loading the inputs")
    system = target if isinstance(target, SystemSpec) else implicit_system(target, n)
    p = Parallelism(data=n)
    fab = fabrics_for(system, p, n)
    if kind == Collective.P2P:
        # sendrecv: every rank sends to its neighbour at once; each uses its own link once
        link = fab.intra if fab.groups["dp"].nodes == 1 or fab.inter is None else fab.inter
        t = collective_time_s(kind, n=2, nbytes=nbytes, link=link)
        return {"time_s": t, "algbw_gbs": nbytes / t / GIGA, "busbw_gbs": nbytes / t / GIGA, "devices": n}
    stage = StagePlan(stage=0, forward=(Segment(collective=kind, group="dp", nbytes=nbytes, label=kind.value),),
                      backward=(), optimizer=(), static_bytes={}, activation_bytes_per_microbatch=0.0,
                      boundary_bytes=0.0, params=0.0)
    ct = run_cluster(ClusterPlan(stages=(stage,), parallelism=p, microbatches=1, microbatch_size=1), fab,
                     device_name=system.device, training=False, deadline=deadline)
    t = ct.end_s
    factor = {Collective.ALL_REDUCE: 2 * (n - 1) / n, Collective.ALL_GATHER: (n - 1) / n,
              Collective.REDUCE_SCATTER: (n - 1) / n, Collective.ALL_TO_ALL: (n - 1) / n}[kind]
    return {"time_s": t, "algbw_gbs": nbytes / t / GIGA, "busbw_gbs": nbytes / t / GIGA * factor, "devices": n}
