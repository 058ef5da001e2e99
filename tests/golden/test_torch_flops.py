"""Our graphs' matrix FLOPs against PyTorch's own counter, ``torch.utils.flop_counter.FlopCounterMode``.

The torch models are small definitions written here (no downloads, no torchvision) that mirror the
layouts the zoo uses: ResNet-18, a GPT-2-style decoder, a Llama-style decoder with grouped-query
attention, and a BERT-tiny encoder with pooler.

How torch counts (torch 2.x): convolutions, ``mm``/``addmm``/``bmm`` at 2 FLOPs per multiply-add,
bias additions and every element-wise op (norms, activations, softmax, rotary) at zero.
``scaled_dot_product_attention`` is counted as its two batched matmuls, 4 * B * H * Sq * Skv * D,
over the *full* score matrix even when ``is_causal=True`` -- the same convention as our attention op.
On CPU the default SDPA kernel (``_scaled_dot_product_flash_attention_for_cpu``) has no FLOP formula
registered and counts as 0, so the tests select the math backend, which decomposes into ``bmm``.
So the comparison is against :attr:`ComputeGraph.matrix_flops` (the GEMM part of every op).
"""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="torch is optional; these tests cross-check FLOPs against it")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from simulator.workload.loader import load_workload, workload_from_dict  # noqa: E402

TOLERANCE = 0.01


def _torch_flops(model: nn.Module, *inputs) -> int:
    model.eval()
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model(*inputs)
    return counter.get_total_flops()


def _numel(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# -- ResNet-18 ------------------------------------------------------------------------------------
class _Basic(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
        self.c2, self.b2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
        return F.relu(y + (self.down(x) if self.down is not None else x))


class _ResNet18(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        blocks, cin = [], 64
        for stage, cout in enumerate((64, 128, 256, 512)):
            for i in range(2):
                blocks.append(_Basic(cin, cout, 2 if i == 0 and stage > 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(512, 1000)

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1), 1))


def test_resnet18_matches_torch():
    batch, image = 2, 64  # small image: the forward runs for real on a shared CPU
    model = _ResNet18()
    ours = load_workload("resnet18").build(batch_size=batch, image_size=image)
    assert ours.parameters == _numel(model)
    theirs = _torch_flops(model, torch.randn(batch, 3, image, image))
    assert ours.matrix_flops == pytest.approx(theirs, rel=TOLERANCE)


# -- decoders -------------------------------------------------------------------------------------
class _DecoderLayer(nn.Module):
    """Pre-norm decoder layer; ``gated`` selects Llama style (RMSNorm, SwiGLU, no biases, GQA)."""

    def __init__(self, hidden: int, heads: int, kv_heads: int, ffn: int, gated: bool) -> None:
        super().__init__()
        self.heads, self.kv_heads, self.dh, self.gated = heads, kv_heads, hidden // heads, gated
        norm = nn.RMSNorm if gated else nn.LayerNorm
        self.ln1, self.ln2 = norm(hidden), norm(hidden)
        self.qkv = nn.Linear(hidden, (heads + 2 * kv_heads) * self.dh, bias=not gated)
        self.out = nn.Linear(hidden, hidden, bias=not gated)
        self.up = nn.Linear(hidden, 2 * ffn if gated else ffn, bias=not gated)
        self.down = nn.Linear(ffn, hidden, bias=not gated)

    def forward(self, x):
        b, s, _ = x.shape
        q, k, v = self.qkv(self.ln1(x)).split([self.heads * self.dh, self.kv_heads * self.dh,
                                               self.kv_heads * self.dh], dim=-1)
        q = q.view(b, s, self.heads, self.dh).transpose(1, 2)
        k = k.view(b, s, self.kv_heads, self.dh).transpose(1, 2)
        v = v.view(b, s, self.kv_heads, self.dh).transpose(1, 2)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=self.kv_heads != self.heads)
        x = x + self.out(a.transpose(1, 2).reshape(b, s, -1))
        h = self.up(self.ln2(x))
        if self.gated:
            gate, up = h.chunk(2, dim=-1)
            h = F.silu(gate) * up
        else:
            h = F.gelu(h)
        return x + self.down(h)


class _Decoder(nn.Module):
    def __init__(self, *, vocab: int, hidden: int, heads: int, kv_heads: int, ffn: int, layers: int,
                 max_positions: int, gated: bool) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab, hidden)
        self.wpe = None if gated else nn.Embedding(max_positions, hidden)  # Llama: rotary, no parameters
        self.layers = nn.ModuleList(_DecoderLayer(hidden, heads, kv_heads, ffn, gated) for _ in range(layers))
        self.ln_f = nn.RMSNorm(hidden) if gated else nn.LayerNorm(hidden)
        self.lm_head = nn.Linear(hidden, vocab, bias=False) if gated else None  # GPT-2 ties it to wte

    def forward(self, ids):
        x = self.wte(ids)
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(ids.shape[1]))
        for layer in self.layers:
            x = layer(x)
        x = self.ln_f(x)
        return self.lm_head(x) if self.lm_head is not None else F.linear(x, self.wte.weight)


def _ours(family: str, params: dict, **shape):
    return workload_from_dict({"name": "t", "family": family, "source": "test", "params": params}, "t").build(**shape)


def test_small_gpt_matches_torch():
    cfg = dict(vocab=1000, hidden=128, heads=4, ffn=512, layers=2)
    batch, seq = 2, 64
    model = _Decoder(kv_heads=4, max_positions=128, gated=False, **cfg)
    ours = _ours("transformer", dict(cfg, max_positions=128, positions="learned", tie_embeddings=True,
                                     causal=True), batch_size=batch, seq_len=seq)
    assert ours.parameters == _numel(model)
    theirs = _torch_flops(model, torch.randint(0, 1000, (batch, seq)))
    assert ours.matrix_flops == pytest.approx(theirs, rel=TOLERANCE)


def test_small_llama_with_grouped_query_attention_matches_torch():
    cfg = dict(vocab=512, hidden=128, heads=8, ffn=352, layers=2)
    batch, seq = 2, 48
    model = _Decoder(kv_heads=2, max_positions=0, gated=True, **cfg)
    ours = _ours("transformer", dict(cfg, kv_heads=2, ffn_activation="swiglu", positions="rotary", norm="rmsnorm",
                                     qkv_bias=False, out_bias=False, mlp_bias=False), batch_size=batch, seq_len=seq)
    assert ours.parameters == _numel(model)
    theirs = _torch_flops(model, torch.randint(0, 512, (batch, seq)))
    assert ours.matrix_flops == pytest.approx(theirs, rel=TOLERANCE)


# -- BERT-tiny encoder -----------------------------------------------------------------------------
class _BertLayer(nn.Module):
    def __init__(self, hidden: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv, self.out = nn.Linear(hidden, 3 * hidden), nn.Linear(hidden, hidden)
        self.ln1, self.ln2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.fc1, self.fc2 = nn.Linear(hidden, ffn), nn.Linear(ffn, hidden)

    def forward(self, x):
        b, s, h = x.shape
        q, k, v = (t.view(b, s, self.heads, -1).transpose(1, 2) for t in self.qkv(x).chunk(3, dim=-1))
        a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, s, h)
        x = self.ln1(x + self.out(a))
        return self.ln2(x + self.fc2(F.gelu(self.fc1(x))))


class _BertTiny(nn.Module):
    def __init__(self, *, vocab: int, hidden: int, heads: int, ffn: int, layers: int) -> None:
        super().__init__()
        self.word, self.pos, self.token_type = nn.Embedding(vocab, hidden), nn.Embedding(512, hidden), nn.Embedding(2, hidden)
        self.ln = nn.LayerNorm(hidden)
        self.layers = nn.ModuleList(_BertLayer(hidden, heads, ffn) for _ in range(layers))
        self.pooler = nn.Linear(hidden, hidden)

    def forward(self, ids):
        x = self.ln(self.word(ids) + self.pos(torch.arange(ids.shape[1])) + self.token_type(torch.zeros_like(ids)))
        for layer in self.layers:
            x = layer(x)
        return torch.tanh(self.pooler(x[:, 0]))


def test_bert_tiny_matches_torch():
    cfg = dict(vocab=30522, hidden=128, heads=2, ffn=512, layers=2)
    batch, seq = 4, 128
    model = _BertTiny(**cfg)
    ours = _ours("transformer", dict(cfg, type_vocab=2, max_positions=512, norm_position="post", causal=False,
                                     lm_head=False, pooler=True), batch_size=batch, seq_len=seq)
    assert ours.parameters == _numel(model)
    theirs = _torch_flops(model, torch.randint(0, 30522, (batch, seq)))
    assert ours.matrix_flops == pytest.approx(theirs, rel=TOLERANCE)
