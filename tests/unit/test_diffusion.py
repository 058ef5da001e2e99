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
