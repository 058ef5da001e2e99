"""One entry point for all kinds: ``op_cost(op, hw, numerics, options)`` picks the model by ``hw.kind``."""
from __future__ import annotations

from ..errors import InfeasibleError
from ..spec.models import _DeviceBase
from ..workload.ops import Op
from . import asic, cpu, fpga, gpu, tpu
from .base import CostOptions, Numerics, OpCost
from ..units import Precision
from .peaks import matrix_flops_per_s, native_precision

_MODELS = {"gpu": gpu.cost, "tpu": tpu.cost, "cpu": cpu.cost, "fpga": fpga.cost, "asic": asic.cost}


def supported_precisions(hw: _DeviceBase) -> list[Precision]:
    """The formats the device has its own compute path for (no fallback), in :class:`Precision` order.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> [p.value for p in supported_precisions(load_hardware("nvidia-t4"))]
        ['fp32', 'fp16', 'int8', 'int4']
        >>> [p.value for p in supported_precisions(load_hardware("google-edge-tpu"))]
        ['int8']
    """
    return [p for p in Precision if native_precision(hw, p) == p and matrix_flops_per_s(hw, p) > 0]


# What a device runs when the user names no precision: the format its vendor's stack uses by
# default. Training needs a float format; FPGAs' DPU overlays and integer-only chips run int8.
_TRAINING_ORDER = (Precision.BF16, Precision.FP16, Precision.FP32, Precision.TF32)
_INFERENCE_ORDER = (Precision.BF16, Precision.FP16, Precision.INT8, Precision.FP32, Precision.TF32,
                    Precision.INT16, Precision.FP8, Precision.INT4)
_FPGA_ORDER = (Precision.INT8, Precision.INT16, Precision.FP16, Precision.BF16, Precision.FP32, Precision.INT4)


def default_precision(hw: _DeviceBase, training: bool = False) -> Precision:
    """The device's native format: bf16 where it has it, else fp16 (T4, V100), else fp32; int8 on
    FPGA overlays (DPUs) and integer-only chips (Edge TPU) for inference.

    Raises:
        InfeasibleError: training on a device without a floating-point path (the list of what it runs).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> [default_precision(load_hardware(n)).value for n in ("nvidia-h100-sxm", "nvidia-t4",
        ...                                                    "amd-alveo-u250", "google-edge-tpu")]
        ['bf16', 'fp16', 'int8', 'int8']
        >>> default_precision(load_hardware("google-edge-tpu"), training=True)
        Traceback (most recent call last):
        ...
        simulator.errors.InfeasibleError: google-edge-tpu cannot train: training needs a floating-point format and it runs only int8
    """
    have = supported_precisions(hw)
    order = _TRAINING_ORDER if training else (_FPGA_ORDER if hw.kind == "fpga" else _INFERENCE_ORDER)
    for p in order:
        if p in have:
            return p
    if training:
        raise InfeasibleError(f"{hw.name} cannot train: training needs a floating-point format and it runs only "
                              f"{_names(have)}")
    return have[0] if have else Precision.FP32


def resolve_precision(hw: _DeviceBase, precision: "str | Precision | None", mode: object = "inference") -> str:
    """``precision`` as given, or (None) the device's :func:`default_precision` for ``mode``.

    Raises:
        InfeasibleError: no precision given and ``mode`` is training on an integer-only device.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> resolve_precision(load_hardware("amd-alveo-u250"), None), resolve_precision(load_hardware("nvidia-t4"), "fp8")
        ('int8', 'fp8')
    """
    if precision is not None:
        return getattr(precision, "value", precision)
    return default_precision(hw, str(getattr(mode, "value", mode)).lower() == "training").value


def _names(ps: list[Precision]) -> str:
    return ", ".join(p.value for p in ps) or "nothing"


def check_supported(hw: _DeviceBase, numerics: Numerics, training: bool = False) -> None:
    """Raise if the device has no compute path at all for the precision, or ``training`` asks for an
    integer format (no bundled device or stack trains in integers).

    Raises:
        InfeasibleError: e.g. bf16 on an int8-only Edge TPU, int8 training; naming what works.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> check_supported(load_hardware("google-edge-tpu"), Numerics(Precision.INT8, Precision.INT8))
        >>> check_supported(load_hardware("google-edge-tpu"), Numerics(Precision.BF16, Precision.BF16))
        Traceback (most recent call last):
        ...
        simulator.errors.InfeasibleError: google-edge-tpu has no compute path for bf16; it runs int8
        >>> check_supported(load_hardware("nvidia-t4"), Numerics(Precision.INT8, Precision.INT8), training=True)
        Traceback (most recent call last):
        ...
        simulator.errors.InfeasibleError: nvidia-t4: int8 training is not supported (integer formats are for inference); it trains in fp32, fp16
    """
    have = supported_precisions(hw)
    if matrix_flops_per_s(hw, numerics.compute) <= 0:
        raise InfeasibleError(f"{hw.name} has no compute path for {numerics.compute.value}; it runs {_names(have)}")
    # integer training exists where a compiler quantizes every GEMM's operands on the fly and keeps
    # the rest in floating point: AQT int8 (google/aqt) in MaxText and PAX on TPUs, which the TPU
    # cost model prices (cost/tpu.py aqt_vector_flops); elsewhere integer formats are for inference
    if training and not numerics.compute.is_float and hw.kind != "tpu":
        floats = [p for p in have if p.is_float]
        raise InfeasibleError(f"{hw.name}: {numerics.compute.value} training is not supported (integer formats are "
                              f"for inference); it trains in {_names(floats)}")


# An op's own number format, set by the workload where a deployment runs parts of one graph in
# formats of their own (op attributes): ``precision`` runs the op in that format whatever the run's
# (an SDXL pipeline's VAE engine built in FP32 beside an int8 UNet engine); ``unquantized`` marks an
# op a post-training quantization recipe leaves without quantize / dequantize nodes, so under an
# integer run it executes in the engine's 16-bit fallback (TensorRT builds int8 engines with the
# FP16 flag set as well: a layer without Q/DQ runs in FP16; github:mlcommons/inference_results_v4.1
# closed/NVIDIA/code/stable-diffusion-xl/tensorrt/builder.py create_builder_config, fp16=precision in
# (FP16, INT8)).
OP_PRECISION = "precision"
OP_UNQUANTIZED = "unquantized"


def op_numerics(op: Op, hw: _DeviceBase, numerics: Numerics) -> Numerics:
    """The numerics ``op`` runs in: the run's, or the op's own format (:data:`OP_PRECISION`, as the device
    runs it: :func:`~.peaks.native_precision`), or FP16 (the device's 16-bit fallback) for an op marked
    :data:`OP_UNQUANTIZED` in an integer-format run. Weights follow the op's format.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> from simulator.workload.ops import matmul
        >>> from dataclasses import replace
        >>> h, n8 = load_hardware("nvidia-h100-sxm"), Numerics(Precision.INT8, Precision.INT8)
        >>> fc = matmul("fc", batch=1, m=64, k=64, n=64)
        >>> op_numerics(fc, h, n8) == n8
        True
        >>> op_numerics(replace(fc, attrs=fc.attrs + (("unquantized", True),)), h, n8).compute.value
        'fp16'
        >>> bf = Numerics(Precision.BF16, Precision.BF16)        # a float run keeps its format
        >>> op_numerics(replace(fc, attrs=fc.attrs + (("unquantized", True),)), h, bf) == bf
        True
        >>> op_numerics(replace(fc, attrs=fc.attrs + (("precision", "tf32"),)), h, n8).compute.value
        'tf32'
    """
    own = None
    for key, value in op.attrs:
        if key == OP_PRECISION:
            own = Precision(value)
            break
        if key == OP_UNQUANTIZED and value and not numerics.compute.is_float:
            own = Precision.FP16
    if own is None:
        return numerics
    p = native_precision(hw, own)
    return Numerics(compute=p, weights=p, training=numerics.training)


def has_op_precision(op: Op) -> bool:
    """Whether ``op`` carries a format of its own (:func:`op_numerics` may change its numerics).

    Example:
        >>> from simulator.workload.ops import matmul
        >>> has_op_precision(matmul("fc", batch=1, m=4, k=4, n=4))
        False
    """
    return any(key in (OP_PRECISION, OP_UNQUANTIZED) for key, _ in op.attrs)


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
    return model(op, hw, op_numerics(op, hw, numerics) if op.attrs else numerics, options)


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
    compute = native_precision(hw, precision)
    return Numerics(compute=compute, weights=weight_precision or compute)

