"""Laws of the CPU cost model over every bundled CPU (hypothesis): batch-1 LLM decode never beats
reading its weights from DRAM when they do not fit in the caches; no op beats its roofline; an
instance on more cores (with their share of the socket) never spends longer on the work itself (only its
fork/join grows, with the log of its threads); an int8 or bf16 depthwise convolution never beats the
FP32 FMA peak of its cores; a GEMM's epilogue costs at least its FP32-lane time and at most adds to the
GEMM's."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import simulator as sim
from simulator.cost.base import CostOptions, Numerics
from simulator.cost.cpu import SIMD_GEMM_EFFICIENCY, achieved_flops_per_cycle, cache_bytes, core_flops_per_cycle, cost
from simulator.cost.peaks import cpu_vector_flops_per_cycle_per_core, matrix_flops_per_s
from simulator.spec.loader import catalogue, load_hardware
from simulator.units import Precision
from simulator.workload import ops as O
from simulator.workload.loader import load_workload
from simulator.workload.ops import Gemm
from validation.cpu_rows import socket_share

CPUS = sorted(n for n in catalogue() if load_hardware(n).kind == "cpu")
LLMS = st.sampled_from(["llama2-7b", "gptj-6b", "phi-4"])
WEIGHTS = st.sampled_from(["bf16", "int8", "int4"])
PRECISIONS = st.sampled_from([Precision.FP32, Precision.BF16, Precision.INT8])
DIMS = st.integers(min_value=1, max_value=8192)


@given(st.sampled_from(CPUS), LLMS, WEIGHTS, st.integers(min_value=1, max_value=2048))
def test_batch1_decode_never_beats_weight_bytes_over_dram_bandwidth(name, wl, weights, prompt):
    hw = load_hardware(name)
    params = load_workload(wl).build(batch_size=1, seq_len=8).parameters
    weight_bytes = params * Precision(weights).bytes
    g = sim.generate(wl, name, batch_size=1, prompt_len=prompt, output_len=2, precision="bf16",
                     weight_precision=weights, decode_samples=None)
    if weight_bytes > 0.5 * cache_bytes(hw):
        assert g.tpot_s >= weight_bytes / (hw.main_memory.bandwidth_gbs * 1e9) * (1 - 1e-9)


@given(st.sampled_from(CPUS), DIMS, DIMS, DIMS, PRECISIONS, st.booleans())
def test_no_gemm_beats_its_roofline(name, m, n, k, p, resident):
    hw = load_hardware(name)
    op = O.matmul("fc", batch=1, m=m, k=k, n=n, bias=True)
    c = cost(op, hw, Numerics(p, p), CostOptions(weights_on_chip=resident))
    # the all-core peak at the one-core turbo clock bounds every op (one core may turbo)
    clock = max(hw.compute.clock_ghz, hw.compute.single_core_clock_ghz or 0.0) / hw.compute.clock_ghz
    floor = max(op.flops / (matrix_flops_per_s(hw, p) * clock),
                c.bytes_by_level.get(hw.main_memory.name, 0.0) / (hw.main_memory.bandwidth_gbs * 1e9))
    assert c.duration_s >= floor * (1 - 1e-9)


@given(st.sampled_from(CPUS), DIMS, DIMS, DIMS, st.integers(min_value=1, max_value=64))
def test_an_instance_on_more_cores_is_never_slower(name, m, n, k, fewer):
    hw = load_hardware(name)
    cores = min(fewer, hw.compute.cores)
    bigger = load_hardware(name, socket_share(hw, min(2 * cores, hw.compute.cores)))
    smaller = load_hardware(name, socket_share(hw, cores))
    op = O.matmul("fc", batch=1, m=m, k=k, n=n, bias=True)
    numerics = Numerics(Precision.BF16, Precision.BF16)
    # the work itself (compute and traffic) never takes longer; the fork/join of more threads may
    big, small = (cost(op, h, numerics, CostOptions()) for h in (bigger, smaller))
    assert big.duration_s - big.overhead_s <= (small.duration_s - small.overhead_s) * (1 + 1e-12)


@given(st.sampled_from(CPUS), DIMS, DIMS, DIMS, PRECISIONS, st.floats(min_value=0.01, max_value=1.0),
       st.floats(min_value=0.01, max_value=1.0))
def test_a_gemm_never_falls_below_the_simd_floor_and_a_better_matrix_unit_never_slows_it(name, m, n, k, p, lo, hi):
    lo, hi = sorted((lo, hi))
    worse, better = (load_hardware(name, {"efficiency.compute": e}) for e in (lo, hi))
    g = Gemm(m=m, n=n, k=k)
    floor = cpu_vector_flops_per_cycle_per_core(worse, p) * SIMD_GEMM_EFFICIENCY
    rate_lo, rate_hi = achieved_flops_per_cycle(worse, g, p), achieved_flops_per_cycle(better, g, p)
    assert floor * (1 - 1e-12) <= rate_lo <= rate_hi * (1 + 1e-12)
    # and never above the faster raw path's peak
    assert rate_hi <= core_flops_per_cycle(better, g, p) * (1 + 1e-12)


@given(st.sampled_from(CPUS), st.integers(min_value=1, max_value=512), st.integers(min_value=3, max_value=112),
       st.sampled_from([3, 5]), st.booleans(), st.sampled_from([Precision.INT8, Precision.BF16]))
def test_a_depthwise_conv_never_beats_the_fp32_fma_peak(name, channels, size, kernel, resident, p):
    hw = load_hardware(name)
    op = O.conv2d("dw", batch=1, in_ch=channels, h=size, w=size, out_ch=channels, kernel=kernel,
                  pad=kernel // 2, groups=channels)
    c = cost(op, hw, Numerics(p, p), CostOptions(weights_on_chip=resident))
    # no dot product to fill: one multiply-add per 32-bit lane, whatever the int8 SIMD or matrix peak (the
    # compute time itself: the op's traffic alone would usually bound it)
    clock = max(hw.compute.clock_ghz, hw.compute.single_core_clock_ghz or 0.0) * 1e9
    fp32_peak = hw.compute.cores * cpu_vector_flops_per_cycle_per_core(hw, Precision.FP32) * clock
    assert c.compute_s >= sum(g.flops for g in op.gemms) / fp32_peak * (1 - 1e-9)


@given(st.sampled_from(CPUS), DIMS, DIMS, DIMS, PRECISIONS, st.integers(min_value=0, max_value=64))
def test_an_epilogue_takes_at_least_its_fp32_lane_time_and_at_most_adds_to_the_gemm(name, m, k, n, p, per_out):
    """A matmul with ``per_out`` element-wise FLOPs per output: its compute time is at least the GEMM
    alone and the epilogue alone (at FP32 lanes, whatever ``p``), at most the two one after the other."""
    import dataclasses
    from simulator.cost.cpu import _compute
    hw = load_hardware(name)
    base = O.matmul("fc", batch=1, m=m, k=k, n=n, bias=False)
    op = dataclasses.replace(base, flops=base.matrix_flops + per_out * m * n)
    gemm_s = _compute(base, hw, p)[0]
    element_only = dataclasses.replace(op, gemms=(), flops=float(per_out * m * n))
    element_s, cores = _compute(element_only, hw, p)
    both = _compute(op, hw, p)[0]
    assert both >= max(gemm_s, element_s) * (1 - 1e-12)
    assert both <= (gemm_s + element_s) * (1 + 1e-12)
    if per_out:
        clock = hw.compute.clock_ghz * 1e9 if cores > 1 else min(hw.compute.single_core_clock_ghz or
                                                                  hw.compute.clock_ghz, hw.compute.clock_ghz * hw.compute.cores) * 1e9
        fp32 = cpu_vector_flops_per_cycle_per_core(hw, Precision.FP32) * hw.efficiency.vector
        assert element_s >= per_out * m * n / (cores * clock * fp32) * (1 - 1e-12)
