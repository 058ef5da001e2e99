"""Training graphs as frameworks run them: dropout where the config has it (absent at inference), batch-norm passes."""
from __future__ import annotations

import pytest

import simulator as sim
from simulator.cost.base import CostOptions, Numerics, op_bytes
from simulator.cost.dispatch import op_cost
from simulator.errors import WorkloadError
from simulator.parallel.layout import Parallelism
from simulator.parallel.plan import build_plan
from simulator.scenario import make_scenario
from simulator.spec.loader import load_hardware
from simulator.units import Precision
from simulator.workload.dropout import MASK_ELEMS, with_dropout
from simulator.workload.loader import load_workload, workload_from_dict
from simulator.workload.ops import attention_scores
from simulator.workload.training import build_training_graph, training_forward


def _fwd(name="bert-base", batch=2, seq=128):
    return load_workload(name).build(batch_size=batch, seq_len=seq)


def test_bert_training_has_three_hidden_dropouts_per_layer_plus_embeddings_by_hand():
    fwd = _fwd()
    g = with_dropout(fwd)
    drops = [n for n in g.order if n.endswith(".dropout")]
    # HF BertModel: embeddings, attention output, FFN output (12 layers)
    assert len(drops) == 1 + 2 * 12
    tokens, hidden = 2 * 128, 768
    d = g.op("h5.mlp.down.dropout")
    assert (d.flops, d.input_elems, d.output_elems) == (2 * tokens * hidden, tokens * hidden,
                                                        (1 + MASK_ELEMS) * tokens * hidden)
    # the dropout sits between the projection and the residual add
    assert g.successors("h5.mlp.down") == ["h5.mlp.down.dropout"] and "h5.add2" in g.successors("h5.mlp.down.dropout")


def test_attention_dropout_moves_one_more_score_matrix_and_mask_when_unfused():
    fwd, g = _fwd(), with_dropout(_fwd())
    before, after = fwd.op("h0.attn.sdpa"), g.op("h0.attn.sdpa")
    scores = 2 * 12 * 128 * 128
    assert after.flops - before.flops == 2 * scores
    num = Numerics(compute=Precision.FP16, weights=Precision.FP16)
    unfused = [a - b for a, b in zip(op_bytes(after, num, fused_attention=False), op_bytes(before, num, fused_attention=False))]
    assert unfused[:2] == [pytest.approx((1 + MASK_ELEMS) * scores * 2)] * 2  # written and read again, 2 B each
    fused = [a - b for a, b in zip(op_bytes(after, num, fused_attention=True), op_bytes(before, num, fused_attention=True))]
    assert fused == [0.0, 0.0, 0.0]


def test_models_without_dropout_and_inference_are_unchanged():
    llama = load_workload("llama2-7b").build(batch_size=1, seq_len=64)
    assert with_dropout(llama) is llama
    bert = _fwd()
    assert not any(n.endswith(".dropout") for n in bert.order)  # the forward (inference) graph
    r_inf = sim.simulate("bert-base", "nvidia-a100-sxm-80gb", batch_size=2, seq_len=128)
    assert not any(r_inf.ops.name.str.endswith(".dropout"))


def test_training_step_pays_for_dropout_forward_and_backward():
    t = build_training_graph(_fwd()).graph
    assert "h3.attn.out.dropout" in t.order and "h3.attn.out.dropout.grad" in t.order
    r = sim.simulate("bert-base", "nvidia-a100-sxm-80gb", mode="training", batch_size=8, seq_len=128)
    drop = r.ops[r.ops.name.str.contains(r"\.dropout")]
    assert len(drop) == 2 * 25 and (drop.duration_s > 0).all()


def test_cluster_training_plans_include_dropout_by_hand():
    fwd, hw = _fwd(), load_hardware("nvidia-h100-sxm")

    def forward_flops(mode):
        plan = build_plan(fwd, hw, make_scenario(mode=mode), Parallelism(data=2), 1, 2, options=CostOptions())
        return sum(seg.flops for st in plan.stages for seg in st.forward)

    tokens, hidden, scores = 2 * 128, 768, 2 * 12 * 128 * 128
    dropout_flops = 2 * tokens * hidden * 25 + 2 * scores * 12
    assert forward_flops("inference") == pytest.approx(fwd.flops, rel=1e-12)
    assert forward_flops("training") == pytest.approx(fwd.flops + dropout_flops, rel=1e-12)


def test_training_batch_norm_reads_its_input_twice_and_norm_backward_reads_twice_by_hand():
    fwd = load_workload("resnet18").build(batch_size=2, image_size=64)
    bn = fwd.op("stem.bn")
    num = Numerics(compute=Precision.FP16, weights=Precision.FP16)
    read_inf = op_bytes(bn, num, fused_attention=True)[0]
    read_train = op_bytes(training_forward(fwd).op("stem.bn"), num, fused_attention=True)[0]
    assert read_train - read_inf == bn.input_elems * 2  # statistics, then normalise: x read twice
    t = build_training_graph(fwd).graph
    assert op_bytes(t.op("stem.bn"), num, fused_attention=True)[0] == read_train  # the training graph's forward
    # backward: (x, dy) read for the reduction and again for dx; dx written once
    assert t.op("stem.bn.grad").input_elems == 2 * (bn.input_elems + bn.output_elems)
    assert t.op("stem.bn.grad").output_elems == bn.input_elems
    # layer norm: one pass forward (a row fits on chip), two backward
    bert = _fwd()
    assert training_forward(bert).op("h0.ln1") == bert.op("h0.ln1")
    ln = bert.op("h0.ln1")
    assert build_training_graph(bert).graph.op("h0.ln1.grad").input_elems == 2 * (ln.input_elems + ln.output_elems)


@pytest.mark.parametrize("field,value", [("dropout", 1.0), ("dropout", -0.1), ("attention_dropout", 2)])
def test_bad_dropout_rate_is_one_clear_error_naming_the_field(field, value):
    spec = {"name": "bad-bert", "family": "transformer", "source": "test",
            "params": {"layers": 1, "hidden": 64, "heads": 4, "ffn": 128, "vocab": 100, field: value}}
    with pytest.raises(WorkloadError, match=field):
        workload_from_dict(spec, "test:bad-bert")


def test_attention_dropout_adds_rng_work_not_softmax_exponentials_on_gpu():
    # no per-kernel floor: this small attention would sit under it, hiding the work it adds
    hw = load_hardware("nvidia-h100-sxm", {"efficiency.min_kernel_cycles": 0.0})
    num = Numerics(compute=Precision.BF16, weights=Precision.BF16)
    before, after = _fwd().op("h0.attn.sdpa"), with_dropout(_fwd()).op("h0.attn.sdpa")
    assert attention_scores(after) == attention_scores(before) == 2 * 12 * 128 * 128
    extra = op_cost(after, hw, num, CostOptions()).compute_s - op_cost(before, hw, num, CostOptions()).compute_s
    c = hw.compute
    vec_rate = c.vector_flops_per_cycle_per_sm[Precision.BF16] * c.sm_count * c.clock_ghz * 1e9 * hw.efficiency.vector
    assert extra == pytest.approx(2 * attention_scores(before) / vec_rate, rel=1e-9)  # 2 RNG FLOPs per score only


def test_tensor_parallel_leaves_hidden_dropouts_whole_and_splits_them_with_sequence_parallelism():
    # both hidden dropouts of a layer mask a row-parallel GEMM's all-reduced output, which every
    # tensor rank holds whole (Megatron's bias-dropout-add); sequence parallelism splits them
    from simulator.parallel.layout import shard_op

    g = training_forward(_fwd())
    for name in ("h5.attn.out.dropout", "h5.mlp.down.dropout"):
        op = g.op(name)
        assert shard_op(op, 4)[0] == op
        assert shard_op(op, 4, sequence_parallel=True)[0].flops == op.flops / 4
