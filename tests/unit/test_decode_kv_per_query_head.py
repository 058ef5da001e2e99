"""TensorRT-LLM 0.5/0.6's masked-MHA decode kernel (one thread block per sequence and query head)
loads a grouped-query attention's K/V once per query head: the repeats are served by L2, HBM reads
the cache once (stacks/tensorrt-llm-0.6.yaml, simulator.cost.gpu.repeated_kv_bytes)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.cost.base import CostOptions, Numerics
from simulator.cost.dispatch import op_cost
from simulator.cost.gpu import repeated_kv_bytes
from simulator.spec.loader import load_hardware
from simulator.units import Precision
from simulator.workload import ops as O

FP8 = Numerics(Precision.FP8, Precision.FP8)
MMHA = CostOptions(kv_per_query_head=True)


def test_llama2_70b_tp2_decode_step_by_hand():
    """One layer of LLaMA-2 70B on one of 2 GPUs (32 query heads on 4 K/V heads), 64 sequences at
    3,072 cached tokens, FP8 KV cache: K and V are 64 x 4 x 3072 x 128 x 2 = 201 MB; the 8-way
    query groups load them 7 more times, from L2 at 5.5 TB/s: 1.41 GB, 256 us."""
    h100 = load_hardware("nvidia-h100-sxm")
    op = O.attention("dec", batch=64, heads=32, kv_heads=4, q_len=1, kv_len=3072, head_dim=128)
    kv = 64 * 4 * 3072 * 128 * 2
    assert repeated_kv_bytes(op, FP8) == 7 * kv
    plain, mmha = op_cost(op, h100, FP8, CostOptions()), op_cost(op, h100, FP8, MMHA)
    assert mmha.bytes_by_level["hbm"] == plain.bytes_by_level["hbm"]          # HBM reads the cache once
    assert mmha.bytes_by_level["l2"] - plain.bytes_by_level.get("l2", 0.0) == 7 * kv
    assert mmha.level_s["l2"] == pytest.approx(7 * kv / 5500e9)
    assert mmha.duration_s == pytest.approx(max(mmha.compute_s, mmha.level_s["l2"], mmha.level_s["hbm"])
                                            + mmha.overhead_s)


def test_only_grouped_decode_attention_inference_is_touched():
    h100 = load_hardware("nvidia-h100-sxm")
    mha = O.attention("mha", batch=8, heads=32, q_len=1, kv_len=512, head_dim=128)
    prefill = O.attention("pre", batch=1, heads=64, kv_heads=8, q_len=128, kv_len=128, head_dim=128, causal=True)
    fc = O.matmul("fc", batch=1, m=8, k=4096, n=4096)
    for op in (mha, prefill, fc):
        assert repeated_kv_bytes(op, FP8) == 0.0
        assert op_cost(op, h100, FP8, MMHA) == op_cost(op, h100, FP8, CostOptions())
    dec = O.attention("dec", batch=8, heads=64, kv_heads=8, q_len=1, kv_len=512, head_dim=128)
    assert repeated_kv_bytes(dec, Numerics(Precision.BF16, Precision.BF16, training=True)) == 0.0


@given(batch=st.integers(1, 512), kv_heads=st.sampled_from([1, 2, 4, 8]), group=st.integers(1, 16),
       kv_len=st.integers(1, 8192))
def test_loading_per_query_head_never_makes_decode_faster(batch, kv_heads, group, kv_len):
    for name in ("nvidia-h100-sxm", "nvidia-a100-sxm-80gb"):
        hw = load_hardware(name)
        op = O.attention("dec", batch=batch, heads=kv_heads * group, kv_heads=kv_heads, q_len=1, kv_len=kv_len,
                         head_dim=128)
        assert op_cost(op, hw, FP8, MMHA).duration_s >= op_cost(op, hw, FP8, CostOptions()).duration_s


def test_trt_llm_0_5_and_0_6_rows_run_the_mmha_stack_and_later_ones_do_not():
    from validation.rows import Row
    from validation.stacks import stack_for

    def row(software):
        return Row(id="X", device="d", n_devices=1, workload="LLaMA 70B generation (TRT-LLM)", mode="inference",
                   precision="FP8", batch_size="64", shape="in 128 / out 128", metric="tokens_per_s", value=1.0,
                   software=software, notes="")
    assert stack_for(row("TensorRT-LLM v0.6.1"), "gpu", "inference") == "tensorrt-llm-0.6"
    assert stack_for(row("TensorRT-LLM v0.5"), "gpu", "inference") == "tensorrt-llm-0.6"
    assert stack_for(row("TensorRT-LLM ~v1.0"), "gpu", "inference") == "tensorrt-llm"  # PyTorch backend
    assert stack_for(row("TensorRT 8.6"), "gpu", "inference") == "tensorrt"
