"""Latent diffusion (Rombach et al., CVPR 2022; Stable Diffusion 2, SDXL: Podell et al., arXiv:2307.01952)
as diffusers' ``UNet2DConditionModel`` builds it, and the text-to-image sample around it.

The UNet: a 3x3 conv in; down levels of ``layers_per_block`` ResNet blocks (each followed by a spatial
transformer on ``cross`` levels) and a stride-2 conv between levels; a middle block (ResNet,
transformer, ResNet); up levels of ``layers_per_block + 1`` ResNet blocks fed the matching down
activations by skip concatenation, nearest-neighbour 2x up-sampling + 3x3 conv between levels;
GroupNorm, SiLU, 3x3 conv out. The timestep's sinusoidal embedding goes through a 2-layer MLP (SDXL
adds the ``text_time`` embedding of the pooled text and the six size / crop ids) into every ResNet.
(huggingface/diffusers ``src/diffusers/models/unets/unet_2d_condition.py``, ``unet_2d_blocks.py``.)

The sample: ``steps`` = 0 is one UNet pass over the latents (training: the noise prediction and its
MSE loss; the text embeddings are inputs). ``steps`` > 0 is text-to-image inference: the text encoders
once, the UNet ``steps`` times, the scheduler update after each, the VAE decoder once
(diffusers ``StableDiffusionXLPipeline.__call__``; MLPerf's text_to_image reference runs it with 20
steps and classifier-free guidance). ``guidance`` (classifier-free) runs the text encoders and the
UNet on the prompt and the negative prompt together: twice the batch. The UNet's weights are counted
once and read at every step. ``image_size`` is in pixels; the latents are 1/8 of it per side.
"""
from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from ...units import Precision
from .. import ops as O
from ..graph import GraphBuilder, Tensor
from . import Family, FamilyParams, Shape, register
from .diffusion_parts import (CONTEXT_TOKENS, TextEncoderParams, VaeParams, group_norm, resnet,
                              spatial_transformer, text_encoder, vae_decoder)

LATENT_FACTOR = 8  # the VAE's down-sampling per side: 2^(4 blocks - 1)


class DiffusionParams(FamilyParams):
    """A Stable Diffusion UNet (diffusers ``UNet2DConditionModel`` config names in brackets) and the sample.

    ``block_channels`` [block_out_channels]; ``block_types`` per level, ``cross``
    (CrossAttnDownBlock2D / CrossAttnUpBlock2D) or ``plain`` (DownBlock2D / UpBlock2D);
    ``transformer_depths`` [transformer_layers_per_block] per level, the last also the middle block's;
    ``head_dim`` the attention head size (SD 2 and SDXL: 64, their ``attention_head_dim`` lists give
    heads); ``context_dim`` [cross_attention_dim]; ``added_cond_dim``
    [projection_class_embeddings_input_dim] of SDXL's ``text_time`` embedding (0: none).

    A deployment's formats (None / "all": the run's precision for every op): ``text_precision`` and
    ``vae_precision`` run the text encoders / the VAE decoder in a format of their own, as a pipeline
    of separately built engines does; ``int8_scope`` "conv-ffn-qkv" is the UNet post-training
    quantization of NVIDIA's ModelOpt (AMMO) diffusers recipe at quant level 2.5, the level NVIDIA's
    MLPerf SDXL int8 UNet is built with: only the convolutions (not conv_in, conv_out, the ResNet
    shortcuts: ``filter_func``), the feed-forward linears (``ff.net``) and the attention's
    ``to_q``/``to_k``/``to_v`` get quantize / dequantize nodes; the attention itself, ``to_out``,
    ``proj_in``/``proj_out``, the time embeddings, norms and element-wise ops stay in FP16
    (:func:`unquantized_ops`).

    Raises ``pydantic.ValidationError`` for unknown keys, out-of-range values or lists of unequal length.

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> p = load_workload("sdxl").params
        >>> p.block_channels, p.transformer_depths, p.steps, p.guidance
        ([320, 640, 1280], [1, 2, 10], 20, True)
    """

    block_channels: list[int] = Field(default=[320, 640, 1280, 1280], min_length=1, max_length=8)
    block_types: list[Literal["cross", "plain"]] = Field(default=["cross", "cross", "cross", "plain"], min_length=1,
                                                         max_length=8)
    transformer_depths: list[int] = Field(default=[1, 1, 1, 1], min_length=1, max_length=8)
    layers_per_block: int = Field(default=2, gt=0, le=16)
    head_dim: int = Field(default=64, gt=0, le=4096)
    context_dim: int = Field(default=1024, gt=0, le=10**5)
    latent_channels: int = Field(default=4, gt=0, le=64)
    added_cond_dim: int = Field(default=0, ge=0, le=10**5)
    linear_projection: bool = True
    text_encoders: list[TextEncoderParams] = Field(default=[], max_length=4)
    vae: VaeParams | None = None
    steps: int = Field(default=0, ge=0, le=1000)
    guidance: bool = False
    text_precision: Precision | None = None
    vae_precision: Precision | None = None
    int8_scope: Literal["all", "conv-ffn-qkv"] = "all"

    @model_validator(mode="after")
    def _consistent(self) -> "DiffusionParams":
        levels = len(self.block_channels)
        if len(self.block_types) != levels or len(self.transformer_depths) != levels:
            raise ValueError(f"block_types and transformer_depths need one entry per level ({levels})")
        for ch, kind in zip(self.block_channels, self.block_types):
            if kind == "cross" and ch % self.head_dim:
                raise ValueError(f"block width {ch} is not a multiple of head_dim {self.head_dim}")
        if self.text_encoders and sum(t.hidden for t in self.text_encoders) != self.context_dim:
            raise ValueError("the text encoders' hidden sizes must add up to context_dim")
        if self.steps and not self.text_encoders:
            raise ValueError("steps > 0 (text-to-image) needs text_encoders")
        return self

    @property
    def time_dim(self) -> int:
        """Width of the timestep embedding MLP: 4 x the first level's channels (diffusers' time_embed_dim).

        Example:
            >>> DiffusionParams().time_dim
            1280
        """
        return 4 * self.block_channels[0]


def _time_embedding(b: GraphBuilder, pre: str, p: DiffusionParams, n: int, pooled: Tensor | None) -> Tensor:
    """Sinusoidal timestep features (computed with the inputs) -> Linear, SiLU, Linear; SDXL adds the
    same MLP over [pooled text, sinusoids of the six size / crop ids]."""
    t = b.input((n, p.block_channels[0]))
    temb = b.linear(f"{pre}time.fc2", b.act(f"{pre}time.silu", b.linear(f"{pre}time.fc1", t, p.time_dim), "silu"),
                    p.time_dim)
    if p.added_cond_dim:
        ids = b.input((n, p.added_cond_dim - (pooled.shape[-1] if pooled is not None else 0)))
        cond = b.concat(f"{pre}add.concat", [pooled, ids], axis=1) if pooled is not None else ids
        a = b.act(f"{pre}add.silu", b.linear(f"{pre}add.fc1", cond, p.time_dim), "silu")
        temb = b.add_tensors(f"{pre}add.sum", temb, b.linear(f"{pre}add.fc2", a, p.time_dim))
    return temb


def _down(b: GraphBuilder, pre: str, p: DiffusionParams, x: Tensor, temb: Tensor, ctx: Tensor) -> tuple[Tensor, list]:
    skips = [x]
    for i, (ch, kind) in enumerate(zip(p.block_channels, p.block_types)):
        for j in range(p.layers_per_block):
            x = resnet(b, f"{pre}down{i}.res{j}", x, ch, temb)
            if kind == "cross":
                x = spatial_transformer(b, f"{pre}down{i}.attn{j}", x, ctx, p.transformer_depths[i], p.head_dim,
                                        p.linear_projection)
            skips.append(x)
        if i < len(p.block_channels) - 1:
            x = b.conv(f"{pre}down{i}.downsample", x, ch, 3, stride=2, bias=True)
            skips.append(x)
    return x, skips


def _up(b: GraphBuilder, pre: str, p: DiffusionParams, x: Tensor, temb: Tensor, ctx: Tensor, skips: list) -> Tensor:
    for i in reversed(range(len(p.block_channels))):
        ch = p.block_channels[i]
        for j in range(p.layers_per_block + 1):
            x = b.concat(f"{pre}up{i}.cat{j}", [x, skips.pop()])
            x = resnet(b, f"{pre}up{i}.res{j}", x, ch, temb)
            if p.block_types[i] == "cross":
                x = spatial_transformer(b, f"{pre}up{i}.attn{j}", x, ctx, p.transformer_depths[i], p.head_dim,
                                        p.linear_projection)
        if i > 0:
            x = b.conv(f"{pre}up{i}.upconv", b.upsample(f"{pre}up{i}.upsample", x, 2), ch, 3, bias=True)
    return x


def unet(b: GraphBuilder, pre: str, p: DiffusionParams, x: Tensor, ctx: Tensor, pooled: Tensor | None) -> Tensor:
    """One UNet pass: noisy latents ``x`` (N, latent, h, w), text context ``ctx`` (N, 77, context_dim)
    -> the predicted noise, same shape as ``x``. Op names start with ``pre``."""
    temb = _time_embedding(b, pre, p, x.shape[0], pooled)
    h, skips = _down(b, pre, p, b.conv(f"{pre}conv_in", x, p.block_channels[0], 3, bias=True), temb, ctx)
    mid = p.block_channels[-1]
    h = resnet(b, f"{pre}mid.res0", h, mid, temb)
    h = spatial_transformer(b, f"{pre}mid.attn", h, ctx, p.transformer_depths[-1], p.head_dim, p.linear_projection)
    h = _up(b, pre, p, resnet(b, f"{pre}mid.res1", h, mid, temb), temb, ctx, skips)
    h = b.act(f"{pre}silu_out", group_norm(b, f"{pre}norm_out", h), "silu")
    return b.conv(f"{pre}conv_out", h, p.latent_channels, 3, bias=True)


# ModelOpt / AMMO diffusers recipe, quant level 2.5 (``quantize_lvl`` and ``get_int8_config``): every
# Conv2d and the Linear layers named ``ff.net`` (level >= 2) or ``to_q`` / ``to_k`` / ``to_v`` (level >=
# 2.5) are quantized, less what ``filter_func`` leaves out (time_emb_proj, time_embedding, conv_in,
# conv_out, conv_shortcut, add_embedding). github:NVIDIA/TensorRT-Model-Optimizer@1574baaa
# diffusers/quantization/utils.py; NVIDIA's MLPerf v4.0 SDXL quantizes its UNet at --quant-level 2.5
# (github:mlcommons/inference_results_v4.0@92014844 closed/NVIDIA/code/stable-diffusion-xl/tensorrt/
# download_model.sh, code.stable-diffusion-xl.ammo.quantize_sdxl), and v4.1 Orin reuses that int8 UNet
# (inference_results_v4.1 download_model.sh: "please use 4.0 NVIDIA submission code"). The zoo's names
# for those layers: ResNet conv1 / conv2, the down- and up-sampling convolutions, the GEGLU ff.up /
# ff.down, the self-attention's fused qkv and the cross-attention's q and kv.
QUANTIZED_AT_LEVEL_2_5 = re.compile(r"\.(conv1|conv2|downsample|upconv|ff\.up|ff\.down|qkv|q|kv)$")


def unquantized_ops(names: list[str]) -> list[str]:
    """The UNet ops (by name) the level-2.5 int8 recipe leaves in FP16 (:data:`QUANTIZED_AT_LEVEL_2_5`).

    Example:
        >>> unquantized_ops(["s0.down1.res0.conv1", "s0.down1.res0.shortcut", "s0.conv_in",
        ...                  "s0.mid.attn.block0.attn1.qkv", "s0.mid.attn.block0.attn1.sdpa",
        ...                  "s0.mid.attn.block0.attn1.out", "s0.mid.attn.proj_in", "s0.up1.upconv"])
        ['s0.down1.res0.shortcut', 's0.conv_in', 's0.mid.attn.block0.attn1.sdpa', 's0.mid.attn.block0.attn1.out', 's0.mid.attn.proj_in']
    """
    return [n for n in names if not QUANTIZED_AT_LEVEL_2_5.search(n)]


def _mark(b: GraphBuilder, names: list[str], key: str, value: object) -> None:
    """Add the attribute ``key`` = ``value`` to the ops ``names`` (read by the cost models'
    :func:`simulator.cost.dispatch.op_numerics`)."""
    for n in names:
        op = b.graph.nodes[n]["op"]
        b.tag_ops([n], attrs=op.attrs + ((key, value),))


def _encode(b: GraphBuilder, p: DiffusionParams, n: int) -> tuple[Tensor, Tensor | None]:
    """Every text encoder on ``n`` prompts, their hidden states concatenated into the context (SDXL:
    CLIP ViT-L 768 + OpenCLIP ViT-bigG 1280 = 2048), the last encoder's projected pooled token."""
    outs, pooled = [], None
    for k, enc in enumerate(p.text_encoders):
        h, pooled = text_encoder(b, f"text{k}", enc, n)
        outs.append(h)
    ctx = b.concat("text.concat", outs, axis=2) if len(outs) > 1 else outs[0]
    return ctx, pooled


def build_diffusion(b: GraphBuilder, p: DiffusionParams, s: Shape) -> None:
    """Build the ``diffusion`` family into ``b`` at shape ``s`` (``s.batch_size`` images of
    ``s.image_size`` pixels square).

    Raises:
        WorkloadError: an image size whose latents do not halve evenly at every level.

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> b = GraphBuilder("sd2-unet", batch=1)
        >>> build_diffusion(b, load_workload("sd2-unet").params, Shape(batch_size=1, seq_len=1, image_size=512))
        >>> g = b.build()
        >>> int(g.parameters), g.op("conv_out").output_elems          # 4 x 64 x 64 latents
        (865910724, 16384)
    """
    step = LATENT_FACTOR * 2 ** (len(p.block_channels) - 1)
    if s.image_size % step:
        raise ValueError(f"a {len(p.block_channels)}-level UNet needs an image size divisible by {step}, "
                         f"got {s.image_size}")
    n, side = s.batch_size, s.image_size // LATENT_FACTOR
    rows = n * (2 if p.guidance else 1)  # classifier-free guidance: negative + positive prompt together
    if not p.steps:
        # training: the text embeddings (and SDXL's pooled text) are inputs of the UNet pass
        ctx = b.input((rows, CONTEXT_TOKENS, p.context_dim))
        x = unet(b, "", p, b.input((rows, p.latent_channels, side, side)), ctx, None)
        # the MSE between the predicted and the true noise (or velocity): one pass over both
        b.add(O.elementwise("loss", elems=x.elems, inputs=2, flops_per_elem=3.0), [x], (n,))
        return
    start = len(b.graph)
    ctx, pooled = _encode(b, p, rows)
    if p.text_precision is not None:
        _mark(b, list(b.graph)[start:], "precision", p.text_precision.value)
    x = b.input((rows, p.latent_channels, side, side))
    for k in range(p.steps):
        first = len(b.graph)
        eps = unet(b, f"s{k}.", p, x, ctx, pooled)
        if k:  # the same weights at every step: counted once, read every time
            b.tag_ops(list(b.graph)[first:], param_elems=0.0)
        # guidance combine and the scheduler's update of the latents (EulerDiscreteScheduler.step)
        x = b.add(O.elementwise(f"s{k}.scheduler", elems=eps.elems, inputs=2, flops_per_elem=4.0), [eps, x], x.shape)
        if p.int8_scope == "conv-ffn-qkv":
            _mark(b, unquantized_ops(list(b.graph)[first:]), "unquantized", True)
    if p.vae is not None:
        first = len(b.graph)
        vae_decoder(b, "vae", p.vae, Tensor(x.producer, (n, p.latent_channels, side, side)))
        if p.vae_precision is not None:
            _mark(b, list(b.graph)[first:], "precision", p.vae_precision.value)


register("diffusion", Family(DiffusionParams, build_diffusion, task="text", uses_seq_len=False, uses_image_size=True))
