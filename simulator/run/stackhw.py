"""What a software stack changes about the device's fixed costs: its per-kernel time.

A graph compiler that emits one device program for the whole graph (AWS Neuron's NEFF: an
instruction stream per engine, synchronised on chip by semaphores) launches no kernels, so the
device family's fitted ``efficiency.op_overhead_us`` (a kernel launch per op) does not apply; the
stack's ``kernel_overhead_us`` replaces it. The program's own per-request cost is the device's
``efficiency.request_overhead_us``, paid once per step (:func:`request_s`).
"""
from __future__ import annotations

from ..spec.loader import load_hardware
from ..spec.models import _DeviceBase
from ..spec.stack import StackSpec


def stack_device(hw: _DeviceBase, stack: StackSpec) -> _DeviceBase:
    """``hw`` with its per-op overhead replaced by the stack's ``kernel_overhead_us`` (if it sets one).

    Example:
        >>> from simulator.spec.stack import load_stack
        >>> hw = load_hardware("aws-inferentia2", {"efficiency.op_overhead_us": 7.0})
        >>> stack_device(hw, load_stack("neuron")).efficiency.op_overhead_us
        0.0
        >>> stack_device(hw, load_stack("default")) is hw
        True
    """
    k = stack.kernel_overhead_us
    if k is None or k == hw.efficiency.op_overhead_us:
        return hw
    return load_hardware(hw, {"efficiency.op_overhead_us": k})


def request_s(hw: _DeviceBase) -> float:
    """Fixed time of one step's request, in s (``efficiency.request_overhead_us``).

    Example:
        >>> request_s(load_hardware("aws-inferentia2", {"efficiency.request_overhead_us": 250.0}))
        0.00025
        >>> request_s(load_hardware("nvidia-h100-sxm"))
        0.0
    """
    return hw.efficiency.request_overhead_us * 1e-6
