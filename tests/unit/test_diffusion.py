"""The diffusion family (Stable Diffusion 2 / SDXL): hand-counted FLOPs of its blocks, the shapes of
the UNet, the text-to-image sample (steps, guidance, shared weights) and the MLPerf rows it maps."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from simulator.errors import WorkloadError
from simulator.workload.families import Shape
from simulator.workload.families.diffusion import DiffusionParams, build_diffusion
from simulator.workload.families.diffusion_parts import (TextEncoderParams, VaeParams, resnet, transformer_block,
                                                         vae_decoder)
from simulator.workload.graph import GraphBuilder
from simulator.workload.loader import load_workload
from simulator.workload.ops import OpKind


def _matrix(b: GraphBuilder) -> float:
    return b.build().matrix_flops


def test_transformer_block_flops_by_hand():
    # N images of S tokens of width C attend to T context tokens of width D:
    # projections 36 N S C^2 (self QKV 6, out 2, cross Q 2, out 2, GEGLU up 16, down 8),
    # self-attention scores + values 4 N S^2 C, cross-attention 4 N S T C, cross K/V 4 N T D C
    n, s, c, t, d = 2, 16, 64, 77, 32
    b = GraphBuilder("g", batch=n)
    transformer_block(b, "blk", b.input((n, s, c)), b.input((n, t, d)), heads=2)
    want = 36 * n * s * c * c + 4 * n * s * s * c + 4 * n * s * t * c + 4 * n * t * d * c
    assert _matrix(b) == want


def test_resnet_flops_by_hand():
    # two 3x3 convs (Cin -> Cout, Cout -> Cout), the 1x1 shortcut, the time projection (T -> Cout)
    n, cin, cout, hw, tdim = 2, 8, 16, 6, 32
    b = GraphBuilder("g", batch=n)
    resnet(b, "r", b.input((n, cin, hw, hw)), cout, b.input((n, tdim)))
    px = n * hw * hw
    assert _matrix(b) == 2 * px * 9 * cin * cout + 2 * px * 9 * cout * cout + 2 * px * cin * cout + 2 * n * tdim * cout
    b2 = GraphBuilder("g", batch=n)
    resnet(b2, "r", b2.input((n, cout, hw, hw)), cout, None)  # same width, no time embedding: no shortcut conv
    assert _matrix(b2) == 2 * 2 * px * 9 * cout * cout


def test_sdxl_unet_structure():
    g = load_workload("sdxl-unet").build(batch_size=1, image_size=1024)
    attn = [op for op in g.ops if op.kind == OpKind.ATTENTION]
    # transformer blocks: down 2x2 + 2x10, middle 10, up 3x2 + 3x10 = 70, each a self and a cross attention
    assert len(attn) == 2 * 70
    q_lens = {dict(op.attrs)["q_len"] for op in attn}
    assert q_lens == {64 * 64, 32 * 32}  # no transformer at the 128 x 128 level
    assert {dict(op.attrs)["kv_len"] for op in attn if op.name.endswith("block0.attn2.sdpa")} == {77}
    assert {dict(op.attrs)["head_dim"] for op in attn} == {64}
    assert g.op("conv_out").output_elems == 4 * 128 * 128


def test_sd2_unet_structure_and_training_graph():
    g = load_workload("sd2-unet").build(batch_size=2, image_size=512)
    attn = [op for op in g.ops if op.kind == OpKind.ATTENTION]
    assert len(attn) == 2 * (3 * 2 + 1 + 3 * 3)  # 2 per down level x 3, middle, 3 per up level x 3
    assert max(dict(op.attrs)["q_len"] for op in attn) == 64 * 64
    assert g.op("loss").input_elems == 2 * 2 * 4 * 64 * 64  # prediction and target noise


def test_sample_is_encoders_steps_and_decoder():
    sdxl, unet = load_workload("sdxl"), load_workload("sdxl-unet")
    g = sdxl.build(batch_size=1, image_size=1024)
    one = unet.build(batch_size=2, image_size=1024)  # classifier-free guidance: the UNet sees 2 rows
    unet_flops = sum(op.flops for op in g.ops if op.name.startswith("s7.") and op.name != "s7.scheduler")
    assert unet_flops == one.flops - one.op("loss").flops
    # weights counted once, read at every step
    assert g.parameters == sdxl.published.parameters
    reads = sum(op.weight_read_elems for op in g.ops if op.name.startswith("s"))
    assert reads == pytest.approx(20 * unet.published.parameters)
    assert g.op("vae.conv_out").output_elems == 3 * 1024 * 1024
    assert g.op("text1.projection").output_elems == 2 * 1280  # pooled bigG text of prompt and negative prompt


def test_fewer_steps_no_guidance():
    p = load_workload("sdxl").params
    base = build(p.model_copy(update={"steps": 2, "guidance": False}), 512)
    guided = build(p.model_copy(update={"steps": 2}), 512)
    assert base.op("s1.conv_out").output_elems * 2 == guided.op("s1.conv_out").output_elems
    assert base.parameters == guided.parameters


def build(p: DiffusionParams, image: int):
    b = GraphBuilder("g", batch=1)
    build_diffusion(b, p, Shape(batch_size=1, seq_len=1, image_size=image))
    return b.build()


def test_vae_decoder_doubles_per_level():
    b = GraphBuilder("g", batch=1)
    out = vae_decoder(b, "vae", VaeParams(block_channels=[8, 16], layers=1, groups=4), b.input((1, 4, 5, 5)))
    assert out.shape == (1, 3, 10, 10)


def test_params_refuse_inconsistent_configs():
    with pytest.raises(ValidationError, match="one entry per level"):
        DiffusionParams(block_channels=[320, 640], block_types=["cross"], transformer_depths=[1, 1])
    with pytest.raises(ValidationError, match="add up to context_dim"):
        DiffusionParams(context_dim=1000, text_encoders=[TextEncoderParams(layers=1, hidden=768, heads=12, ffn=8)])
    with pytest.raises(ValidationError, match="needs text_encoders"):
        DiffusionParams(steps=5)
    with pytest.raises(WorkloadError, match="divisible by 64"):
        load_workload("sd2-unet").build(image_size=500)


SMALL = DiffusionParams(block_channels=[64, 128], block_types=["cross", "plain"], transformer_depths=[1, 1],
                        context_dim=32, text_encoders=[TextEncoderParams(layers=1, hidden=32, heads=2, ffn=64)],
                        vae=VaeParams(block_channels=[8, 16], layers=1, groups=4), steps=1, guidance=True)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4), st.sampled_from([16, 32, 48]))
def test_more_steps_or_pixels_never_cost_less(steps, image):
    """Law: each added denoising step adds one UNet pass; a larger image never costs fewer FLOPs."""
    g = build(SMALL.model_copy(update={"steps": steps}), image)
    g_more = build(SMALL.model_copy(update={"steps": steps + 1}), image)
    g_big = build(SMALL.model_copy(update={"steps": steps}), image + 16)
    unet_pass = sum(op.flops for op in g_more.ops if op.name.startswith(f"s{steps}."))
    assert g_more.flops == pytest.approx(g.flops + unet_pass)
    assert g_big.flops > g.flops
    assert g_more.parameters == g.parameters


SD_ROWS = ("J018", "J019", "M058", "M059", "M060", "U035", "U036", "U037", "U038", "U039", "U042", "U043")


@pytest.fixture(scope="module")
def sd_cases():
    from validation.mapping import map_rows
    from validation.rows import read_calibration

    rows = [r for r in read_calibration() if r.id in SD_ROWS]
    return {c.row.id: c for c in map_rows(rows)}


def test_every_stable_diffusion_row_is_expressed(sd_cases):
    from validation.cases import Case

    assert set(sd_cases) == set(SD_ROWS)
    refused = {k: c.reason for k, c in sd_cases.items() if not isinstance(c, Case)}
    assert not refused


def test_stable_diffusion_rows_follow_the_submitters_configs(sd_cases):
    h100, orin, v6e, server = sd_cases["M060"], sd_cases["J019"], sd_cases["M058"], sd_cases["U043"]
    assert (h100.workload, h100.batch, h100.precision) == ("sdxl", 8, "int8")  # NVIDIA v4.0 config
    assert (orin.batch, orin.precision, orin.scale) == (1, "int8", 1.0)       # GPU only: no dla_core for SDXL
    assert (v6e.batch, v6e.scale, v6e.precision, v6e.image_size) == (1, 4.0, "bf16", 1024)
    assert server.latency_bound_s == 20.0 and sd_cases["J018"].category == "latency"
    train = sd_cases["U038"]
    assert (train.workload, train.task, train.batch, train.parallelism, train.image_size) == \
        ("sd2-unet", "cluster", 2048, "dp=1024,tp=1,pp=1", 512)


def test_stable_diffusion_rows_are_scored_not_fitted(sd_cases):
    from validation.stages import _stage_rows

    cases = list(sd_cases.values())
    assert all(not c.fit_evidence for c in cases)
    assert not any(_stage_rows(cases, stage) for stage in ("memory", "compute", "op_overhead_us"))
    # the same rows as fit evidence would feed the compute stage: the flag is what keeps them out
    from dataclasses import replace
    assert _stage_rows([replace(c, fit_evidence=True) for c in cases], "compute")


# --- a deployment's per-component formats (NVIDIA's SDXL engines) ---------------------------------

def _sdxl(**formats):
    from dataclasses import replace as dc_replace
    wl = load_workload("sdxl")
    return dc_replace(wl, params=DiffusionParams.model_validate({**wl.params.model_dump(), "steps": 1, **formats}))


def test_level_2_5_leaves_the_attention_and_its_output_projections_unquantized():
    # one transformer block: of its 36 N S C^2 projection FLOPs only the two to_out (2 + 2) stay FP16,
    # with both attentions' scores and values (4 N S^2 C + 4 N S T C); q/k/v, cross K/V and the
    # GEGLU are int8
    from simulator.workload.families.diffusion import unquantized_ops

    n, s, c, t, d = 2, 16, 64, 77, 32
    b = GraphBuilder("g", batch=n)
    transformer_block(b, "blk", b.input((n, s, c)), b.input((n, t, d)), heads=2)
    g = b.build()
    fp16 = unquantized_ops(list(g.order))
    assert sum(g.op(x).matrix_flops for x in fp16) == 4 * n * s * c * c + 4 * n * s * s * c + 4 * n * s * t * c
    assert {"blk.attn1.qkv", "blk.attn2.q", "blk.attn2.kv", "blk.ff.up", "blk.ff.down"}.isdisjoint(fp16)


def test_resnet_shortcut_and_time_projection_stay_fp16():
    from simulator.workload.families.diffusion import unquantized_ops

    b = GraphBuilder("g", batch=1)
    resnet(b, "r", b.input((1, 8, 4, 4)), 16, b.input((1, 32)))
    fp16 = unquantized_ops(list(b.build().order))
    assert "r.shortcut" in fp16 and "r.temb" in fp16
    assert "r.conv1" not in fp16 and "r.conv2" not in fp16


def test_formats_mark_the_components_and_nothing_else():
    g0 = _sdxl().build(batch_size=1, image_size=256)
    g = _sdxl(int8_scope="conv-ffn-qkv", text_precision="fp16", vae_precision="tf32").build(batch_size=1,
                                                                                          image_size=256)
    assert g.order == g0.order and g.flops == g0.flops
    own = {n: dict(g.op(n).attrs) for n in g.order}
    assert all(a.get("precision") == "tf32" for n, a in own.items() if n.startswith("vae."))
    assert all(a.get("precision") == "fp16" for n, a in own.items() if n.startswith("text"))
    unet = [n for n in g.order if n.startswith("s0.")]
    marked = [n for n in unet if own[n].get("unquantized")]
    assert "s0.conv_in" in marked and "s0.scheduler" in marked and "s0.down1.res0.conv1" not in marked
    assert not any("precision" in dict(g0.op(n).attrs) or "unquantized" in dict(g0.op(n).attrs) for n in g0.order)


def test_an_unquantized_op_in_an_int8_run_costs_its_fp16_time():
    from dataclasses import replace as dc_replace

    from simulator.cost.base import CostOptions, Numerics
    from simulator.cost.dispatch import op_cost
    from simulator.spec.loader import load_hardware
    from simulator.units import Precision
    from simulator.workload.ops import matmul

    h = load_hardware("nvidia-h100-sxm")
    i8, f16, tf32 = (Numerics(p, p) for p in (Precision.INT8, Precision.FP16, Precision.TF32))
    fc = matmul("fc", batch=1, m=8192, k=1280, n=1280)
    marked = dc_replace(fc, attrs=fc.attrs + (("unquantized", True),))
    assert op_cost(marked, h, i8, CostOptions()) == op_cost(fc, h, f16, CostOptions())
    assert op_cost(fc, h, i8, CostOptions()).duration_s < op_cost(marked, h, i8, CostOptions()).duration_s
    assert op_cost(marked, h, f16, CostOptions()) == op_cost(fc, h, f16, CostOptions())   # float runs: no change
    vae = dc_replace(fc, attrs=fc.attrs + (("precision", "tf32"),))
    assert op_cost(vae, h, i8, CostOptions()) == op_cost(fc, h, tf32, CostOptions())


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 1 << 14), k=st.integers(1, 1 << 13), n=st.integers(1, 1 << 13))
def test_leaving_an_op_unquantized_never_makes_an_int8_run_faster(m, k, n):
    from dataclasses import replace as dc_replace

    from simulator.cost.base import CostOptions, Numerics
    from simulator.cost.dispatch import op_cost
    from simulator.spec.loader import load_hardware
    from simulator.units import Precision
    from simulator.workload.ops import matmul

    h = load_hardware("nvidia-jetson-agx-orin")
    i8 = Numerics(Precision.INT8, Precision.INT8)
    fc = matmul("fc", batch=1, m=m, k=k, n=n)
    marked = dc_replace(fc, attrs=fc.attrs + (("unquantized", True),))
    assert op_cost(marked, h, i8, CostOptions()).duration_s >= op_cost(fc, h, i8, CostOptions()).duration_s


def test_graph_costs_of_marked_ops_are_their_own_formats_costs():
    import numpy  # noqa: F401  (the vectorised models run for the unmarked ops)

    from simulator.cost.base import CostOptions, Numerics
    from simulator.cost.dispatch import op_cost
    from simulator.run.device import cached_inputs, op_costs
    from simulator.spec.loader import load_hardware
    from simulator.units import Precision

    h = load_hardware("nvidia-h100-sxm")
    i8 = Numerics(Precision.INT8, Precision.INT8)
    g = _sdxl(int8_scope="conv-ffn-qkv", text_precision="fp16", vae_precision="tf32").build(batch_size=1,
                                                                                          image_size=256)
    costs, hits = op_costs(g, h, i8, CostOptions()), cached_inputs(g, h, i8)
    for n in g.order:
        assert costs[n] == op_cost(g.op(n), h, i8, CostOptions(cached_input_elems=hits.get(n, 0.0)))


def test_nvidia_sdxl_rows_run_each_engine_in_its_format(sd_cases):
    for rid in ("M060", "J018", "J019"):
        assert dict(sd_cases[rid].workload_params) == {"int8_scope": "conv-ffn-qkv", "text_precision": "fp16",
                                                       "vae_precision": "tf32"}
    assert all(not sd_cases[rid].workload_params for rid in ("M058", "M059", "U042", "U043", "U035"))
