"""What each calibration stage reads: its parameter bounds, which rows are evidence for it, and which
families share a fitted overhead (the tables :mod:`validation.fit`, :mod:`validation.fit_overhead`,
:mod:`validation.fit_stacks` and :mod:`validation.crossval` fit by; :mod:`validation.calibrate` is the
command line over them)."""
from __future__ import annotations

from simulator.errors import SimulatorError
from simulator.fit import BOUNDS as FIT_BOUNDS

from .predict import Predictor
from .cases import Case

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
# NVIDIA's MLPerf harness itself runs without graphs where a round's config sets use_graphs = False
# (Orin BERT SingleStream in v2.0 and v2.1: BERTCoreVS::infer calls enqueueV2 per query;
# stacks/tensorrt-mlperf-stream.yaml).
# The gap of such a stack is not published as a number: it is fitted on the stack's own rows.
# Each stream stack -> the runtime it is a release of: a fold without a stack's own rows pools only the
# same runtime's other releases (TensorRT-LLM 0.6 and ~1.0), never NVIDIA's MLPerf harness.
STREAM_STACKS = {"tensorrt-llm-0.6": "tensorrt-llm", "tensorrt-llm": "tensorrt-llm",
                 "tensorrt-mlperf-stream": "tensorrt-mlperf"}
# A GPU runtime group with rows of a stack that pays a fixed time per query (stacks/*.yaml
# per_query_time: NVIDIA's MLPerf harness) fits that time (GPU_FIXED, the device's request_overhead_us)
# with the kernel floor on its batch-1 rows (fit_overhead.fit_kernel_floor), the gap between kernels
# held at a CUDA-graph replay's ~0.5 us (the lower bound of op_overhead_us, where the joint fit of gap
# and floor put it every time; the harness replays each engine as a graph): with one per-kernel time
# alone, ResNet-50 (~50 kernels) and BERT (~170) cannot both fit, and the floor ResNet-50 sets made every
# A100 BERT SingleStream row 8-12 % slow. Paid only where the stack says so, so bandwidth tests, GEMMs,
# training steps and decode iterations on the same devices keep their times.
GPU_GRAPH_GAP_US = 0.5
GPU_FIXED = "request_overhead_us"


def per_query(stack: str) -> bool:
    """Whether a stack pays a fixed time per query (``per_query_time``).

    Example:
        >>> per_query("tensorrt-mlperf"), per_query("neuron"), per_query("tensorrt"), per_query("torch-eager")
        (True, True, False, False)
    """
    from simulator.spec.stack import load_stack

    return load_stack(stack).per_query_time


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
        extra = {"efficiency.op_overhead_us": Efficiency().op_overhead_us, "efficiency.request_overhead_us": 0.0}
        if c.kind == "gpu" and per_query(c.stack):
            # a per-query row informs the fixed times if the floor can set it anywhere in the floor's
            # range (at its top): the INT8 BERT SingleStream rows are compute-bound without a floor, yet
            # at the fitted one every kernel of theirs sits on it, so with ResNet-50's rows (a third of
            # the kernels) they are what tells the per-query time from the per-kernel floor
            extra["efficiency.min_kernel_cycles"] = BOUNDS["min_kernel_cycles"][1]
        elif c.kind == "gpu":  # the reference is the schema's: no per-kernel floor either
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
