"""Tensor parallelism of imported ONNX transformers: the importer recognises the layers by their
structure (not node names), so an exported model splits as its zoo twin does; a graph it does not
recognise is refused, not run unsplit."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import simulator as sim
from simulator.cost.base import CostOptions
from simulator.errors import ScenarioError
from simulator.parallel.layout import Parallelism
from simulator.parallel.plan import build_plan
from simulator.scenario import make_scenario
from simulator.spec.loader import load_hardware
from simulator.workload.families import Shape, build_family
from simulator.workload.families.transformer import TransformerParams
from simulator.workload.importers.onnx_import import load_onnx
from simulator.workload.ops import OpKind, TpRole

EXAMPLES = Path(__file__).resolve().parents[2] / "workloads" / "examples"
ENCODER = TransformerParams(layers=2, hidden=128, heads=4, ffn=512, vocab=1000, max_positions=128,
                            norm_position="post", causal=False, lm_head=False)
# the decoder written below: pre-norm, grouped-query attention (4 heads, 2 KV heads), SwiGLU, LM head
DECODER = TransformerParams(layers=2, hidden=64, heads=4, kv_heads=2, ffn=96, ffn_activation="swiglu", vocab=500,
                            positions="none", norm_position="pre", causal=False, qkv_bias=False, out_bias=False,
                            mlp_bias=False)
D, H, KV, F, V = 64, 4, 2, 96, 500
HD = D // H


def _w(rng, name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32) * 0.02, name)


def _const(name: str, values) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.array(values, dtype=np.int64)))


def _heads(p: str, x: str, heads: int, perm: list[int]) -> list[onnx.NodeProto]:
    """[B, S, heads*HD] -> [B, H, ...] with KV heads repeated H/heads times, as exporters write repeat_kv."""
    nodes = [_const(f"{p}.s", [0, 0, heads, HD]), helper.make_node("Reshape", [x, f"{p}.s"], [f"{p}.r"]),
             helper.make_node("Transpose", [f"{p}.r"], [f"{p}.t"], perm=perm)]
    if heads == H:
        return nodes + [helper.make_node("Identity", [f"{p}.t"], [f"{p}.out"])]
    return nodes + [_const(f"{p}.u", [2]), helper.make_node("Unsqueeze", [f"{p}.t", f"{p}.u"], [f"{p}.x"]),
                    _const(f"{p}.e", [1, 1, H // heads, 1, 1]), helper.make_node("Expand", [f"{p}.x", f"{p}.e"], [f"{p}.y"]),
                    _const(f"{p}.m", [0, H, -1, HD] if perm[-1] == 3 else [0, H, HD, -1]),
                    helper.make_node("Reshape", [f"{p}.y", f"{p}.m"], [f"{p}.out"])]


def _layer(i: int, x: str, rng, inits: list) -> tuple[list[onnx.NodeProto], str]:
    p = f"blk{i}"
    for n, shape in (("ln1.s", (D,)), ("ln1.b", (D,)), ("ln2.s", (D,)), ("ln2.b", (D,)), ("wq", (D, H * HD)),
                     ("wk", (D, KV * HD)), ("wv", (D, KV * HD)), ("wo", (D, D)), ("wg", (D, F)), ("wu", (D, F)),
                     ("wd", (F, D))):
        inits.append(_w(rng, f"{p}.{n}", *shape))
    mm = lambda a, w, o: helper.make_node("MatMul", [a, f"{p}.{w}"], [o])  # noqa: E731
    nodes = [helper.make_node("LayerNormalization", [x, f"{p}.ln1.s", f"{p}.ln1.b"], [f"{p}.h"], axis=-1),
             mm(f"{p}.h", "wq", f"{p}.q"), mm(f"{p}.h", "wk", f"{p}.k"), mm(f"{p}.h", "wv", f"{p}.v"),
             *_heads(f"{p}.q", f"{p}.q", H, [0, 2, 1, 3]), *_heads(f"{p}.k", f"{p}.k", KV, [0, 2, 3, 1]),
             *_heads(f"{p}.v", f"{p}.v", KV, [0, 2, 1, 3]),
             helper.make_node("MatMul", [f"{p}.q.out", f"{p}.k.out"], [f"{p}.sc"]),
             helper.make_node("Div", [f"{p}.sc", "sqrt_d"], [f"{p}.sd"]),
             helper.make_node("Softmax", [f"{p}.sd"], [f"{p}.pr"], axis=-1),
             helper.make_node("MatMul", [f"{p}.pr", f"{p}.v.out"], [f"{p}.ctx"]),
             helper.make_node("Transpose", [f"{p}.ctx"], [f"{p}.ct"], perm=[0, 2, 1, 3]),
             _const(f"{p}.cs", [0, 0, D]), helper.make_node("Reshape", [f"{p}.ct", f"{p}.cs"], [f"{p}.cr"]),
             mm(f"{p}.cr", "wo", f"{p}.o"), helper.make_node("Add", [x, f"{p}.o"], [f"{p}.x1"]),
             helper.make_node("LayerNormalization", [f"{p}.x1", f"{p}.ln2.s", f"{p}.ln2.b"], [f"{p}.h2"], axis=-1),
             mm(f"{p}.h2", "wg", f"{p}.g"), mm(f"{p}.h2", "wu", f"{p}.up"),
             helper.make_node("Sigmoid", [f"{p}.g"], [f"{p}.sg"]), helper.make_node("Mul", [f"{p}.g", f"{p}.sg"], [f"{p}.silu"]),
             helper.make_node("Mul", [f"{p}.silu", f"{p}.up"], [f"{p}.gu"]), mm(f"{p}.gu", "wd", f"{p}.dn"),
             helper.make_node("Add", [f"{p}.x1", f"{p}.dn"], [f"{p}.x2"])]
    return nodes, f"{p}.x2"


def write_decoder(path: Path) -> Path:
    """A 2-layer pre-norm GQA / SwiGLU decoder as torch.onnx.export writes one (node names carry no layer)."""
    rng = np.random.default_rng(0)
    inits = [_w(rng, "tok", V, D), _w(rng, "lnf.s", D), _w(rng, "lnf.b", D), _w(rng, "lm", D, V),
             numpy_helper.from_array(np.array(np.sqrt(HD), dtype=np.float32), "sqrt_d")]
    nodes, x = [helper.make_node("Gather", ["tok", "ids"], ["x0"])], "x0"
    for i in range(2):
        more, x = _layer(i, x, rng, inits)
        nodes += more
    nodes += [helper.make_node("LayerNormalization", [x, "lnf.s", "lnf.b"], ["xf"], axis=-1),
              helper.make_node("MatMul", ["xf", "lm"], ["logits"])]
    for k, n in enumerate(nodes):
        n.name = f"node_{n.op_type}_{k}"
    graph = helper.make_graph(nodes, "decoder", [helper.make_tensor_value_info("ids", TensorProto.INT64, ["B", "S"])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["B", "S", V])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def _split(graph, p: Parallelism, mode: str, drop_loss: bool = False) -> tuple[float, list, list]:
    """Per-device FLOPs of one micro-batch (forward + backward), the collectives, the params per stage."""
    plan = build_plan(graph, load_hardware("nvidia-h100-sxm"), make_scenario(mode=mode), p, 1, 2,
                      options=CostOptions())
    flops = sum(s.flops for st in plan.stages for s in st.forward + st.backward)
    if drop_loss:  # the zoo's LM builds a loss op; an exported model ends at the logits
        loss = [op for op in graph.ops if op.kind == OpKind.LOSS][0]
        flops -= loss.flops / p.tensor * (3 if mode == "training" else 1)  # its backward: 2x forward
    colls = [(s.collective, s.group, s.nbytes) for st in plan.stages for s in st.forward + st.backward if s.collective]
    return flops, colls, [st.params for st in plan.stages]


def _twins(name: str, tmp_path: Path):
    shape = Shape(batch_size=2, seq_len=64, image_size=224)
    if name == "decoder":
        return load_onnx(write_decoder(tmp_path / "decoder.onnx")).builder(shape), \
            build_family("transformer", DECODER, shape, graph_name="zoo", source="test")
    return load_onnx(EXAMPLES / name).builder(shape), build_family("transformer", ENCODER, shape, graph_name="zoo",
                                                                   source="test")


@pytest.mark.parametrize("name", ["tiny-encoder.onnx", "tiny-encoder-dynamo.onnx", "decoder"])
@pytest.mark.parametrize("mode", ["inference", "training"])
def test_exported_transformer_splits_like_its_zoo_twin_at_tp2(tmp_path, name, mode):
    imported, zoo = _twins(name, tmp_path)
    for p in (Parallelism(tensor=2), Parallelism(tensor=2, pipeline=2)):
        flops, colls, params = _split(imported, p, mode)
        zflops, zcolls, zparams = _split(zoo, p, mode, drop_loss=name == "decoder")
        assert colls == zcolls and len(colls) > 0
        assert params == pytest.approx(zparams, rel=0.01)  # the dynamo export merges 1,024 norm parameters
        # the exported attention is separate Q.K^T / scale / softmax / P.V ops: one more FLOP per score
        # forward, and a backward without the fused kernel's recomputed Q.K^T (the zoo's attention core)
        assert flops == pytest.approx(zflops, rel=0.005 if mode == "inference" else 0.03)
        one_flops, one_zoo = _split(imported, Parallelism(), mode)[0], _split(zoo, Parallelism(), mode,
                                                                            drop_loss=name == "decoder")[0]
        assert flops / one_flops == pytest.approx(zflops / one_zoo, rel=0.01)


def test_decoder_roles_layers_and_heads_by_hand(tmp_path):
    g = load_onnx(write_decoder(tmp_path / "decoder.onnx")).build(batch_size=1, seq_len=8)
    matmuls = [n for n in g.order if g.op(n).kind == OpKind.MATMUL]
    roles = [(g.op(n).tp_role.value, g.op(n).block) for n in matmuls]
    layer = [("column", 0), ("column", 0), ("column", 0), ("heads", 0), ("heads", 0), ("row", 0),
             ("column", 0), ("column", 0), ("row", 0)]
    assert roles == layer + [(r, 1) for r, _ in layer] + [("vocab", None)]
    scores = g.op(matmuls[3])
    assert (dict(scores.attrs)["heads"], dict(scores.attrs)["kv_heads"]) == (H, KV)
    norms = [g.op(n) for n in g.order if g.op(n).kind == OpKind.NORM]
    assert [op.block for op in norms] == [0, 0, 1, 1, None]  # pre-norm: each norm with the layer it feeds
    assert g.op(g.order[0]).tp_role == TpRole.VOCAB
    with pytest.raises(ScenarioError, match=r"tensor \(8\) must divide the attention heads \(4\)"):
        sim.simulate(str(tmp_path / "decoder.onnx"), "nvidia-h100-sxm", batch_size=2, seq_len=32, devices=8,
                     parallelism="tp=8")


def test_pipeline_stages_of_an_export_follow_its_layers(tmp_path):
    imported, zoo = _twins("decoder", tmp_path)
    stage_params = lambda g: _split(g, Parallelism(pipeline=2), "inference")[2]  # noqa: E731
    assert stage_params(imported) == pytest.approx(stage_params(zoo), rel=1e-9)


def test_non_transformer_onnx_with_tensor_parallelism_is_refused():
    with pytest.raises(ScenarioError, match="transformer workloads only: 'mlp' has no column- or row-parallel op"):
        sim.simulate(str(EXAMPLES / "mlp.onnx"), "nvidia-h100-sxm", batch_size=8, devices=2, parallelism="tp=2")
    g = load_onnx(EXAMPLES / "mlp.onnx").build(batch_size=8)
    assert {op.tp_role for op in g.ops} == {TpRole.REPLICATED} and {op.block for op in g.ops} == {None}
    sim.simulate(str(EXAMPLES / "mlp.onnx"), "nvidia-h100-sxm", batch_size=8, devices=2, parallelism="dp=2")


def test_an_attention_without_an_output_projection_leaves_the_whole_graph_replicated(tmp_path):
    """The first layer's attention output goes to the residual add unprojected: no row-parallel GEMM
    to end its split, so no op anywhere gets a role (the MLPs are not split on their own)."""
    model = onnx.load(str(write_decoder(tmp_path / "decoder.onnx")))
    for n in model.graph.node:
        if list(n.input) == ["blk0.cr", "blk0.wo"]:
            n.op_type, n.input[:] = "Identity", ["blk0.cr"]
    onnx.save(model, str(tmp_path / "odd.onnx"))
    g = load_onnx(tmp_path / "odd.onnx").build(batch_size=1, seq_len=8)
    assert {op.tp_role for op in g.ops} == {TpRole.REPLICATED}
    with pytest.raises(ScenarioError, match="no attention or MLP layer was recognised"):
        sim.simulate(str(tmp_path / "odd.onnx"), "nvidia-h100-sxm", batch_size=2, seq_len=32, devices=2,
                     parallelism="tp=2")
