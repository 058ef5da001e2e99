"""The public scripting API: load_hardware, load_workload, simulate, describe.

Everything else (CLI, app, sweeps) calls these.
"""
from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping

from .cost.base import Bound, CostOptions, Numerics, OpCost
from .cost.dispatch import check_supported, device_numerics, op_cost
from .cost.peaks import matrix_flops_per_s
from .engine.run import Deadline, DeviceRun, WeightStream, run_device
from .errors import ScenarioError
from .gcpause import paused_gc
from .result import SimulationResult
from .scenario import Mode, Scenario, make_scenario
from .software import EAGER_DISPATCH_US, Stack, fuses_pointwise
from .spec.loader import list_hardware, load_hardware
from .spec.models import _DeviceBase
from .units import GIGA, PICO
from .workload.fusion import fuse_pointwise
from .workload.graph import ComputeGraph, kind_counts
from .workload.loader import Workload, list_workloads, load_workload
from .workload.ops import OpKind
from .workload.training import build_training_graph

# Share of an SRAM-only device's memory that holds cached parameters; the rest is activations.
# The Edge TPU keeps MobileNet v1 (4.2 MB) and Inception v1 (6.6 MB) entirely on its 8 MB
# (Coral "Edge TPU compiler" docs: parameter data caching), so most of the memory goes to weights.
PARAM_CACHE_FRACTION = 0.85

__all__ = ["load_hardware", "load_workload", "simulate", "describe", "list_hardware", "list_workloads",
           "build_graph", "memory_plan"]


def build_graph(wl: Workload, sc: Scenario, *, past_len: int = 0, logits: str = "all") -> tuple[ComputeGraph, ComputeGraph]:
    """(forward graph, graph to execute) for a scenario; training adds backward and optimizer ops.

    Graphs depend only on the workload and the shape, not on the hardware, so they are cached:
    a what-if sweep over device variants builds each graph once.

    Args:
        wl: the loaded workload.
        sc: the scenario; its batch is split into ``grad_accumulation`` micro-batches.
        past_len: tokens already in the KV cache (decode steps), 0 otherwise.
        logits: ``"all"`` or ``"last"`` (only the last position's LM head, as in generation).

    Raises:
        ScenarioError: the batch does not split into ``grad_accumulation`` micro-batches.

    Example:
        >>> from simulator.scenario import make_scenario
        >>> fwd, step = build_graph(load_workload("resnet50"), make_scenario(mode="training", batch_size=8))
        >>> len(step) > len(fwd)         # backward and optimizer ops added
        True
        >>> round(fwd.parameters / 1e6, 1)
        25.6
    """
    batch = sc.batch_size or wl.defaults.get("batch_size", 1)
    if batch % sc.grad_accumulation:
        raise ScenarioError(f"grad_accumulation: batch_size {batch} is not divisible by {sc.grad_accumulation}")
    training = sc.mode == Mode.TRAINING
    return _cached_graphs(_WorkloadKey(wl), batch // sc.grad_accumulation, sc.seq_len, sc.image_size, past_len, logits, training,
                          sc.optimizer if training else None, sc.checkpointing if training else None,
                          fuses_pointwise(sc))


class _WorkloadKey:
    """Hashable identity of a workload for the graph cache: family, name, source, params, builder."""

    def __init__(self, wl: Workload) -> None:
        self.wl = wl
        params = wl.params.model_dump_json() if wl.params is not None else ""
        self.key = (wl.family, wl.name, wl.source, params, wl.builder)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _WorkloadKey) and self.key == other.key


@functools.lru_cache(maxsize=16)
def _cached_graphs(wk: _WorkloadKey, micro: int, seq_len, image_size, past_len: int, logits: str, training: bool,
                   optimizer, checkpointing, fuse: bool = False) -> tuple[ComputeGraph, ComputeGraph]:
    fwd = wk.wl.build(batch_size=micro, seq_len=seq_len, image_size=image_size, past_len=past_len, logits=logits)
    if fuse:
        fwd = fuse_pointwise(fwd)
    if training:
        return fwd, build_training_graph(fwd, optimizer, checkpointing).graph
    return fwd, fwd


def memory_plan(fwd: ComputeGraph, sc: Scenario) -> dict[str, float]:
    """Resident bytes by category before any activation: weights, gradients, master weights, optimizer state.

    Mixed precision keeps fp32 master weights when weights are stored below fp32; gradients are held
    at the compute precision; optimizer state is fp32 (Adam: 2 values per parameter).

    Returns:
        bytes per category (keys ``weights``, ``gradients``, ``master_weights``, ``optimizer_state``);
        all but ``weights`` are 0 for inference. Raises nothing: the scenario is already validated.

    Example:
        >>> from simulator.scenario import make_scenario
        >>> sc = make_scenario(mode="training", batch_size=8, precision="bf16")
        >>> fwd, _ = build_graph(load_workload("resnet50"), sc)
        >>> plan = memory_plan(fwd, sc)       # Adam, bf16: 2 + 2 + 4 + 8 bytes per parameter
        >>> {k: round(v / fwd.parameters) for k, v in plan.items()}
        {'weights': 2, 'gradients': 2, 'master_weights': 4, 'optimizer_state': 8}
    """
    from .cost.memory import resident_bytes
    from .workload.training import optimizer_state_elems

    training = sc.mode == Mode.TRAINING
    return resident_bytes(params=fwd.parameters, state_elems=optimizer_state_elems(fwd, sc.optimizer) if training else 0.0,
                          training=training, compute=sc.precision, weights=sc.weights)


def _costs(graph: ComputeGraph, hw: _DeviceBase, numerics: Numerics, options: CostOptions,
           deadline: Deadline | None = None) -> dict[str, OpCost]:
    cache: dict[Any, OpCost] = {}
    out: dict[str, OpCost] = {}
    for i, name in enumerate(graph.order):
        if deadline is not None and i % 256 == 0:
            deadline.check("computing op costs")
        op = graph.op(name)
        key = replace(op, name="", layer="")
        if key not in cache:
            cache[key] = op_cost(op, hw, numerics, options)
        out[name] = cache[key]
    return out


def _shares(trace_events, end_s: float, host_dispatch: bool = False) -> dict[str, float]:
    totals = {b.value: 0.0 for b in Bound if b != Bound.CAPACITY}
    for e in trace_events:
        if e.track == "compute" and e.bound in totals:
            totals[e.bound] += e.duration_s
    busy = sum(totals.values())
    # time the compute stream waited on the host (weight streaming over its link, or an eager
    # framework still dispatching) counts as host-bound
    idle = max(0.0, end_s - busy)
    if idle > 0 and (host_dispatch or any(e.track == "host_link" for e in trace_events)):
        totals[Bound.HOST.value] += idle
    total = sum(totals.values()) or 1.0
    return {k: v / total for k, v in totals.items()}


def simulate(workload: "str | Path | Workload", hardware: "str | Path | _DeviceBase", *, mode: str = "inference",
             batch_size: int | None = None, seq_len: int | None = None, image_size: int | None = None,
             precision: str = "bf16", weight_precision: str | None = None, optimizer: str = "adam",
             checkpointing: str = "none", grad_accumulation: int = 1, fused_attention: bool = True,
             power_cap_w: float | None = None, seed: int = 0,
             overrides: Mapping[str, Any] | None = None, devices: int | None = None,
             parallelism: Any = None, microbatches: int | None = None,
             symmetric: bool = True, fpga_dataflow: str = "overlay", cold_start: bool = False,
             input_workers: int | None = None, prefetch: int = 2, host: "str | Path | None" = None,
             time_limit_s: float | None = None, stack: str = "default",
             dispatch_us: float | None = None) -> SimulationResult:
    """Simulate one training step or one inference batch of ``workload`` on one ``hardware`` device.

    Args:
        workload: zoo name, path (.yaml/.onnx/.csv) or a loaded :class:`Workload`.
        hardware: catalogue name, path (.yaml/.cfg) or a loaded spec.
        mode: ``"inference"`` (one forward pass) or ``"training"`` (forward, backward, optimizer).
        batch_size, seq_len, image_size: input shape (workload defaults when None).
        precision: compute/activation format (fp32, tf32, fp16, bf16, fp8, int16, int8, int4).
        weight_precision: stored-weight format for weight-only quantization (defaults to ``precision``).
        optimizer: sgd, momentum, adam, adamw, adafactor (training).
        checkpointing: none, selective, selective-mlp (selective plus the MLP block), full (training).
        grad_accumulation: micro-batches per optimizer step (training).
        fused_attention: FlashAttention-style attention (no score matrix in memory).
        power_cap_w: what-if power limit below TDP.
        seed: recorded for reproducibility (this model is deterministic).
        overrides: what-if spec changes, e.g. ``{"memory.hbm.bandwidth_gbs": 4000}``; on a system spec,
            ``device.``-prefixed keys change its device (``{"device.memory.hbm.bandwidth_gbs": 4000}``).
        devices: number of devices; a system spec (``"dgx-h100"``) defaults to its full size.
        parallelism: ``dict(data=16, tensor=8, pipeline=8, zero_stage=1, expert=1, schedule="1f1b")`` or
            ``"dp=16,tp=8,pp=8"``; default: all devices data-parallel.
        microbatches: pipeline micro-batches per replica (default: up to 4 x stages).
        symmetric: simulate one device per pipeline stage and replicate (exact for identical peers).
        fpga_dataflow: ``"overlay"`` (DPU-style, layer after layer) or ``"pipelined"`` (layer-pipelined,
            one pass per sample streaming through per-layer DSPs; inference only).
        cold_start: include the FPGA bitstream load (``compute.reconfiguration_s``) before the first op.
        input_workers: host CPU workers decoding input samples (see :mod:`simulator.input_pipeline`);
            None: the host keeps up. ``prefetch``: batches the host may have ready; ``host``: CPU spec
            (default intel-xeon-platinum-8480). A starved device makes ``bottleneck`` ``"host"``.
        stack: software stack (:mod:`simulator.software`): ``"default"`` (op after op, host ahead),
            ``"eager"`` (the host dispatches each op, ``dispatch_us`` apart; one device only) or
            ``"compiled"`` (pointwise ops fused into their producers; inference).
        dispatch_us: eager host time per op in microseconds (default
            :data:`~simulator.software.EAGER_DISPATCH_US`).
        time_limit_s: wall-time limit of this call in seconds (None: none). Checked after loading, after
            the graph build, every 256 op costs and every 1,024 engine events of a one-device run; a
            multi-device run is checked only before it starts.

    Raises:
        InputError: bad names, files or arguments (one message naming file and field).
        SimulationTimeout: the call went past ``time_limit_s`` (an :class:`InputError`: CLI exit 2).
        InfeasibleError: the device cannot run this precision at all.

    Example:
        >>> r = simulate("resnet50", "nvidia-h100-sxm", mode="training", batch_size=32, precision="bf16")
        >>> r.bottleneck in ("compute", "memory_bandwidth", "overhead", "memory_capacity")
        True
    """
    from .distributed import placement

    deadline = _deadline(time_limit_s)
    where = placement(hardware, overrides, devices=devices, parallelism=parallelism, microbatches=microbatches)
    wl = load_workload(workload)
    sc = make_scenario(mode=mode, batch_size=batch_size, seq_len=seq_len, image_size=image_size, precision=precision,
                       weight_precision=weight_precision, optimizer=optimizer, checkpointing=checkpointing,
                       grad_accumulation=grad_accumulation, fused_attention=fused_attention,
                       power_cap_w=power_cap_w, seed=seed, fpga_dataflow=fpga_dataflow, cold_start=cold_start,
                       stack=stack, dispatch_us=dispatch_us)
    hw = where.device
    if where.target is not None:
        from .distributed import simulate_cluster

        if input_workers is not None:
            raise ScenarioError("input_workers: the host input pipeline is simulated for one device only")
        if deadline is not None:
            deadline.check("loading the inputs")
        return simulate_cluster(wl, where.target, sc, devices=where.devices, parallelism=where.parallelism,
                                microbatches=microbatches, symmetric=symmetric, fused_attention=fused_attention,
                                device_overrides=where.device_overrides)
    r = run_scenario(wl, hw, sc, deadline=deadline)
    if input_workers is not None:
        from .input_pipeline import apply_input_pipeline

        r = apply_input_pipeline(r, wl, hw, workers=input_workers, prefetch=prefetch, host=host)
    return r


def _dispatch_s(sc: Scenario) -> float:
    """Host time per op of the scenario's stack, in s (0 unless eager)."""
    if sc.stack != Stack.EAGER:
        return 0.0
    return (EAGER_DISPATCH_US if sc.dispatch_us is None else sc.dispatch_us) * 1e-6


def _deadline(time_limit_s: float | None) -> Deadline | None:
    """The :class:`Deadline` of a ``time_limit_s`` argument (None: no limit).

    Raises:
        ScenarioError: not a positive, finite number of seconds.
    """
    if time_limit_s is None:
        return None
    if isinstance(time_limit_s, bool) or not isinstance(time_limit_s, (int, float)) or not 0 < time_limit_s < 1e9:
        raise ScenarioError(f"time_limit_s: must be a number of seconds in (0, 1e9), got {time_limit_s!r}")
    return Deadline.after(float(time_limit_s))


def run_scenario(wl: Workload, hw: _DeviceBase, sc: Scenario, *, past_len: int = 0, logits: str = "all",
                 extra_static_bytes: float = 0.0, deadline: Deadline | None = None) -> SimulationResult:
    """Simulate a validated scenario (see :func:`simulate`); ``extra_static_bytes`` adds resident data (KV cache).

    Raises:
        SimulationTimeout: ``deadline`` passed (checked between phases and in the event loop).
        InfeasibleError: the device cannot run the scenario's precision.
        ScenarioError: a pipelined FPGA dataflow on a device that is not an FPGA.

    Example:
        >>> from simulator.scenario import make_scenario
        >>> sc = make_scenario(mode="inference", batch_size=8)
        >>> r = run_scenario(load_workload("resnet50"), load_hardware("nvidia-h100-sxm"), sc)
        >>> r.summary["batch_size"], r.fits_in_memory, r.step_time_s > 0
        (8, True, True)
    """
    numerics = device_numerics(hw, sc.precision, sc.weight_precision)
    check_supported(hw, numerics)
    if numerics.compute == sc.precision:
        return _run_scenario(wl, hw, sc, past_len=past_len, logits=logits, extra_static_bytes=extra_static_bytes,
                             deadline=deadline)
    # the device has no path for the requested format: it computes and stores the fallback
    result = _run_scenario(wl, hw, sc.with_(precision=numerics.compute), past_len=past_len, logits=logits,
                           extra_static_bytes=extra_static_bytes, deadline=deadline)
    result.summary["precision"] = sc.precision.value
    result.extra["effective_precision"] = numerics.compute.value
    return result


@paused_gc()
def _run_scenario(wl: Workload, hw: _DeviceBase, sc: Scenario, *, past_len: int, logits: str,
                  extra_static_bytes: float, deadline: Deadline | None) -> SimulationResult:
    numerics = Numerics(compute=sc.precision, weights=sc.weights)
    check_supported(hw, numerics)
    if deadline is not None:
        deadline.check("loading the inputs")
    if sc.fpga_dataflow == "pipelined":
        return _run_pipelined_fpga(wl, hw, sc, numerics)
    fwd, graph = build_graph(wl, sc, past_len=past_len, logits=logits)
    if deadline is not None:
        deadline.check("building the graph")
    plan = memory_plan(fwd, sc)
    weight_bytes = plan["weights"]
    capacity = hw.main_memory.capacity_bytes
    on_chip = hw.memory[-2].capacity_bytes if len(hw.memory) >= 2 else 0.0
    weights_on_chip = hw.kind in ("fpga", "asic") and weight_bytes <= on_chip
    # an SRAM-only device caches parameters in what its activations leave free (the largest op's
    # inputs and outputs, with headroom), up to PARAM_CACHE_FRACTION of the memory
    act_need = 1.5 * max((graph.op(n).input_elems + graph.op(n).output_elems for n in graph.order), default=0.0) \
        * numerics.act_bytes
    cache_budget = max(0.0, min(PARAM_CACHE_FRACTION * capacity, capacity - act_need))
    stream = hw.weights_stream_from_host and hw.host_link is not None and weight_bytes > cache_budget
    options = CostOptions(fused_attention=sc.fused_attention, weights_on_chip=weights_on_chip or stream,
                          power_cap_w=sc.power_cap_w)
    costs = _costs(graph, hw, numerics, options, deadline)
    act = numerics.act_bytes
    out_bytes = {n: graph.op(n).output_elems * act for n in graph.order}
    scratch = {n: (graph.op(n).scratch_elems * act if graph.op(n).kind == OpKind.ATTENTION and not sc.fused_attention
                   else 0.0) for n in graph.order}
    ws = None
    streamed_bytes = 0.0
    if stream:
        # like the Edge TPU compiler: cache parameters in order while they fit, stream the rest
        # over the host link on every pass
        link = hw.host_link
        resident, streamed = 0.0, {}
        for n in graph.order:
            b = graph.op(n).weight_read_elems * numerics.weight_bytes
            if resident + b <= cache_budget:
                resident += b
            else:
                streamed[n] = b
        streamed_bytes = weight_bytes - resident
        ws = WeightStream(bytes_by_op=streamed, bandwidth_bps=link.bandwidth_gbs * GIGA,
                          latency_s=link.latency_us * 1e-6, energy_j_per_byte=link.energy_pj_per_byte * PICO)
    static = sum(plan.values()) + extra_static_bytes - streamed_bytes
    once = frozenset(n for n in graph.order if graph.op(n).kind == OpKind.OPTIMIZER)
    trace = run_device(DeviceRun(device=f"{hw.name}:0", graph=graph, costs=costs, out_bytes=out_bytes,
                                 scratch_bytes=scratch, static_bytes=static,
                                 repeat=sc.grad_accumulation if sc.mode == Mode.TRAINING else 1,
                                 once_at_end=once, weight_stream=ws, startup_s=_startup_s(hw, sc),
                                 deadline=deadline, dispatch_s=_dispatch_s(sc)))
    result = _summarise(wl, hw, sc, fwd, graph, trace, plan, static, numerics, extra_static_bytes)
    result.extra["energy_breakdown_j"] = _energy_breakdown(graph, costs, trace, hw, once,
                                                           sc.grad_accumulation if sc.mode == Mode.TRAINING else 1)
    return result


def _energy_breakdown(graph: ComputeGraph, costs: dict[str, OpCost], trace, hw: _DeviceBase, once: frozenset,
                      repeat: int) -> dict[str, float]:
    """Energy of the step by where it was spent: idle power, active power while ops run, arithmetic,
    each memory level, links."""
    out = {"idle": hw.power.idle_w * trace.end_s, "active": 0.0, "compute": 0.0}
    for level in hw.memory:
        out[level.name] = 0.0
    for n in graph.order:
        c = costs[n]
        times = 1 if n in once else repeat
        levels = sum(c.energy_by_level_j.values())
        out["compute"] += (c.dynamic_energy_j - levels) * times
        for name, e in c.energy_by_level_j.items():
            out[name] += e * times
    links = sum(e.energy_j for e in trace.events if e.track != "compute")
    if links:
        out["host_link"] = links
    return out


def _startup_s(hw: _DeviceBase, sc: Scenario) -> float:
    return hw.compute.reconfiguration_s if sc.cold_start and hw.kind == "fpga" else 0.0


def _run_pipelined_fpga(wl: Workload, hw: _DeviceBase, sc: Scenario, numerics: Numerics) -> SimulationResult:
    """Layer-pipelined FPGA: one batch-1 pass per sample, every op on its own DSPs, passes overlapping."""
    from .cost.fpga_pipeline import pipelined_costs

    if hw.kind != "fpga":
        raise ScenarioError(f"fpga_dataflow: 'pipelined' needs an FPGA, {hw.name} is a {hw.kind}")
    batch = sc.batch_size or wl.defaults.get("batch_size", 1)
    one = sc.with_(batch_size=1)
    fwd, graph = build_graph(wl, one)
    options = CostOptions(fused_attention=sc.fused_attention, weights_on_chip=True, power_cap_w=sc.power_cap_w)
    costs, ii = pipelined_costs(graph, hw, numerics, options)
    plan = memory_plan(fwd, one)
    act = numerics.act_bytes
    trace = run_device(DeviceRun(device=f"{hw.name}:0", graph=graph, costs=costs,
                                 out_bytes={n: graph.op(n).output_elems * act for n in graph.order},
                                 scratch_bytes={n: 0.0 for n in graph.order}, static_bytes=sum(plan.values()),
                                 repeat=batch, spatial=True, startup_s=_startup_s(hw, sc)))
    result = _summarise(wl, hw, sc, fwd, graph, trace, plan, sum(plan.values()), numerics, 0.0)
    result.extra["initiation_interval_s"] = ii
    result.extra["fpga_dataflow"] = "pipelined"
    return result


def _summarise(wl, hw, sc, fwd, graph, trace, plan, static, numerics, extra_static_bytes) -> SimulationResult:
    step = trace.end_s
    batch = sc.batch_size or wl.defaults.get("batch_size", 1)
    capacity = hw.main_memory.capacity_bytes
    peak = trace.peak_bytes
    breakdown = dict(plan)
    if extra_static_bytes:
        breakdown["kv_cache"] = extra_static_bytes
    breakdown["activations"] = max(0.0, peak - static)
    fits = peak <= capacity
    shares = _shares(trace.events, step, host_dispatch=_dispatch_s(sc) > 0)
    dynamic = sum(e.energy_j for e in trace.events)
    energy = hw.power.idle_w * step + dynamic
    total_flops = sum(e.flops for e in trace.events if e.track == "compute")
    peak_rate = matrix_flops_per_s(hw, sc.precision)
    throttled = sum(e.throttled_s for e in trace.events)
    bottleneck = max(shares, key=lambda k: (shares[k], k)) if step > 0 else Bound.OVERHEAD.value
    if not fits:
        bottleneck = Bound.CAPACITY.value
    seq = fwd.meta.get("seq_len") if wl.uses_seq_len else None
    summary = {
        "workload": wl.name, "hardware": hw.name, "kind": hw.kind, "mode": sc.mode.value,
        "precision": sc.precision.value, "batch_size": batch,
        "seq_len": seq, "image_size": fwd.meta.get("image_size") if wl.uses_image_size else None,
        "step_time_s": step, "throughput_samples_per_s": batch / step if step > 0 else 0.0,
        "tokens_per_s": (batch * seq / step) if seq and step > 0 else None,
        "peak_memory_bytes": peak, "memory_capacity_bytes": capacity, "fits_in_memory": fits,
        "memory_shortfall_bytes": max(0.0, peak - capacity),
        "memory_dominant": max(breakdown, key=lambda k: (breakdown[k], k)),
        "energy_j": energy, "average_power_w": energy / step if step > 0 else hw.power.idle_w,
        "tdp_w": hw.power.tdp_w, "throttled_fraction": throttled / step if step > 0 else 0.0,
        "bottleneck": bottleneck, "total_flops": total_flops,
        "utilization": total_flops / (step * peak_rate) if step > 0 and peak_rate > 0 else 0.0,
        "parameters": fwd.parameters, "op_count": len(graph), "devices": 1,
    }
    result = SimulationResult(summary=summary, memory_breakdown=breakdown, bottleneck_shares=shares, trace=trace)
    result.extra["stack"] = sc.stack.value
    return result


def describe(workload: "str | Path | Workload", *, batch_size: int | None = None, seq_len: int | None = None,
             image_size: int | None = None, precision: str = "bf16") -> dict[str, Any]:
    """Size of a workload at a shape: parameters, forward FLOPs (whole batch), activation bytes, op count.

    Returns:
        a dict: ``parameters`` (count), ``forward_flops`` and ``forward_matrix_flops`` (FLOP for the
        whole batch), ``activation_bytes`` and ``weight_bytes`` (B at ``precision``), ``op_count``,
        ``op_kinds`` (count per op kind) and the resolved shape.

    Raises:
        InputError: unknown workload name or bad file (a :class:`WorkloadError` names file and field).
        ScenarioError: unknown precision or an invalid shape.

    Example:
        >>> d = describe("resnet50", batch_size=1)
        >>> round(d["parameters"] / 1e6, 1)
        25.6
    """
    from .units import parse_precision

    wl = load_workload(workload)
    p = parse_precision(precision)
    g = wl.build(batch_size=batch_size, seq_len=seq_len, image_size=image_size)
    meta = g.meta
    return {"workload": wl.name, "family": wl.family, "task": wl.task, "batch_size": meta.get("batch_size"),
            "seq_len": meta.get("seq_len") if wl.uses_seq_len else None,
            "image_size": meta.get("image_size") if wl.uses_image_size else None,
            "parameters": g.parameters, "forward_flops": g.flops, "forward_matrix_flops": g.matrix_flops,
            "activation_bytes": g.activation_elems * p.bytes, "weight_bytes": g.parameters * p.bytes,
            "op_count": len(g), "op_kinds": kind_counts(g), "precision": p.value}
