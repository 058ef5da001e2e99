"""Laws of an unfused attention's element-wise passes over its scores (cost.base.score_passes)."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from simulator.cost.base import CostOptions, Numerics
from simulator.cost.dispatch import op_cost
from simulator.spec.loader import load_hardware
from simulator.units import Precision
from simulator.workload import ops as O

HW = load_hardware("nvidia-a100-sxm-80gb")
FP16 = Numerics(Precision.FP16, Precision.FP16)


@given(batch=st.integers(1, 8), heads=st.integers(1, 16), seq=st.integers(16, 1024),
       passes=st.integers(0, 3))
def test_one_more_pass_never_faster_and_moves_every_score_once_more_each_way(batch, heads, seq, passes):
    op = O.attention("a", batch=batch, heads=heads, q_len=seq, kv_len=seq, head_dim=64)
    fewer = op_cost(op, HW, FP16, CostOptions(fused_attention=False, score_passes=passes))
    more = op_cost(op, HW, FP16, CostOptions(fused_attention=False, score_passes=passes + 1))
    assert more.duration_s > fewer.duration_s
    assert more.bytes_moved - fewer.bytes_moved == batch * heads * seq * seq * 2 * 2.0
    # a fused kernel keeps the scores on chip whatever the stack's passes
    assert op_cost(op, HW, FP16, CostOptions(score_passes=passes + 1)) == op_cost(op, HW, FP16, CostOptions())
