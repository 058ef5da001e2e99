"""TPU training mechanisms by hand: causal block skipping in the flash-attention kernels, VLIW overlap
of vector and MXU work, AQT int8 training, and MaxText's mesh, remat and FLOP counter as the
validation maps them."""
from __future__ import annotations

import pytest

from simulator.cost.base import CostOptions, Numerics, tensor_bytes
from simulator.cost.dispatch import op_cost
from simulator.cost.systolic import map_gemm_background
from simulator.cost.tpu import AQT_DEQUANTIZE_OPS, AQT_QUANTIZE_OPS
from simulator.spec.loader import load_hardware
from simulator.units import GIGA, Precision
from simulator.workload import ops as O
from simulator.workload.loader import load_workload
from validation.rows import Row
from validation.tpu_rows import _mlperf_eval, maxtext_layout, maxtext_model_flops, remat_policy

BF16 = Numerics(Precision.BF16, Precision.BF16, training=True)


def _array_s(hw, op, macs_per_pe=1.0):
    c = hw.compute
    cycles = sum(map_gemm_background(g, rows=c.mxu_rows, cols=c.mxu_cols, arrays=c.cores_per_chip * c.mxus_per_core,
                                     max_moving=2048, min_issue_cycles=c.mxu_rows).cycles + 1 for g in op.gemms)
    return cycles / macs_per_pe / (c.clock_ghz * GIGA) / hw.efficiency.compute


def _vector_rate(hw):
    c = hw.compute
    return c.cores_per_chip * c.clock_ghz * GIGA * 2048 * hw.efficiency.vector


def test_causal_flash_attention_runs_the_longer_of_mxu_and_vector_work_on_its_lower_blocks():
    """v6e: 4 sequences x 32 heads of 2048 tokens, head_dim 128. 2048 / 512 = 4 query blocks per
    side: 10 of 16 blocks run. Softmax on the VPU overlaps the MXU (VLIW), so the op takes the longer."""
    hw = load_hardware("google-tpu-v6e")
    a = O.attention("a", batch=4, heads=32, q_len=2048, kv_len=2048, head_dim=128, causal=True)
    c = op_cost(a, hw, BF16, CostOptions())
    want = max(_array_s(hw, a, macs_per_pe=2.0), a.vector_flops / _vector_rate(hw)) * 10 / 16  # 2 bf16 MACs/PE
    assert c.compute_s == pytest.approx(want, rel=1e-9)
    full = op_cost(O.attention("a", batch=4, heads=32, q_len=2048, kv_len=2048, head_dim=128), hw, BF16,
                   CostOptions())
    assert c.compute_s / full.compute_s == pytest.approx(10 / 16, rel=1e-9)


def test_aqt_int8_training_quantizes_every_gemm_operand_on_the_vector_units():
    """v5p, one projection of 8192 tokens x 4096 -> 4096 in int8 training: the MXU runs at the int8
    rate (2 MACs per PE), then 7 vector ops per operand element and 3 per result element follow."""
    hw = load_hardware("google-tpu-v5p")
    op = O.matmul("fc", batch=1, m=8192, k=4096, n=4096, bias=False)
    c = op_cost(op, hw, Numerics(Precision.INT8, Precision.FP32, training=True), CostOptions())
    aqt = AQT_QUANTIZE_OPS * (8192 * 4096 + 4096 * 4096) + AQT_DEQUANTIZE_OPS * 8192 * 4096
    assert c.compute_s == pytest.approx(_array_s(hw, op, 2.0) + aqt / _vector_rate(hw), rel=1e-9)
    # inference int8 (static scales) pays no quantization
    inf = op_cost(op, hw, Numerics(Precision.INT8, Precision.INT8), CostOptions())
    assert inf.compute_s == pytest.approx(_array_s(hw, op, 2.0), rel=1e-9)


def test_aqt_leaves_the_attention_kernel_in_bf16_and_tensors_in_16_bits():
    hw = load_hardware("google-tpu-v5p")
    a = O.attention("a", batch=2, heads=8, q_len=1024, kv_len=1024, head_dim=128, causal=True)
    int8 = op_cost(a, hw, Numerics(Precision.INT8, Precision.FP32, training=True), CostOptions())
    assert int8.compute_s == pytest.approx(op_cost(a, hw, BF16, CostOptions()).compute_s, rel=1e-9)
    assert tensor_bytes(Precision.INT8, training=True) == 2.0 and tensor_bytes(Precision.INT8) == 1.0


def test_maxtext_flop_counter_matches_its_2023_formula():
    """train.py@76bd53b0: 6 x parameters x tokens + 12 x heads x layers x head_dim x seq^2 x batch / 2."""
    p = load_workload("maxtext-22b").params
    params = load_workload("maxtext-22b").published.parameters
    want = 6 * params * 2048 * 16 + 12 * 24 * 48 * 256 * 2048 ** 2 * 16 / 2
    # MaxText counts the norm scales too (49 x 6144 parameters): 14 parts per million
    assert maxtext_model_flops(p, 16, 2048) == pytest.approx(want, rel=2e-5)


def _row(notes: str, n: int, workload: str = "x (MaxText)") -> Row:
    return Row("U", "Google TPU v5p", n, workload, "training", "bf16", str(n), "seq 2048", "tokens_per_s", 1.0, "",
               notes)


def test_mesh_and_remat_read_from_the_notes():
    mesh, _ = maxtext_layout(_row("per_device_batch_size 1, ici_data 16 x fsdp 48 x tensor 8", 6144), 6144)
    assert mesh == {"tensor": 8, "data": 768, "fsdp": 48, "slices": 1, "slice_chips": 6144}
    mesh, _ = maxtext_layout(_row("ici_fsdp_parallelism=256, dcn_fsdp_parallelism=2, 2 v6e-256 slices", 512), 512)
    assert (mesh["fsdp"], mesh["slices"], mesh["data"]) == (512, 2, 512)
    mesh, _ = maxtext_layout(_row("ici_fsdp_parallelism=-1 ici_tensor_parallelism=16", 512), 512)
    assert (mesh["fsdp"], mesh["tensor"]) == (32, 16)
    assert "expert" in maxtext_layout(_row("ici_fsdp_parallelism=64, ici_expert_parallelism=4", 256), 256)
    assert remat_policy("remat_policy=minimal")[0] == "selective"
    assert remat_policy("remat_policy=qkv_proj_offloaded")[0] == "save-qkv+offload"
    assert remat_policy("remat custom (decoder_layer_input offloaded)")[0] == "full+offload-all"
    assert remat_policy("remat_policy=nothing_known") is None


def test_mlperf_gpt3_blocks_carry_their_evaluation():
    row = _row("eval_per_device_batch_size 1", 512, "MLPerf Training GPT-3 175B (MaxText)")
    assert _mlperf_eval(row, 512, 2048) == (50_331_648, 24567, 512)
    assert _mlperf_eval(_row("", 6144, "MLPerf Training GPT-3 175B (MaxText)"), 6144, 6144) == (50_331_648, 24567,
                                                                                                6144)
    assert _mlperf_eval(_row("", 512), 512, 2048) is None


def test_aqt_quantizes_a_zero3_sharded_weight_on_its_shard():
    """v5p, 8192 tokens x 4096 -> 4096 int8 training with the weight split over 64 FSDP ranks: the
    weight operand (4096 x 4096) is quantized on the rank's 1/64 shard before the int8 all-gather,
    forward and in the backward's dX = dY W^T; activations, dY and the results are quantized whole."""
    from simulator.workload.training import backward_op
    hw = load_hardware("google-tpu-v5p")
    op = O.matmul("fc", batch=1, m=8192, k=4096, n=4096, bias=False)
    int8 = Numerics(Precision.INT8, Precision.FP32, training=True)
    c = op_cost(op, hw, int8, CostOptions(weight_shards=64))
    aqt = AQT_QUANTIZE_OPS * (8192 * 4096 + 4096 * 4096 / 64) + AQT_DEQUANTIZE_OPS * 8192 * 4096
    assert c.compute_s == pytest.approx(_array_s(hw, op, 2.0) + aqt / _vector_rate(hw), rel=1e-9)
    saved = AQT_QUANTIZE_OPS * 4096 * 4096 * (1 - 1 / 64) / _vector_rate(hw)
    bwd = backward_op(op, True)
    whole, shard = (op_cost(bwd, hw, int8, CostOptions(weight_shards=s)).compute_s for s in (1, 64))
    assert whole - shard == pytest.approx(saved, rel=1e-9)
    # without an input gradient the backward (dW = X^T dY) has no weight operand
    first = backward_op(op, False)
    assert op_cost(first, hw, int8, CostOptions(weight_shards=64)).compute_s == pytest.approx(
        op_cost(first, hw, int8, CostOptions()).compute_s, rel=1e-12)


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (64, 4096, 1024), (8192, 128, 49152)])
def test_aqt_work_falls_with_the_shard_count_down_to_the_activation_work(m, k, n):
    from simulator.cost.tpu import aqt_vector_flops
    op = O.matmul("fc", batch=1, m=m, k=k, n=n, bias=False)
    work = [aqt_vector_flops(op, s) for s in (1, 2, 8, 256, 10**9)]
    assert all(a >= b for a, b in zip(work, work[1:]))
    floor = AQT_QUANTIZE_OPS * m * k + AQT_DEQUANTIZE_OPS * m * n
    assert work[-1] == pytest.approx(floor, rel=1e-6) and work[0] == pytest.approx(floor + AQT_QUANTIZE_OPS * k * n)


def test_zero3_plan_hands_its_shard_count_to_the_op_costs():
    """A ZeRO-3 plan over 4 data ranks costs an int8-trained projection with its weight quantized on
    a quarter shard; ZeRO-1 (weights replicated) quantizes the whole weight on every rank."""
    from simulator.parallel.layout import Parallelism
    from simulator.parallel.plan import build_plan
    from simulator.scenario import make_scenario
    hw = load_hardware("google-tpu-v5p")
    fwd = load_workload("gpt2").build(batch_size=2, seq_len=128)
    sc = make_scenario(mode="training", precision="int8")

    def fwd_s(zero):
        plan = build_plan(fwd, hw, sc, Parallelism(data=4, zero_stage=zero), 1, 2, options=CostOptions())
        return sum(s.duration_s for s in plan.stages[0].forward if s.collective is None)
    assert fwd_s(3) < fwd_s(1)
