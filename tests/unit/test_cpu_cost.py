"""CPU cost model mechanisms, each against a hand computation: AMX tile fill, the cores a GEMM's
output blocks keep busy, cache residency of activations and of a step's weights, the instance share
of a socket (validation.cpu_rows)."""
from __future__ import annotations

import math

import pytest

from simulator.cost.base import CostOptions, Numerics
from simulator.cost.cpu import (SIMD_GEMM_EFFICIENCY, achieved_flops_per_cycle, cache_bytes, core_flops_per_cycle,
                                 cost, gemm_blocks, gemm_time_s, simd_gemm_flops_per_cycle)
from simulator.run.device import _residency
from simulator.run.graphs import build_graph, memory_plan
from simulator.scenario import make_scenario
from simulator.spec.loader import load_hardware
from simulator.units import Precision
from simulator.workload import ops as O
from simulator.workload.loader import load_workload
from simulator.workload.ops import Gemm
from validation.cpu_rows import socket_share, sockets_as_one

XEON = "intel-xeon-platinum-8480"   # 56 cores, 2.0 GHz, AMX bf16 1024 / int8 2048 FLOP/cycle, AVX-512 bf16 128
BF16 = Numerics(Precision.BF16, Precision.BF16)


def _xeon(**eff):
    return load_hardware(XEON, {f"efficiency.{k}": v for k, v in eff.items()} or None)


def test_amx_rate_scales_with_the_tile_rows_a_gemm_fills():
    hw = _xeon()
    # 16 tile rows of 64 bytes: 8 rows fill half a tile; k = 48 bf16 fills 48 of 64 (two 32-deep tiles)
    assert core_flops_per_cycle(hw, Gemm(m=8, n=32, k=64), Precision.BF16) == 512.0
    assert core_flops_per_cycle(hw, Gemm(m=16, n=32, k=48), Precision.BF16) == 1024.0 * 48 / 64
    # int8: 64-deep tiles; 2048 x 40/64 = 1280 beats AVX-512 VNNI's 256
    assert core_flops_per_cycle(hw, Gemm(m=16, n=16, k=40), Precision.INT8) == 1280.0


def test_a_one_row_gemm_runs_on_the_simd_units_instead():
    hw = _xeon()
    # AMX at 1/16 of 1024 = 64 < AVX-512 bf16 dot product 512/16 x 2 FMA x 2 = 128
    assert core_flops_per_cycle(hw, Gemm(m=1, n=4096, k=4096), Precision.BF16) == 128.0
    # a CPU without a matrix unit always gets its SIMD rate: Zen 4 bf16 256/16 x 2 x 2 = 64
    assert core_flops_per_cycle(load_hardware("amd-epyc-9654"), Gemm(m=64, n=64, k=64), Precision.BF16) == 64.0


def test_the_simd_path_keeps_its_own_share_of_peak_not_the_amx_fitted_one():
    hw = _xeon(compute=0.3)
    g = Gemm(m=64, n=64, k=64)
    # FP32 has no AMX path: AVX-512 512/32 x 2 FMA x 2 = 64 FLOP/cycle at 0.90, not at the AMX's 0.3
    assert SIMD_GEMM_EFFICIENCY == 0.90
    assert achieved_flops_per_cycle(hw, g, Precision.FP32) == pytest.approx(64 * 0.90)
    # full tiles: AMX 1024 x 0.3 = 307.2 beats AVX-512 bf16 128 x 0.9 = 115.2
    assert achieved_flops_per_cycle(hw, g, Precision.BF16) == pytest.approx(307.2)
    # 4 of 16 tile rows: AMX 256 x 0.3 = 76.8 loses to the SIMD units' 115.2
    assert achieved_flops_per_cycle(hw, Gemm(m=4, n=64, k=64), Precision.BF16) == pytest.approx(115.2)
    # a CPU without a matrix unit ignores efficiency.compute: Zen 4 bf16 64 x 0.9
    epyc = load_hardware("amd-epyc-9654", {"efficiency.compute": 0.1})
    assert achieved_flops_per_cycle(epyc, g, Precision.BF16) == pytest.approx(64 * 0.90)
    # and the GEMM's time follows: 2 x 64^3 FLOP in 2 x 2 output blocks of 32 x 32, one per core, at 2 GHz
    t, used = gemm_time_s(hw, g, Precision.FP32, 2.0e9)
    assert used == 4 and t == pytest.approx(2 * 64**3 / 4 / (64 * 0.90 * 2.0e9))


def test_a_depthwise_conv_gets_one_multiply_add_per_32_bit_lane():
    hw = _xeon(compute=0.3)
    dw = O.conv2d("dw", batch=1, in_ch=32, h=56, w=56, out_ch=32, kernel=3, pad=1, groups=32)
    g = dw.gemms[0]                                   # m=3136, n=1, k=9, count=32
    # oneDNN's int8 depthwise kernel: one channel per 32-bit lane, 16 lanes x 2 FMA ports x 2 = 64, the FP32
    # rate, not VNNI's 4-way 512/8 x 2 x 2 = 256; AMX at 2048 x 1/16 (n) x 9/64 (k) x 0.3 = 5.4 loses to it
    assert simd_gemm_flops_per_cycle(hw, g, Precision.INT8) == 64.0
    # bf16 on an AMX part: oneDNN's brdgmm widens each source to FP32 (VPMOVZXWD, VPSLLD) before a
    # VFMADD231PS, 3 vector instructions per 16-lane multiply-add: 64 / 3 (not VDPBF16PS's 128)
    assert simd_gemm_flops_per_cycle(hw, g, Precision.BF16) == pytest.approx(64 / 3)
    assert achieved_flops_per_cycle(hw, g, Precision.INT8) == pytest.approx(64 * 0.90)
    # a GEMM with output channels to reduce over keeps the dot-product rate
    assert simd_gemm_flops_per_cycle(hw, Gemm(m=3136, n=16, k=9), Precision.INT8) == 256.0
    # the op's time: 2 x 3136 x 9 x 32 FLOP in 32 channels x 98 blocks of 32 rows = 3136 blocks, 56 full
    # waves on the 56 cores, each block at 57.6 FLOP/cycle at 2 GHz
    t, used = gemm_time_s(hw, g, Precision.INT8, 2.0e9)
    blocks = 32 * math.ceil(3136 / 32)
    assert used == 56 and t == pytest.approx(math.ceil(blocks / 56) * (g.flops / blocks) / (57.6 * 2.0e9))


def test_output_blocks_limit_the_cores_and_a_partial_wave_costs_a_full_block():
    hw = _xeon(compute=1.0)
    # 32 x 32 blocks: m=49 -> 2, n=512 -> 16: 32 blocks, 32 of 56 cores busy
    g = Gemm(m=49, n=512, k=4608)
    assert gemm_blocks(hw, g) == 32
    t, used = gemm_time_s(hw, g, Precision.BF16, 2.0e9)
    assert used == 32
    assert t == pytest.approx(g.flops / 32 / (1024 * 49 / 64 * 2.0e9))
    # 57 blocks on 56 cores: two waves, each one block's time
    g2 = Gemm(m=32, n=57 * 32, k=1024)
    t2, used2 = gemm_time_s(hw, g2, Precision.BF16, 2.0e9)
    assert (gemm_blocks(hw, g2), used2) == (57, 56)
    assert t2 == pytest.approx(2 * (g2.flops / 57) / (1024 * 2.0e9))


def test_activations_that_fit_half_the_caches_stay_on_chip_and_weights_follow_the_run():
    hw = _xeon()
    op = O.matmul("fc", batch=1, m=64, k=1024, n=1024, bias=False)
    c = cost(op, hw, BF16, CostOptions())
    acts = (64 * 1024 + 64 * 1024) * 2.0
    assert c.bytes_by_level["l3"] == pytest.approx(acts)
    assert c.bytes_by_level["ddr"] == pytest.approx(1024 * 1024 * 2.0)      # weights: not resident
    resident = cost(op, hw, BF16, CostOptions(weights_on_chip=True))
    assert "ddr" not in resident.bytes_by_level
    assert resident.bytes_by_level["l3"] == pytest.approx(acts + 1024 * 1024 * 2.0)


def test_caches_add_up_and_big_activations_go_to_dram():
    hw = _xeon()
    assert cache_bytes(hw) == 117_440_512 + 110_100_480
    big = O.elementwise("relu", elems=200_000_000, inputs=1)       # 400 MB in + 400 MB out at bf16
    c = cost(big, hw, BF16, CostOptions())
    assert c.bytes_by_level["ddr"] == pytest.approx(800e6)


def _weights_on_chip(workload: str, hw, precision: str = "int8", **shape) -> bool:
    sc = make_scenario(mode="inference", batch_size=1, precision=precision, **shape)
    fwd, graph = build_graph(load_workload(workload), sc)
    numerics = Numerics(Precision(precision), Precision(precision))
    return _residency(graph, hw, numerics, memory_plan(fwd, sc)["weights"]).weights_on_chip


def test_a_steps_weights_stay_in_the_caches_only_if_they_all_fit_in_half_of_them():
    hw = _xeon()
    # ResNet-50 int8: 25.6 MB <= 0.5 x 217 MiB; Llama-2-7B: 6.7 GB does not fit
    assert _weights_on_chip("resnet50", hw, image_size=224)
    assert not _weights_on_chip("llama2-7b", hw, seq_len=8)


def test_one_instance_holds_the_weights_only_when_instances_share_one_copy():
    hw = load_hardware(XEON)
    private = load_hardware(XEON, socket_share(hw, 1))
    shared = load_hardware(XEON, socket_share(hw, 1, shared_weights=True))
    # one core's share of the caches is 217 MiB / 56 = 3.9 MiB: ResNet-50's 25.6 MB fit only if shared
    assert not _weights_on_chip("resnet50", private, image_size=224)
    assert _weights_on_chip("resnet50", shared, image_size=224)


def test_an_instance_gets_its_share_of_every_socket_resource():
    hw = load_hardware(XEON)
    o = socket_share(hw, 4)
    assert o["compute.cores"] == 4
    assert o["memory.ddr.bandwidth_gbs"] == pytest.approx(307.2 * 4 / 56)
    assert o["memory.l3.capacity_bytes"] == pytest.approx(110_100_480 * 4 / 56)
    assert o["power.tdp_w"] == pytest.approx(350 * 4 / 56)
    assert o["compute.single_core_clock_ghz"] == hw.compute.clock_ghz    # every core busy: no turbo
    two = sockets_as_one(hw, 2, main_bandwidth_gbs=500.0)
    assert (two["compute.cores"], two["memory.ddr.bandwidth_gbs"]) == (112, 500.0)


def test_an_op_pays_one_fork_join_level_per_doubling_of_its_threads():
    hw = _xeon(op_overhead_us=2.0)
    tiny = O.elementwise("add", elems=1000, inputs=2)                 # one grain: one core
    assert cost(tiny, hw, BF16, CostOptions()).overhead_s == pytest.approx(2e-6 * 1)
    big = O.matmul("fc", batch=1, m=64 * 7, k=64, n=64 * 16)          # 7 x 32 = 224 blocks: all 56 cores
    assert cost(big, hw, BF16, CostOptions()).overhead_s == pytest.approx(2e-6 * math.log2(57))


def _bert_attention():
    # BERT-Large at 384 tokens, one sequence: 16 heads of 64
    return O.attention("a", batch=1, heads=16, q_len=384, kv_len=384, head_dim=64)


def test_openvino_runs_a_large_int8_attention_unfused_with_its_scores_in_memory():
    from simulator.cost.base import attention_fused, op_bytes
    from simulator.spec.stack import load_stack

    lim = load_stack("openvino").attention_fusion_limit
    assert lim.applies("cpu", "int8") and lim.applies("cpu", "bf16")
    assert not lim.applies("cpu", "fp32") and not lim.applies("gpu", "int8")
    # Q.K^T of BERT at 384 tokens has N = 384 > 256: unfused; at 128 tokens (K, N <= 256, 512) fused
    att = _bert_attention()
    assert not attention_fused(att, CostOptions(attention_fusion_limit=lim))
    assert attention_fused(O.attention("a", batch=1, heads=12, q_len=128, kv_len=128, head_dim=64),
                           CostOptions(attention_fusion_limit=lim))
    # no limit: the scenario's choice
    assert attention_fused(att, CostOptions()) and not attention_fused(att, CostOptions(fused_attention=False))
    # unfused at BF16 tensors: scores and probabilities (2 x 16 x 384 x 384) written and read once each at
    # 2 bytes, no FP32 softmax casts (the stack's softmax node reads and writes BF16)
    scores = 16 * 384 * 384
    q = kv = 16 * 384 * 64
    a_in, a_out, _ = op_bytes(att, BF16, fused_attention=False, fp32_softmax=False)
    assert a_in == pytest.approx((q + 2 * kv) * 2 + 2 * scores * 2)
    assert a_out == pytest.approx(q * 2 + 2 * scores * 2)
    # the FP32 softmax of a framework's mixed precision adds 8 B read and 8 B written per score
    b_in, b_out, _ = op_bytes(att, BF16, fused_attention=False)
    assert (b_in - a_in, b_out - a_out) == (pytest.approx(8 * scores), pytest.approx(8 * scores))


def test_an_unfused_attention_on_one_core_streams_its_scores_from_dram():
    from simulator.spec.stack import load_stack

    lim = load_stack("openvino").attention_fusion_limit
    # one OpenVINO stream: one core of an 8480+ with its 1/56 share of every level (validation.cpu_rows)
    hw = load_hardware(XEON, {**socket_share(load_hardware(XEON), 1), "efficiency.memory": 1.0,
                              "efficiency.op_overhead_us": 0.0})
    int8 = Numerics(Precision.INT8, Precision.INT8)
    att = _bert_attention()
    fused = cost(att, hw, int8, CostOptions())
    unfused = cost(att, hw, int8, CostOptions(attention_fusion_limit=lim))
    # the tensors are BF16 around the int8 GEMMs (tensor_numerics); 4 x 16 x 384 x 384 x 2 B of scores
    # do not fit in half of the core's 2 MiB L2 + 105/56 MiB L3 share: they go to DDR at 307.2 / 56 GB/s
    # (the fused op's own 4 x 16 x 384 x 64 BF16 elements, 3.1 MB, already miss that share too)
    # (plus the int8 probabilities' requantization node: 1 B more read and 1 B more written per score)
    extra = 4 * 16 * 384 * 384 * 2 + 2 * 16 * 384 * 384
    assert fused.bytes_by_level["ddr"] == pytest.approx(4 * 16 * 384 * 64 * 2)
    assert unfused.bytes_by_level["ddr"] == pytest.approx(4 * 16 * 384 * 64 * 2 + extra)
    assert unfused.memory_s >= extra / (307.2e9 / 56)
    assert unfused.duration_s > fused.duration_s


def test_an_unfused_openvino_attention_pays_one_fork_join_per_runtime_node():
    from simulator.cost.cpu import fork_join_s, fork_joins
    from simulator.spec.stack import load_stack

    lim = load_stack("openvino").attention_fusion_limit
    # MatMul, Softmax, MatMul and the Transposes of Q, K, V and the context
    assert lim.unfused_nodes == 7
    hw = load_hardware(XEON, {"efficiency.op_overhead_us": 2.0})
    bf16 = Numerics(Precision.BF16, Precision.BF16)
    att = _bert_attention()
    fused = cost(att, hw, bf16, CostOptions())
    unfused = cost(att, hw, bf16, CostOptions(attention_fusion_limit=lim))
    assert fork_joins(att, CostOptions(attention_fusion_limit=lim)) == 7
    # by hand: 2 us per level of the barrier over log2(1 + 56) levels, once per node
    assert fused.overhead_s == pytest.approx(2e-6 * math.log2(57))
    assert unfused.overhead_s == pytest.approx(7 * 2e-6 * math.log2(57))
    assert unfused.overhead_s == pytest.approx(7 * fork_join_s(hw, 56))
    # a length the fused kernel takes stays one node
    short = O.attention("a", batch=1, heads=16, q_len=128, kv_len=128, head_dim=64)
    assert cost(short, hw, bf16, CostOptions(attention_fusion_limit=lim)).overhead_s == pytest.approx(2e-6 * math.log2(57))


def test_openvino_runs_bert_layernorms_as_nodes_of_their_own():
    from simulator.spec.stack import load_stack

    s = load_stack("openvino")
    assert all(s.norms_apart("bert-large", p) for p in ("fp32", "bf16", "int8"))
    assert not s.norms_apart("resnet50", "int8")


def test_a_quantized_openvino_attention_requantizes_its_probabilities_in_a_node_of_their_own():
    from simulator.spec.stack import load_stack

    lim = load_stack("openvino").attention_fusion_limit
    assert lim.requantized_probabilities == ("int8",)
    # one OpenVINO stream: one core of an 8480+ with its 1/56 share (the scores go to DDR)
    hw = load_hardware(XEON, {**socket_share(load_hardware(XEON), 1), "efficiency.memory": 1.0,
                              "efficiency.op_overhead_us": 1.0})
    int8, bf16 = Numerics(Precision.INT8, Precision.INT8), Numerics(Precision.BF16, Precision.BF16)
    att = _bert_attention()
    q = cost(att, hw, int8, CostOptions(attention_fusion_limit=lim))
    b = cost(att, hw, bf16, CostOptions(attention_fusion_limit=lim))
    scores = 16 * 384 * 384
    # by hand: the int8 run's tensors are BF16 like the BF16 run's; the FakeQuantize node reads each
    # probability at 2 B and writes 1 B, P.V reads 1 B instead of 2: 2 B more per score
    assert q.bytes_by_level["ddr"] - b.bytes_by_level["ddr"] == pytest.approx(2 * scores)
    # one more node: 8 fork/joins of one level each (one core) against 7
    assert q.overhead_s == pytest.approx(8e-6) and b.overhead_s == pytest.approx(7e-6)
