"""Fit the efficiency parameters of each device family on the published rows of validation/data/.

Usage::

    python -m validation.calibrate                 # fit, print the proposed efficiency blocks
    python -m validation.calibrate --apply         # also write them into hardware_specs/*.yaml

Staged, so every parameter is pinned by the evidence that is about it:

1. ``memory``: the achievable fraction of main-memory bandwidth, from bandwidth rows (BabelStream,
   bandwidthTest, reduction kernels);
2. ``compute``: the achievable fraction of matrix peak, from "max achievable" GEMM rows (MAMF)
   together with the family's large-batch model rows (inference, training, LLM generation,
   multi-node training): the GEMM rows alone would credit every kernel with MAMF-level efficiency;
3. ``op_overhead_us``: per-kernel launch / dispatch time, from batch-1 latency rows; on GPUs fitted
   together with ``min_kernel_cycles``, each kernel's busy-time floor in SM cycles (:func:`joint_fit`);
   for the runtimes that run a compiled graph as one program per request (:data:`REQUEST_GROUPS`) the
   fixed time per request (``request_overhead_us``) instead, from the same kind of rows;
4. the host time per op (``host_dispatch_us``) of each eager software stack (``stacks/*.yaml``:
   torch-eager, tf-graph...), from that stack's batch-1 latency rows.

Each 1-D fit minimises the capped log-space loss of :mod:`simulator.fit` by a grid then a
golden-section search; a stage whose rows all sit beyond the loss's cap whatever the value identifies
nothing (:func:`simulator.fit.identified`) and is left as it is. The shipped parameters are fitted on every expressible row; the
validation's headline figures come from fits that leave each source document out
(:mod:`validation.crossval`).
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

from simulator.errors import SimulatorError
from simulator.fit import BOUNDS as FIT_BOUNDS
from simulator.fit import ROBUST_CAP, golden, identified, robust_loss  # noqa: F401 - re-exported for validation.crossval
from simulator.spec.loader import SPEC_ROOT, catalogue
from simulator.spec.stack import STACK_ROOT

from .mapping import kinds, map_rows
from .predict import STACK_GAP, Predictor
from .rows import Case, assign_splits, family_of, read_calibration

OUT = Path(__file__).resolve().parent / "calibration.json"
# the search and the robust loss are the library's own (simulator/fit.py), shared with simulator.calibrate
BOUNDS = {k: v for k, v in FIT_BOUNDS.items() if k != "vector"}
# a GPU kernel's busy-time floor in SM cycles (GpuEfficiency.min_kernel_cycles): from a null kernel's
# ~1.5 us at 2 GHz (a few thousand cycles of dispatch and completion) to ~15 us at 2 GHz, beyond which
# a batch-1 ResNet-50 (~70 kernels) alone would exceed every measured SingleStream latency
BOUNDS["min_kernel_cycles"] = (1000.0, 30000.0)
# a stack's own per-kernel gap (stacks/*.yaml kernel_overhead_us) when it launches each kernel from the
# host on a stream: from a CUDA-graph replay's ~0.5 us between kernels (NVIDIA's CUDA Graphs blog) to
# 30 us, several times a cudaLaunchKernel call's host cost
BOUNDS["kernel_overhead_us"] = (0.5, 30.0)
# Stacks whose runtime launches every kernel from the host, one by one on a stream, while the device
# families' gap (op_overhead_us, with the kernel floor) is fitted on NVIDIA's MLPerf harness, which
# replays each engine as a CUDA graph (tensorrt-mlperf: SingleStreamGPUBaseConfig use_graphs = True,
# github:mlcommons/inference_results_v3.0@1948f9b5 closed/NVIDIA/configs/{resnet50,bert}/SingleStream/
# __init__.py; harness_bert/bert_core_vs.cc cudaGraphLaunch). TensorRT-LLM 0.5 / 0.6's
# gptSessionBenchmark runs GptSession with CUDA graphs only under the opt-in flag --enable_cuda_graph
# (github:NVIDIA/TensorRT-LLM@027cd518 benchmarks/cpp/gptSessionBenchmark.cpp, session.setCudaGraphMode).
# TensorRT-LLM ~1.0's PyTorch backend (trtllm-bench) replays a CUDA graph for generation-only
# iterations and runs context / mixed iterations eagerly (stacks/tensorrt-llm.yaml), so its one
# gap stands for the mix of both over a throughput run.
# The gap of such a stack is not published as a number: it is fitted on the stack's own rows.
STREAM_STACKS = ("tensorrt-llm-0.6", "tensorrt-llm")
# the joint search's grid and golden iterations per dimension (each point is a whole 1-D fit inside)
JOINT_GRID, JOINT_ITERS = 9, 10


def _err(cases: list[Case], extra: dict, dispatch_us: float | None, predictor: Predictor) -> float:
    errs = []
    for c in cases:
        try:
            p = predictor(c, extra=extra, dispatch_us=dispatch_us)
        except SimulatorError:
            continue
        errs.append((p.value, c.row.value))
    return robust_loss(errs)


# a batch-1 row informs the per-op overhead only if most of its time is per-op overhead or host
# dispatch at the schema's default overhead (a fixed reference, so the choice does not depend on the
# last fit): a 128-token LLM prefill is a latency row too, but its time is GEMMs
OVERHEAD_BOUNDS = ("overhead", "host")


def _cpu_decode(c: Case) -> bool:
    """A batch-1 LLM decode on a CPU: it streams the weights from DRAM, so it is bandwidth evidence."""
    return c.kind == "cpu" and c.task == "generate" and c.batch == 1


def _overhead_bound(c: Case, predictor: Predictor | None) -> bool:
    from simulator.spec.models import Efficiency

    if predictor is None:
        return True
    try:
        extra = {"efficiency.op_overhead_us": Efficiency().op_overhead_us}
        if c.kind == "gpu":  # the reference is the schema's: no per-kernel floor either
            extra["efficiency.min_kernel_cycles"] = 0.0
        return predictor(c, extra=extra).bottleneck in OVERHEAD_BOUNDS
    except SimulatorError:
        return False


def _dpu_one_image(c: Case) -> bool:
    """A Vitis AI runner row with one host thread on a DPU board: one image (or one batch) passes its
    layers one after another, each DPU layer a separate instruction stream whose fetch, weight load
    and pipeline fill and drain do not overlap the next layer's (PG338, "DPU Architecture": the
    instruction scheduler fetches and decodes each layer's instructions from off-chip memory), so the
    row is evidence for the per-layer time even where the MACs dominate it. Without these rows the
    family's ``op_overhead_us`` is identified by nothing, and every leave-one-source-out fold falls
    back to the schema's default while the shipped value keeps an old fit's."""
    return c.kind == "fpga" and c.host_threads == 1


def _stage_rows(cases: list[Case], stage: str, predictor: Predictor | None = None) -> list[Case]:
    cases = [c for c in cases if c.fit_evidence]
    if stage == "memory":
        # CPU families publish no bandwidth benchmarks: their batch-1 decode rows are the evidence
        return [c for c in cases if c.category == "stream"] or [c for c in cases if _cpu_decode(c)]
    if stage == "compute":
        mamf = [c for c in cases if c.gemm_sweep]
        big = [c for c in cases if c.category in ("inference", "training", "llm", "scaleout") and not _cpu_decode(c)]
        # edge devices only publish batch-1 latency: there it is the evidence for compute
        return (mamf + big) or [c for c in cases if c.category == "latency"]
    if stage == "collective_compute_share":
        # multi-chip TPU training: the weight gathers and gradient reductions overlapped with the layers
        return [c for c in cases if c.kind == "tpu" and c.category == "scaleout" and c.mode == "training"]
    if stage == "request_overhead_us":
        # a batch-1 request of a whole-graph program: its fixed time is a large share of it
        return [c for c in cases if c.category == "latency" and not c.eager and c.task == "model"]
    if stage == "op_overhead_us":
        big = [c for c in cases if c.category in ("gemm", "inference", "training", "llm")]
        return [c for c in cases if c.category == "latency" and not c.eager
                and (_dpu_one_image(c) or _overhead_bound(c, predictor))] if big else []
    return []


def fit_family(cases: list[Case], dispatch_us: float | None, predictor: Predictor,
               stages: tuple[str, ...] = ("memory", "compute", "op_overhead_us")) -> dict:
    """Staged fit of one family's parameters on ``cases``; ``fitted_to`` lists the row ids used."""
    params: dict[str, float] = {}
    used: dict[str, list[str]] = {}
    for stage in stages:
        rows = _stage_rows(cases, stage, predictor)
        if not rows:
            continue
        lo, hi = BOUNDS[stage]

        def f(x, stage=stage, rows=rows):
            return _err(rows, {**{f"efficiency.{k}": v for k, v in params.items()}, f"efficiency.{stage}": x},
                        dispatch_us, predictor)

        if not identified(f, lo, hi):
            continue  # every row off by more than the cap at any value: no evidence, the spec's value stays
        params[stage] = golden(f, lo, hi)
        used[stage] = sorted(c.row.id for c in rows)
    return {"params": params, "fitted_to": used}


POWER_LIMITED = 0.97  # a max-achievable GEMM runs at (just under) the device's power limit


def _energy_overrides(case: Case, scale: float, params: dict) -> dict:
    from simulator.spec.loader import load_hardware

    hw = load_hardware(case.hardware)
    extra = {f"efficiency.{k}": v for k, v in params.items()}
    extra["power.energy_pj_per_flop"] = {k.value: v * scale for k, v in hw.power.energy_pj_per_flop.items()}
    return extra


def fit_energy(cases: list[Case], params: dict, predictor: Predictor) -> dict | None:
    """Scale of a family's ``power.energy_pj_per_flop`` (all precisions together, keeping the spec's
    ratios) so that measured power rows are met and a max-achievable GEMM draws the power limit.

    Power rows (category ``power``): the predicted watts match the measurement. MAMF rows: the
    GEMM's predicted power reaches POWER_LIMITED x TDP (GPUs hold their clocks at the power limit
    in such runs). Each row gives a scale by bisection; the family takes their median.
    """
    from simulator.spec.loader import load_hardware

    scales, used = [], []
    for c in cases:
        if c.category != "power" and not c.gemm_sweep:
            continue
        if any("proxied" in a for a in c.assumptions):
            continue  # a fleet mean over an unknown workload mix cannot pin energy per FLOP
        hw = load_hardware(c.hardware, dict(c.overrides) or None)
        target = c.row.value if c.category == "power" else POWER_LIMITED * hw.power.tdp_w

        def watts(scale, c=c):
            p = predictor(c, extra=_energy_overrides(c, scale, params))
            return p.value if c.category == "power" else p.power_w

        lo, hi = 0.05, 20.0
        if not (watts(lo) <= target <= watts(hi)):
            continue
        for _ in range(30):
            mid = math.sqrt(lo * hi)
            lo, hi = (mid, hi) if watts(mid) < target else (lo, mid)
        scales.append(math.sqrt(lo * hi))
        used.append(c.row.id)
    if not scales:
        return None
    scales.sort()
    return {"scale": round(scales[len(scales) // 2], 3), "fitted_to": used}


# Kernel-launch overhead is a driver / runtime property: families on one vendor's runtime (CUDA and
# TensorRT; the Neuron runtime) share one per-kernel overhead, fitted on all their batch-1 rows.
# Two NVIDIA families fitting it apart had a T4 launch kernels faster than an H100. A CPU's per-op
# cost is the OpenMP runtime's fork/join (simulator.cost.cpu.fork_join_s): Xeon and EPYC share it,
# Emerald Rapids with the other Xeons.
OVERHEAD_FROM = {"nvidia-inference": "nvidia-datacenter", "aws-trainium": "aws-neuron", "amd-epyc": "intel-xeon",
                 "intel-xeon-emr": "intel-xeon"}


def overhead_group(family: str) -> str:
    """The family whose name a family's shared per-kernel overhead is fitted under (itself if none)."""
    return OVERHEAD_FROM.get(family, family)


# Overhead groups whose runtime runs the compiled graph as one device program per request (the stack
# sets kernel_overhead_us: no op pays a launch): their fixed time is per request, not per op. AWS
# Neuron: one NEFF per nrt_execute (stacks/neuron.yaml).
REQUEST_GROUPS = frozenset({"aws-neuron"})


def overhead_stage(family: str) -> str:
    """The fixed-time parameter a family's batch-1 latency rows identify.

    Example:
        >>> overhead_stage("aws-trainium"), overhead_stage("nvidia-datacenter")
        ('request_overhead_us', 'op_overhead_us')
    """
    return "request_overhead_us" if overhead_group(family) in REQUEST_GROUPS else "op_overhead_us"


def fit_overhead(rows: list[Case], params: dict[str, dict[str, float]], predictor: Predictor,
                 param: str = "op_overhead_us", cycles: float | None = None) -> float:
    """One ``param`` (a fixed time: ``op_overhead_us`` or ``request_overhead_us``) for ``rows`` of
    several families, each row with its family's other parameters (``params``) held (and a GPU
    kernel floor of ``cycles``, when given)."""
    def f(x: float) -> float:
        pairs = []
        for c in rows:
            extra = {f"efficiency.{k}": v for k, v in params.get(c.family, {}).items()}
            if cycles is not None:
                extra["efficiency.min_kernel_cycles"] = cycles
            try:
                pairs.append((predictor(c, extra={**extra, f"efficiency.{param}": x}).value, c.row.value))
            except SimulatorError:
                continue
        return robust_loss(pairs)
    return golden(f, *BOUNDS[param])


def joint_fit(loss, inner: str = "op_overhead_us", outer: str = "min_kernel_cycles") -> tuple[float, float] | None:
    """(inner, outer) minimising ``loss(inner, outer)``: a golden search over ``outer`` whose every
    point is the golden fit of ``inner`` at that value; None when no pair identifies anything.

    The two are fitted together because batch-1 rows trade one against the other: a per-kernel
    floor in cycles lengthens every small kernel, more on a lower-clocked GPU, a gap in
    microseconds every kernel alike; fitted in turn, the first would take all of the time.

    Example:
        >>> f = lambda x, y: (math.log(x / 3.0)) ** 2 + (math.log(y / 8000.0)) ** 2
        >>> x, y = joint_fit(f)      # JOINT_ITERS golden steps: within 0.1 % of the minimum
        >>> round(x, 1), round(y, -2)
        (3.0, 8000)
    """
    def best_inner(y: float) -> float:
        return golden(lambda x: loss(x, y), *BOUNDS[inner], iters=JOINT_ITERS, grid=JOINT_GRID)

    def profile(y: float) -> float:
        return loss(best_inner(y), y)

    if not identified(profile, *BOUNDS[outer], grid=JOINT_GRID):
        return None
    y = golden(profile, *BOUNDS[outer], iters=JOINT_ITERS, grid=JOINT_GRID)
    return best_inner(y), round(y)


def fit_kernel_floor(rows: list[Case], params: dict[str, dict[str, float]],
                     predictor: Predictor) -> tuple[float, float] | None:
    """(``op_overhead_us``, ``min_kernel_cycles``) fitted together on the batch-1 rows of a GPU
    runtime group (:func:`joint_fit`), each row with its family's other parameters held."""
    def loss(x: float, y: float) -> float:
        pairs = []
        for c in rows:
            extra = {f"efficiency.{k}": v for k, v in params.get(c.family, {}).items()}
            extra.update({"efficiency.op_overhead_us": x, "efficiency.min_kernel_cycles": y})
            try:
                pairs.append((predictor(c, extra=extra).value, c.row.value))
            except SimulatorError:
                continue
        return robust_loss(pairs)
    return joint_fit(loss)


def family_stages(cases: list[Case]) -> tuple[str, ...]:
    """The stages fitted for a family with ``cases``: memory and compute; where its rows inform the
    collectives' share of the compute stream, that share, then compute again at it (the two trade
    off on the same rows, so compute is refitted once the share has moved from the shipped value).

    Example:
        >>> family_stages([])
        ('memory', 'compute')
    """
    base = ("memory", "compute")
    return base + ("collective_compute_share", "compute") if _stage_rows(cases, "collective_compute_share") else base


def fit_cases(cases: list[Case], predictor: Predictor | None = None, *,
              families: set[str] | None = None) -> dict:
    """Fit every family with rows among ``cases`` (or only ``families``, with the families sharing
    their overhead), then each eager stack's dispatch time. Memory and compute are fitted per family;
    the per-kernel overhead per runtime group (:data:`OVERHEAD_FROM`)."""
    predictor = predictor or Predictor()
    groups = None if families is None else {overhead_group(f) for f in families}
    fams: dict[str, list[Case]] = {}
    for c in cases:
        if groups is None or overhead_group(c.family) in groups:
            fams.setdefault(c.family, []).append(c)
    out: dict = {"families": {}}
    for fam, cs in sorted(fams.items()):
        cs = [c for c in cs if c.task != "power"]
        out["families"][fam] = fit_family(cs, None, predictor, stages=family_stages(cs))
    params = {f: v["params"] for f, v in out["families"].items()}
    for root in sorted({overhead_group(f) for f in fams}):
        members = [f for f in fams if overhead_group(f) == root]
        stage = overhead_stage(root)
        rows = [c for f in members for c in _stage_rows([c for c in fams[f] if c.task != "power"],
                                                        stage, predictor)]
        if not rows:
            continue
        ids = sorted(c.row.id for c in rows)
        gpu = stage == "op_overhead_us" and all(c.kind == "gpu" for c in rows)
        joint = fit_kernel_floor(rows, params, predictor) if gpu else None
        x = joint[0] if joint else fit_overhead(rows, params, predictor, stage)
        for f in members:
            out["families"][f]["params"][stage] = x
            out["families"][f]["fitted_to"][stage] = ids
            if joint:
                out["families"][f]["params"]["min_kernel_cycles"] = joint[1]
                out["families"][f]["fitted_to"]["min_kernel_cycles"] = ids
    for fam, cs in sorted(fams.items()):
        energy = fit_energy(cs, out["families"][fam]["params"], predictor)
        if energy:
            out["families"][fam]["energy"] = energy
    out["stacks"] = fit_stacks(cases, out["families"], predictor)
    out["stack_gaps"] = fit_stack_gaps([c for c in cases if groups is None or overhead_group(c.family) in groups],
                                       out["families"], predictor)
    return out


def fit_stack_gaps(cases: list[Case], families: dict, predictor: Predictor) -> dict:
    """``kernel_overhead_us`` of each :data:`STREAM_STACKS` stack with rows among ``cases``, fitted on all
    of them with their families' fits applied; a stack whose rows identify nothing is left out."""
    out = {}
    for stack in STREAM_STACKS:
        rows = [c for c in cases if c.stack == stack and c.task != "power"]

        def f(x: float, rows=rows) -> float:
            pairs = []
            for c in rows:
                extra = {f"efficiency.{k}": v for k, v in families.get(c.family, {}).get("params", {}).items()}
                try:
                    pairs.append((predictor(c, extra={**extra, STACK_GAP: x}).value, c.row.value))
                except SimulatorError:
                    continue
            return robust_loss(pairs)

        if rows and identified(f, *BOUNDS["kernel_overhead_us"]):
            out[stack] = {"kernel_overhead_us": golden(f, *BOUNDS["kernel_overhead_us"]),
                          "fitted_to": sorted(c.row.id for c in rows)}
    return out


GENERIC_EAGER = "eager"


def fit_stacks(cases: list[Case], families: dict, predictor: Predictor) -> dict:
    """``host_dispatch_us`` of each eager stack with batch-1 latency rows, the families' fits applied, and
    of the generic ``eager`` stack over all of those rows together."""
    by_stack: dict[str, list[Case]] = {}
    for c in cases:
        if c.eager and c.category == "latency":
            by_stack.setdefault(c.stack, []).append(c)
    # the generic `eager` stack (what a user picks for an unnamed eager framework) is no framework of its
    # own: its host time is the one fit over every named eager stack's latency rows
    if by_stack and GENERIC_EAGER not in by_stack:
        by_stack[GENERIC_EAGER] = [c for rows in by_stack.values() for c in rows]
    out = {}
    for stack, rows in sorted(by_stack.items()):
        def f(x, rows=rows):
            errs = []
            for c in rows:
                fam = families.get(c.family, {}).get("params", {})
                p = predictor(c, extra={f"efficiency.{k}": v for k, v in fam.items()}, dispatch_us=x)
                errs.append(abs(math.log(p.value / c.row.value)))
            return sum(errs) / len(errs)

        out[stack] = {"host_dispatch_us": golden(f, *BOUNDS["dispatch_us"]), "fitted_to": sorted(c.row.id for c in rows)}
    return out


def fit_all(split: str = "all", predictor: Predictor | None = None, families: set[str] | None = None) -> dict:
    """Fit on every expressible calibration row (``split="all"``, what the specs ship) or on the
    fixed split's fit rows only (``split="fit"``); ``families`` restricts the fit to those."""
    items = map_rows(read_calibration())
    splits = assign_splits(items)
    cases = [c for c in items if isinstance(c, Case) and (split == "all" or splits[c.row.id] == split)]
    out = fit_cases(cases, predictor, families=families)
    out["split"] = "every expressible row of validation/data/*.csv" if split == "all" else \
        f"{split} rows of validation.rows.assign_splits"
    return out


# share of the headroom the arithmetic may take at matrix peak (the rest: memory traffic, links)
PEAK_POWER_SHARE = 0.95


def energy_cap(name: str, scale: float) -> tuple[float, float]:
    """(scale to apply, peak-power ratio at the fitted scale) for ``name``.

    The hardware library's convention is that running the matrix peak at any precision needs at
    most the power headroom (TDP - idle - active); PEAK_POWER_SHARE of it is left to the arithmetic. The fitted scale is applied up to that bound; the ratio
    says how far the fit wanted to go beyond it (> 1: the device would throttle at peak).
    """
    from simulator.cost.peaks import matrix_flops_per_s
    from simulator.spec.loader import load_hardware

    hw = load_hardware(name)
    headroom = hw.power.tdp_w - hw.power.idle_w - hw.power.active_w
    ratio = max((e * scale * 1e-12 * matrix_flops_per_s(hw, prec) / headroom
                 for prec, e in hw.power.energy_pj_per_flop.items()), default=0.0)
    applied = scale if ratio <= PEAK_POWER_SHARE else scale * PEAK_POWER_SHARE / ratio
    return round(applied, 3), round(ratio, 2)


def apply_energy(path: Path, scale: float, fitted_to: list[str], *, fitted: float | None = None) -> None:
    """Scale the flow mapping on the ``energy_pj_per_flop:`` line and note the fit in power.source."""
    text = path.read_text(encoding="utf-8")
    m = re.search(r"^(\s*energy_pj_per_flop:\s*)\{([^}]*)\}", text, re.M)
    if not m:
        return
    items = []
    for part in m.group(2).split(","):
        k, v = part.split(":")
        items.append(f"{k.strip()}: {round(float(v) * scale, 3)}")
    text = text[: m.start()] + m.group(1) + "{" + ", ".join(items) + "}" + text[m.end():]
    src = re.compile(r'^(  source: ".*)"\s*$', re.M).search(text, m.start())
    capped = f" (fit wanted x {fitted}; capped so peak-rate dynamic power stays within TDP - idle - active)" \
        if fitted and fitted != scale else ""
    note = (f"; energy_pj_per_flop = previous estimate x {scale}, validation.calibrate on {', '.join(fitted_to)}: "
            f"max-achievable GEMM at the power limit / measured power{capped}")
    if src:
        text = text[: src.end(1)] + note + '"' + text[src.end():]
    path.write_text(text, encoding="utf-8")


# GPU tile fill (efficiency.tile_fill_k) is not refitted by this module: it was chosen on a grid
TILE_FILL_NOTE = ("; tile_fill_k 256: the best of 128/256/384 on the nvidia-datacenter fit split (GPU fit median "
                  "9.6/6.7/8.6 %), shared by every GPU family")


def _set_line(text: str, key: str, line: str, after: str | None = None) -> str:
    """``text`` with its top-level ``key:`` line replaced by ``line``; absent, ``line`` goes after the
    ``after:`` line, else at the end."""
    pattern = rf"^{key}: .*$"
    if re.search(pattern, text, flags=re.M):
        return re.sub(pattern, lambda _: line, text, flags=re.M)
    if after and re.search(rf"^{after}: .*$", text, flags=re.M):
        return re.sub(rf"^({after}: .*)$", lambda m: m.group(1) + "\n" + line, text, count=1, flags=re.M)
    return text.rstrip("\n") + "\n" + line + "\n"


def apply_stack(path: Path, fit: dict, key: str = "host_dispatch_us") -> None:
    """Write a fitted stack field (``host_dispatch_us``, or a stream stack's ``kernel_overhead_us``)
    and the rows it was fitted to into one stack file."""
    text = path.read_text(encoding="utf-8")
    text = _set_line(text, key, f"{key}: {fit[key]}", after="host_dispatch_us")
    note = f'fitted_to: "validation.calibrate {key}: {", ".join(fit["fitted_to"])}"'
    path.write_text(_set_line(text, "fitted_to", note), encoding="utf-8")


def apply_stack_gap(path: Path, fit: dict) -> None:
    """Write a fitted ``kernel_overhead_us`` and its ``fitted_to`` into one stack file."""
    apply_stack(path, fit, "kernel_overhead_us")


def efficiency_block(params: dict, fitted_to: dict, family: str) -> str:
    """YAML text of an ``efficiency:`` block."""
    ids = "; ".join(f"{k} <- {', '.join(v)}" for k, v in fitted_to.items())
    lines = ["efficiency:"]
    for key in ("compute", "vector", "memory", "op_overhead_us", "request_overhead_us", "collective_compute_share",
                "tile_fill_k", "min_kernel_cycles"):
        # a per-request time only families that run one program per request fit, a collectives' compute
        # share only families with multi-chip training rows; elsewhere each stays at the schema's 0, unwritten
        if key in params and not (key in ("request_overhead_us", "collective_compute_share") and not params[key]):
            lines.append(f"  {key}: {params[key]}")
    tile = TILE_FILL_NOTE if "tile_fill_k" in params else ""
    lines.append(f'  fitted_to: "validation.calibrate, family {family}, every expressible row of validation/data/'
                 f'*.csv: {ids}{tile}"')
    return "\n".join(lines) + "\n"


def apply_block(path: Path, block: str) -> None:
    """Replace (or append) the top-level ``efficiency:`` block of one YAML file (nothing else changes)."""
    text = path.read_text(encoding="utf-8")
    m = re.search(r"^efficiency:\n(?:[ \t]+.*\n?)*", text, re.M)
    if m:
        text = text[: m.start()] + block + text[m.end():]
    else:
        text = text.rstrip("\n") + "\n" + block
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m validation.calibrate", description=__doc__.splitlines()[0])
    ap.add_argument("--apply", action="store_true", help="write efficiency blocks into hardware_specs/")
    ap.add_argument("--efficiency-only", action="store_true", help="with --apply: leave power blocks alone")
    ap.add_argument("--families", help="comma-separated families to fit (default: all; calibration.json is then "
                                       "left as it is)")
    args = ap.parse_args(argv)
    only = set(args.families.split(",")) if args.families else None
    res = fit_all(families=only)
    if only is None:
        OUT.write_text(json.dumps(res, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    kd = kinds()
    for name, path in sorted(catalogue().items()):
        fam = family_of(name, kd[name])
        if fam not in res["families"]:
            continue
        from simulator.spec.loader import load_hardware

        if res["families"][fam]["params"]:
            current = load_hardware(name).efficiency
            params = {**current.model_dump(exclude={"fitted_to"}), **res["families"][fam]["params"]}
            block = efficiency_block(params, res["families"][fam]["fitted_to"], fam)
            print(f"# {path.relative_to(SPEC_ROOT.parent)}\n{block}")
            if args.apply:
                apply_block(path, block)
        energy = res["families"][fam].get("energy")
        if energy:
            applied, ratio = energy_cap(name, energy["scale"])
            print(f"# energy fitted x{energy['scale']} ({', '.join(energy['fitted_to'])}); peak power / headroom "
                  f"at that scale = {ratio}; applied x{applied}")
            # a scale within 2 % of 1 is the cap itself re-rounded (two-decimal pJ values), not new evidence
            if args.apply and not args.efficiency_only and abs(applied - 1.0) >= 0.02:
                apply_energy(path, applied, energy["fitted_to"], fitted=energy["scale"])
    for stack, fit in res.get("stacks", {}).items():
        print(f"# stacks/{stack}.yaml: host_dispatch_us {fit['host_dispatch_us']} ({', '.join(fit['fitted_to'])})")
        if args.apply:
            apply_stack(STACK_ROOT / f"{stack}.yaml", fit)
    for stack, fit in res.get("stack_gaps", {}).items():
        print(f"# stacks/{stack}.yaml: kernel_overhead_us {fit['kernel_overhead_us']} ({', '.join(fit['fitted_to'])})")
        if args.apply:
            apply_stack_gap(STACK_ROOT / f"{stack}.yaml", fit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
