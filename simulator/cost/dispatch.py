"""One entry point for all kinds: ``op_cost(op, hw, numerics, options)`` picks the model by ``hw.kind``."""
from __future__ import annotations

from ..errors import InfeasibleError
from ..spec.models import _DeviceBase
from ..workload.ops import Op
from . import asic, cpu, fpga, gpu, tpu
from .base import CostOptions, Numerics, OpCost
from .peaks import matrix_flops_per_s

_MODELS = {"gpu": gpu.cost, "tpu": tpu.cost, "cpu": cpu.cost, "fpga": fpga.cost, "asic": asic.cost}


def check_supported(hw: _DeviceBase, numerics: Numerics) -> None:
    """Raise if the device has no compute path at all for the precision.

    Raises:
        InfeasibleError: e.g. bf16 on an int8-only Edge TPU.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> from simulator.units import Precision
        >>> check_supported(load_hardware("google-edge-tpu"), Numerics(Precision.INT8, Precision.INT8))
        >>> check_supported(load_hardware("google-edge-tpu"), Numerics(Precision.BF16, Precision.BF16))
        Traceback (most recent call last):
        ...
        simulator.errors.InfeasibleError: google-edge-tpu has no compute path for bf16
    """
    if matrix_flops_per_s(hw, numerics.compute) <= 0:
        raise InfeasibleError(f"{hw.name} has no compute path for {numerics.compute.value}")


def op_cost(op: Op, hw: _DeviceBase, numerics: Numerics, options: CostOptions = CostOptions()) -> OpCost:
    """Cost of one op on one device (pure): duration (s), bytes per memory level (B), energy (J), bound.

    Raises:
        KeyError: ``hw.kind`` is not a device kind (a system spec has no single-op cost).

    Call :func:`check_supported` first: a precision with no compute path is not refused here.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> from simulator.workload.ops import matmul
        >>> from simulator.units import Precision
        >>> c = op_cost(matmul("fc", batch=1, m=4096, k=4096, n=4096), load_hardware("nvidia-h100-sxm"),
        ...             Numerics(Precision.BF16, Precision.BF16))
        >>> c.bound.value
        'compute'
    """
    model = _MODELS.get(getattr(hw, "kind", ""))
    if model is None:
        raise InfeasibleError(f"{getattr(hw, 'name', hw)}: op costs need a single device spec, "
                              f"not a {getattr(hw, 'kind', type(hw).__name__)!s}")
    return model(op, hw, numerics, options)


def device_numerics(hw: _DeviceBase, precision, weight_precision=None) -> Numerics:
    """The :class:`Numerics` a device really runs a requested precision in.

    Compute and activations use :func:`native_precision`; stored weights follow them unless a
    weight-only format was asked for (``weight_precision``), which any device can dequantize.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> from simulator.units import Precision
        >>> n = device_numerics(load_hardware("nvidia-a100-sxm-80gb"), Precision.FP8)
        >>> (n.compute.value, n.weights.value)
        ('fp16', 'fp16')
    """
    from .peaks import native_precision

    compute = native_precision(hw, precision)
    return Numerics(compute=compute, weights=weight_precision or compute)

