"""Software stacks: how a framework runs the graph, which changes what the hardware is asked to do.

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

from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .scenario import Scenario


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


def fuses_pointwise(sc: "Scenario") -> bool:
    """True when the scenario's graph is built with pointwise ops fused: a compiled stack, inference.

    Example:
        >>> from simulator.scenario import make_scenario
        >>> fuses_pointwise(make_scenario(stack="compiled")), fuses_pointwise(make_scenario(mode="training",
        ...                                                                                 stack="compiled"))
        (True, False)
    """
    return sc.stack == Stack.COMPILED and sc.mode.value == "inference"
