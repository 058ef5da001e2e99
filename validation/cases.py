"""What a measurement row becomes: a :class:`Case` (what to simulate and how to turn the result into
the row's metric) or an :class:`Unexpressible` naming the reason. Nothing is dropped silently.
"""
from __future__ import annotations

from dataclasses import dataclass

from .rows import Row

# Data-parallel rows up to one node (8 devices) are simulated as n independent devices; beyond a
# node they run as a system spec in the cluster engine (validation.cluster_rows).
MAX_DP_DEVICES = 8

# MLPerf BERT-Large runs SQuAD v1.1 samples at their own lengths (NVIDIA's TensorRT harness and
# Intel's, with variable-length kernels); the length distribution is bundled with its source
SQUAD_LENGTHS = "squad-v1.1-bert-384"


@dataclass(frozen=True)
class Case:
    """A row expressed as a simulation.

    ``task``: ``model`` (a zoo workload step), ``gemm`` (one matmul), ``stream`` (one element-wise
    copy-like op), ``generate`` (prefill + decode steps of an LLM, on ``devices`` devices),
    ``power`` (average power of a proxy step), ``collective`` (one nccl-tests style collective) or
    ``cluster`` (a training step of a parallel layout over a system's nodes) or ``serve``
    (continuous batching at saturation, :func:`simulator.serve`). ``scale`` multiplies
    per-device throughput (data-parallel rows within a node).
    """

    row: Row
    hardware: str
    kind: str
    family: str
    task: str
    category: str
    workload: str = ""
    # changes to the zoo workload's parameters for this row (a deployment's per-component formats)
    workload_params: tuple[tuple[str, object], ...] = ()
    mode: str = "inference"
    precision: str = "bf16"
    weight_precision: str | None = None
    batch: int = 1
    seq_len: int | None = None
    image_size: int | None = None
    scale: float = 1.0
    accumulation: int = 1
    optimizer: str = "adam"
    optimizer_tensors: int = 0  # > 0: the framework updates tensor by tensor (simulate's optimizer_tensors)
    grad_clip: bool = False
    overrides: tuple[tuple[str, object], ...] = ()
    gemm: tuple[int, int, int, int] | None = None      # m, n, k, count
    gemm_sweep: bool = False                           # a "max achievable" row: the best over a shape sweep
    gemm_c: tuple[str, bool] = ("", False)             # C/D format when not the inputs' ("fp32"), C read (beta != 0)
    stream: tuple[float, int] | None = None            # bytes moved per pass, tensors read (1 or 2)
    generate: tuple[int, int] | None = None            # input tokens, output tokens
    stack: str = "default"                             # software stack (stacks/*.yaml) the row ran under
    lengths: str = ""                                  # a dataset's sequence-length distribution, run unpadded
    logits: str = "all"                                # "last": LLM prefill computes one position's logits
    fused_attention: bool = True                       # FlashAttention-style kernel (not in 2021 eager stacks)
    # multi-device rows (validation.cluster_rows): devices, the system spec or device they run on,
    # the parallel layout ("dp=48,tp=8,pp=6,zero=1"), micro-batches per replica, recompute policy
    devices: int = 1
    system: str = ""
    parallelism: str = ""
    microbatches: int | None = None
    checkpointing: str = "none"
    collective: tuple[str, float] | None = None        # operation, bytes per rank
    served_metric: str = ""                            # generate rows: ttft_ms, itl_ms, tokens_per_s(_per_gpu)
    saturated: tuple[int, int] | None = None           # serve rows: max requests in flight, requests
    max_prefill_tokens: int | None = None              # serve rows: prompt tokens admitted per iteration
    system_overrides: tuple[tuple[str, object], ...] = ()  # changes to the system spec (a slice's size)
    # MLPerf blocks that end in an evaluation: (tokens per block, eval samples, eval global batch)
    mlperf_eval: tuple[int, int, int] | None = None
    host_threads: int | None = None                    # DPU rows: Vitis AI runner threads (None: DPU only)
    latency_bound_s: float | None = None               # MLPerf Server rows: p99 bound the ``scale`` instances meet
    # False: the row is scored (in-sample, cross-validated) but is no evidence for the efficiency fits:
    # workloads whose rows are scored with the parameters fitted on the others (validation.diffusion_rows)
    fit_evidence: bool = True
    assumptions: tuple[str, ...] = ()

    @property
    def eager(self) -> bool:
        """The row's stack dispatches op by op from the host (its per-op time is a fit target)."""
        from simulator.spec.stack import load_stack

        return load_stack(self.stack).host_dispatch_us > 0


@dataclass(frozen=True)
class Unexpressible:
    """A row the simulator cannot express yet, and why."""

    row: Row
    reason: str
    kind: str = "?"


def refuse(row: Row, reason: str, kind: str = "?") -> Unexpressible:
    return Unexpressible(row=row, reason=reason, kind=kind)
