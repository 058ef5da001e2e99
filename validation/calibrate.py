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
   together with ``min_kernel_cycles``, each kernel's busy-time floor in SM cycles
   (:func:`validation.fit_overhead.joint_fit`);
   for the runtimes that run a compiled graph as one program per request (:data:`REQUEST_GROUPS`) the
   fixed time per request (``request_overhead_us``) instead, from the same kind of rows;
4. the host time per op (``host_dispatch_us``) of each eager software stack (``stacks/*.yaml``:
   torch-eager, tf-graph...), from that stack's batch-1 latency rows.

Each 1-D fit minimises the capped log-space loss of :mod:`simulator.fit` by a grid then a
golden-section search; a stage whose rows all sit beyond the loss's cap whatever the value identifies
nothing (:func:`simulator.fit.identified`) and is left as it is. The shipped parameters are fitted on every expressible row; the
validation's headline figures come from fits that leave each source document out
(:mod:`validation.crossval`).

This module holds what the fits read (each stage's bounds, which rows are evidence for which stage, the
runtime groups) and the command line; the fits are :mod:`validation.fit` and the modules it names, the
writing into the spec files :mod:`validation.spec_writer`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from simulator.errors import SimulatorError
from simulator.fit import BOUNDS as FIT_BOUNDS
from simulator.spec.loader import SPEC_ROOT, catalogue
from simulator.spec.stack import STACK_ROOT

from .mapping import kinds
from .predict import Predictor
from .rows import Case, family_of
from .spec_writer import apply_block, apply_energy, apply_stack, apply_stack_gap, efficiency_block, energy_cap

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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m validation.calibrate", description=__doc__.splitlines()[0])
    ap.add_argument("--apply", action="store_true", help="write efficiency blocks into hardware_specs/")
    ap.add_argument("--efficiency-only", action="store_true", help="with --apply: leave power blocks alone")
    ap.add_argument("--families", help="comma-separated families to fit (default: all; calibration.json is then "
                                       "left as it is)")
    args = ap.parse_args(argv)
    # imported here, not at the top: the fits read this module's tables, so the tables stay importable
    # (by validation.crossval and the fit modules) without the fit machinery
    from .fit import fit_all

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
