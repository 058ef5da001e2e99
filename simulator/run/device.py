"""One step on one device: the graph, its op costs, the SimPy run (:mod:`simulator.engine.run`) and
the step summary. What :func:`simulator.simulate` does when one device holds the whole model.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..cost.base import CostOptions, Numerics, OpCost, per_tensor_launch_s, run_numerics, attention_fused
from ..cost.cpu import LLC_SHARE as CPU_LLC_WEIGHT_SHARE
from ..cost.cpu import cache_bytes
from ..cost.dispatch import check_supported, device_numerics
from ..cost.peaks import matrix_flops_per_s
from ..deadline import Deadline, make_deadline
from ..engine.run import DeviceRun, WeightStream, run_device
from ..errors import ScenarioError
from ..result import SimulationResult, busy_shares, step_summary
from ..scenario import Mode, Scenario, check_stack_runs_on
from ..spec.models import _DeviceBase
from ..trace import Trace, fields_of
from ..units import GIGA, PICO
from ..workload.autocast import CAST_PREFIX, read_weights
from ..workload.graph import ComputeGraph
from ..workload.ops import OpKind, Phase
from ..workload.saved import held_elems
from ..workload.workload import Workload
from .costcache import graph_costs
from .dpu_board import is_dpu_board, run_board
from .gcpause import paused_gc
from .graphs import build_graph, memory_plan
from .stackhw import request_input_s, request_s, stack_device

__all__ = ["run_scenario", "make_deadline", "check_power_cap", "require_device", "PARAM_CACHE_FRACTION"]

# Share of an SRAM-only device's memory that holds cached parameters; the rest is activations.
# The Edge TPU keeps MobileNet v1 (4.2 MB) and Inception v1 (6.6 MB) entirely on its 8 MB
# (Coral "Edge TPU compiler" docs: parameter data caching), so most of the memory goes to weights.
PARAM_CACHE_FRACTION = 0.85
# Share of the last on-chip cache level (a GPU's L2, a CPU's L3) that a producer's output may take
# and still be there when the next kernel reads it: the other half holds that kernel's weights and
# its own output on their way through (the GEMM rule of cost/gpu.py keeps an operand resident on
# the same terms).
CACHE_REUSE_FRACTION = 0.5


def require_device(hw: Any) -> None:
    """Refuse a system where one device is needed: a system's devices run through the cluster step.

    Raises:
        ScenarioError: ``hw`` is not a single device's spec.
    """
    if not isinstance(hw, _DeviceBase):
        raise ScenarioError(f"hardware: {getattr(hw, 'name', hw)} is a system; this runs on one device (give the "
                            f"system's device, {getattr(hw, 'device', '?')})")


def stack_options(sc: Scenario, hw: _DeviceBase, numerics: Numerics, *, fused_attention: bool,
                  weights_on_chip: bool = False) -> CostOptions:
    """The cost options a scenario's stack sets on this device, the same for one device and many: its
    attention fusion limit when it applies to the device kind and compute precision
    (:class:`~simulator.spec.stack.AttentionFusionLimit`), its eager attention's score passes, the power cap.

    Example:
        >>> from simulator.scenario import make_scenario
        >>> from simulator.spec.loader import load_hardware
        >>> from simulator.cost.dispatch import device_numerics
        >>> hw = load_hardware("intel-xeon-platinum-8480")
        >>> sc = make_scenario(mode="inference", precision="int8", stack="openvino")
        >>> stack_options(sc, hw, device_numerics(hw, "int8", None), fused_attention=True).attention_fusion_limit is None
        False
        >>> gpu = load_hardware("nvidia-h100-sxm")
        >>> eager = make_scenario(mode="inference", precision="bf16", stack="torch-eager")
        >>> o = stack_options(eager, gpu, device_numerics(gpu, "bf16", None), fused_attention=False)
        >>> o.attention_fusion_limit is None, o.score_passes
        (True, 2)
    """
    limit = sc.stack.attention_fusion_limit
    return CostOptions(fused_attention=fused_attention, weights_on_chip=weights_on_chip, power_cap_w=sc.power_cap_w,
                       attention_fusion_limit=limit if limit and limit.applies(hw.kind, numerics.compute.value) else None,
                       score_passes=sc.stack.attention_score_passes,
                       kv_per_query_head=sc.stack.decode_kv_per_query_head,
                       wide_convs_nchw=sc.stack.wide_convs_nchw)


def check_power_cap(hw: _DeviceBase, power_cap_w: float | None) -> None:
    """Refuse a power cap the device cannot meet: at or below its idle power it could do no work at all.

    A cap between idle and TDP is honoured by the cost models (the clock throttles, average power
    stays at or under the cap); above TDP it changes nothing.

    Raises:
        ScenarioError: ``power_cap_w`` at or below ``hw.power.idle_w``.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> check_power_cap(load_hardware("nvidia-h100-sxm"), 70.0)
        Traceback (most recent call last):
        ...
        simulator.errors.ScenarioError: power_cap_w: 70 W is at or below the idle power of nvidia-h100-sxm (70 W); a cap must leave power for work
    """
    if power_cap_w is not None and power_cap_w <= hw.power.idle_w:
        raise ScenarioError(f"power_cap_w: {power_cap_w:g} W is at or below the idle power of {hw.name} "
                            f"({hw.power.idle_w:g} W); a cap must leave power for work")


def dispatch_s(sc: Scenario) -> float:
    """Host time per op of the scenario's stack, in s: its ``host_dispatch_us`` unless the scenario
    sets ``dispatch_us`` (0 for stacks whose host keeps ahead of the device).

    Example:
        >>> from simulator.scenario import make_scenario
        >>> dispatch_s(make_scenario()), round(dispatch_s(make_scenario(stack="eager", dispatch_us=10)), 12)
        (0.0, 1e-05)
    """
    return (sc.stack.host_dispatch_us if sc.dispatch_us is None else sc.dispatch_us) * 1e-6


def host_free_ops(graph: ComputeGraph, sc: Scenario) -> frozenset[str]:
    """Ops the scenario's host issues off its serial per-op dispatch: the weight casts, when the stack's
    executor runs them from other threads (``casts_off_host_chain``).

    Example:
        >>> from simulator.scenario import make_scenario
        >>> from simulator.workload.autocast import add_weight_casts
        >>> from simulator.workload.loader import load_workload
        >>> g = add_weight_casts(load_workload("resnet50").build(batch_size=1))
        >>> len(host_free_ops(g, make_scenario(stack="tf-graph"))), len(host_free_ops(g, make_scenario(stack="torch-eager")))
        (54, 0)
    """
    if not sc.stack.casts_off_host_chain:
        return frozenset()
    return frozenset(n for n in graph.order if n.startswith(CAST_PREFIX))


def cached_inputs(graph: ComputeGraph, hw: _DeviceBase, numerics: Numerics) -> dict[str, float]:
    """Input elements of each op still held by the last on-chip cache level when the op reads them.

    Reuse distance, as an LRU cache sees it: a tensor is still there if what went through the cache
    between its write and this read (the outputs and weights of the ops run in between, and the
    tensor itself) fits in :data:`CACHE_REUSE_FRACTION` of the level. A convolution reading the
    tensor its predecessor just wrote hits; a residual skip read three layers later hits only when
    the layers in between are small.

    Example:
        >>> from simulator.cost.base import Numerics
        >>> from simulator.spec.loader import load_hardware
        >>> from simulator.units import Precision
        >>> from simulator.workload.loader import load_workload
        >>> g = load_workload("resnet50").build(batch_size=1)
        >>> hit = cached_inputs(g, load_hardware("nvidia-l4"), Numerics(Precision.INT8, Precision.INT8))
        >>> len(hit) > 100 and "stem.conv" not in hit     # the first op reads the input image from DRAM
        True
    """
    if len(hw.memory) < 2:
        return {}
    budget = CACHE_REUSE_FRACTION * hw.memory[-2].capacity_bytes
    act, wb = numerics.act_bytes, numerics.weight_bytes
    ops = graph.op_map
    position, through = {}, [0.0]  # bytes through the cache by the end of each op
    total = 0.0
    for i, (n, op) in enumerate(ops.items()):
        position[n] = i
        total = total + op.output_elems * act + op.weight_read_elems * wb
        through.append(total)
    preds = graph.adjacency[0]
    edges = graph.digraph._pred  # the edge data dicts (``elems`` as the builder recorded it)
    out: dict[str, float] = {}
    for j, n in enumerate(ops):
        hit = 0.0
        into = edges[n]
        for p in preds[n]:
            elems = into[p].get("elems") or ops[p].output_elems
            between = through[j] - through[position[p] + 1]
            if elems * act + between <= budget:
                hit += elems
        if hit:
            out[n] = hit
    return out


def op_costs(graph: ComputeGraph, hw: _DeviceBase, numerics: Numerics, options: CostOptions,
             deadline: Deadline | None = None) -> dict[str, OpCost]:
    """The cost of every op of ``graph`` (ops that differ only in name and in nothing the run
    decides share one computation), each with its inputs still in cache (:func:`cached_inputs`);
    kept with the graph for the next run on the same device (:func:`.costcache.graph_costs`).

    Raises:
        SimulationTimeout: ``deadline`` passed (checked every 256 ops).
    """
    return graph_costs(graph, hw, numerics, options, cached_inputs, deadline)


def run_scenario(wl: Workload, hw: _DeviceBase, sc: Scenario, *, past_len: int = 0, logits: str = "all",
                 extra_static_bytes: float = 0.0, deadline: Deadline | None = None) -> SimulationResult:
    """Simulate a validated scenario on one device; ``extra_static_bytes`` adds resident data (KV cache).

    A device without a path for the requested precision computes and stores its fallback; the
    summary keeps the requested precision and ``extra["effective_precision"]`` says what ran (always set).

    Raises:
        SimulationTimeout: ``deadline`` passed (checked between phases and in the event loop).
        InfeasibleError: the device cannot run the scenario's precision.
        ScenarioError: a pipelined FPGA dataflow on a device that is not an FPGA; activation offload
            (modelled for multi-device training only).

    Example:
        >>> from simulator.scenario import make_scenario
        >>> from simulator.spec.loader import load_hardware
        >>> from simulator.workload.loader import load_workload
        >>> sc = make_scenario(mode="inference", batch_size=8)
        >>> r = run_scenario(load_workload("resnet50"), load_hardware("nvidia-h100-sxm"), sc)
        >>> r.summary["batch_size"], r.fits_in_memory, r.step_time_s > 0
        (8, True, True)
    """
    require_device(hw)
    check_stack_runs_on(sc, hw.kind)
    hw = stack_device(hw, sc.stack)
    if sc.activation_offload:
        raise ScenarioError("checkpointing: activation offload (+offload) is modelled for multi-device training "
                            "(devices > 1) only")
    numerics = device_numerics(hw, sc.precision, sc.weight_precision)
    check_supported(hw, numerics, training=sc.mode == Mode.TRAINING)
    check_power_cap(hw, sc.power_cap_w)
    result = _run_scenario(wl, hw, sc.with_(precision=numerics.compute), past_len=past_len, logits=logits,
                           extra_static_bytes=extra_static_bytes, deadline=deadline)
    result.summary["precision"] = sc.precision.value
    result.extra["effective_precision"] = numerics.compute.value
    return result


@dataclass(frozen=True)
class _Residency:
    """Where a step's weights live: on chip, in main memory, or partly streamed over the host link."""

    weights_on_chip: bool
    stream: WeightStream | None = None
    streamed_bytes: float = 0.0


def _residency(graph: ComputeGraph, hw: _DeviceBase, numerics: Numerics, weight_bytes: float) -> _Residency:
    capacity = hw.main_memory.capacity_bytes
    on_chip = hw.memory[-2].capacity_bytes if len(hw.memory) >= 2 else 0.0
    weights_on_chip = hw.kind in ("fpga", "asic") and weight_bytes <= on_chip
    if hw.kind == "cpu":
        # a CPU's caches keep the weights across steps only if all the step reads fit in their share
        # of them: otherwise each layer's weights evict the earlier layers' before the next step. One
        # copy serves every instance that shares it (OpenVINO streams of one compiled model).
        weights_on_chip = weight_bytes <= CPU_LLC_WEIGHT_SHARE * cache_bytes(hw) * hw.shared_weight_instances
    # an SRAM-only device caches parameters in what its activations leave free (the largest op's
    # inputs and outputs, with headroom), up to PARAM_CACHE_FRACTION of the memory
    act_need = 1.5 * max((op.input_elems + op.output_elems for op in graph.op_map.values()), default=0.0) \
        * numerics.act_bytes
    cache_budget = max(0.0, min(PARAM_CACHE_FRACTION * capacity, capacity - act_need))
    if not (hw.weights_stream_from_host and hw.host_link is not None and weight_bytes > cache_budget):
        return _Residency(weights_on_chip=weights_on_chip)
    # like the Edge TPU compiler: cache parameters in order while they fit, stream the rest over
    # the host link on every pass
    link = hw.host_link
    resident, streamed = 0.0, {}
    for n in graph.order:
        b = graph.op(n).weight_read_elems * numerics.weight_bytes
        if resident + b <= cache_budget:
            resident += b
        else:
            streamed[n] = b
    ws = WeightStream(bytes_by_op=streamed, bandwidth_bps=link.bandwidth_gbs * GIGA,
                      latency_s=link.latency_us * 1e-6, energy_j_per_byte=link.energy_pj_per_byte * PICO)
    return _Residency(weights_on_chip=True, stream=ws, streamed_bytes=weight_bytes - resident)


@paused_gc()
def _run_scenario(wl: Workload, hw: _DeviceBase, sc: Scenario, *, past_len: int, logits: str,
                  extra_static_bytes: float, deadline: Deadline | None, core: bool = False) -> SimulationResult:
    training = sc.mode == Mode.TRAINING
    weights = read_weights(sc.precision, sc.weights, training)
    numerics = run_numerics(sc.precision, sc.weights, weights, training, sc.stack.weight_scale_bytes(weights.value))
    check_supported(hw, numerics)
    if deadline is not None:
        deadline.check("loading the inputs")
    if sc.fpga_dataflow == "pipelined":
        return _run_pipelined_fpga(wl, hw, sc, numerics, deadline)
    if is_dpu_board(hw) and not core:
        return run_board(wl, hw, sc, lambda w, h, s: _run_scenario(w, h, s, past_len=past_len, logits=logits,
                                                                   extra_static_bytes=extra_static_bytes,
                                                                   deadline=deadline, core=True))
    fwd, graph = build_graph(wl, sc, past_len=past_len, logits=logits)
    if deadline is not None:
        deadline.check("building the graph")
    plan = memory_plan(fwd, sc)
    where = _residency(graph, hw, numerics, plan["weights"])
    options = stack_options(sc, hw, numerics, fused_attention=sc.fused_attention, weights_on_chip=where.weights_on_chip)
    costs = op_costs(graph, hw, numerics, options, deadline)
    act = numerics.act_bytes
    ops = graph.op_map
    out_bytes = {n: op.output_elems * act for n, op in ops.items()}
    attention = OpKind.ATTENTION
    scratch = {n: (op.scratch_elems * act if op.kind == attention and not attention_fused(op, options) else 0.0)
               for n, op in ops.items()}
    static = sum(plan.values()) + extra_static_bytes - where.streamed_bytes
    once = frozenset(n for n, op in ops.items() if op.phase == Phase.OPTIMIZER)
    costs = _per_tensor_optimizer(costs, once, hw, sc.optimizer_tensors)
    repeat = sc.grad_accumulation if sc.mode == Mode.TRAINING else 1
    startup = _startup_s(hw, sc) + _inputs_s(wl, hw, sc)
    trace = run_device(DeviceRun(device=f"{hw.name}:0", graph=graph, costs=costs, out_bytes=out_bytes,
                                 scratch_bytes=scratch, static_bytes=static, repeat=repeat,
                                 once_at_end=once, weight_stream=where.stream, startup_s=startup,
                                 deadline=deadline, dispatch_s=dispatch_s(sc), host_free=host_free_ops(graph, sc),
                                 held_bytes={n: e * act for n, e in held_elems(graph).items()}))
    breakdown = dict(plan)
    if extra_static_bytes:
        breakdown["kv_cache"] = extra_static_bytes
    result = _summarise(wl, hw, sc, fwd, graph, trace, breakdown, static)
    result.extra["energy_breakdown_j"] = _energy_breakdown(graph, costs, trace, hw, once, repeat)
    return result


def _per_tensor_optimizer(costs: dict[str, OpCost], once: frozenset, hw: _DeviceBase,
                          tensors: int) -> dict[str, OpCost]:
    """``costs`` with each optimizer-phase op run as ``tensors`` kernels (``optimizer_tensors``), as
    the multi-device plan charges them; a new dict, the cached costs are left as they are."""
    extra = per_tensor_launch_s(hw, tensors)
    if not extra:
        return costs
    return {n: replace(c, duration_s=c.duration_s + extra, overhead_s=c.overhead_s + extra) if n in once else c
            for n, c in costs.items()}


def _energy_breakdown(graph: ComputeGraph, costs: dict[str, OpCost], trace: Trace, hw: _DeviceBase,
                      once: frozenset, repeat: int) -> dict[str, float]:
    """Energy of the step (J) by where it was spent: idle power, active power while ops run,
    arithmetic, each memory level, links."""
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
    links = sum(e for e, track in fields_of(trace.events, "energy_j", "track") if track != "compute")
    if links:
        out["host_link"] = links
    return out


def _startup_s(hw: _DeviceBase, sc: Scenario) -> float:
    """Time before the step's first op: a cold FPGA's bitstream load, and the request of a runtime that
    runs the whole engine once per request (:func:`simulator.run.stackhw.request_s`)."""
    return (hw.compute.reconfiguration_s if sc.cold_start and hw.kind == "fpga" else 0.0) + request_s(hw, sc.stack)


def _inputs_s(wl: Workload, hw: _DeviceBase, sc: Scenario) -> float:
    """The request's input copy from host memory, for a stack whose runtime takes its inputs there."""
    if not sc.stack.inputs_from_host:
        return 0.0
    shape = wl.shape(batch_size=sc.batch_size, seq_len=sc.seq_len, image_size=sc.image_size)
    return request_input_s(hw, wl.task, shape.batch_size, image_size=shape.image_size, seq_len=shape.seq_len)


def _run_pipelined_fpga(wl: Workload, hw: _DeviceBase, sc: Scenario, numerics: Numerics,
                        deadline: Deadline | None = None) -> SimulationResult:
    """Layer-pipelined FPGA: one batch-1 pass per sample, every op on its own DSPs, passes overlapping.

    Every sample's pass is simulated, so batch x ops is bounded (:data:`~simulator.engine.run.MAX_TRACE_EVENTS`).
    """
    from ..cost.fpga_pipeline import pipelined_costs

    if hw.kind != "fpga":
        raise ScenarioError(f"fpga_dataflow: 'pipelined' needs an FPGA, {hw.name} is a {hw.kind}")
    batch = sc.batch_size or wl.defaults.get("batch_size", 1)
    one = sc.with_(batch_size=1)
    fwd, graph = build_graph(wl, one)
    options = CostOptions(fused_attention=sc.fused_attention, weights_on_chip=True, power_cap_w=sc.power_cap_w)
    if deadline is not None:
        deadline.check("building the graph")
    costs, ii = pipelined_costs(graph, hw, numerics, options)
    plan = memory_plan(fwd, one)
    act = numerics.act_bytes
    trace = run_device(DeviceRun(device=f"{hw.name}:0", graph=graph, costs=costs,
                                 out_bytes={n: graph.op(n).output_elems * act for n in graph.order},
                                 scratch_bytes={n: 0.0 for n in graph.order}, static_bytes=sum(plan.values()),
                                 repeat=batch, spatial=True, startup_s=_startup_s(hw, sc), deadline=deadline))
    result = _summarise(wl, hw, sc, fwd, graph, trace, dict(plan), sum(plan.values()))
    result.extra["initiation_interval_s"] = ii
    result.extra["fpga_dataflow"] = "pipelined"
    return result


def _summarise(wl: Workload, hw: _DeviceBase, sc: Scenario, fwd: ComputeGraph, graph: ComputeGraph, trace: Trace,
               breakdown: dict[str, float], static: float) -> SimulationResult:
    step = trace.end_s
    peak = trace.peak_bytes
    breakdown["activations"] = max(0.0, peak - static)
    shares = busy_shares(trace.events, end_s=step,
                         idle_is_host=dispatch_s(sc) > 0
                         or any(t == "host_link" for t, in fields_of(trace.events, "track")))
    dynamic = sum(e for e, in fields_of(trace.events, "energy_j"))
    throttled = sum(t for t, in fields_of(trace.events, "throttled_s"))
    summary = step_summary(
        wl, sc, fwd, hardware=hw.name, kind=hw.kind, batch_size=sc.batch_size or wl.defaults.get("batch_size", 1),
        step_s=step, peak_bytes=peak, capacity_bytes=hw.main_memory.capacity_bytes, breakdown=breakdown,
        energy_j=hw.power.idle_w * step + dynamic, idle_w=hw.power.idle_w, tdp_w=hw.power.tdp_w,
        throttled_fraction=throttled / step if step > 0 else 0.0, shares=shares,
        total_flops=sum(f for f, track in fields_of(trace.events, "flops", "track") if track == "compute"),
        peak_flops_per_s=matrix_flops_per_s(hw, sc.precision), op_count=len(graph), devices=1)
    result = SimulationResult(summary=summary, memory_breakdown=breakdown, bottleneck_shares=shares, trace=trace)
    result.extra["stack"] = sc.stack.name
    return result
