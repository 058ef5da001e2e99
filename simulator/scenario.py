"""Scenario: a frozen value holding everything one run depends on, the seed included, and the
software stack it runs under.

Software stacks: how a framework runs the graph, which changes what the hardware is asked to do.

* ``default``: every op of the graph is its own kernel, launched back to back (an eager framework
  whose host keeps ahead of the device, or one that replays a captured CUDA graph).
* ``eager``: as ``default``, but the host issues op after op from Python (PyTorch eager, TF 1.x
  sessions without XLA): an op cannot start before the host has dispatched it, ``dispatch_us``
  after the previous one. Small batches become host-bound.
* ``compiled``: a graph compiler (TensorRT, XLA, torch.compile, the TPU / Neuron / Edge TPU / DPU
  compilers) fuses pointwise ops into their producers' epilogues (:mod:`simulator.workload.fusion`)
  for inference; training graphs keep their per-op passes (batch-norm statistics and every
  backward op read and write whole tensors anyway).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from .errors import ScenarioError
from .units import Precision, parse_precision
from .workload.training import CHECKPOINTING_CHOICES, Checkpointing, Optimizer, parse_optimizer


class Stack(str, Enum):
    """The software stack of a run (see the module docstring).

    Example:
        >>> Stack("eager") is Stack.EAGER
        True
    """

    DEFAULT = "default"
    EAGER = "eager"
    COMPILED = "compiled"


# Host time to dispatch one op from an eager framework, in microseconds. Fitted by
# ``python -m validation.calibrate`` (``framework_dispatch_us`` in validation/calibration.json) on
# the eager batch-1 latency rows of the fit split: M043, ResNet-50 on A100 under TF 1.x (NGC 20.06),
# 4.51 ms for ~320 ops. PyTorch eager overheads of 10-30 us per op are commonly reported; kept in
# step with the calibration by tests/unit/test_software_stack.py.
EAGER_DISPATCH_US = 25.74


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
    into that many micro-batches per optimizer step. ``fpga_dataflow`` is ``overlay`` (a DPU-style
    engine runs layer after layer) or ``pipelined`` (every layer on its own DSPs, samples streaming
    through); ``cold_start`` adds the FPGA's bitstream load before the first op. ``stack`` is the
    software stack (:class:`Stack`: default, eager, compiled); ``dispatch_us`` the eager
    host's time per op (None: :data:`EAGER_DISPATCH_US`).

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
    checkpointing: Checkpointing = Checkpointing.NONE
    grad_accumulation: int = 1
    fused_attention: bool = True
    power_cap_w: float | None = None
    seed: int = 0
    fpga_dataflow: str = "overlay"
    cold_start: bool = False
    stack: Stack = Stack.DEFAULT
    dispatch_us: float | None = None

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
                  fused_attention: bool = True, power_cap_w: float | None = None, seed: int = 0,
                  fpga_dataflow: str = "overlay", cold_start: bool = False, stack: str | Stack = "default",
                  dispatch_us: float | None = None) -> Scenario:
    """Validate user-facing arguments into a :class:`Scenario`.

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
    try:
        ck = Checkpointing(str(getattr(checkpointing, "value", checkpointing)).lower())
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
    try:
        st = Stack(str(getattr(stack, "value", stack)).lower())
    except ValueError:
        raise ScenarioError(f"stack: unknown software stack {stack!r}; choose default, eager or compiled") from None
    if dispatch_us is not None and not (isinstance(dispatch_us, (int, float)) and not isinstance(dispatch_us, bool)
                                        and 0 <= dispatch_us <= 1e6):
        raise ScenarioError(f"dispatch_us: must be a number of microseconds in 0..1e6, got {dispatch_us!r}")
    if fpga_dataflow == "pipelined" and m == Mode.TRAINING:
        raise ScenarioError("fpga_dataflow: the layer-pipelined FPGA dataflow is modelled for inference only")
    return Scenario(mode=m, batch_size=batch_size, seq_len=seq_len, image_size=image_size,
                    precision=parse_precision(precision),
                    weight_precision=parse_precision(weight_precision) if weight_precision else None,
                    optimizer=parse_optimizer(optimizer), checkpointing=ck, grad_accumulation=grad_accumulation,
                    fused_attention=bool(fused_attention), power_cap_w=float(power_cap_w) if power_cap_w else None,
                    seed=seed, fpga_dataflow=fpga_dataflow, cold_start=bool(cold_start), stack=st,
                    dispatch_us=float(dispatch_us) if dispatch_us is not None else None)


def fuses_pointwise(sc: Scenario) -> bool:
    """True when the scenario's graph is built with pointwise ops fused: a compiled stack, inference.

    Example:
        >>> fuses_pointwise(make_scenario(stack="compiled")), fuses_pointwise(make_scenario(mode="training",
        ...                                                                                 stack="compiled"))
        (True, False)
    """
    return sc.stack == Stack.COMPILED and sc.mode.value == "inference"
