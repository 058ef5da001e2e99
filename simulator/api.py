"""The public face for one step: load inputs, simulate, describe, and the few spec and validation
helpers the CLI and the explorer need. Argument checks here; the work in :mod:`simulator.run`.

LLM generation and serving live in :mod:`simulator.serving`, sweeps and capacity search in
:mod:`simulator.sweep`; ``simulator/__init__.py`` re-exports all of them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from . import uncertainty
from .cost import peaks
from .calibration import CalibrationResult, calibrate
from .result import SimulationResult
from .run.graphs import build_graph, memory_plan
from .run.step import simulate_step
from .spec.loader import list_hardware, load_hardware, raw_spec, spec_from_dict
from .spec.models import _DeviceBase
from .spec.stack import list_stacks
from .units import parse_precision
from .workload.describe import describe
from .workload.loader import list_workloads, load_workload
from .workload.workload import Workload
from .yamlio import parse_yaml_text

__all__ = ["calibrate", "CalibrationResult", "load_hardware", "load_workload", "simulate", "describe", "list_hardware", "list_workloads",
           "build_graph", "memory_plan", "list_stacks", "peak_rates", "hardware_from_yaml", "hardware_yaml", "validation_band",
]


def simulate(workload: "str | Path | Workload", hardware: "str | Path | _DeviceBase", *, mode: str = "inference",
             batch_size: int | None = None, seq_len: int | None = None, image_size: int | None = None,
             precision: str | None = None, weight_precision: str | None = None, optimizer: str = "adam",
             checkpointing: str = "none", grad_accumulation: int = 1, fused_attention: bool | None = None,
             power_cap_w: float | None = None, seed: int = 0,
             overrides: Mapping[str, Any] | None = None, devices: int | None = None,
             parallelism: Any = None, microbatches: int | None = None,
             symmetric: bool = True, fpga_dataflow: str = "overlay", cold_start: bool = False,
             input_workers: int | None = None, prefetch: int = 2, host: "str | Path | None" = None,
             time_limit_s: float | None = None, stack: str = "default",
             dispatch_us: float | None = None, seq_len_distribution: Any = None,
             packing: str = "unpadded", optimizer_tensors: int = 0,
             grad_clip: bool = False) -> SimulationResult:
    """Simulate one training step or one inference batch of ``workload`` on one ``hardware`` device.

    Args:
        workload: zoo name, path (.yaml/.onnx/.csv) or a loaded :class:`Workload`.
        hardware: catalogue name, path (.yaml/.cfg) or a loaded spec.
        mode: ``"inference"`` (one forward pass) or ``"training"`` (forward, backward, optimizer).
        batch_size, seq_len, image_size: input shape (workload defaults when None).
        precision: compute/activation format (fp32, tf32, fp16, bf16, fp8, int16, int8, int4); None:
            the device's native format (bf16 on an H100 or a TPU, fp16 on a T4, int8 on an FPGA DPU or
            an Edge TPU; see ``accsim show DEVICE``). A format the device lacks runs in its fallback
            (fp8 on an A100 as fp16): ``result.effective_precision`` says what ran.
        weight_precision: stored-weight format for weight-only quantization (defaults to ``precision``).
        optimizer: sgd, momentum, adam, adamw, adafactor (training).
        optimizer_tensors: > 0: each optimizer pass runs as that many kernels, one per parameter tensor
            (optax's tree_map under XLA: 686 for SD 2's UNet); 0: one fused multi-tensor kernel (training).
        grad_clip: global-norm gradient clipping before the update (optax ``clip_by_global_norm``: one more
            read of every gradient, and with ``optimizer_tensors`` one more kernel per tensor; training).
        checkpointing: none, selective, selective-mlp-up, selective-mlp (selective plus the MLP block),
            save-qkv (all but the QKV projections), full (training).
        grad_accumulation: micro-batches per optimizer step (training).
        fused_attention: FlashAttention-style attention (no score matrix in memory); None: the stack's
            choice (fused when it has none).
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
        input_workers: host CPU workers decoding input samples (see :mod:`simulator.run.host_input`);
            None: the host keeps up. ``prefetch``: batches the host may have ready; ``host``: CPU spec
            (default intel-xeon-platinum-8480). A starved device makes ``bottleneck`` ``"host"``.
            On a Vitis AI DPU board it is the runner's host threads instead (normalise, DPU run,
            post-process; on the board's Arm cores when it has them): see :func:`simulator.run.dpu_board.end_to_end`.
        stack: software stack, a name from :func:`list_stacks` (``"tensorrt"``, ``"torch-eager"``,
            ``"xla"``, ``"vitis-ai"``...; generic ``"default"``: op after op, host ahead; ``"eager"``:
            the host dispatches each op, one device only; ``"compiled"``: pointwise ops fused into
            their producers for inference) or a path to a stack YAML file.
        dispatch_us: host time per op in microseconds (default: the stack's ``host_dispatch_us``).
        seq_len_distribution: a dataset of variable-length samples instead of ``seq_len``: a bundled
            name (``workloads/distributions/``), a YAML or CSV path, or a list of lengths; ``packing``
            says how a batch of them runs: ``"padded"`` to the longest, ``"unpadded"`` (variable-length
            kernels) or ``"packed"`` (rows of concatenated sequences): :mod:`simulator.workload.lengths`.
        time_limit_s: wall-time limit of this call in seconds (None: none). Checked after loading, after
            the graph build, every 256 op costs and every 1,024 engine events of a one-device run; a
            multi-device run is checked only before it starts.

    Raises:
        InputError: bad names, files or arguments (one message naming file and field).
        SimulationTimeout: the call went past ``time_limit_s`` (an :class:`InputError`: CLI exit 2).
        InfeasibleError: the device cannot run this precision at all, or integer training (the message
            lists the formats that work).

    Example:
        >>> r = simulate("resnet50", "nvidia-h100-sxm", mode="training", batch_size=32, precision="bf16")
        >>> r.bottleneck in ("compute", "memory_bandwidth", "overhead", "memory_capacity")
        True
    """
    return simulate_step(workload, hardware, mode=mode, batch_size=batch_size, seq_len=seq_len,
                         image_size=image_size, precision=precision, weight_precision=weight_precision,
                         optimizer=optimizer, checkpointing=checkpointing, grad_accumulation=grad_accumulation,
                         fused_attention=fused_attention, power_cap_w=power_cap_w, seed=seed, overrides=overrides,
                         devices=devices, parallelism=parallelism, microbatches=microbatches, symmetric=symmetric,
                         fpga_dataflow=fpga_dataflow, cold_start=cold_start, input_workers=input_workers,
                         prefetch=prefetch, host=host, time_limit_s=time_limit_s, stack=stack,
                         dispatch_us=dispatch_us, seq_len_distribution=seq_len_distribution, packing=packing,
                         optimizer_tensors=optimizer_tensors, grad_clip=grad_clip)


def peak_rates(hardware: "str | Path | _DeviceBase", precision: str = "bf16") -> dict[str, float]:
    """The roofline of one device at ``precision``: matrix and vector FLOP/s, main-memory B/s.

    Returns:
        ``{"matrix_flops_per_s", "vector_flops_per_s", "memory_bandwidth_bps"}`` (a device without a
        matrix path for the format falls back as the cost models do; 0 when it has none at all).

    Raises:
        SpecError: an unknown device; ScenarioError: an unknown precision.

    Example:
        >>> r = peak_rates("nvidia-h100-sxm", "bf16")
        >>> round(r["matrix_flops_per_s"] / 1e12), round(r["memory_bandwidth_bps"] / 1e9)
        (989, 3350)
    """
    hw = load_hardware(hardware)
    p = parse_precision(precision)
    return {"matrix_flops_per_s": peaks.matrix_flops_per_s(hw, p), "vector_flops_per_s": peaks.vector_flops_per_s(hw, p),
            "memory_bandwidth_bps": peaks.memory_bandwidth(hw)}


def hardware_from_yaml(text: str, source: str = "YAML text") -> _DeviceBase:
    """Validate the YAML text of a device spec (what a user pasted or uploaded).

    Raises:
        SpecError: bad YAML, duplicate keys, aliases, or an invalid spec (``source`` and the key path named).

    Example:
        >>> hardware_from_yaml(hardware_yaml("nvidia-l4")).name
        'nvidia-l4'
    """
    return spec_from_dict(parse_yaml_text(text, source), source)


def hardware_yaml(name: str) -> str:
    """The catalogue YAML of device ``name`` as editable text (comments dropped).

    Raises:
        SpecError: an unknown device.

    Example:
        >>> hardware_yaml("nvidia-l4").splitlines()[0]
        'name: nvidia-l4'
    """
    import yaml

    return yaml.safe_dump(raw_spec(name), sort_keys=False, allow_unicode=True, width=120)


def validation_band(kind: str) -> dict[str, Any] | None:
    """The step-time band of a device kind from the validation (``make validate``), or None.

    Returns:
        ``{"factor": x/÷ factor, "measured": False when the kind had no rows and the pooled factor
        stands in}``.

    Example:
        >>> b = validation_band("gpu")
        >>> b is None or b["factor"] >= 1
        True
    """
    f = uncertainty.factor(kind)
    return None if f is None else {"factor": f, "measured": uncertainty.measured(kind)}
