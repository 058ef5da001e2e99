"""Tensor-parallel roles and transformer layer indices are typed data on each op, set by the model
builders; sharding and pipeline staging read them, never op names."""
from __future__ import annotations

from dataclasses import replace

import networkx as nx
import pytest

from simulator.cost.base import CostOptions
from simulator.errors import ScenarioError
from simulator.parallel.layout import Parallelism, check_tensor_parallel, shard_op, stage_of_ops
from simulator.parallel.plan import build_plan
from simulator.scenario import make_scenario
from simulator.spec.loader import load_hardware
from simulator.workload.graph import ComputeGraph
from simulator.workload.loader import load_workload
from simulator.workload.ops import OpKind, TpRole, matmul

R = TpRole


def _roles(name: str, **shape) -> dict[str, TpRole]:
    g = load_workload(name).build(batch_size=1, seq_len=32, **shape)
    return {n: g.op(n).tp_role for n in g.order}


def test_decoder_roles_follow_megatron_by_hand():
    r = _roles("gpt2")
    assert (r["embed"], r["pos_embed"], r["h0.ln1"], r["h0.attn.qkv"], r["h0.attn.sdpa"], r["h0.attn.out"]) == \
        (R.VOCAB, R.REPLICATED, R.REPLICATED, R.COLUMN, R.HEADS, R.ROW)
    assert (r["h0.add1"], r["h0.mlp.up"], r["h0.mlp.gelu"], r["h0.mlp.down"], r["ln_f"], r["lm_head"], r["loss"]) == \
        (R.REPLICATED, R.COLUMN, R.HEADS, R.ROW, R.REPLICATED, R.VOCAB, R.VOCAB)
    gated = _roles("llama3-8b")
    assert (gated["h3.mlp.up"], gated["h3.mlp.silu"], gated["h3.mlp.gate_mul"], gated["h3.mlp.down"]) == \
        (R.COLUMN, R.HEADS, R.HEADS, R.ROW)
    moe = _roles("mixtral-8x7b")
    assert (moe["h0.mlp.router"], moe["h0.mlp.experts"]) == (R.REPLICATED, R.EXPERT)


def test_blocks_are_the_layer_index_and_none_outside_layers():
    g = load_workload("bert-base").build(batch_size=1, seq_len=32)
    blocks = {n: g.op(n).block for n in g.order}
    assert blocks["embed"] is None and blocks["embed_ln"] is None and blocks["pooler"] is None
    assert all(blocks[n] == int(n.split(".")[0][1:]) for n in g.order if n.startswith("h"))
    assert sorted({b for b in blocks.values() if b is not None}) == list(range(12))


def test_block_is_left_out_of_equality_so_layers_share_a_cost_and_the_role_is_not():
    a = load_workload("gpt2").build(batch_size=1, seq_len=32)
    key = lambda op: replace(op, name="", layer="")  # noqa: E731  (the cost caches' key)
    assert key(a.op("h0.attn.qkv")) == key(a.op("h7.attn.qkv"))
    assert hash(key(a.op("h0.attn.qkv"))) == hash(key(a.op("h7.attn.qkv")))
    fc = matmul("fc", batch=1, m=4, k=8, n=8)
    assert fc.renamed("fc", tp_role=R.COLUMN) != fc.renamed("fc", tp_role=R.ROW)


def _anonymous(g: ComputeGraph) -> ComputeGraph:
    """``g`` with every op renamed ``op<i>``: only the typed fields say what an op is."""
    names = {n: f"op{i}" for i, n in enumerate(g.order)}
    out = nx.relabel_nodes(g.graph, names, copy=True)
    for old, new in names.items():
        out.nodes[new]["op"] = g.op(old).renamed(new)
    meta = {k: ({names[n]: v for n, v in val.items()} if k in ("dropout", "attention_dropout") else val)
            for k, val in g.meta.items()}
    return ComputeGraph(out, name=g.name, source=g.source, meta=meta)


def _shape(plan) -> list:
    return [(round(sum(s.flops for s in st.forward + st.backward)), st.static_bytes["weights"],
             [(s.collective, s.group, s.nbytes) for s in st.forward + st.backward if s.collective])
            for st in plan.stages]


@pytest.mark.parametrize("name", ["gpt2", "mixtral-8x7b"])
def test_sharding_and_stages_do_not_read_op_names(name):
    g = load_workload(name).build(batch_size=2, seq_len=64)
    anon = _anonymous(g)
    assert list(stage_of_ops(anon, 4).values()) == list(stage_of_ops(g, 4).values())
    hw, sc = load_hardware("nvidia-h100-sxm"), make_scenario(mode="training")
    p = Parallelism(data=4, tensor=2, pipeline=2, expert=2, zero_stage=3)
    named = build_plan(g, hw, sc, p, 2, 1, options=CostOptions())
    assert _shape(build_plan(anon, hw, sc, p, 2, 1, options=CostOptions())) == _shape(named)
    assert any(s.group == "tp" for st in named.stages for s in st.forward)


def test_an_op_without_a_role_is_replicated_whatever_its_name():
    op = matmul("h0.attn.qkv", batch=1, m=4, k=8, n=24)
    assert shard_op(op, 4) == (op, ())
    assert shard_op(op.renamed("x", tp_role=R.COLUMN), 4)[0].gemms[0].n == 6


def test_tensor_parallelism_without_split_ops_is_refused():
    resnet = load_workload("resnet18").build(batch_size=1, image_size=64)
    with pytest.raises(ScenarioError, match="transformer workloads only: 'resnet18' has no column- or row-parallel"):
        check_tensor_parallel(resnet, 2)
    check_tensor_parallel(resnet, 1)
    assert OpKind.ATTENTION not in {op.kind for op in resnet.ops}


def test_a_classifier_loss_follows_its_replicated_head():
    # vocabulary-parallel cross-entropy needs logits split over the tensor ranks, which only the LM
    # head makes; a classification head is replicated, so each rank computes the whole loss
    r = _roles("vit-b16", image_size=224)
    assert (r["head"], r["loss"]) == (R.REPLICATED, R.REPLICATED)
    g = load_workload("vit-b16").build(batch_size=4, image_size=224)
    assert shard_op(g.op("loss"), 2)[0] == g.op("loss")
