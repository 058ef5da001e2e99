"""Cost-model formulas against hand computations."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest

from simulator.cost.base import Bound, CostOptions, Numerics, finish
from simulator.cost.dispatch import op_cost
from simulator.cost.gpu import gemm_plan
from simulator.cost.peaks import matrix_flops_per_s, vector_flops_per_s
from simulator.cost.systolic import map_gemm
from simulator.spec.loader import load_hardware
from simulator.spec.models import Dataflow
from simulator.units import Precision
from simulator.workload import ops as O
from simulator.workload.ops import Gemm, Phase

BF16 = Numerics(Precision.BF16, Precision.BF16)


def test_h100_peaks_match_datasheet():
    hw = load_hardware("nvidia-h100-sxm")
    assert matrix_flops_per_s(hw, Precision.BF16) == pytest.approx(989.4e12, rel=1e-3)
    assert matrix_flops_per_s(hw, Precision.FP8) == pytest.approx(1978.9e12, rel=1e-3)
    # no int4 tensor path: falls back to int8
    assert matrix_flops_per_s(hw, Precision.INT4) == matrix_flops_per_s(hw, Precision.INT8)
    assert vector_flops_per_s(hw, Precision.FP32) == pytest.approx(132 * 256 * 1.83e9)


def test_wave_quantization_133_tiles_on_132_sms_takes_two_waves():
    hw = load_hardware("nvidia-h100-sxm", {"compute.tile_m": 128, "compute.tile_n": 128})
    rate = 1e12
    # 133 output tiles of 128x128: m = 133*128, n = 128
    p133 = gemm_plan(hw, Gemm(m=133 * 128, n=128, k=1024), rate)
    t133, waves, tiles = p133.seconds, p133.waves, p133.blocks
    assert tiles == 133 and waves == 2
    p132 = gemm_plan(hw, Gemm(m=132 * 128, n=128, k=1024), rate)
    t132, waves132 = p132.seconds, p132.waves
    assert waves132 == 1
    assert t133 == pytest.approx(2 * t132)
    assert t132 == pytest.approx(2 * 128 * 128 * 1024 / rate)


def test_long_k_few_wave_gemm_runs_stream_k_by_hand():
    from simulator.cost.gpu import STREAM_K_BLOCK, gemm_plan

    hw = load_hardware("nvidia-h200")  # 132 SMs, 128x256 tiles
    rate = 1e12
    g = Gemm(m=1280, n=4096, k=12032)  # M005's MAMF shape: 10 x 16 = 160 tiles, 1.21 waves
    plan = gemm_plan(hw, g, rate)
    assert plan.stream_k and plan.waves == 3  # 2 whole-tile fills + 1 fix-up
    iters = 160 * math.ceil(12032 / STREAM_K_BLOCK)
    assert plan.seconds == pytest.approx(math.ceil(iters / 132) * 2 * 128 * 256 * STREAM_K_BLOCK / rate)
    tiled = 2 * 2 * 128 * 256 * 12032 / rate  # two whole-tile waves
    assert plan.seconds < 0.65 * tiled
    # whole waves already: no stream-K
    assert not gemm_plan(hw, Gemm(m=132 * 128, n=256, k=12032), rate).stream_k


@pytest.mark.parametrize("df,rows,cols,m,n,k,expected", [
    # hand computation of the table in systolic.py
    (Dataflow.OS, 4, 4, 8, 8, 10, 4 * (10 + 4 + 4 - 2) - 1),   # folds ceil(8/4)*ceil(8/4)
    (Dataflow.WS, 4, 4, 10, 8, 8, 4 * (2 * 4 + 4 + 10 - 2) - 1),  # rows=k=8, cols=n=8, T=m=10
    (Dataflow.IS, 4, 2, 6, 5, 8, (2 * 3) * (2 * 4 + 2 + 5 - 2) - 1),  # rows=k=8 (2), cols=m=6 (3), T=n
    (Dataflow.WS, 32, 32, 512, 512, 512, 155135),  # SCALE-Sim's figure (PEERS.md)
])
def test_systolic_cycles(df, rows, cols, m, n, k, expected):
    assert map_gemm(Gemm(m=m, n=n, k=k), rows=rows, cols=cols, dataflow=df).cycles == expected


def test_systolic_multiple_arrays_share_folds():
    one = map_gemm(Gemm(m=512, n=512, k=512), rows=32, cols=32, dataflow=Dataflow.WS, arrays=1)
    four = map_gemm(Gemm(m=512, n=512, k=512), rows=32, cols=32, dataflow=Dataflow.WS, arrays=4)
    assert four.cycles + 1 == (one.folds // 4) * one.cycles_per_fold


def test_roofline_finish_hand_computed():
    hw = load_hardware("nvidia-h100-sxm")
    main = hw.main_memory
    nbytes = 1e9
    c = finish(hw=hw, numerics=BF16, options=CostOptions(), flops=0.0, compute_s=1e-4,
               bytes_by_level={main.name: nbytes}, overhead_s=2e-6)
    mem_s = nbytes / (main.bandwidth_gbs * 1e9 * hw.efficiency.memory)
    assert c.memory_s == pytest.approx(mem_s)
    assert c.duration_s == pytest.approx(max(1e-4, mem_s) + 2e-6)
    assert c.bound == (Bound.MEMORY if mem_s > 1e-4 else Bound.COMPUTE)
    # the bytes' energy, plus the active power over the op's whole duration
    assert c.dynamic_energy_j == pytest.approx(nbytes * main.energy_pj_per_byte * 1e-12
                                               + hw.power.active_w * c.duration_s)
    assert c.energy_by_level_j["active"] == pytest.approx(340.0 * c.duration_s)


def test_power_cap_stretches_an_op_to_the_cap():
    hw = load_hardware("nvidia-h100-sxm")
    flops = 1e12
    compute_s = 1e-3
    e = flops * hw.power.energy_pj_per_flop[Precision.BF16] * 1e-12  # 0.28 J over 1 ms = 278 W of arithmetic
    free = finish(hw=hw, numerics=BF16, options=CostOptions(), flops=flops, compute_s=compute_s,
                  bytes_by_level={}, overhead_s=0.0)
    assert free.throttled_s == 0.0
    capped = finish(hw=hw, numerics=BF16, options=CostOptions(power_cap_w=270.0), flops=flops,
                    compute_s=compute_s, bytes_by_level={}, overhead_s=0.0)
    # under the cap the active power shrinks with the headroom: 340 W x (270 - 70) / (700 - 70)
    active = hw.power.active_w * (270.0 - hw.power.idle_w) / (hw.power.tdp_w - hw.power.idle_w)
    assert capped.duration_s == pytest.approx(e / (270.0 - hw.power.idle_w - active))
    assert hw.power.idle_w + capped.dynamic_energy_j / capped.duration_s == pytest.approx(270.0)


def test_t4_sustains_the_power_capped_gemm_rate_nvidia_measured():
    """A continuous 4096^3 fp16 cuBLAS GEMM on a 70 W T4 runs at ~24 TFLOPS, power-capped (NVIDIA
    Developer Forums thread 264462): the clock drops, the op stretches to the cap, and int8 (half
    the energy per op) sustains twice the rate."""
    hw = load_hardware("nvidia-t4")
    op = O.matmul("g", batch=1, m=4096, k=4096, n=4096, bias=False)
    c = op_cost(op, hw, Numerics(Precision.FP16, Precision.FP16))
    assert c.throttled_s > 0
    assert op.flops / c.duration_s == pytest.approx(24e12, rel=0.02)
    assert hw.power.idle_w + c.dynamic_energy_j / c.duration_s == pytest.approx(hw.power.tdp_w, rel=1e-2)
    i8 = op_cost(op, hw, Numerics(Precision.INT8, Precision.INT8))
    assert op.flops / i8.duration_s == pytest.approx(2 * op.flops / c.duration_s, rel=0.1)


def test_gemm_on_gpu_is_compute_bound_and_not_faster_than_peak():
    hw = load_hardware("nvidia-h100-sxm")
    op = O.matmul("fc", batch=1, m=8192, k=8192, n=8192, bias=False)
    c = op_cost(op, hw, BF16)
    assert c.bound == Bound.COMPUTE
    assert c.duration_s >= op.flops / matrix_flops_per_s(hw, Precision.BF16)
    # achieved fraction is the fitted compute efficiency (no wave tail: 64*32 tiles on 132 SMs ~ 16 waves)
    assert op.flops / c.compute_s / matrix_flops_per_s(hw, Precision.BF16) <= hw.efficiency.compute + 1e-9


def test_elementwise_on_gpu_is_memory_bound_at_achievable_bandwidth():
    hw = load_hardware("nvidia-h100-sxm")
    op = O.elementwise("add", elems=2**28, inputs=2)
    c = op_cost(op, hw, BF16)
    assert c.bound == Bound.MEMORY
    nbytes = 3 * 2**28 * 2
    assert c.bytes_moved == nbytes
    assert c.memory_s == pytest.approx(nbytes / (hw.main_memory.bandwidth_gbs * 1e9 * hw.efficiency.memory))


def test_unfused_attention_moves_the_score_matrix():
    hw = load_hardware("nvidia-h100-sxm")
    op = O.attention("a", batch=1, heads=8, q_len=2048, kv_len=2048, head_dim=64)
    fused = op_cost(op, hw, BF16, CostOptions(fused_attention=True))
    plain = op_cost(op, hw, BF16, CostOptions(fused_attention=False))
    scores = 8 * 2048 * 2048
    # scores and probabilities written and read at 2 B (2 x 2 x 2 B), plus mixed precision's FP32
    # softmax: cast in (2 + 4 B), softmax at 4 B (+2 + 2 B), cast back (4 + 2 B) = 16 B more per score
    assert plain.bytes_moved - fused.bytes_moved == pytest.approx(scores * (2 * 2 * 2 + 16))
    assert plain.duration_s > fused.duration_s
    fp32 = Numerics(compute=Precision.FP32, weights=Precision.FP32)
    plain32 = op_cost(op, hw, fp32, CostOptions(fused_attention=False))
    fused32 = op_cost(op, hw, fp32, CostOptions(fused_attention=True))
    assert plain32.bytes_moved - fused32.bytes_moved == pytest.approx(scores * 2 * 2 * 4)  # no casts in FP32


def test_recurrent_steps_are_sequential():
    hw = load_hardware("nvidia-h100-sxm")
    short = op_cost(O.lstm("l", batch=8, steps=10, input_size=256, hidden=256), hw, BF16)
    long = op_cost(O.lstm("l", batch=8, steps=100, input_size=256, hidden=256), hw, BF16)
    assert long.duration_s == pytest.approx(10 * short.duration_s, rel=0.05)


def test_op_cost_is_pure():
    hw = load_hardware("nvidia-h100-sxm")
    op = O.conv2d("c", batch=8, in_ch=64, h=56, w=56, out_ch=64, kernel=3, pad=1)
    assert op_cost(op, hw, BF16) == op_cost(op, hw, BF16)
    assert math.isfinite(op_cost(op, hw, BF16).duration_s)


def test_fp8_keeps_16_bit_tensors_and_an_8_bit_kv_cache_by_hand():
    from simulator.cost.base import op_bytes
    from simulator.cost.memory import resident_bytes

    fp8 = Numerics(Precision.FP8, Precision.FP8)
    # decode attention: 1 query token over 1,000 cached tokens, 8 heads of 128 (MHA)
    op = O.attention("a", batch=1, heads=8, q_len=1, kv_len=1000, head_dim=128)
    act_in, act_out, _ = op_bytes(op, fp8, fused_attention=True)
    q = 8 * 128
    assert act_in == q * 2 + 2 * 8 * 1000 * 128 * 1   # query at 16 bits, K and V at 8 bits
    assert act_out == q * 2
    fc = O.matmul("fc", batch=4, m=1, k=64, n=32, bias=False)
    assert op_bytes(fc, fp8, fused_attention=True)[1] == 4 * 32 * 2          # GEMM output at 16 bits
    grads = resident_bytes(params=1e9, state_elems=0, training=True, compute=Precision.FP8,
                           weights=Precision.FP8)["gradients"]
    assert grads == 2e9                                                        # gradients at 16 bits


def test_eager_attention_scale_and_mask_passes_read_and_write_every_score():
    # BERT-Large SQuAD shape at batch 1: 16 heads x 384 x 384 scores, FP16 tensors (apex O2 / model.half())
    hw = load_hardware("nvidia-a100-sxm-80gb")
    fp16 = Numerics(compute=Precision.FP16, weights=Precision.FP16)
    op = O.attention("a", batch=1, heads=16, q_len=384, kv_len=384, head_dim=64)
    scores = 16 * 384 * 384
    plain = op_cost(op, hw, fp16, CostOptions(fused_attention=False))
    eager = op_cost(op, hw, fp16, CostOptions(fused_attention=False, score_passes=2))
    # the scale and the mask add: each reads and writes every score at 2 B = 4 B per score each
    assert eager.bytes_moved - plain.bytes_moved == scores * 2 * (2.0 + 2.0)
    # two more kernels, two more launches
    assert eager.overhead_s - plain.overhead_s == pytest.approx(2 * hw.efficiency.op_overhead_us * 1e-6)
    assert eager.duration_s > plain.duration_s
    # backward: the scale's gradient is one pass; the add passes its gradient on without a kernel
    back = replace(op, phase=Phase.BACKWARD)
    grad = op_cost(back, hw, fp16, CostOptions(fused_attention=False, score_passes=2))
    assert grad.bytes_moved - op_cost(back, hw, fp16, CostOptions(fused_attention=False)).bytes_moved \
        == scores * 1 * (2.0 + 2.0)
    # a fused kernel has no score matrix in memory: the passes are not run
    assert op_cost(op, hw, fp16, CostOptions(score_passes=2)) == op_cost(op, hw, fp16, CostOptions())


def test_gemm_with_a_32_bit_c_read_and_d_written_by_hand():
    """rocblas-bench gemm_strided_batched_ex, FP16 A/B, FP32 C and D, beta 1 (the MI300X acceptance
    GEMM): per batch A 1024x512 and B 512x2048 at 2 B, C read and D written at 4 B."""
    from simulator.cost.base import op_bytes

    fp16 = Numerics(Precision.FP16, Precision.FP16)
    plain = O.matmul("g", batch=5, m=1024, k=512, n=2048, bias=False, has_weight=False)
    wide = plain.renamed("g", attrs=plain.attrs + ((O.OUTPUT_FORMAT, "fp32"), (O.OUTPUT_READ, True)))
    a_b = 5 * (1024 * 512 + 512 * 2048) * 2
    assert op_bytes(plain, fp16, fused_attention=True)[:2] == (a_b, 5 * 1024 * 2048 * 2)
    assert op_bytes(wide, fp16, fused_attention=True)[:2] == (a_b + 5 * 1024 * 2048 * 4, 5 * 1024 * 2048 * 4)
    # no C read without beta: D alone is wider
    d_only = plain.renamed("g", attrs=plain.attrs + ((O.OUTPUT_FORMAT, "fp32"),))
    assert op_bytes(d_only, fp16, fused_attention=True)[0] == a_b
    # on the MI300X the 100.7 MB (15.7 MB A/B + 2 x 41.9 MB C/D) stream at 5.3 TB/s x efficiency.memory
    hw = load_hardware("amd-mi300x")
    c = op_cost(wide, hw, fp16)
    assert c.memory_s == pytest.approx((a_b + 2 * 5 * 1024 * 2048 * 4) / (5300e9 * hw.efficiency.memory))
    assert c.duration_s > op_cost(plain, hw, fp16).duration_s


def test_output_read_only_adds_bytes_monotonically():
    """A C read never makes a GEMM cheaper, on every device kind's cost model."""
    fp16 = Numerics(Precision.FP16, Precision.FP16)
    for name in ("nvidia-h100-sxm", "amd-mi300x", "google-tpu-v5e"):
        hw = load_hardware(name)
        for m, k, n in ((128, 4096, 4096), (1024, 512, 2048), (8, 64, 64)):
            op = O.matmul("g", batch=3, m=m, k=k, n=n, bias=False, has_weight=False)
            reads = op.renamed("g", attrs=op.attrs + ((O.OUTPUT_READ, True),))
            assert op_cost(reads, hw, fp16).duration_s >= op_cost(op, hw, fp16).duration_s
