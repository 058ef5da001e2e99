"""Peak rates of a device, derived from its spec by kind. Pure functions, SI units (FLOP/s, B/s).

Matrix peak is what tensor cores / MXUs / PE arrays / AMX / DSP arrays deliver for GEMMs; vector
peak is what element-wise work gets. A precision the device lacks falls back (see ``lookup``).
"""
from __future__ import annotations

from ..spec.models import (AsicSpec, CpuSpec, FpgaSpec, GpuSpec, TpuSpec, _DeviceBase, lookup)
from ..units import GIGA, Precision

_BITS = {Precision.FP32: 32, Precision.TF32: 32, Precision.FP16: 16, Precision.BF16: 16, Precision.FP8: 8,
         Precision.INT16: 16, Precision.INT8: 8, Precision.INT4: 4}


def cpu_vector_flops_per_cycle_per_core(hw: CpuSpec, p: Precision) -> float:
    """SIMD FLOP per cycle per core: width / bits * FMA units * 2, for precisions the SIMD unit supports.

    A precision the SIMD unit lacks falls back to the next it has (fp32 at worst). Raises nothing.

    Example:
        >>> # 512-bit AVX-512 with 2 FMA units at fp32: 512/32 * 2 * 2 = 64
        >>> from simulator.spec.loader import load_hardware
        >>> xeon = load_hardware("intel-xeon-platinum-8480")
        >>> cpu_vector_flops_per_cycle_per_core(xeon, Precision.FP32), cpu_vector_flops_per_cycle_per_core(xeon, Precision.BF16)
        (64.0, 128.0)
    """
    c = hw.compute
    for q in _fallback(p):
        if q in c.simd_precisions:
            return c.simd_width_bits / _BITS[q] * c.fma_units_per_core * 2
    return c.simd_width_bits / 32 * c.fma_units_per_core * 2


def _fallback(p: Precision) -> tuple[Precision, ...]:
    from ..spec.models import FALLBACK

    return FALLBACK[p]


def matrix_flops_per_s(hw: _DeviceBase, p: Precision) -> float:
    """Peak dense matrix-unit FLOP/s at precision ``p`` (falls back to vector peak if no matrix path).

    Raises:
        TypeError: ``hw`` is not one of the five device kinds (e.g. a system spec).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> round(matrix_flops_per_s(load_hardware("nvidia-h100-sxm"), Precision.BF16) / 1e12, 1)   # TFLOP/s
        989.4
    """
    c = hw.compute
    if isinstance(hw, GpuSpec):
        rate = lookup(c.tensor_flops_per_cycle_per_sm, p) or lookup(c.vector_flops_per_cycle_per_sm, p)
        return c.sm_count * c.clock_ghz * GIGA * rate
    if isinstance(hw, TpuSpec):
        pes = c.cores_per_chip * c.mxus_per_core * c.mxu_rows * c.mxu_cols
        return pes * 2 * lookup(c.mxu_macs_per_pe_per_cycle, p) * c.clock_ghz * GIGA
    if isinstance(hw, AsicSpec):
        pes = c.arrays * c.pe_rows * c.pe_cols
        return pes * 2 * lookup(c.macs_per_pe_per_cycle, p) * c.clock_ghz * GIGA
    if isinstance(hw, FpgaSpec):
        return fpga_macs_per_s(hw, p) * 2
    if isinstance(hw, CpuSpec):
        per_core = max(lookup(c.matrix_flops_per_cycle_per_core, p), cpu_vector_flops_per_cycle_per_core(hw, p))
        return c.cores * c.clock_ghz * GIGA * per_core
    raise TypeError(f"unknown device kind {type(hw).__name__}")


def fpga_macs_per_s(hw: FpgaSpec, p: Precision) -> float:
    """MAC/s of the overlay: DSP slices in use x MACs per DSP per cycle x clock, plus AI-Engine tiles.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> round(fpga_macs_per_s(load_hardware("amd-alveo-u250"), Precision.INT8) / 1e12, 2)   # tera-MAC/s
        9.83
    """
    c = hw.compute
    dsp = c.dsp_slices * c.dsp_utilization * lookup(c.macs_per_dsp_per_cycle, p) * c.clock_ghz * GIGA
    aie = c.ai_engine_tiles * lookup(c.ai_engine_macs_per_tile_per_cycle, p) * c.ai_engine_clock_ghz * GIGA
    return dsp + aie


def vector_flops_per_s(hw: _DeviceBase, p: Precision) -> float:
    """Peak FLOP/s of the vector / element-wise path at precision ``p``.

    Raises:
        TypeError: ``hw`` is not one of the five device kinds.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> round(vector_flops_per_s(load_hardware("nvidia-h100-sxm"), Precision.FP32) / 1e12, 1)   # TFLOP/s
        61.8
    """
    c = hw.compute
    if isinstance(hw, GpuSpec):
        return c.sm_count * c.clock_ghz * GIGA * lookup(c.vector_flops_per_cycle_per_sm, p)
    if isinstance(hw, TpuSpec):
        return c.cores_per_chip * c.clock_ghz * GIGA * lookup(c.vector_flops_per_cycle_per_core, p)
    if isinstance(hw, (AsicSpec,)):
        return c.arrays * c.clock_ghz * GIGA * lookup(c.vector_flops_per_cycle, p)
    if isinstance(hw, FpgaSpec):
        return c.clock_ghz * GIGA * lookup(c.vector_flops_per_cycle, p)
    if isinstance(hw, CpuSpec):
        return c.cores * c.clock_ghz * GIGA * cpu_vector_flops_per_cycle_per_core(hw, p)
    raise TypeError(f"unknown device kind {type(hw).__name__}")


def peak_flops(hw: _DeviceBase, p: Precision) -> float:
    """The headline peak: the larger of matrix and vector FLOP/s.

    Raises:
        TypeError: ``hw`` is not one of the five device kinds.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> round(peak_flops(load_hardware("google-tpu-v5e"), Precision.BF16) / 1e12, 1)   # TFLOP/s
        196.6
    """
    return max(matrix_flops_per_s(hw, p), vector_flops_per_s(hw, p))


def memory_bandwidth(hw: _DeviceBase, level: str | None = None) -> float:
    """Peak bandwidth in B/s of a memory level (the main memory by default).

    Raises:
        KeyError: no memory level called ``level``.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> h100 = load_hardware("nvidia-h100-sxm")
        >>> memory_bandwidth(h100) / 1e12, memory_bandwidth(h100, "l2") / 1e12      # TB/s
        (3.35, 5.5)
    """
    m = hw.main_memory if level is None else hw.level(level)
    return m.bandwidth_gbs * GIGA


def clock_hz(hw: _DeviceBase) -> float:
    """The compute clock in Hz.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> clock_hz(load_hardware("nvidia-h100-sxm")) / 1e9
        1.83
    """
    return hw.compute.clock_ghz * GIGA


def _native_rates(hw: _DeviceBase) -> list[dict]:
    c = hw.compute
    if isinstance(hw, GpuSpec):
        return [c.tensor_flops_per_cycle_per_sm, c.vector_flops_per_cycle_per_sm]
    if isinstance(hw, TpuSpec):
        return [c.mxu_macs_per_pe_per_cycle]
    if isinstance(hw, AsicSpec):
        return [c.macs_per_pe_per_cycle]
    if isinstance(hw, FpgaSpec):
        return [c.macs_per_dsp_per_cycle, c.ai_engine_macs_per_tile_per_cycle]
    if isinstance(hw, CpuSpec):
        return [c.matrix_flops_per_cycle_per_core, dict.fromkeys(c.simd_precisions, 1.0)]
    return []


def native_precision(hw: _DeviceBase, p: Precision) -> Precision:
    """The format the device really computes and stores ``p`` in: ``p`` itself if it has a path for it,
    else the first fallback it has (fp8 on an A100 runs, and is stored, as fp16).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> native_precision(load_hardware("nvidia-a100-sxm-80gb"), Precision.FP8).value
        'fp16'
        >>> native_precision(load_hardware("nvidia-h100-sxm"), Precision.FP8).value
        'fp8'
    """
    rates = _native_rates(hw)
    for q in _fallback(p):
        if any(q in r for r in rates):
            return q
    return p

