"""Building blocks of latent diffusion (Stable Diffusion) as diffusers builds them: group norms, the
time-conditioned ResNet block, the spatial transformer (self-attention, cross-attention to the text
embeddings, GEGLU feed-forward), the CLIP text encoder and the VAE decoder.

Sources: huggingface/diffusers ``src/diffusers/models/resnet.py`` (ResnetBlock2D),
``models/transformers/transformer_2d.py`` (Transformer2DModel), ``models/attention.py``
(BasicTransformerBlock, GEGLU FeedForward), ``models/autoencoders/vae.py`` (Decoder); huggingface/transformers
``models/clip/modeling_clip.py`` (CLIPTextModel / CLIPTextModelWithProjection).
"""
from __future__ import annotations

from pydantic import Field

from .. import ops as O
from ..graph import GraphBuilder, Tensor
from . import FamilyParams
from ..saved import SUM

CONTEXT_TOKENS = 77  # CLIP's tokenizer pads every prompt to 77 tokens (model_max_length)


class TextEncoderParams(FamilyParams):
    """A CLIP text transformer (pre-norm, causal attention over 77 tokens, learned positions).

    ``projection``: width of the pooled-token projection (CLIPTextModelWithProjection; 0: none).

    Example:
        >>> TextEncoderParams(layers=12, hidden=768, heads=12, ffn=3072).vocab
        49408
    """

    layers: int = Field(gt=0, le=1000)
    hidden: int = Field(gt=0, le=10**5)
    heads: int = Field(gt=0, le=10**3)
    ffn: int = Field(gt=0, le=10**6)
    vocab: int = Field(default=49408, gt=0, le=10**7)
    projection: int = Field(default=0, ge=0, le=10**5)


class VaeParams(FamilyParams):
    """The VAE decoder (AutoencoderKL): ``block_channels`` from the full-resolution block up, each up
    block ``layers + 1`` ResNets, a single-head attention in the middle block.

    Example:
        >>> VaeParams().block_channels
        [128, 256, 512, 512]
    """

    block_channels: list[int] = Field(default=[128, 256, 512, 512], min_length=1, max_length=8)
    layers: int = Field(default=2, gt=0, le=16)
    latent_channels: int = Field(default=4, gt=0, le=64)
    out_channels: int = Field(default=3, gt=0, le=64)
    groups: int = Field(default=32, gt=0, le=1024)


def group_norm(b: GraphBuilder, name: str, x: Tensor) -> Tensor:
    """GroupNorm over an NCHW tensor: statistics per (sample, group), a scale and shift per channel.

    Example:
        >>> b = GraphBuilder("g", batch=1)
        >>> _ = group_norm(b, "gn", b.input((1, 64, 8, 8)))
        >>> b.build().parameters
        128.0
    """
    return b.add(O.norm(name, elems=x.elems, channels=x.shape[1], kind="groupnorm"), [x], x.shape)


def add_broadcast(b: GraphBuilder, name: str, x: Tensor, y: Tensor) -> Tensor:
    """``x + y`` with ``y`` broadcast over ``x`` (a per-channel time embedding over an image)."""
    return b.add(O.elementwise(name, elems=x.elems, inputs=1 + y.elems / x.elems, fn=SUM), [x, y], x.shape)


def resnet(b: GraphBuilder, name: str, x: Tensor, out_ch: int, temb: Tensor | None) -> Tensor:
    """ResnetBlock2D: GroupNorm, SiLU, 3x3 conv, + Linear(SiLU(temb)) per channel, GroupNorm, SiLU,
    3x3 conv, + the input (through a 1x1 conv when the width changes).

    Example:
        >>> b = GraphBuilder("g", batch=1)
        >>> _ = resnet(b, "r", b.input((1, 4, 8, 8)), 8, b.input((1, 16)))
        >>> b.build().parameters == 2 * 4 + 9 * 4 * 8 + 8 + 16 * 8 + 8 + 2 * 8 + 9 * 8 * 8 + 8 + 4 * 8 + 8
        True
    """
    h = b.conv(f"{name}.conv1", b.act(f"{name}.silu1", group_norm(b, f"{name}.norm1", x), "silu"), out_ch, 3,
               bias=True)
    if temb is not None:
        t = b.linear(f"{name}.temb", b.act(f"{name}.temb_silu", temb, "silu"), out_ch)
        h = add_broadcast(b, f"{name}.temb_add", h, t)
    h = b.conv(f"{name}.conv2", b.act(f"{name}.silu2", group_norm(b, f"{name}.norm2", h), "silu"), out_ch, 3,
               bias=True)
    skip = x if x.shape[1] == out_ch else b.conv(f"{name}.shortcut", x, out_ch, 1, bias=True)
    return b.add_tensors(f"{name}.add", h, skip)


def attention(b: GraphBuilder, name: str, x: Tensor, ctx: Tensor | None, heads: int, *, bias: bool = False,
              causal: bool = False) -> Tensor:
    """Multi-head attention of the (N, S, C) tokens ``x`` to themselves (``ctx`` None: one fused
    Q/K/V projection) or to the (N, T, D) context ``ctx`` (Q from ``x``, K and V from ``ctx``),
    then the output projection (with bias)."""
    n, s, c = x.shape
    if ctx is None:
        kv_len, ins = s, [b.linear(f"{name}.qkv", x, 3 * c, bias=bias)]
    else:
        kv_len = ctx.shape[1]
        ins = [b.linear(f"{name}.q", x, c, bias=bias), b.linear(f"{name}.kv", ctx, 2 * c, bias=bias)]
    op = O.attention(f"{name}.sdpa", batch=n, heads=heads, q_len=s, kv_len=kv_len, head_dim=c // heads, causal=causal)
    return b.linear(f"{name}.out", b.add(op, ins, x.shape), c)


def transformer_block(b: GraphBuilder, name: str, x: Tensor, ctx: Tensor, heads: int) -> Tensor:
    """BasicTransformerBlock: LayerNorm + self-attention, LayerNorm + cross-attention to the text,
    LayerNorm + GEGLU feed-forward (C -> 2 x 4C, GELU(gate) x value, 4C -> C), each residual."""
    c = x.shape[-1]
    x = b.add_tensors(f"{name}.add1", x, attention(b, f"{name}.attn1", b.norm(f"{name}.ln1", x, kind="layernorm"),
                                                   None, heads))
    x = b.add_tensors(f"{name}.add2", x, attention(b, f"{name}.attn2", b.norm(f"{name}.ln2", x, kind="layernorm"),
                                                   ctx, heads))
    h = b.linear(f"{name}.ff.up", b.norm(f"{name}.ln3", x, kind="layernorm"), 8 * c)
    gate = b.act(f"{name}.ff.gelu", Tensor(h.producer, (*h.shape[:-1], 4 * c)), "gelu")
    h = b.add(O.elementwise(f"{name}.ff.gate_mul", elems=gate.elems), [gate, h], gate.shape)
    return b.add_tensors(f"{name}.add3", x, b.linear(f"{name}.ff.down", h, c))


def spatial_transformer(b: GraphBuilder, name: str, x: Tensor, ctx: Tensor, depth: int, head_dim: int,
                        linear_projection: bool = True) -> Tensor:
    """Transformer2DModel: GroupNorm, project in (a linear layer on the flattened pixels, or a 1x1
    conv), ``depth`` transformer blocks over the H x W tokens, project out, + the input."""
    n, c, hh, ww = x.shape
    h = group_norm(b, f"{name}.norm", x)
    if not linear_projection:
        h = b.conv(f"{name}.proj_in", h, c, 1, bias=True)
    h = b.reshape(h, (n, hh * ww, c))  # NCHW -> (N, HW, C): fused into the projection by XLA / TensorRT
    if linear_projection:
        h = b.linear(f"{name}.proj_in", h, c)
    for i in range(depth):
        h = transformer_block(b, f"{name}.block{i}", h, ctx, c // head_dim)
    if linear_projection:
        h = b.linear(f"{name}.proj_out", h, c)
    h = b.reshape(h, (n, c, hh, ww))
    if not linear_projection:
        h = b.conv(f"{name}.proj_out", h, c, 1, bias=True)
    return b.add_tensors(f"{name}.add", h, x)


def text_encoder(b: GraphBuilder, name: str, p: TextEncoderParams, batch: int) -> tuple[Tensor, Tensor | None]:
    """A CLIP text encoder over ``batch`` prompts of 77 tokens: (hidden states (N, 77, hidden), the
    projected pooled token (N, projection) or None).

    Example:
        >>> b = GraphBuilder("g", batch=1)
        >>> h, pooled = text_encoder(b, "te", TextEncoderParams(layers=12, hidden=768, heads=12, ffn=3072), 1)
        >>> h.shape, pooled, b.build().parameters          # openai/clip-vit-large-patch14 text model
        ((1, 77, 768), None, 123060480.0)
    """
    tokens, d = batch * CONTEXT_TOKENS, p.hidden
    x = b.op(O.embedding(f"{name}.embed", tokens=tokens, vocab=p.vocab, dim=d), [], (batch, CONTEXT_TOKENS, d))
    pos = b.op(O.embedding(f"{name}.pos_embed", tokens=tokens, vocab=CONTEXT_TOKENS, dim=d), [], x.shape)
    x = b.add_tensors(f"{name}.embed_sum", x, pos)
    for i in range(p.layers):
        n = f"{name}.h{i}"
        x = b.add_tensors(f"{n}.add1", x, attention(b, f"{n}.attn", b.norm(f"{n}.ln1", x, kind="layernorm"), None,
                                                     p.heads, bias=True, causal=True))
        # quick_gelu / gelu: x * sigmoid(1.702 x) costs what SiLU costs; OpenCLIP's exact GELU is 'gelu'
        h = b.act(f"{n}.mlp.act", b.linear(f"{n}.mlp.fc1", b.norm(f"{n}.ln2", x, kind="layernorm"), p.ffn), "gelu")
        x = b.add_tensors(f"{n}.add2", x, b.linear(f"{n}.mlp.fc2", h, d))
    x = b.norm(f"{name}.ln_f", x, kind="layernorm")
    if not p.projection:
        return x, None
    return x, b.linear(f"{name}.projection", Tensor(x.producer, (batch, d)), p.projection, bias=False)


def vae_decoder(b: GraphBuilder, name: str, p: VaeParams, z: Tensor) -> Tensor:
    """The VAE decoder from latents ``z`` (N, latent, h, w) to an image of 2^(levels - 1) x the size:
    post-quant 1x1 conv, 3x3 conv in, a middle block (ResNet, single-head attention over every pixel,
    ResNet), up blocks of ``layers + 1`` ResNets with a nearest-neighbour 2x up-sampling and 3x3 conv
    between them, GroupNorm, SiLU, 3x3 conv out.

    Example:
        >>> b = GraphBuilder("g", batch=1)
        >>> vae_decoder(b, "vae", VaeParams(), b.input((1, 4, 8, 8))).shape
        (1, 3, 64, 64)
        >>> b.build().parameters      # post_quant_conv + decoder of the Stable Diffusion VAE
        49490199.0
    """
    chans = list(reversed(p.block_channels))
    x = b.conv(f"{name}.post_quant_conv", z, p.latent_channels, 1, bias=True)
    x = b.conv(f"{name}.conv_in", x, chans[0], 3, bias=True)
    x = resnet(b, f"{name}.mid.res0", x, chans[0], None)
    n, c, hh, ww = x.shape
    h = b.reshape(group_norm(b, f"{name}.mid.attn.norm", x), (n, hh * ww, c))
    h = b.reshape(attention(b, f"{name}.mid.attn", h, None, 1, bias=True), (n, c, hh, ww))
    x = resnet(b, f"{name}.mid.res1", b.add_tensors(f"{name}.mid.attn.add", h, x), chans[0], None)
    for i, ch in enumerate(chans):
        for j in range(p.layers + 1):
            x = resnet(b, f"{name}.up{i}.res{j}", x, ch, None)
        if i < len(chans) - 1:
            x = b.conv(f"{name}.up{i}.upconv", b.upsample(f"{name}.up{i}.upsample", x, 2), ch, 3, bias=True)
    x = b.act(f"{name}.silu_out", group_norm(b, f"{name}.norm_out", x), "silu")
    return b.conv(f"{name}.conv_out", x, p.out_channels, 3, bias=True)
