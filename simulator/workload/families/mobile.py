"""Mobile classifiers built from depthwise-separable convolutions: MobileNet v1/v2, EfficientNet.

Depthwise convolutions are grouped convolutions with ``groups == channels``; their GEMMs are
tiny (K = 9 or 25), which is exactly why these nets run far below peak on matrix engines.
"""
from __future__ import annotations

import math

from pydantic import Field

from ..graph import GraphBuilder, Tensor
from . import Family, FamilyParams, Shape, register
from .cnn import conv_bn_act, squeeze_excite


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of ``divisor``, never below 90 % of ``value`` (torchvision's rule).

    Example:
        >>> make_divisible(32 * 0.75)
        24
    """
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


class MobilenetV1Params(FamilyParams):
    """MobileNet v1 (Howard et al. 2017), Keras layout: conv-BN-ReLU6 everywhere, FC classifier with bias.

    Raises ``pydantic.ValidationError`` for unknown keys or out-of-range values (the loader names
    the file and field in a :class:`~simulator.errors.WorkloadError`).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> p = load_workload("mobilenet-v1").params
        >>> p.width_multiplier
        1.0
    """

    width_multiplier: float = Field(default=1.0, gt=0, le=8)
    in_channels: int = Field(default=3, gt=0, le=1024)
    num_classes: int = Field(default=1000, gt=0, le=10**6)


# (output channels, stride of the depthwise conv) of the 13 depthwise-separable blocks.
_V1_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1),
              (512, 1), (1024, 2), (1024, 1))


def build_mobilenet_v1(b: GraphBuilder, p: MobilenetV1Params, s: Shape) -> None:
    """Build the ``mobilenet_v1`` family into ``b`` at shape ``s`` (batch of samples; images are
    ``s.image_size`` pixels square, sequences ``s.seq_len`` tokens).

    Raises:
        WorkloadError: the params give an impossible graph at this shape (e.g. an image too small).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> b = GraphBuilder("mobilenet-v1", batch=1)
        >>> build_mobilenet_v1(b, load_workload("mobilenet-v1").params, Shape(batch_size=1, seq_len=1, image_size=224))
        >>> round(b.build().parameters / 1e6, 2)      # millions of parameters
        4.23
    """
    x = b.input((s.batch_size, p.in_channels, s.image_size, s.image_size))
    x = conv_bn_act(b, "stem", x, int(32 * p.width_multiplier), 3, 2, act="relu6")
    for i, (ch, stride) in enumerate(_V1_BLOCKS):
        x = conv_bn_act(b, f"block{i + 1}.dw", x, x.shape[1], 3, stride, act="relu6", groups=x.shape[1])
        x = conv_bn_act(b, f"block{i + 1}.pw", x, int(ch * p.width_multiplier), 1, act="relu6")
    x = b.flatten(b.global_pool("avgpool", x))
    b.loss("loss", b.linear("fc", x, p.num_classes))


class MobilenetV2Params(FamilyParams):
    """MobileNet v2 (Sandler et al. 2018), torchvision layout: inverted residuals with linear bottlenecks.

    Raises ``pydantic.ValidationError`` for unknown keys or out-of-range values (the loader names
    the file and field in a :class:`~simulator.errors.WorkloadError`).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> p = load_workload("mobilenet-v2").params
        >>> p.width_multiplier
        1.0
    """

    width_multiplier: float = Field(default=1.0, gt=0, le=8)
    in_channels: int = Field(default=3, gt=0, le=1024)
    num_classes: int = Field(default=1000, gt=0, le=10**6)


# (expansion t, output channels c, repeats n, first stride s), from the paper's Table 2.
_V2_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1))


def _inverted_residual(b: GraphBuilder, name: str, x: Tensor, out_ch: int, stride: int, expand: int) -> Tensor:
    in_ch = x.shape[1]
    hidden = in_ch * expand
    y = conv_bn_act(b, f"{name}.expand", x, hidden, 1, act="relu6") if expand != 1 else x
    y = conv_bn_act(b, f"{name}.dw", y, hidden, 3, stride, act="relu6", groups=hidden)
    y = conv_bn_act(b, f"{name}.project", y, out_ch, 1, act=None)
    return b.add_tensors(f"{name}.add", y, x) if stride == 1 and in_ch == out_ch else y


def build_mobilenet_v2(b: GraphBuilder, p: MobilenetV2Params, s: Shape) -> None:
    """Build the ``mobilenet_v2`` family into ``b`` at shape ``s`` (batch of samples; images are
    ``s.image_size`` pixels square, sequences ``s.seq_len`` tokens).

    Raises:
        WorkloadError: the params give an impossible graph at this shape (e.g. an image too small).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> b = GraphBuilder("mobilenet-v2", batch=1)
        >>> build_mobilenet_v2(b, load_workload("mobilenet-v2").params, Shape(batch_size=1, seq_len=1, image_size=224))
        >>> round(b.build().parameters / 1e6, 2)      # millions of parameters
        3.5
    """
    x = b.input((s.batch_size, p.in_channels, s.image_size, s.image_size))
    x = conv_bn_act(b, "stem", x, make_divisible(32 * p.width_multiplier), 3, 2, act="relu6")
    block = 0
    for t, c, n, first_stride in _V2_SETTINGS:
        for i in range(n):
            block += 1
            x = _inverted_residual(b, f"block{block}", x, make_divisible(c * p.width_multiplier),
                                   first_stride if i == 0 else 1, t)
    x = conv_bn_act(b, "head", x, make_divisible(1280 * max(1.0, p.width_multiplier)), 1, act="relu6")
    x = b.flatten(b.global_pool("avgpool", x))
    b.loss("loss", b.linear("classifier", x, p.num_classes))


class EfficientnetParams(FamilyParams):
    """EfficientNet (Tan & Le 2019), torchvision layout. B0 is width 1.0 / depth 1.0; B1..B7 scale both.
    ``lite``: the EfficientNet-Lite variant for integer accelerators (TF tpu repo, efficientnet/lite):
    no squeeze-and-excitation, ReLU6 instead of SiLU, a 1,280-channel head.

    Raises ``pydantic.ValidationError`` for unknown keys or out-of-range values (the loader names
    the file and field in a :class:`~simulator.errors.WorkloadError`).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> p = load_workload("efficientnet-b0").params
        >>> p.width_multiplier, p.depth_multiplier
        (1.0, 1.0)
    """

    width_multiplier: float = Field(default=1.0, gt=0, le=8)
    depth_multiplier: float = Field(default=1.0, gt=0, le=8)
    lite: bool = False
    in_channels: int = Field(default=3, gt=0, le=1024)
    num_classes: int = Field(default=1000, gt=0, le=10**6)


# MBConv stages: (expansion, kernel, first stride, output channels, repeats), EfficientNet-B0 base.
_B0_STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
              (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))


def _mbconv(b: GraphBuilder, name: str, x: Tensor, *, expand: int, kernel: int, stride: int, out_ch: int,
            lite: bool = False) -> Tensor:
    in_ch = x.shape[1]
    hidden = make_divisible(in_ch * expand)
    act = "relu6" if lite else "silu"
    y = conv_bn_act(b, f"{name}.expand", x, hidden, 1, act=act) if hidden != in_ch else x
    y = conv_bn_act(b, f"{name}.dw", y, hidden, kernel, stride, act=act, groups=hidden)
    if not lite:
        y = squeeze_excite(b, f"{name}.se", y, max(1, in_ch // 4), "silu")
    y = conv_bn_act(b, f"{name}.project", y, out_ch, 1, act=None)
    return b.add_tensors(f"{name}.add", y, x) if stride == 1 and in_ch == out_ch else y


def build_efficientnet(b: GraphBuilder, p: EfficientnetParams, s: Shape) -> None:
    """Build the ``efficientnet`` family into ``b`` at shape ``s`` (batch of samples; images are
    ``s.image_size`` pixels square, sequences ``s.seq_len`` tokens).

    Raises:
        WorkloadError: the params give an impossible graph at this shape (e.g. an image too small).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> b = GraphBuilder("efficientnet-b0", batch=1)
        >>> build_efficientnet(b, load_workload("efficientnet-b0").params, Shape(batch_size=1, seq_len=1, image_size=224))
        >>> round(b.build().parameters / 1e6, 2)      # millions of parameters
        5.29
    """
    x = b.input((s.batch_size, p.in_channels, s.image_size, s.image_size))
    act = "relu6" if p.lite else "silu"
    x = conv_bn_act(b, "stem", x, 32 if p.lite else make_divisible(32 * p.width_multiplier), 3, 2, act=act)
    block = 0
    for expand, kernel, first_stride, c, n in _B0_STAGES:
        for i in range(math.ceil(n * p.depth_multiplier)):
            block += 1
            x = _mbconv(b, f"block{block}", x, expand=expand, kernel=kernel, stride=first_stride if i == 0 else 1,
                        out_ch=make_divisible(c * p.width_multiplier), lite=p.lite)
    # torchvision: 4x the last stage width; Lite keeps the 1,280-channel head whatever the scaling
    x = conv_bn_act(b, "head", x, 1280 if p.lite else 4 * x.shape[1], 1, act=act)
    x = b.flatten(b.global_pool("avgpool", x))
    b.loss("loss", b.linear("classifier", x, p.num_classes))


register("mobilenet_v1", Family(MobilenetV1Params, build_mobilenet_v1, task="image", uses_seq_len=False,
                                uses_image_size=True))
register("mobilenet_v2", Family(MobilenetV2Params, build_mobilenet_v2, task="image", uses_seq_len=False,
                                uses_image_size=True))
register("efficientnet", Family(EfficientnetParams, build_efficientnet, task="image", uses_seq_len=False,
                                uses_image_size=True))
