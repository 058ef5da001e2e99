"""Golden numbers for every bundled workload: it builds, and its parameters and forward MACs match
the published figures recorded in its ``published:`` block."""
from __future__ import annotations

import math

import pytest

from simulator.errors import WorkloadError
from simulator.workload.loader import load_workload, zoo

ZOO = sorted(zoo())
REQUIRED = {
    "mlp", "lenet5", "alexnet", "vgg16", "googlenet", "resnet18", "resnet50", "resnet152", "mobilenet-v1",
    "mobilenet-v2", "efficientnet-b0", "unet", "yolov5s", "vit-b16", "bert-base", "bert-large", "gpt2", "gpt2-xl",
    "gptj-6b", "gpt3-175b", "llama2-7b", "llama2-13b", "llama2-70b", "llama3-8b", "llama3-70b", "mixtral-8x7b",
    "lstm", "dlrm",
}
ROUNDED_TOLERANCE = 0.005  # a published count given to <= 4 significant digits ("66M", "175.0B")
MACS_TOLERANCE = 0.03      # published GFLOPS are rounded to 2 decimals and counters differ on small ops


def _significant_digits(x: float) -> int:
    digits = str(int(x)).rstrip("0")
    return len(digits)


def _at_shape(wl) -> dict:
    """The published ``at:`` shape, as keyword arguments of ``Workload.build``."""
    return {k: v for k, v in wl.published.at.items() if k in ("batch_size", "seq_len", "image_size")}


def test_zoo_has_every_required_model():
    assert REQUIRED <= set(ZOO), f"missing: {sorted(REQUIRED - set(ZOO))}"


@pytest.mark.parametrize("name", ZOO)
def test_builds_at_defaults_and_batch_one(name):
    wl = load_workload(name)
    assert wl.published is not None and wl.published.parameters, "every zoo file has published.parameters"
    g = wl.build()
    g1 = wl.build(batch_size=1)
    assert len(g) == len(g1) > 0
    assert g.parameters == g1.parameters  # parameters never depend on the batch
    assert g.flops >= g1.flops > 0


@pytest.mark.parametrize("name", ZOO)
def test_parameters_match_published(name):
    wl = load_workload(name)
    got = wl.build(batch_size=1).parameters
    want = wl.published.parameters
    if _significant_digits(want) <= 4:
        assert got == pytest.approx(want, rel=ROUNDED_TOLERANCE)
    else:
        assert got == want, f"{name}: {got:,.0f} parameters, published {want:,.0f}"


@pytest.mark.parametrize("name", [n for n in ZOO if load_workload(n).published.forward_macs])
def test_forward_macs_match_published(name):
    wl = load_workload(name)
    assert wl.published.at, "forward_macs needs the shape it was measured at"
    macs = wl.build(**_at_shape(wl)).matrix_flops / 2
    assert macs == pytest.approx(wl.published.forward_macs, rel=MACS_TOLERANCE)


def test_resnet50_at_299():
    g224 = load_workload("resnet50").build(batch_size=1, image_size=224)
    g299 = load_workload("resnet50").build(batch_size=1, image_size=299)
    assert g299.parameters == g224.parameters
    # 299 -> 150 -> 75 -> 38 -> 19 -> 10 feature maps: about (299/224)^2 more work
    assert 1.6 < g299.matrix_flops / g224.matrix_flops < 2.0


@pytest.mark.parametrize("size", [256, 512])
def test_unet_output_is_input_sized(size):
    g = load_workload("unet").build(batch_size=2, image_size=size)
    assert g.op("head.sigmoid").output_elems == 2 * 1 * size * size
    assert g.parameters == 7_763_041


def test_unet_512_is_four_times_256():
    wl = load_workload("unet")
    assert wl.build(image_size=512).matrix_flops == 4 * wl.build(image_size=256).matrix_flops


@pytest.mark.parametrize("name,size", [("yolov5s", 320), ("vit-b16", 384), ("efficientnet-b0", 240),
                                       ("googlenet", 299), ("mobilenet-v2", 160), ("lenet5", 28)])
def test_other_image_sizes_build(name, size):
    assert len(load_workload(name).build(batch_size=1, image_size=size)) > 0


@pytest.mark.parametrize("name,size,message", [
    ("unet", 250, "divisible by 16"), ("yolov5s", 600, "divisible by 32"), ("alexnet", 32, "pool"),
    ("lenet5", 8, "larger"),
])
def test_impossible_image_sizes_raise_workload_error(name, size, message):
    with pytest.raises(WorkloadError, match=message):
        load_workload(name).build(batch_size=1, image_size=size)


def test_transformers_accept_other_sequence_lengths():
    for name in ("bert-large", "gpt2-xl", "llama3-8b", "mixtral-8x7b"):
        wl = load_workload(name)
        short, long = wl.build(batch_size=1, seq_len=64), wl.build(batch_size=1, seq_len=512)
        assert short.parameters == long.parameters and long.matrix_flops > 7 * short.matrix_flops


def test_learned_positions_limit_sequence_length():
    with pytest.raises(WorkloadError, match="max_positions"):
        load_workload("gpt2-xl").build(batch_size=1, seq_len=1025)


def test_moe_active_compute_is_top2_of_8():
    """Mixtral: per token, the expert GEMMs do 2 of 8 experts' work (12.9B of 46.7B active)."""
    g = load_workload("mixtral-8x7b").build(batch_size=1, seq_len=512)
    expert_macs = sum(op.matrix_flops for op in g.ops if op.name.endswith(".experts")) / 2
    per_expert = 4096 * 2 * 14336 + 14336 * 4096
    assert expert_macs == pytest.approx(512 * 32 * 2 * per_expert, rel=1e-9)


def test_lstm_is_sequential():
    g = load_workload("lstm").build(batch_size=20, seq_len=35)
    assert max(op.sequential_steps for op in g.ops) == 35


def test_dlrm_is_embedding_heavy_with_few_ops():
    g = load_workload("dlrm").build(batch_size=2048)
    emb = sum(op.param_elems for op in g.ops if op.kind.value == "embedding")
    assert emb / g.parameters > 0.999 and len(g) < 60
    assert math.isclose(emb, 187_767_399 * 128)
