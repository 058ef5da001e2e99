"""How many threads OpenVINO's CPU plugin gives each stream under the THROUGHPUT hint.

The plugin classifies a model by how well its worst layer's data fits one core's L2
(openvinotoolkit/openvino src/inference/src/dev/performance_heuristics.cpp
``mem_bandwidth_pressure_tolerance``, 2024 version), then picks threads per stream
(src/plugins/intel_cpu/src/cpu_streams_calculation.cpp ``get_model_prefer_threads`` and
``get_streams_info_table``, THROUGHPUT branch):

* per MatMul: ``L2 / ((input0 + input1 if it is not a constant + output) elements x bytes)``;
  per Convolution node whose kernel is smaller than 3 x 3 (a 3 x 3 or larger one counts as compute
  bound and is skipped): ``L2 / ((input + output) elements x bytes)``. Grouped and depthwise
  convolutions are ``GroupConvolution`` nodes, which the function does not look at. The model's
  tolerance is the smallest of these factors.
* the ISA scales the threshold: ``LIMITED / isa`` with ``LIMITED = 0.5`` and isa 4 on AMX parts,
  2 with AVX-512 VNNI, 1 otherwise. Above it: 1 thread per stream; above ``LIMITED`` only: 2; else
  (memory-bound, or no MatMul/1x1 convolution and not every convolution compute bound) the default:
  4, 5 or 3 threads as the cores of a NUMA node divide, else ``min(4, cores / 4)``.

So a bandwidth-hungry model runs fewer, wider streams (each sharing its L2s), a cache-friendly one a
stream per core; the mapping of an OpenVINO throughput row reads its threads per stream from here,
the same rule for every row.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

from simulator.workload.graph import ComputeGraph
from simulator.workload.ops import Op, OpKind

# MemBandwidthPressure::LIMITED, "conservatively assume 1/2 utilization of the cache"
# (src/inference/dev_api/openvino/runtime/performance_heuristics.hpp)
LIMITED = 0.5
# get_model_prefer_threads: isaSpecificThreshold by dnnl::get_effective_cpu_isa()
ISA_AMX, ISA_VNNI, ISA_OTHER = 4.0, 2.0, 1.0


def isa_factor(hw) -> float:
    """The ISA's threshold divisor, from oneDNN's effective ISA (the highest the part has) as the
    plugin's switch reads it: 4 for exactly ``avx512_core_amx`` (Sapphire/Emerald Rapids), 2 for
    ``avx512_core_vnni`` (int8 dot products on AVX-512, no bf16), and the switch's default 1 for every
    other ISA, higher ones included: ``avx512_core_amx_fp16`` (AMX with fp16 tiles: Granite Rapids) and
    ``avx512_core_bf16`` (bf16 on AVX-512: Zen 4/5) are not among its cases.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> [isa_factor(load_hardware(n)) for n in ("intel-xeon-platinum-8480", "intel-xeon-6980p", "amd-epyc-9654")]
        [4.0, 1.0, 1.0]
    """
    c = hw.compute
    matrix = {str(getattr(p, "value", p)) for p, v in dict(c.matrix_flops_per_cycle_per_core or {}).items() if v > 0}
    simd = {str(getattr(p, "value", p)) for p in c.simd_precisions}
    if matrix:
        return ISA_OTHER if "fp16" in matrix else ISA_AMX
    if "bf16" in simd:
        return ISA_OTHER
    return ISA_VNNI if "int8" in simd else ISA_OTHER


def moved_elems(op: Op) -> float | None:
    """Elements the heuristic counts for ``op`` (None: an op it skips or counts as compute bound).

    Example:
        >>> from simulator.workload import ops as O
        >>> moved_elems(O.conv2d("c", batch=1, in_ch=64, h=56, w=56, out_ch=256, kernel=1))   # (64+256) x 3136
        1003520
        >>> moved_elems(O.conv2d("c", batch=1, in_ch=64, h=56, w=56, out_ch=64, kernel=3, pad=1)) is None
        True
        >>> moved_elems(O.matmul("fc", batch=1, m=384, k=1024, n=1024))        # constant weights: 384 x (1024+1024)
        786432
    """
    a = dict(op.attrs)
    if op.kind == OpKind.CONV2D:
        kh, kw = (int(x) for x in str(a["kernel"]).split("x"))
        if a.get("groups", 1) > 1 or (kh >= 3 and kw >= 3):
            return None
        return op.input_elems + op.output_elems
    if op.kind == OpKind.MATMUL:
        return op.input_elems + op.output_elems
    if op.kind == OpKind.ATTENTION:
        # two MatMuls with no constant input: Q.K^T (q, k, scores) and P.V (scores, v, output)
        batch_heads = op.gemms[0].count
        q, s, d = a["q_len"], a["kv_len"], op.gemms[0].k
        kv = batch_heads * s * d * a["kv_heads"] / a["heads"]
        scores = batch_heads * q * s
        return max(batch_heads * q * d + kv + scores, scores + kv + batch_heads * q * d)
    return None


def mem_tolerance(ops: Iterable[Op], l2_bytes: float, dtype_bytes: float = 4.0) -> float:
    """The model's worst cache factor: ``l2_bytes / (elements x dtype_bytes)`` over the ``ops`` the
    heuristic counts; ``math.inf`` if it counts none. ``dtype_bytes``: the heuristic reads the weight
    type (4 for an FP32 or FP16-compressed IR; an int8 model's 1 only raises the factor).

    Example:
        >>> from simulator.workload import ops as O
        >>> g = [O.conv2d("c", batch=1, in_ch=64, h=56, w=56, out_ch=256, kernel=1)]
        >>> round(mem_tolerance(g, 2 * 2**20), 3)          # 2 MiB / (1003520 x 4 B)
        0.522
    """
    worst = math.inf
    for op in ops:
        e = moved_elems(op)
        if e:
            worst = min(worst, l2_bytes / (e * dtype_bytes))
    return worst


def default_threads(cores_per_node: int) -> int:
    """Threads per stream when the model prefers none (get_streams_info_table, more than one NUMA
    node): 4, 5 or 3 as they divide the node's cores, else 4 above 16 cores, else cores / 4.

    Example:
        >>> [default_threads(n) for n in (56, 60, 35, 33, 14, 7)]
        [4, 4, 5, 3, 3, 1]
    """
    for t in (4, 5, 3):
        if cores_per_node % t == 0:
            return t
    return 4 if cores_per_node > 16 else max(1, cores_per_node // 4)


def threads_per_stream(tolerance: float, isa: float, cores_per_node: int, all_convs_compute: bool = False) -> int:
    """Threads per THROUGHPUT stream from the model's tolerance (:func:`mem_tolerance`).

    Example:
        >>> threads_per_stream(0.522, ISA_AMX, 56)     # above 0.5 / 4: one thread per stream
        1
        >>> threads_per_stream(0.3, ISA_OTHER, 56)     # below 0.5 / 1: the default
        4
        >>> threads_per_stream(0.6, ISA_OTHER, 56)     # above 0.5 / 1
        1
    """
    if math.isinf(tolerance):
        return 1 if all_convs_compute else default_threads(cores_per_node)
    if tolerance > LIMITED / isa:
        return 1
    if tolerance > LIMITED:
        return 2
    return default_threads(cores_per_node)


def all_convs_compute(ops: Iterable[Op]) -> bool:
    """Whether every Convolution node (ungrouped conv) has a kernel of at least 3 x 3."""
    convs = [op for op in ops if op.kind == OpKind.CONV2D and dict(op.attrs).get("groups", 1) == 1]
    return bool(convs) and all(moved_elems(op) is None for op in convs)


def model_threads_per_stream(graph: ComputeGraph, hw) -> tuple[int, float]:
    """(threads per stream, tolerance) of ``graph`` on socket spec ``hw`` under the THROUGHPUT hint,
    with one core's L2 (the first memory level's capacity over the cores)."""
    l2 = hw.memory[0].capacity_bytes / hw.compute.cores
    ops = list(graph.op_map.values())
    tol = mem_tolerance(ops, l2)
    return threads_per_stream(tol, isa_factor(hw), hw.compute.cores, all_convs_compute(ops)), tol
