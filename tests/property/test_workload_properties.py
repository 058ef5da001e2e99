"""Laws of workload graphs, over generated batch sizes and shapes (hypothesis; profile in conftest)."""
from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from simulator.workload.loader import load_workload, zoo

# Dense models: every matrix op scales exactly with the batch. Mixture-of-experts is excluded from
# exact linearity on purpose: tokens are spread over experts in whole GEMM rows (a ceiling).
CNNS = ["lenet5", "alexnet", "resnet18", "googlenet", "mobilenet-v1", "mobilenet-v2", "efficientnet-b0", "unet",
        "yolov5s", "vgg16"]
TRANSFORMERS = ["bert-base", "bert-large", "gpt2", "gptj-6b", "llama2-7b", "llama3-8b", "llama2-70b", "vit-b16"]
SMALL_IMAGE = {"lenet5": 32, "alexnet": 96, "unet": 64, "yolov5s": 64, "googlenet": 64, "vgg16": 64,
               "inception-v3": 75}  # Inception v3 needs 75x75 (its stride-2 stages leave Mixed_7a a 3x3 input)

BATCH = st.integers(min_value=1, max_value=64)


def _build(name: str, batch: int, seq: int = 32):
    wl = load_workload(name)
    image = SMALL_IMAGE.get(name, 64 if wl.uses_image_size else None)
    if name == "vit-b16":
        image = 224
    return wl.build(batch_size=batch, seq_len=seq, image_size=image)


@given(st.sampled_from(CNNS + TRANSFORMERS), BATCH, st.sampled_from([8, 32, 100]))
def test_matrix_flops_linear_in_batch(name, batch, seq):
    one = _build(name, batch, seq).matrix_flops
    two = _build(name, 2 * batch, seq).matrix_flops
    assert two == 2 * one or math.isclose(two, 2 * one, rel_tol=1e-12)


@given(st.sampled_from(sorted(zoo())), BATCH, BATCH)
def test_activation_elems_never_decrease_with_batch(name, b1, b2):
    small, large = sorted((b1, b2))
    assert _build(name, small).activation_elems <= _build(name, large).activation_elems


@given(st.sampled_from(sorted(zoo())), BATCH)
def test_parameters_do_not_depend_on_batch(name, batch):
    assert _build(name, batch).parameters == _build(name, 1).parameters


@given(st.sampled_from(["mixtral-8x7b"]), BATCH)
def test_moe_flops_never_decrease_with_batch(name, batch):
    assert _build(name, 2 * batch).matrix_flops >= _build(name, batch).matrix_flops


@given(st.sampled_from(["gpt2", "llama3-8b", "gptj-6b"]), st.integers(min_value=1, max_value=256))
def test_projection_flops_linear_and_attention_quadratic_in_sequence(name, seq):
    """Doubling the sequence doubles the linear layers' work and quadruples the attention scores.

    Decoders only: BERT's pooler reads the first token whatever the sequence length.
    """
    g1, g2 = _build(name, 1, seq), _build(name, 1, 2 * seq)
    attn = [n for n in g1.order if n.endswith(".sdpa")]
    assert all(g2.op(n).matrix_flops == 4 * g1.op(n).matrix_flops for n in attn)
    proj1 = g1.matrix_flops - sum(g1.op(n).matrix_flops for n in attn)
    proj2 = g2.matrix_flops - sum(g2.op(n).matrix_flops for n in attn)
    assert math.isclose(proj2, 2 * proj1, rel_tol=1e-12)
