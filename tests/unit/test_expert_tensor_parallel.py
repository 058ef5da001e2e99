"""Tensor parallelism splits every expert's FFN (Megatron-Core's expert tensor parallelism, vLLM,
TensorRT-LLM), and expert parallelism spreads whole experts: Mixtral 8x7B by hand."""
from __future__ import annotations

import pytest

from simulator.cost.base import CostOptions
from simulator.cost.collectives import Collective
from simulator.parallel.layout import Parallelism, shard_op
from simulator.parallel.plan import build_plan
from simulator.scenario import make_scenario
from simulator.spec.loader import load_hardware
from simulator.workload.loader import load_workload

HIDDEN, FFN, EXPERTS, LAYERS, VOCAB, Q, KV, HEAD = 4096, 14336, 8, 32, 32000, 32, 8, 128
PER_EXPERT = HIDDEN * 2 * FFN + FFN * HIDDEN  # SwiGLU: gate and up (2 x ffn columns), then down
BF16 = 2


def _mixtral(batch=1, seq=64):
    return load_workload("mixtral-8x7b").build(batch_size=batch, seq_len=seq)


@pytest.mark.parametrize("tp", [2, 8])
def test_expert_weight_bytes_per_device_by_hand(tp):
    experts = _mixtral().op("h0.mlp.experts")
    part, collectives = shard_op(experts, tp)
    assert part.param_elems * BF16 == EXPERTS * PER_EXPERT * BF16 / tp  # 1.409 GB at tp=2, 0.352 GB at tp=8
    assert part.param_elems * BF16 == {2: 1_409_286_144, 8: 352_321_536}[tp]
    assert part.gemms[0].n == 2 * FFN // tp and part.gemms[1].k == FFN // tp  # up columns, down rows
    assert (part.gemms[0].k, part.gemms[1].n) == (HIDDEN, HIDDEN)
    assert collectives == ("tp_all_reduce",)


@pytest.mark.parametrize("tp", [2, 8])
def test_mixtral_weights_per_device_by_hand(tp):
    attention = HIDDEN * (Q + 2 * KV) * HEAD + Q * HEAD * HIDDEN  # no biases
    split = VOCAB * HIDDEN * 2 + LAYERS * (attention + EXPERTS * PER_EXPERT)  # embedding and LM head untied
    whole = LAYERS * (HIDDEN * EXPERTS + 2 * HIDDEN) + HIDDEN  # routers, RMS norm scales
    plan = build_plan(_mixtral(), load_hardware("nvidia-h100-sxm"), make_scenario(), Parallelism(tensor=tp), 1, 1,
                      options=CostOptions())
    assert plan.stages[0].static_bytes["weights"] == pytest.approx((split / tp + whole) * BF16, rel=1e-12)


def test_expert_and_tensor_parallelism_together():
    """ep spreads the experts over the data-parallel ranks, tp then splits each expert: dispatch and
    combine all-to-alls around the experts, then the layer's all-reduce; in backward the input
    gradient of the experts' column GEMMs is all-reduced too."""
    g = _mixtral(batch=4)
    experts = g.op("h0.mlp.experts")
    part, collectives = shard_op(experts, 2, ep=4)
    assert part.param_elems == experts.param_elems / 8 and part.gemms[0].count == EXPERTS // 4
    assert collectives == ("ep_all_to_all", "tp_all_reduce")
    plan = build_plan(g, load_hardware("nvidia-h100-sxm"), make_scenario(mode="training"),
                      Parallelism(data=4, tensor=2, expert=4), 1, 4, options=CostOptions())
    fwd = [(s.collective, s.group) for s in plan.stages[0].forward if s.collective]
    moe = [Collective.ALL_TO_ALL, Collective.ALL_TO_ALL, Collective.ALL_REDUCE]
    # per layer: attention-out all-reduce, then dispatch, combine, MoE all-reduce; the embedding's first
    assert [c for c, _ in fwd] == [Collective.ALL_REDUCE] + LAYERS * ([Collective.ALL_REDUCE] + moe)
    bwd = [s for s in plan.stages[0].backward if s.collective and s.group == "tp"]
    assert len(bwd) == 2 * LAYERS  # the input gradients of QKV and of the experts
    assert {s.nbytes for s in bwd} == {4 * 64 * HIDDEN * BF16}


def test_expert_parallelism_alone_is_unchanged():
    experts = _mixtral().op("h0.mlp.experts")
    part, collectives = shard_op(experts, 1, ep=2)
    assert part.param_elems == experts.param_elems / 2 and part.gemms == tuple(
        type(x)(m=x.m, n=x.n, k=x.k, count=x.count // 2) for x in experts.gemms)
    assert collectives == ("ep_all_to_all",)
    assert shard_op(experts, 1) == (experts, ())
