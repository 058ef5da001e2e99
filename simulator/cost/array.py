"""Cost of ops on systolic / PE arrays: shared by TPUs (MXUs) and ASICs (PE arrays).

Compute cycles come from :func:`systolic.map_gemm` (folds, fill and drain per dataflow), divided
by the MACs a PE does per cycle at the precision. Traffic per level follows the dataflow: the
stationary operand is loaded into the array once per fold, the other two stream through the
on-chip buffer; DRAM (main memory) sees each operand once when the buffer holds the layer, else the
streamed operand is re-read per fold column.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..spec.models import Dataflow, _DeviceBase
from ..workload.ops import Gemm, Op
from .base import CostOptions, Numerics, OpCost, finish, op_bytes, overhead_s
from .systolic import map_gemm, map_gemm_background, map_gemm_geometries


@dataclass(frozen=True)
class ArrayShape:
    """The matrix engine: ``arrays`` arrays of ``rows`` x ``cols`` PEs at ``clock_hz``."""

    rows: int
    cols: int
    arrays: int
    dataflow: Dataflow
    macs_per_pe_per_cycle: float
    clock_hz: float
    vector_flops_per_s: float
    vector_depthwise: bool = False   # the compiler may run per-channel (depthwise) GEMMs on the vector unit
    background_load: tuple[int, int] | None = None  # (max_moving, min_issue_cycles): see map_gemm_background
    gemm_output_via_vector: bool = False  # every GEMM output element costs one vector FLOP (PSUM -> SBUF)
    vector_overlaps_array: bool = False  # VLIW: an op's vector work issues alongside its array work
    # output-tile shapes (rows, cols) the whole engine can take, and its shortest step: see map_gemm_geometries
    geometries: tuple[tuple[int, int], ...] = ()
    min_step_cycles: int = 0


def buffer_traffic(g: Gemm, rows: int, cols: int, dataflow: Dataflow) -> float:
    """Elements moved between the on-chip buffer and the array for one GEMM (all folds).

    os: A and B stream in (rows*T + cols*T per fold), outputs drain once (rows*cols per fold).
    ws / rs: weights loaded once per fold (rows*cols), inputs stream (T*rows), partial sums out (T*cols).
    is: inputs loaded once per fold, weights stream, partial sums out.
    """
    m = map_gemm(g, rows=rows, cols=cols, dataflow=dataflow)
    folds = m.folds
    if dataflow == Dataflow.OS:
        t = g.k
        return folds * (rows * t + cols * t + rows * cols)
    t = g.m if dataflow in (Dataflow.WS, Dataflow.RS) else g.n
    return folds * (rows * cols + t * rows + t * cols)


def level_roles(hw: _DeviceBase) -> tuple[str | None, str | None, str]:
    """(register-file level, buffer level, main level) names from the hierarchy, innermost first.

    An ASIC with three or more levels (Eyeriss: rf, glb, dram) has per-PE register files first and
    its global buffer just before main memory. Other array devices (TPU: vmem, cmem, hbm) have no
    register-file level: operands pass from PE to PE, and the innermost level feeds the arrays.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> level_roles(load_hardware("mit-eyeriss")), level_roles(load_hardware("google-tpu-v4"))
        (('rf', 'glb', 'dram'), (None, 'vmem', 'hbm'))
    """
    names = [m.name for m in hw.memory]
    if len(names) >= 3 and hw.kind == "asic":
        return names[0], names[-2], names[-1]
    if len(names) >= 2:
        return None, names[0], names[-1]
    return None, None, names[0]


def depthwise_on_vector(g: Gemm, array_cycles: int, arr: ArrayShape, compute_efficiency: float) -> bool:
    """True when a per-channel GEMM (depthwise conv: ``count`` groups of one output column each)
    runs faster on the vector unit than on the array, where each group would occupy one column of
    a fold (1/cols utilisation). Compilers for TPUs and the Edge TPU make this choice.

    Example:
        >>> # 32 channels of 3x3 taps over 112x112 pixels on a 64x64 array: vector unit wins
    """
    if not arr.vector_depthwise or g.n != 1 or g.count <= 1 or arr.vector_flops_per_s <= 0:
        return False
    array_s = (array_cycles / max(arr.macs_per_pe_per_cycle, 1e-9)) / arr.clock_hz / compute_efficiency
    return 2.0 * g.macs / arr.vector_flops_per_s < array_s


def packed_depthwise(g: Gemm, rows: int) -> Gemm | None:
    """A per-channel GEMM (depthwise conv: ``count`` channels of ``k`` taps, one output column each)
    as a dense GEMM with a block-diagonal weight matrix: ``p = rows // k`` channels share a fold,
    their ``p * k`` taps on the rows and one column each, zero weights elsewhere (a grouped
    convolution is a dense one with block-diagonal weights); None when one channel fills the rows.

    Example:
        >>> packed_depthwise(Gemm(m=12544, n=1, k=9, count=32), rows=64)   # 7 channels of 9 taps per fold
        Gemm(m=12544, n=7, k=63, count=5)
    """
    p = rows // max(1, g.k)
    if g.n != 1 or g.count <= 1 or p < 2:
        return None
    return Gemm(m=g.m, n=p, k=p * g.k, count=-(-g.count // p))


def _map(g: Gemm, arr: ArrayShape):
    if arr.geometries:
        return map_gemm_geometries(g, shapes=arr.geometries, min_step_cycles=arr.min_step_cycles)
    if arr.background_load:
        return map_gemm_background(g, rows=arr.rows, cols=arr.cols, arrays=arr.arrays,
                                   max_moving=arr.background_load[0], min_issue_cycles=arr.background_load[1])
    return map_gemm(g, rows=arr.rows, cols=arr.cols, dataflow=arr.dataflow, arrays=arr.arrays)


def _array_work(op: Op, arr: ArrayShape, compute_efficiency: float) -> tuple[int, float, float]:
    """(array cycles + 1 per GEMM, seconds of depthwise GEMMs moved to the vector unit, buffer elements).

    A depthwise GEMM takes the fastest of one channel per fold column, channels packed
    block-diagonally (:func:`packed_depthwise`) and the vector unit, as a compiler would choose."""
    cycles, on_vector_s, buffer_elems = 0, 0.0, 0.0
    for g in op.gemms:
        mapping, used = _map(g, arr), g
        packed = packed_depthwise(g, arr.rows) if arr.vector_depthwise else None
        if packed is not None and _map(packed, arr).cycles < mapping.cycles:
            mapping, used = _map(packed, arr), packed
        if depthwise_on_vector(g, mapping.cycles + 1, arr, compute_efficiency):
            on_vector_s += 2.0 * g.macs / arr.vector_flops_per_s
            continue
        cycles += mapping.cycles + 1
        rows, cols = mapping.shape or (arr.rows, arr.cols)
        buffer_elems += buffer_traffic(used, rows, cols, arr.dataflow)
    return cycles, on_vector_s, buffer_elems


def array_cost(op: Op, hw: _DeviceBase, numerics: Numerics, options: CostOptions, arr: ArrayShape,
               *, compute_efficiency: float, work_fraction: float = 1.0, serial_vector_flops: float = 0.0) -> OpCost:
    """Cost of ``op`` on a PE-array device; ``compute_cycles`` is the array's stall-free cycle count.

    ``work_fraction`` of the op's compute is done (a causal flash-attention kernel skips the blocks
    above the diagonal); its traffic is not reduced. The op's vector work adds to its array time,
    or overlaps it when ``arr.vector_overlaps_array``; ``serial_vector_flops`` (work in separate
    kernels before or after the op, such as operand quantization) always adds.
    """
    rf, buf, main = level_roles(hw)
    act_in, act_out, w_read = op_bytes(op, numerics, fused_attention=options.fused_attention)
    cycles, on_vector_s, buffer_elems = _array_work(op, arr, compute_efficiency)
    macs = sum(g.macs for g in op.gemms)
    compute_cycles = max(0, cycles - 1) if cycles else None
    array_s = (cycles / max(arr.macs_per_pe_per_cycle, 1e-9)) / arr.clock_hz / compute_efficiency if cycles else 0.0
    vector_s, serial_s = on_vector_s, 0.0
    if arr.vector_flops_per_s > 0:
        evacuated = sum(g.m * g.n * g.count for g in op.gemms) if arr.gemm_output_via_vector else 0.0
        vector_s += (op.vector_flops + evacuated) / arr.vector_flops_per_s
        serial_s = serial_vector_flops / arr.vector_flops_per_s
    overlapped = max(array_s, vector_s) if arr.vector_overlaps_array else array_s + vector_s
    compute_s = overlapped * work_fraction + serial_s
    levels: dict[str, float] = {}
    if options.weights_on_chip and buf is not None:
        levels[main] = act_in + act_out
        levels[buf] = w_read
    else:
        levels[main] = act_in + act_out + w_read
    if buf is not None and buf != main:
        levels[buf] = levels.get(buf, 0.0) + buffer_elems * numerics.act_bytes
    if rf is not None:
        # every MAC reads two operands and updates a partial sum in its register file
        levels[rf] = macs * 3 * numerics.act_bytes
    # the skipped blocks' FLOPs are not executed: counting them would report more FLOP/s than the array has
    flops = op.flops - op.matrix_flops * (1.0 - work_fraction)
    return finish(hw=hw, numerics=numerics, options=options, flops=flops, compute_s=compute_s,
                  bytes_by_level=levels, overhead_s=overhead_s(hw), compute_cycles=compute_cycles)

