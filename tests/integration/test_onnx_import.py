"""ONNX import: the bundled examples agree with the family builds; bad files fail with one clear error.

The bad models are built here with ``onnx.helper`` (in ``tmp_path``); the same builders wrote the
committed fixtures in ``tests/data/bad/onnx/`` (``python tests/integration/test_onnx_import.py``
rewrites them).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from simulator.errors import WorkloadError
from simulator.workload.families import Shape, build_family
from simulator.workload.families.cnn import ResnetParams
from simulator.workload.families.misc import MlpParams
from simulator.workload.families.transformer import TransformerParams
from simulator.workload.importers import onnx_import
from simulator.workload.importers.onnx_import import load_onnx
from simulator.workload.loader import load_workload
from simulator.workload.ops import Gemm, OpKind

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "workloads" / "examples"
BAD = REPO / "tests" / "data" / "bad" / "onnx"

FAMILY_TWINS = {
    "resnet18.onnx": ("resnet", ResnetParams(depths=[2, 2, 2, 2], block="basic")),
    "mlp.onnx": ("mlp", MlpParams(input_features=784, hidden=[1024, 1024], num_classes=10)),
    "tiny-encoder.onnx": ("transformer", TransformerParams(layers=2, hidden=128, heads=4, ffn=512, vocab=1000,
                                                           max_positions=128, norm_position="post", causal=False,
                                                           lm_head=False)),
}
# torch's dynamo exporter: weights in tiny-encoder-dynamo.onnx.data, and equal-valued initializers merged
# (the fresh layer-norm ones/zeros), so 1,024 of 541,184 parameters are shared in the file (0.19 %).
FAMILY_TWINS["tiny-encoder-dynamo.onnx"] = FAMILY_TWINS["tiny-encoder.onnx"]


# --- helper-built models ------------------------------------------------------------------------------
def _linear_model(*, op: str = "Relu", batch: int | str = "N", extra_nodes=(), opset: int = 17) -> onnx.ModelProto:
    """x[N,4] @ W[4,3] -> op -> y."""
    w = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3), "W")
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"], name="fc"), helper.make_node(op, ["h"], ["y"], name="act"),
             *extra_nodes]
    out = nodes[-1].output[0]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 4])],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, [batch, 3 if out != "z" else 2])],
                              [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def write_truncated(path: Path) -> None:
    data = _linear_model().SerializeToString()
    path.write_bytes(data[: len(data) // 2])


def write_random(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())


def write_empty(path: Path) -> None:
    path.write_bytes(b"")


def write_unsupported(path: Path) -> None:
    """Two nodes we cannot map: a TopK and a node of a custom domain."""
    k = helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(np.array([2], dtype=np.int64)))
    topk = helper.make_node("TopK", ["y", "k"], ["vals", "idx"], name="pick_top2")
    custom = helper.make_node("FancyNorm", ["vals"], ["z"], name="fancy", domain="com.example")
    model = _linear_model(extra_nodes=[k, topk, custom])
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    onnx.save(model, str(path))


def write_external_outside(path: Path) -> None:
    """Weights in an external file whose location climbs out of the model's folder."""
    model = _linear_model()
    w = model.graph.initializer[0]
    w.ClearField("raw_data")
    w.ClearField("float_data")
    w.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "../outside.bin"), ("offset", "0"), ("length", "48")):
        entry = w.external_data.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def write_cycle(path: Path) -> None:
    nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="first"),
             helper.make_node("Relu", ["a"], ["b"], name="second"),
             helper.make_node("Relu", ["b"], ["y"], name="third")]
    graph = helper.make_graph(nodes, "cyc", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


BAD_FILES = {  # fixture name -> (builder, words the error must contain)
    "truncated.onnx": (write_truncated, "truncated or corrupt"),
    "random-bytes.onnx": (write_random, "onnx"),
    "empty.onnx": (write_empty, "empty"),
    "unsupported-op.onnx": (write_unsupported, "pick_top2 (TopK)"),
    "external-outside.onnx": (write_external_outside, "outside the model's folder"),
    "cycle.onnx": (write_cycle, "cycle"),
}


# --- the bundled examples -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def examples() -> dict[str, object]:
    return {name: load_onnx(EXAMPLES / name) for name in FAMILY_TWINS}


@pytest.mark.parametrize("name", sorted(FAMILY_TWINS))
@pytest.mark.parametrize("batch", [1, 8])
def test_example_matches_family_build(examples, name: str, batch: int) -> None:
    family, params = FAMILY_TWINS[name]
    shape = Shape(batch_size=batch, seq_len=64, image_size=224)
    imported = examples[name].builder(shape)
    ours = build_family(family, params, shape, graph_name="twin", source="test")
    assert imported.parameters == pytest.approx(ours.parameters, rel=0.01)
    assert imported.matrix_flops == pytest.approx(ours.matrix_flops, rel=0.01)
    assert imported.flops == pytest.approx(ours.flops, rel=0.01)


def test_resnet18_exact_figures(examples) -> None:
    g = examples["resnet18.onnx"].build(batch_size=1)
    assert g.parameters == 11_689_512  # torchvision resnet18
    assert g.matrix_flops == 3_628_146_688  # 1.814 GMACs at 224 x 224
    assert examples["resnet18.onnx"].build(batch_size=8).matrix_flops == 8 * 3_628_146_688


def test_examples_through_load_workload() -> None:
    wl = load_workload(EXAMPLES / "resnet18.onnx")
    assert (wl.family, wl.task, wl.uses_image_size, wl.uses_seq_len, wl.params) == ("onnx", "image", True, False, None)
    text = load_workload(str(EXAMPLES / "tiny-encoder.onnx"))
    assert (text.task, text.uses_seq_len, text.uses_image_size) == ("text", True, False)
    assert load_workload(str(EXAMPLES / "mlp.onnx")).task == "tabular"


def test_dynamo_export_with_external_weights(examples) -> None:
    path = EXAMPLES / "tiny-encoder-dynamo.onnx"
    locations = {e.value for t in onnx.load(str(path), load_external_data=False).graph.initializer
                 for e in t.external_data if e.key == "location"}
    assert locations == {"tiny-encoder-dynamo.onnx.data"}
    g = examples["tiny-encoder-dynamo.onnx"].build(batch_size=2, seq_len=16)
    assert g.parameters == 541_184 - 8 * 128  # four layer-norm scale/shift pairs merged into the first
    assert [dict(op.attrs)["fn"] for op in g.ops if op.kind == OpKind.ACTIVATION] == ["gelu", "gelu"]


def test_sequence_length_scales_attention(examples) -> None:
    wl = examples["tiny-encoder.onnx"]
    short, long = wl.build(batch_size=2, seq_len=32), wl.build(batch_size=2, seq_len=128)
    assert long.parameters == short.parameters
    scores = [op for op in long.ops if op.kind == OpKind.MATMUL and op.param_elems == 0]
    assert scores and all(dict(op.attrs)["m"] == 128 for op in scores)


def test_image_size_can_change(examples) -> None:
    wl = examples["resnet18.onnx"]
    assert wl.defaults["image_size"] == 224
    g112 = wl.build(batch_size=1, image_size=112)
    assert g112.matrix_flops < wl.build(batch_size=1).matrix_flops / 3


def test_fusions_in_encoder(examples) -> None:
    g = examples["tiny-encoder.onnx"].build(batch_size=1, seq_len=16)
    kinds = [op.kind for op in g.ops]
    assert kinds.count(OpKind.EMBEDDING) == 2
    acts = [dict(op.attrs)["fn"] for op in g.ops if op.kind == OpKind.ACTIVATION]
    assert acts == ["gelu", "gelu"]  # Div -> Erf -> Add -> Mul -> Mul fused
    linear = [op for op in g.ops if op.kind == OpKind.MATMUL and op.param_elems]
    assert len(linear) == 8 and all(op.param_elems % 128 == 0 for op in linear)  # bias adds fused


# --- small hand-built models ---------------------------------------------------------------------------
def _save(model: onnx.ModelProto, tmp_path: Path, name: str = "m.onnx") -> Path:
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def test_depthwise_and_grouped_conv(tmp_path: Path) -> None:
    w1 = numpy_helper.from_array(np.ones((32, 1, 3, 3), np.float32), "dw")
    w2 = numpy_helper.from_array(np.ones((64, 8, 1, 1), np.float32), "gw")
    nodes = [helper.make_node("Conv", ["x", "dw"], ["a"], group=32, pads=[1, 1, 1, 1], name="depthwise"),
             helper.make_node("Conv", ["a", "gw"], ["y"], group=4, name="grouped")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 32, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 64, 16, 16])], [w1, w2])
    wl = load_onnx(_save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path))
    g = wl.build(batch_size=2, image_size=16)
    dw, gw = g.op("depthwise"), g.op("grouped")
    assert dw.matrix_flops == 2 * (2 * 16 * 16) * 1 * 9 * 32
    assert gw.matrix_flops == 2 * (2 * 16 * 16) * 16 * 8 * 4
    assert g.parameters == 32 * 9 + 64 * 8


def test_activation_matmul_and_fixed_batch_override(tmp_path: Path) -> None:
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]),
             helper.make_node("MatMul", ["x", "xt"], ["y"], name="gram")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10, 10])])
    wl = load_onnx(_save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path))
    assert wl.defaults["batch_size"] == 1
    g = wl.build(batch_size=4, seq_len=10)
    assert g.op("gram").matrix_flops == 2 * 4 * 10 * 10 * 6 and g.parameters == 0


def test_activation_patterns(tmp_path: Path) -> None:
    lo = numpy_helper.from_array(np.array(0.0, np.float32), "lo")
    hi = numpy_helper.from_array(np.array(6.0, np.float32), "hi")
    nodes = [helper.make_node("Clip", ["x", "lo", "hi"], ["c"], name="clip"),
             helper.make_node("Sigmoid", ["c"], ["s"], name="sig"),
             helper.make_node("Mul", ["c", "s"], ["y"], name="swish")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 8])], [lo, hi])
    g = load_onnx(_save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path)).build(
        batch_size=2)
    assert [(op.name, dict(op.attrs)["fn"]) for op in g.ops] == [("clip", "relu6"), ("swish", "silu")]
    assert g.parameters == 0


def test_non_square_fixed_image_is_kept_unless_asked(tmp_path: Path) -> None:
    nodes = [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], name="pool")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 64, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 32, 16])])
    wl = load_onnx(_save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path))
    assert wl.task == "image" and wl.defaults == {"batch_size": 1, "image_size": 64}
    assert wl.build().op("pool").output_elems == 3 * 32 * 16
    assert wl.build(batch_size=2, image_size=128).op("pool").output_elems == 2 * 3 * 64 * 64


def test_external_data_past_end_of_file(tmp_path: Path) -> None:
    path = tmp_path / "ext.onnx"
    onnx.save_model(_linear_model(), str(path), save_as_external_data=True, location="weights.bin",
                    size_threshold=0)
    (tmp_path / "weights.bin").write_bytes(b"\0" * 8)
    with pytest.raises(WorkloadError, match="'W'.*past the end"):
        load_onnx(path)


def test_einsum_as_gemms(tmp_path: Path) -> None:
    w = numpy_helper.from_array(np.ones((16, 32), np.float32), "w")
    nodes = [helper.make_node("Einsum", ["x", "w"], ["h"], equation="bsd,df->bsf", name="proj"),
             helper.make_node("Einsum", ["h", "h"], ["y"], equation="...nf,...mf->...nm", name="scores"),
             helper.make_node("Einsum", ["y"], ["z"], equation="bnm->bn", name="rowsum")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "S", 16])],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["B", "S"])], [w])
    g = load_onnx(_save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path)).build(
        batch_size=3, seq_len=10)
    assert g.op("proj").matrix_flops == 2 * 3 * 10 * 16 * 32 and g.parameters == 16 * 32
    assert g.op("scores").gemms[0] == Gemm(m=10, n=10, k=32, count=3)
    assert g.op("rowsum").kind == OpKind.REDUCE


def test_hard_coded_reshape_is_refused_at_other_batch(tmp_path: Path) -> None:
    shape = numpy_helper.from_array(np.array([1, 24], dtype=np.int64), "shape")
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Reshape", ["r", "shape"], ["y"], name="flat")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 24])], [shape])
    wl = load_onnx(_save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path))
    with pytest.raises(WorkloadError, match="flat.*hard-codes a size"):
        wl.build(batch_size=8)


def test_external_data_inside_folder_loads(tmp_path: Path) -> None:
    path = tmp_path / "ext.onnx"
    onnx.save_model(_linear_model(), str(path), save_as_external_data=True, location="weights.bin",
                    size_threshold=0)
    assert load_onnx(path).build(batch_size=3).parameters == 12


@pytest.mark.parametrize("location", ["/etc/passwd", "sub/../../escape.bin"])
def test_external_data_absolute_or_escaping(tmp_path: Path, location: str) -> None:
    model = _linear_model()
    w = model.graph.initializer[0]
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    w.external_data.add(key="location", value=location)
    with pytest.raises(WorkloadError, match="'W'") as err:
        load_onnx(_save(model, tmp_path))
    assert str(tmp_path / "m.onnx") in str(err.value)


def test_external_data_symlink_leaving_folder(tmp_path: Path) -> None:
    inside = tmp_path / "model"
    inside.mkdir()
    path = inside / "ext.onnx"
    onnx.save_model(_linear_model(), str(path), save_as_external_data=True, location="weights.bin",
                    size_threshold=0)
    (inside / "weights.bin").rename(tmp_path / "weights.bin")
    (inside / "weights.bin").symlink_to(tmp_path / "weights.bin")
    with pytest.raises(WorkloadError, match="'W'.*outside the model's folder"):
        load_onnx(path)


def test_unsorted_nodes_are_accepted(tmp_path: Path) -> None:
    model = _linear_model()
    nodes = list(model.graph.node)[::-1]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    g = load_onnx(_save(model, tmp_path)).build(batch_size=2)
    assert g.order == ["fc", "act"]


def test_fallback_simulates_unsupported_nodes(tmp_path: Path) -> None:
    path = tmp_path / "u.onnx"
    write_unsupported(path)
    wl = load_onnx(path, unsupported="fallback")
    g = wl.build(batch_size=5)
    fb = [op for op in g.ops if dict(op.attrs).get("fallback")]
    assert [dict(op.attrs)["onnx_op"] for op in fb] == ["TopK", "FancyNorm"]
    assert all(op.kind == OpKind.ELEMENTWISE for op in fb)
    assert fb[0].flops == onnx_import.FALLBACK_FLOPS_PER_ELEM * (5 * 2 + 5 * 2)  # values + indices
    assert g.parameters == 12


def test_unsupported_lists_every_node(tmp_path: Path) -> None:
    path = tmp_path / "u.onnx"
    write_unsupported(path)
    with pytest.raises(WorkloadError) as err:
        load_onnx(path)
    msg = str(err.value)
    assert "pick_top2 (TopK)" in msg and "fancy (com.example.FancyNorm)" in msg and str(path) in msg
    assert "fc" not in msg.split(":", 2)[-1].replace("fallback", "")


def test_file_over_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save(_linear_model(), tmp_path)
    from simulator.workload.importers import onnx_read

    monkeypatch.setattr(onnx_read, "MAX_FILE_BYTES", 64)  # the reading module owns the limit
    with pytest.raises(WorkloadError, match="above the limit of 64 bytes for an ONNX model"):
        load_onnx(path)


def test_size_limit_is_512_mib() -> None:
    assert onnx_import.MAX_FILE_BYTES == 512 * 2**20


def test_non_onnx_protobuf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tensor.onnx"
    path.write_bytes(numpy_helper.from_array(np.ones(4, np.float32), "t").SerializeToString())
    with pytest.raises(WorkloadError, match=str(path)):
        load_onnx(path)


# --- bad files: built here, and the committed fixtures ----------------------------------------------------
@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_built_here(tmp_path: Path, name: str) -> None:
    write, words = BAD_FILES[name]
    path = tmp_path / name
    write(path)
    with pytest.raises(WorkloadError) as err:
        load_onnx(path)
    msg = str(err.value)
    assert msg.startswith(str(path)) and words.lower() in msg.lower()
    assert "\n" not in msg


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_committed_bad_fixture(name: str) -> None:
    path = BAD / name
    assert path.exists(), f"missing fixture {path}"
    with pytest.raises(WorkloadError) as err:
        load_workload(path)
    assert BAD_FILES[name][1].lower() in str(err.value).lower() and path.name in str(err.value)


def test_cycle_names_the_nodes(tmp_path: Path) -> None:
    path = tmp_path / "c.onnx"
    write_cycle(path)
    with pytest.raises(WorkloadError, match="first -> second -> first|second -> first -> second"):
        load_onnx(path)


if __name__ == "__main__":  # rewrite the committed fixtures
    BAD.mkdir(parents=True, exist_ok=True)
    for fixture, (builder, _) in BAD_FILES.items():
        builder(BAD / fixture)
        print(BAD / fixture, (BAD / fixture).stat().st_size, "bytes")
