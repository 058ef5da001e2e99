"""Run a :class:`~validation.cases.Case` through the public simulator and convert to the row's metric.

Micro-benchmarks are one-op workloads built with :mod:`simulator.workload.ops`: a GEMM row is one
matmul of the stated shape (TFLOP/s = 2 m n k / time); a bandwidth row is one element-wise op that
moves the benchmark's bytes (GB/s = bytes / time). Models come from the zoo.
"""
from __future__ import annotations

import json

import functools
from dataclasses import dataclass, replace

from simulator.run.device import run_scenario
from simulator.run.step import simulate_step as simulate
from simulator.run.cluster import collective_benchmark
from simulator.errors import SimulatorError
from simulator.serving.generation import generate
from simulator.serving import serve
from simulator.scenario import make_scenario
from simulator.cost.peaks import matrix_flops_per_s
from simulator.spec.loader import load_hardware
from simulator.spec.stack import load_stack
from simulator.units import Precision
from simulator.workload import ops as O
from simulator.workload.graph import GraphBuilder
from simulator.workload.loader import load_workload
from simulator.workload.workload import Workload

from .cluster_rows import megatron_model_flops
from .tpu_rows import maxtext_model_flops
from .queueing import max_rate_under_p99
from .cases import Case

@dataclass(frozen=True)
class Prediction:
    """Predicted metric value and what produced it."""

    value: float
    step_time_s: float
    bottleneck: str
    power_w: float


def _one_op_workload(name: str, op, shape: tuple[int, ...]) -> Workload:
    def build(_shape):
        b = GraphBuilder(name, batch=1, source="validation micro-benchmark")
        x = b.input(shape)
        b.op(op, [x], (1,))
        return b.build()

    return Workload(name=name, family="micro", params=None, source="validation micro-benchmark", builder=build,
                    uses_seq_len=False, uses_image_size=False)


@functools.lru_cache(maxsize=4)
def _alexnet_conv() -> Workload:
    """AlexNet CONV1-5 as in the Eyeriss paper (grouped conv2/4/5, 227x227 input), no classifier."""

    def build(shape):
        n, size = shape.batch_size, shape.image_size
        b = GraphBuilder("alexnet-conv", batch=n, source="Krizhevsky et al. 2012; Eyeriss JSSC 2017 (conv layers)")
        x = b.input((n, 3, size, size))
        x = b.act("relu1", b.conv("conv1", x, 96, 11, stride=4, pad=0))
        x = b.pool("pool1", x, 3, 2)
        x = b.act("relu2", b.conv("conv2", x, 256, 5, pad=2, groups=2))
        x = b.pool("pool2", x, 3, 2)
        x = b.act("relu3", b.conv("conv3", x, 384, 3, pad=1))
        x = b.act("relu4", b.conv("conv4", x, 384, 3, pad=1, groups=2))
        b.act("relu5", b.conv("conv5", x, 256, 3, pad=1, groups=2))
        return b.build()

    return Workload(name="alexnet-conv", family="custom", params=None, source="validation", builder=build,
                    task="image", uses_seq_len=False, uses_image_size=True, defaults={"image_size": 227})


def _workload(case: Case) -> Workload:
    if case.workload == "alexnet-conv":
        return _alexnet_conv()
    wl = load_workload(case.workload)
    if not case.workload_params:
        return wl
    params = type(wl.params).model_validate({**wl.params.model_dump(), **dict(case.workload_params)})
    return replace(wl, params=params)


def hardware_for(case: Case, extra: dict | None = None):
    """The case's device spec with its what-if overrides (and calibration trial values ``extra``)."""
    overrides = dict(case.overrides)
    overrides.update(extra or {})
    return load_hardware(case.hardware, overrides or None)


def _scenario(case: Case, *, batch: int, accumulation: int = 1, seq_len: int | None = None,
              dispatch_us: float | None = None, stack: str | None = None):
    return make_scenario(mode=case.mode, batch_size=batch, seq_len=None if case.lengths else seq_len or case.seq_len,
                         seq_len_distribution=case.lengths or None,
                         image_size=case.image_size, precision=case.precision,
                         weight_precision=case.weight_precision, optimizer=case.optimizer,
                         optimizer_tensors=case.optimizer_tensors, grad_clip=case.grad_clip,
                         grad_accumulation=accumulation, fused_attention=case.fused_attention,
                         stack=stack or case.stack, dispatch_us=dispatch_us)


def _step(case: Case, hw, *, dispatch_us: float | None) -> tuple[float, object]:
    wl = _workload(case)
    r1 = run_scenario(wl, hw, _scenario(case, batch=case.batch, dispatch_us=dispatch_us), logits=case.logits)
    t1 = r1.summary["step_time_s"]
    if case.accumulation > 1:
        # the engine repeats the micro-batch graph and runs the optimizer once: step time is affine
        # in the number of micro-batches, so two runs give it exactly for any count
        r2 = run_scenario(wl, hw, _scenario(case, batch=2 * case.batch, accumulation=2, dispatch_us=dispatch_us),
                          logits=case.logits)
        t2 = r2.summary["step_time_s"]
        per_micro, fixed = t2 - t1, 2 * t1 - t2
        return case.accumulation * per_micro + fixed, r1
    return t1, r1


def _exposed_gradient_sync_s(case: Case, hw) -> float:
    """Data-parallel training on ``case.scale`` devices in one node: the gradient all-reduce time
    the backward pass does not hide, from the cluster engine (bucketed, overlapped with backward)."""
    from simulator.run.cluster import simulate_cluster

    n = int(case.scale)
    sc = _scenario(case, batch=case.batch * n, stack="default")  # the host is modelled on one device only
    r = simulate_cluster(_workload(case), hw, sc, devices=n, parallelism={"data": n},
                         fused_attention=case.fused_attention)
    return float(r.extra["communication_time_s"])


def _generate(case: Case, hw, extra: dict | None = None) -> Prediction:
    """Prefill + decode through :func:`simulator.generate` (decode step time is close to affine in
    the cache length: three sampled positions, interpolated), on one device or ``case.devices``."""
    n_in, n_out = case.generate
    target, where = _where(case, hw, extra)
    g = generate(_workload(case), target, batch_size=case.batch, prompt_len=n_in, output_len=n_out,
                 precision=case.precision, weight_precision=case.weight_precision,
                 fused_attention=case.fused_attention, stack=case.stack,
                 decode_samples=3 if n_out > 2 else None, **where)
    metric = case.served_metric or case.row.metric
    value = {"ttft_ms": g.ttft_s * 1e3, "latency_ms": g.ttft_s * 1e3, "itl_ms": g.tpot_s * 1e3,
             "tokens_per_s_per_gpu": g.tokens_per_s / max(1, case.devices)}.get(metric, g.tokens_per_s * case.scale)
    bound = g.bottleneck["decode"] if n_out > 1 else g.bottleneck["prefill"]
    return Prediction(value, g.total_time_s, bound, g.average_power_w)


def _serve(case: Case, hw, extra: dict | None) -> Prediction:
    """Continuous batching at saturation: every request queued at the start, at most
    ``case.saturated[0]`` in flight (KV cache permitting), through :func:`simulator.serve`."""
    n_in, n_out = case.generate
    limit, requests = case.saturated
    target, where = _where(case, hw, extra)
    budget = {"max_prefill_tokens": case.max_prefill_tokens} if case.max_prefill_tokens else {}
    r = serve(_workload(case), target, arrival="constant", rate_per_s=1e9, requests=requests,
              batching="continuous", max_batch_size=limit, precision=case.precision, prompt_len=n_in,
              output_len=n_out, stack=case.stack, **budget, **where)
    tokens = r.summary["tokens_per_s"]
    value = tokens / case.devices if case.served_metric == "tokens_per_s_per_gpu" else tokens
    if case.served_metric == "itl_ms":
        value = r.summary["tpot_mean_s"] * 1e3  # the mean time per output token after the first
    return Prediction(value, r.summary["duration_s"], "serving", r.summary["average_power_w"])


def _dpu_end_to_end(case: Case, hw) -> Prediction:
    """A Vitis AI runner row on a DPU board: ``case.host_threads`` host threads feeding its DPU cores
    (:func:`simulator.run.dpu_board.end_to_end`); latency rows read one request's time."""
    from simulator.run.dpu_board import end_to_end
    from simulator.run.graphs import build_graph

    wl = _workload(case)
    sc = _scenario(case, batch=case.batch)
    r = end_to_end(wl, hw, sc, threads=case.host_threads, graph=build_graph(wl, sc.with_(batch_size=1))[1],
                   board_run=lambda n: run_scenario(wl, hw, sc.with_(batch_size=n)))
    e2e = r.extra["end_to_end"]
    value = e2e["latency_s"] * 1e3 if case.row.metric == "latency_ms" else r.summary["throughput_samples_per_s"]
    return Prediction(value, r.summary["step_time_s"], r.summary["bottleneck"], r.summary["average_power_w"])


def _collective(case: Case) -> Prediction:
    op, nbytes = case.collective
    r = collective_benchmark(case.system, collective=op, nbytes=nbytes, devices=case.devices)
    return Prediction(r["busbw_gbs"], r["time_s"], "interconnect", 0.0)


def _where(case: Case, hw, extra: dict | None) -> tuple[object, dict]:
    """(hardware, keyword arguments) placing a case: one device (its spec, what-ifs applied), the
    device spec over its own links (``devices``, ``parallelism``), or the row's system with the
    device's what-ifs (the row's overrides and the calibration trial ``extra``) as ``device.``
    overrides, so calibration trials reach clusters too."""
    if case.devices <= 1:
        return hw, {}
    layout = {"devices": case.devices, "parallelism": case.parallelism}
    if case.system == case.hardware:
        return hw, layout
    changes = {**dict(case.overrides), **(extra or {})}
    over = {**{f"device.{k}": v for k, v in changes.items()}, **dict(case.system_overrides)}
    return case.system, {**layout, "overrides": over or None}


def _cluster(case: Case, hw, extra: dict | None) -> Prediction:
    """A training step of the case's layout on its system (public :func:`simulator.simulate`)."""
    target, where = _where(case, hw, extra)
    r = simulate(_workload(case), target, mode="training", batch_size=case.batch, seq_len=case.seq_len,
                 image_size=case.image_size, precision=case.precision, optimizer=case.optimizer,
                 optimizer_tensors=case.optimizer_tensors, grad_clip=case.grad_clip,
                 checkpointing=case.checkpointing, fused_attention=case.fused_attention,
                 microbatches=case.microbatches, **where)
    if not r.fits_in_memory:
        raise SimulatorError(f"the layout does not fit: peak {r.peak_memory_bytes / 2**30:.1f} GiB per device")
    step = r.step_time_s
    metric = case.row.metric
    if case.mlperf_eval:
        step = _mlperf_block_step_s(case, step, target, where)
    if metric == "tflops_per_gpu":
        wl = _workload(case)
        value = megatron_model_flops(wl.params, case.batch, case.seq_len) / step / case.devices / 1e12
    elif metric in ("tflops_per_chip", "mfu"):
        value = maxtext_model_flops(_workload(case).params, case.batch, case.seq_len) / step / case.devices
        value = value / matrix_flops_per_s(hw, Precision.BF16) if metric == "mfu" else value / 1e12
    elif metric == "step_time_s":
        value = step
    elif metric == "tokens_per_s":
        value = case.batch * case.seq_len / step
    else:
        value = case.batch / step
    return Prediction(value, step, r.bottleneck, r.average_power_w)


def _mlperf_block_step_s(case: Case, step: float, target, where: dict) -> float:
    """Time per training step of an MLPerf block that ends in an evaluation pass: the block's steps
    plus a forward pass over the eval samples (same layout, eval batch), spread over those steps."""
    block_tokens, samples, eval_batch = case.mlperf_eval
    steps = block_tokens / (case.batch * case.seq_len)
    e = simulate(_workload(case), target, mode="inference", batch_size=eval_batch, seq_len=case.seq_len,
                 precision=case.precision, weight_precision=case.weight_precision,
                 fused_attention=case.fused_attention, microbatches=1, **where)
    return step + -(-samples // eval_batch) * e.step_time_s / steps


# mamf-finder's exhaustive search sweeps M, N and K over 0..20480 in steps of 256 and reports the
# fastest shape it met (stas00/ml-engineering compute/accelerator/benchmarks/README.md, "super long
# exhaustive search"); the model is swept over the same range on a coarser lattice to keep the search
# at ~1,600 op costs per row. The model's maximum lies at the largest shapes (fill and launch amortised),
# which the lattice contains.
MAMF_SWEEP = (1024, 20480, 1024)
MAMF_SWEEP_K = (4096, 8192, 16384, 20480)


def mamf_shapes(reported: tuple[int, int, int]) -> list[tuple[int, int, int]]:
    """Shapes (M, N, K) a "max achievable" row is predicted over: the shape the measurement reported
    plus mamf-finder's sweep range on a coarser lattice.

    The measurement is a maximum over shapes, and the shape where the real chip peaked is where its
    own quirks (clock boost, tiling heuristics, cache luck) were kindest; the model's maximum is over
    the same range, wherever its own wave and tile quantisation is kindest.

    Example:
        >>> s = mamf_shapes((1280, 4096, 12032))
        >>> s[0], len(s), (20480, 20480, 20480) in s
        ((1280, 4096, 12032), 1601, True)
    """
    lo, hi, step = MAMF_SWEEP
    dims = range(lo, hi + 1, step)
    return [reported] + [(m, n, k) for m in dims for n in dims for k in MAMF_SWEEP_K]


def best_gemm_shape(case: Case, hw) -> tuple[int, int, int, int]:
    """(m, n, k, count) of :func:`mamf_shapes` with the highest modelled FLOP rate on ``hw`` (one op's
    cost, the same roofline, overhead and power cap the scenario run applies)."""
    key = (hw.model_dump_json(), case.precision, case.gemm)  # calibration re-asks with other efficiencies
    if key not in _BEST_SHAPES:
        if len(_BEST_SHAPES) >= 1024:  # a calibration run asks a few hundred questions; keep it bounded
            _BEST_SHAPES.clear()
        from simulator.cost.dispatch import device_numerics, op_cost
        from simulator.units import Precision

        numerics = device_numerics(hw, Precision(case.precision))
        m, n, k, count = case.gemm

        def rate(shape):
            op = _gemm_op(shape[0], shape[1], shape[2], count)
            return op.flops / op_cost(op, hw, numerics).duration_s

        _BEST_SHAPES[key] = (*max(mamf_shapes((m, n, k)), key=rate), count)
    return _BEST_SHAPES[key]


_BEST_SHAPES: dict[tuple, tuple[int, int, int, int]] = {}


def _gemm_op(m: int, n: int, k: int, count: int, c: tuple[str, bool] = ("", False)):
    """One GEMM row as an op: a weight GEMM when single, a batch of activation GEMMs otherwise; ``c``
    its C/D format when wider than the inputs ("fp32": 4 bytes) and whether C is read (beta != 0)."""
    op = O.matmul("gemm", batch=count, m=m, k=k, n=n, bias=False, has_weight=count == 1)
    attrs = ((O.OUTPUT_FORMAT, c[0]),) if c[0] else ()
    attrs += ((O.OUTPUT_READ, True),) if c[1] else ()
    return op.renamed(op.name, attrs=op.attrs + attrs) if attrs else op


# ``extra`` key of a trial value of the row's stack's per-kernel gap (``kernel_overhead_us`` of
# stacks/*.yaml), which the stack puts in place of the device family's ``efficiency.op_overhead_us``:
# validation.calibrate fits it on the stack's rows as it fits a device's efficiency keys
STACK_GAP = "stack.kernel_overhead_us"


def with_stack_gap(case: Case, extra: dict | None) -> tuple[Case, dict]:
    """``case`` under its stack with ``extra[STACK_GAP]`` as the stack's per-kernel gap (when given),
    and the device overrides left in ``extra``.

    Example:
        >>> c = Case(row=None, hardware="nvidia-h100-sxm", kind="gpu", family="nvidia-datacenter",
        ...          task="model", category="latency", stack="tensorrt-llm-0.6")
        >>> c2, rest = with_stack_gap(c, {STACK_GAP: 6.0, "efficiency.compute": 0.7})
        >>> c2.stack.kernel_overhead_us, rest
        (6.0, {'efficiency.compute': 0.7})
        >>> with_stack_gap(c, None)[0] is c
        True
    """
    rest = dict(extra or {})
    gap = rest.pop(STACK_GAP, None)
    if gap is None:
        return case, rest
    return replace(case, stack=load_stack(case.stack).model_copy(update={"kernel_overhead_us": float(gap)})), rest


def predict(case: Case, *, extra: dict | None = None, dispatch_us: float | None = None) -> Prediction:
    """Predicted value of ``case.row.metric``; ``dispatch_us`` overrides the stack's host time per op,
    ``extra[STACK_GAP]`` its per-kernel gap.

    Raises:
        SimulatorError: the simulation itself refuses (reported as unexpressible by the harness).
    """
    case, extra = with_stack_gap(case, extra)
    hw = hardware_for(case, extra)
    metric = case.row.metric
    if case.task == "gemm":
        m, n, k, count = best_gemm_shape(case, hw) if case.gemm_sweep else case.gemm
        op = _gemm_op(m, n, k, count, case.gemm_c)
        r = run_scenario(_one_op_workload("gemm", op, (count, m, k)), hw, make_scenario(precision=case.precision))
        t = r.summary["step_time_s"]
        return Prediction(2.0 * m * n * k * count / t / 1e12, t, r.summary["bottleneck"], r.summary["average_power_w"])
    if case.task == "stream":
        nbytes, reads = case.stream
        if reads == 0:
            op = O.reduce_sum("reduce", elems_in=int(nbytes / 4), elems_out=1)
        else:
            op = O.elementwise("stream", elems=int(nbytes / (4 * (reads + 1))), inputs=reads, flops_per_elem=float(reads - 1))
        r = run_scenario(_one_op_workload("stream", op, (1,)), hw, make_scenario(precision="fp32"))
        t = r.summary["step_time_s"]
        return Prediction(nbytes / t / 1e9, t, r.summary["bottleneck"], r.summary["average_power_w"])
    if case.task == "generate":
        return _generate(case, hw, extra)
    if case.task == "serve":
        return _serve(case, hw, extra)
    if case.task == "collective":
        return _collective(case)
    if case.task == "cluster":
        return _cluster(case, hw, extra)
    if case.host_threads is not None:
        return _dpu_end_to_end(case, hw)
    t, r = _step(case, hw, dispatch_us=dispatch_us)
    if case.scale > 1 and case.mode == "training":
        t += _exposed_gradient_sync_s(case, hw)
    power = r.summary["average_power_w"]
    if case.task == "power" or metric == "watts":
        return Prediction(power * case.scale, t, r.summary["bottleneck"], power)
    if metric in ("latency_ms", "ttft_ms"):
        return Prediction(t * 1e3, t, r.summary["bottleneck"], power)
    if case.latency_bound_s:
        # Poisson arrivals at ``scale`` instances that each serve a batch in t: the rate whose p99 meets the bound
        rate = max_rate_under_p99(int(case.scale), t, case.latency_bound_s)
        return Prediction(rate * case.batch, t, r.summary["bottleneck"], power)
    return Prediction(case.batch * case.accumulation * case.scale / t, t, r.summary["bottleneck"], power)


class Predictor:
    """:func:`validation.predict.predict` with a memory: a fit evaluates the same (row, parameters)
    pair many times (grid points, bracketing, and every cross-validation fold that leaves a family's
    evidence unchanged), and each evaluation is a full simulation. Refusals are remembered too.
    """

    def __init__(self) -> None:
        self._memo: dict[tuple, object] = {}

    def __call__(self, case: Case, *, extra: dict | None = None,
                 dispatch_us: float | None = None) -> Prediction:
        key = (case.row.id, json.dumps(extra or {}, sort_keys=True, default=str), dispatch_us)
        if key not in self._memo:
            try:
                self._memo[key] = predict(case, extra=extra, dispatch_us=dispatch_us)
            except SimulatorError as exc:
                self._memo[key] = exc
        out = self._memo[key]
        if isinstance(out, SimulatorError):
            raise out
        return out
