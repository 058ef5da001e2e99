"""Scenario: a frozen value holding everything one run depends on, the seed included, and the
software stack it runs under (a :class:`~simulator.spec.stack.StackSpec` from ``stacks/*.yaml``:
pointwise fusion, host dispatch per op, attention kernel).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any
from enum import Enum

from .errors import ScenarioError
from .spec.stack import StackSpec, load_stack
from .workload.lengths import load_lengths
from .units import Precision, parse_precision
from .workload.training import CHECKPOINTING_CHOICES, Checkpointing, Optimizer, parse_optimizer


class Mode(str, Enum):
    """What one simulated step is: a forward pass or a full training step.

    Example:
        >>> Mode("training") is Mode.TRAINING
        True
    """

    INFERENCE = "inference"
    TRAINING = "training"


@dataclass(frozen=True)
class Scenario:
    """Everything a run depends on besides the workload and the hardware.

    ``weight_precision`` defaults to ``precision`` (set it lower for weight-only quantization);
    ``power_cap_w`` lowers the device's TDP for a what-if; ``grad_accumulation`` splits the batch
    into that many micro-batches per optimizer step; ``optimizer_tensors`` > 0 runs each optimizer pass as that
    many kernels, one per parameter tensor (optax's tree_map under XLA; 0: one fused multi-tensor
    kernel), and ``grad_clip`` adds global-norm gradient clipping before the update. ``fpga_dataflow`` is ``overlay`` (a DPU-style
    engine runs layer after layer) or ``pipelined`` (every layer on its own DSPs, samples streaming
    through); ``cold_start`` adds the FPGA's bitstream load before the first op. ``stack`` is the
    software stack (``stacks/*.yaml``); ``dispatch_us`` overrides its host time per op (None: the
    stack's ``host_dispatch_us``). ``fused_attention`` None takes the stack's choice (fused if it
    has none). ``activation_offload`` ("", "saved", "all",
    from a ``checkpointing`` suffix ``+offload`` / ``+offload-all``) keeps the activations a training
    step saves for backward in host memory: those inside each layer, or the layer inputs too
    (MaxText's custom remat policies with ``offload``); the copies overlap compute.

    Units: ``power_cap_w`` in W; ``batch_size`` in samples, ``seq_len`` in tokens, ``image_size`` in
    pixels per side (None: the workload's default). Build it with :func:`make_scenario`, which
    validates; the constructor itself does not check (and so raises nothing).

    Example:
        >>> sc = make_scenario(mode="training", batch_size=32, precision="bf16", weight_precision="int8")
        >>> sc.weights.value, sc.precision.value, sc.with_(batch_size=64).batch_size
        ('int8', 'bf16', 64)
    """

    mode: Mode = Mode.INFERENCE
    batch_size: int | None = None
    seq_len: int | None = None
    image_size: int | None = None
    precision: Precision = Precision.BF16
    weight_precision: Precision | None = None
    optimizer: Optimizer = Optimizer.ADAM
    optimizer_tensors: int = 0
    grad_clip: bool = False
    checkpointing: Checkpointing = Checkpointing.NONE
    grad_accumulation: int = 1
    fused_attention: bool = True
    power_cap_w: float | None = None
    seed: int = 0
    fpga_dataflow: str = "overlay"
    cold_start: bool = False
    stack: StackSpec = field(default_factory=lambda: load_stack("default"))
    dispatch_us: float | None = None
    activation_offload: str = ""
    attn_len: int | None = None
    lengths: str = ""

    @property
    def weights(self) -> Precision:
        """The stored-weight format: ``weight_precision`` if set, else ``precision``."""
        return self.weight_precision or self.precision

    def with_(self, **changes: object) -> "Scenario":
        """A copy with ``changes`` applied (not re-validated).

        Raises:
            TypeError: a name that is not a Scenario field.

        Example:
            >>> Scenario().with_(seed=7).seed
            7
        """
        return replace(self, **changes)


def check_seed(seed: Any) -> int:
    """A seed is an integer in 0..2^63 - 1 (what ``numpy.random.default_rng`` accepts); returns it.

    Raises:
        ScenarioError: anything else.

    Example:
        >>> check_seed(-1)
        Traceback (most recent call last):
        ...
        simulator.errors.ScenarioError: seed: must be an integer in 0..2^63-1, got -1
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise ScenarioError(f"seed: must be an integer in 0..2^63-1, got {seed!r}")
    return seed


def make_scenario(*, mode: str | Mode = "inference", batch_size: int | None = None, seq_len: int | None = None,
                  image_size: int | None = None, precision: str | Precision = "bf16",
                  weight_precision: str | Precision | None = None, optimizer: str | Optimizer = "adam",
                  checkpointing: str | Checkpointing = "none", grad_accumulation: int = 1,
                  fused_attention: bool | None = None, power_cap_w: float | None = None, seed: int = 0,
                  fpga_dataflow: str = "overlay", cold_start: bool = False, stack: "str | StackSpec" = "default",
                  dispatch_us: float | None = None, seq_len_distribution: Any = None,
                  packing: str = "unpadded", optimizer_tensors: int = 0, grad_clip: bool = False) -> Scenario:
    """Validate user-facing arguments into a :class:`Scenario`.

    ``seq_len_distribution`` (a bundled name, a YAML or CSV path, or a list of lengths:
    :func:`simulator.workload.lengths.load_lengths`) with ``packing`` (padded, unpadded, packed) sets
    ``seq_len`` and the attention side ``attn_len`` for a dataset of variable-length samples.

    Raises:
        ScenarioError: naming the bad argument.

    Example:
        >>> make_scenario(mode="training", precision="fp16").mode.value
        'training'
        >>> make_scenario(batch_size=0)
        Traceback (most recent call last):
        ...
        simulator.errors.ScenarioError: batch_size: must be a positive integer, got 0
    """
    try:
        m = Mode(str(getattr(mode, "value", mode)).lower())
    except ValueError:
        raise ScenarioError(f"mode: unknown mode {mode!r}; choose inference or training") from None
    ck_text, offload = str(getattr(checkpointing, "value", checkpointing)).lower(), ""
    for suffix, where in (("+offload-all", "all"), ("+offload", "saved")):
        if ck_text.endswith(suffix):
            ck_text, offload = ck_text[: -len(suffix)], where
            break
    try:
        ck = Checkpointing(ck_text)
    except ValueError:
        raise ScenarioError(f"checkpointing: unknown value {checkpointing!r}; choose {CHECKPOINTING_CHOICES}") from None
    for key, val in (("batch_size", batch_size), ("seq_len", seq_len), ("image_size", image_size)):
        if val is not None and (not isinstance(val, int) or isinstance(val, bool) or val <= 0):
            raise ScenarioError(f"{key}: must be a positive integer, got {val!r}")
    if not isinstance(grad_accumulation, int) or isinstance(grad_accumulation, bool) or not 0 < grad_accumulation \
            <= 1_000_000:
        raise ScenarioError(f"grad_accumulation: must be a positive integer, got {grad_accumulation!r}")
    if power_cap_w is not None and not (isinstance(power_cap_w, (int, float)) and 0 < power_cap_w < 1e6):
        raise ScenarioError(f"power_cap_w: must be a positive number of watts, got {power_cap_w!r}")
    check_seed(seed)
    if fpga_dataflow not in ("overlay", "pipelined"):
        raise ScenarioError(f"fpga_dataflow: must be overlay or pipelined, got {fpga_dataflow!r}")
    st = load_stack(stack)
    if m == Mode.TRAINING and not st.training:
        raise ScenarioError(f"stack: {st.name} runs inference only; train with one of the training stacks "
                            "(`accsim list stacks`)")
    if fused_attention is None:
        fused_attention = True if st.fused_attention is None else st.fused_attention
    if dispatch_us is not None and not (isinstance(dispatch_us, (int, float)) and not isinstance(dispatch_us, bool)
                                        and 0 <= dispatch_us <= 1e6):
        raise ScenarioError(f"dispatch_us: must be a number of microseconds in 0..1e6, got {dispatch_us!r}")
    if fpga_dataflow == "pipelined" and m == Mode.TRAINING:
        raise ScenarioError("fpga_dataflow: the layer-pipelined FPGA dataflow is modelled for inference only")
    seq_len, attn_len, lengths = _lengths(seq_len, seq_len_distribution, packing)
    if isinstance(optimizer_tensors, bool) or not isinstance(optimizer_tensors, int) or optimizer_tensors < 0:
        raise ScenarioError(f"optimizer_tensors: must be a whole number >= 0 (0: one fused kernel), got {optimizer_tensors!r}")
    return Scenario(mode=m, batch_size=batch_size, seq_len=seq_len, image_size=image_size, attn_len=attn_len, lengths=lengths,
                    precision=parse_precision(precision),
                    weight_precision=parse_precision(weight_precision) if weight_precision else None,
                    optimizer=parse_optimizer(optimizer), optimizer_tensors=optimizer_tensors, grad_clip=bool(grad_clip),
                    checkpointing=ck,
                    grad_accumulation=grad_accumulation,
                    fused_attention=bool(fused_attention), power_cap_w=float(power_cap_w) if power_cap_w else None,
                    seed=seed, fpga_dataflow=fpga_dataflow, cold_start=bool(cold_start), stack=st,
                    dispatch_us=float(dispatch_us) if dispatch_us is not None else None, activation_offload=offload)


def _lengths(seq_len: int | None, dist: Any, packing: str) -> tuple[int | None, int | None, str]:
    """(seq_len, attn_len, description) of a scenario with or without a length distribution."""
    if dist is None:
        return seq_len, None, ""
    if seq_len is not None:
        raise ScenarioError("seq_len_distribution: give it or seq_len, not both")
    d = load_lengths(dist)
    seq, attn = d.shape(packing)
    return seq, attn, f"{d.name} ({packing}: mean {d.mean:.0f}, sqrt E[L^2] {math.sqrt(d.mean_square):.0f}, max {d.max_len})"


def fuses_pointwise(sc: Scenario) -> bool:
    """True when the scenario's graph is built with pointwise ops fused: a compiled stack, inference.

    Example:
        >>> fuses_pointwise(make_scenario(stack="compiled")), fuses_pointwise(make_scenario(mode="training",
        ...                                                                                 stack="compiled"))
        (True, False)
    """
    return sc.stack.fuse_pointwise and sc.mode == Mode.INFERENCE


def fuses_norms(sc: Scenario) -> bool:
    """True when a training graph is built with each norm's add and activation fused into it (the
    stack's ``fuse_norm_training``).

    Example:
        >>> fuses_norms(make_scenario(mode="training", stack="mxnet-mlperf")), fuses_norms(make_scenario(mode="training"))
        (True, False)
    """
    return sc.stack.fuse_norm_training and sc.mode == Mode.TRAINING


def check_stack_runs_on(sc: Scenario, kind: str) -> None:
    """Refuse a stack on a device kind it does not run on (TensorRT on a TPU).

    Raises:
        ScenarioError: naming the stack and the kinds it runs on.

    Example:
        >>> check_stack_runs_on(make_scenario(stack="tensorrt"), "gpu")
        >>> check_stack_runs_on(make_scenario(stack="tensorrt"), "tpu")
        Traceback (most recent call last):
        ...
        simulator.errors.ScenarioError: stack: tensorrt runs on gpu devices, not on a tpu
    """
    if kind not in sc.stack.kinds:
        raise ScenarioError(f"stack: {sc.stack.name} runs on {'/'.join(sc.stack.kinds)} devices, not on a {kind}")
