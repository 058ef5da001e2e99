"""The FakeQuantize between softmax and the int8 P.V matmul of an unfused CPU attention (OpenVINO's
CPU plugin fuses no FakeQuantize into a Softmax): one byte more read and one byte written per
probability, checked by hand and as a law over shapes."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cost import cpu
from simulator.cost.base import CostOptions, Numerics
from simulator.spec.loader import load_hardware
from simulator.spec.stack import AttentionFusionLimit
from simulator.units import Precision
from simulator.workload import ops as O

XEON = "intel-xeon-platinum-8580"
LIMIT = AttentionFusionLimit(kinds=("cpu",), precisions=("bf16", "int8"), max_k=512, max_n=256, source="test")
INT8 = Numerics(Precision.INT8, Precision.INT8)


def _bytes(c):
    return sum(c.bytes_by_level.values())


def test_bert_large_layer_at_384_tokens_by_hand():
    att = O.attention("a", batch=1, heads=16, q_len=384, kv_len=384, head_dim=64)
    # 16 heads x 384 x 384 probabilities, 1 B more read + 1 B more written each: 2,359,296 B each way
    assert cpu.probability_quantize_bytes(att, INT8, CostOptions(attention_fusion_limit=LIMIT)) == 16 * 384 * 384
    # a shape inside the fused kernel's limit (N = 128 <= 256) quantizes in registers: nothing more
    short = O.attention("s", batch=1, heads=16, q_len=128, kv_len=128, head_dim=64)
    assert cpu.probability_quantize_bytes(short, INT8, CostOptions(attention_fusion_limit=LIMIT)) == 0.0
    # BF16 has no quantized P.V, and a non-attention op has no probabilities
    bf16 = Numerics(Precision.BF16, Precision.BF16)
    assert cpu.probability_quantize_bytes(att, bf16, CostOptions(attention_fusion_limit=LIMIT)) == 0.0
    fc = O.matmul("fc", batch=1, m=384, k=1024, n=1024)
    assert cpu.probability_quantize_bytes(fc, INT8, CostOptions(attention_fusion_limit=LIMIT)) == 0.0


def test_the_op_cost_carries_the_extra_bytes():
    hw = load_hardware(XEON)
    att = O.attention("a", batch=1, heads=16, q_len=384, kv_len=384, head_dim=64)
    opts = CostOptions(attention_fusion_limit=LIMIT)
    with_q = cpu.cost(att, hw, INT8, opts)
    # the same op at BF16 moves the same tensors at the same 2-byte format, without the quantize node
    bf16 = cpu.cost(att, hw, Numerics(Precision.BF16, Precision.BF16), opts)
    assert _bytes(with_q) - _bytes(bf16) == 2 * 16 * 384 * 384


@settings(max_examples=40, deadline=None)
@given(heads=st.integers(1, 32), q=st.integers(257, 2048), kv=st.integers(257, 2048))
def test_quantize_bytes_grow_with_the_score_matrix(heads, q, kv):
    opts = CostOptions(attention_fusion_limit=LIMIT)
    a = O.attention("a", batch=1, heads=heads, q_len=q, kv_len=kv, head_dim=64)
    b = O.attention("b", batch=1, heads=heads, q_len=q, kv_len=kv + 1, head_dim=64)
    qa, qb = cpu.probability_quantize_bytes(a, INT8, opts), cpu.probability_quantize_bytes(b, INT8, opts)
    assert qa == heads * q * kv
    assert qb > qa
