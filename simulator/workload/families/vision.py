"""Classic image classifiers: LeNet-5, AlexNet, VGG and GoogLeNet (torchvision layouts).

Each family builds at any image size its pooling stages allow; a too-small image raises
:class:`~simulator.errors.WorkloadError` naming the op whose window no longer fits.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..graph import GraphBuilder, Tensor
from . import Family, FamilyParams, Shape, register
from .cnn import conv_bn_act


class LenetParams(FamilyParams):
    """LeNet-5 (LeCun et al. 1998) with full C3 connectivity, as modern re-implementations build it.

    The first fully connected layer reads the flattened last feature map, so its size (and the
    parameter count) follows the image size: 16 x 5 x 5 inputs at the classic 32 x 32.

    Raises ``pydantic.ValidationError`` for unknown keys or out-of-range values (the loader names
    the file and field in a :class:`~simulator.errors.WorkloadError`).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> p = load_workload("lenet5").params
        >>> p.activation
        'tanh'
    """

    in_channels: int = Field(default=1, gt=0, le=1024)
    num_classes: int = Field(default=10, gt=0, le=10**6)
    activation: Literal["tanh", "relu", "sigmoid"] = "tanh"


def build_lenet(b: GraphBuilder, p: LenetParams, s: Shape) -> None:
    """Build the ``lenet`` family into ``b`` at shape ``s`` (batch of samples; images are
    ``s.image_size`` pixels square, sequences ``s.seq_len`` tokens).

    Raises:
        WorkloadError: the params give an impossible graph at this shape (e.g. an image too small).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> b = GraphBuilder("lenet5", batch=1)
        >>> build_lenet(b, load_workload("lenet5").params, Shape(batch_size=1, seq_len=1, image_size=32))
        >>> round(b.build().parameters / 1e6, 2)      # millions of parameters
        0.06
    """
    x = b.input((s.batch_size, p.in_channels, s.image_size, s.image_size))
    for i, ch in enumerate((6, 16)):
        x = b.act(f"c{2 * i + 1}.{p.activation}", b.conv(f"c{2 * i + 1}", x, ch, 5, pad=0, bias=True), p.activation)
        x = b.pool(f"s{2 * i + 2}", x, 2, 2)
    x = b.flatten(x)
    for name, width in (("f5", 120), ("f6", 84)):
        x = b.act(f"{name}.{p.activation}", b.linear(name, x, width), p.activation)
    b.loss("loss", b.linear("output", x, p.num_classes))


class AlexnetParams(FamilyParams):
    """AlexNet, torchvision's single-tower variant (64-192-384-256-256 filters, 6 x 6 adaptive pool).

    Raises ``pydantic.ValidationError`` for unknown keys or out-of-range values (the loader names
    the file and field in a :class:`~simulator.errors.WorkloadError`).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> p = load_workload("alexnet").params
        >>> p.num_classes
        1000
    """

    in_channels: int = Field(default=3, gt=0, le=1024)
    num_classes: int = Field(default=1000, gt=0, le=10**6)


def _classifier(b: GraphBuilder, x: Tensor, widths: tuple[int, ...], num_classes: int) -> None:
    """Flatten -> (linear -> ReLU) per width -> linear -> loss; dropout costs nothing at inference."""
    x = b.flatten(x)
    for i, width in enumerate(widths):
        x = b.act(f"classifier.{i}.relu", b.linear(f"classifier.{i}", x, width))
    b.loss("loss", b.linear("classifier.out", x, num_classes))


def build_alexnet(b: GraphBuilder, p: AlexnetParams, s: Shape) -> None:
    """Build the ``alexnet`` family into ``b`` at shape ``s`` (batch of samples; images are
    ``s.image_size`` pixels square, sequences ``s.seq_len`` tokens).

    Raises:
        WorkloadError: the params give an impossible graph at this shape (e.g. an image too small).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> b = GraphBuilder("alexnet", batch=1)
        >>> build_alexnet(b, load_workload("alexnet").params, Shape(batch_size=1, seq_len=1, image_size=224))
        >>> round(b.build().parameters / 1e6, 2)      # millions of parameters
        61.1
    """
    x = b.input((s.batch_size, p.in_channels, s.image_size, s.image_size))
    x = b.act("conv1.relu", b.conv("conv1", x, 64, 11, stride=4, pad=2, bias=True))
    x = b.pool("pool1", x, 3, 2)
    x = b.act("conv2.relu", b.conv("conv2", x, 192, 5, pad=2, bias=True))
    x = b.pool("pool2", x, 3, 2)
    for i, ch in enumerate((384, 256, 256)):
        x = b.act(f"conv{i + 3}.relu", b.conv(f"conv{i + 3}", x, ch, 3, pad=1, bias=True))
    x = b.pool("pool5", x, 3, 2)
    _classifier(b, b.adaptive_pool("avgpool", x, 6), (4096, 4096), p.num_classes)


class VggParams(FamilyParams):
    """VGG (Simonyan & Zisserman 2014): ``stages`` of 3x3 convs, each stage ending in a 2x2 max pool.

    ``[[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]`` is VGG-16.

    Raises ``pydantic.ValidationError`` for unknown keys or out-of-range values (the loader names
    the file and field in a :class:`~simulator.errors.WorkloadError`).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> p = load_workload("vgg16").params
        >>> [len(s) for s in p.stages]
        [2, 2, 3, 3, 3]
    """

    stages: list[list[int]] = Field(min_length=1, max_length=10)
    batch_norm: bool = False
    in_channels: int = Field(default=3, gt=0, le=1024)
    num_classes: int = Field(default=1000, gt=0, le=10**6)


def build_vgg(b: GraphBuilder, p: VggParams, s: Shape) -> None:
    """Build the ``vgg`` family into ``b`` at shape ``s`` (batch of samples; images are
    ``s.image_size`` pixels square, sequences ``s.seq_len`` tokens).

    Raises:
        WorkloadError: the params give an impossible graph at this shape (e.g. an image too small).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> b = GraphBuilder("vgg16", batch=1)
        >>> build_vgg(b, load_workload("vgg16").params, Shape(batch_size=1, seq_len=1, image_size=224))
        >>> round(b.build().parameters / 1e6, 2)      # millions of parameters
        138.36
    """
    x = b.input((s.batch_size, p.in_channels, s.image_size, s.image_size))
    for si, stage in enumerate(p.stages):
        if not stage or any(ch <= 0 for ch in stage):
            raise ValueError(f"stages[{si}] must list positive channel counts, got {stage}")
        for ci, ch in enumerate(stage):
            name = f"stage{si + 1}.conv{ci + 1}"
            x = b.conv(name, x, ch, 3, pad=1, bias=True)  # torchvision keeps the bias even with BN
            if p.batch_norm:
                x = b.norm(f"{name}.bn", x)
            x = b.act(f"{name}.relu", x)
        x = b.pool(f"stage{si + 1}.pool", x, 2, 2)
    _classifier(b, b.adaptive_pool("avgpool", x, 7), (4096, 4096), p.num_classes)


# GoogLeNet inception modules: (1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5", pool projection).
_INCEPTION = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64), "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


class GooglenetParams(FamilyParams):
    """GoogLeNet / Inception v1 (Szegedy et al. 2014) as torchvision builds it: BN after every conv,
    ceil-mode pooling, and a 3x3 conv in the "5x5" branch (a known torchvision quirk that its
    published weights use). The auxiliary classifiers are training-only and left out.

    Raises ``pydantic.ValidationError`` for unknown keys or out-of-range values (the loader names
    the file and field in a :class:`~simulator.errors.WorkloadError`).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> p = load_workload("googlenet").params
        >>> p.num_classes
        1000
    """

    in_channels: int = Field(default=3, gt=0, le=1024)
    num_classes: int = Field(default=1000, gt=0, le=10**6)


def _inception(b: GraphBuilder, name: str, x: Tensor, cfg: tuple[int, ...]) -> Tensor:
    c1, c3r, c3, c5r, c5, pp = cfg
    y1 = conv_bn_act(b, f"{name}.b1", x, c1, 1)
    y2 = conv_bn_act(b, f"{name}.b2b", conv_bn_act(b, f"{name}.b2a", x, c3r, 1), c3, 3)
    y3 = conv_bn_act(b, f"{name}.b3b", conv_bn_act(b, f"{name}.b3a", x, c5r, 1), c5, 3)
    y4 = conv_bn_act(b, f"{name}.b4", b.pool_ceil(f"{name}.b4.pool", x, 3, 1, 1), pp, 1)
    return b.concat(f"{name}.concat", [y1, y2, y3, y4])


def build_googlenet(b: GraphBuilder, p: GooglenetParams, s: Shape) -> None:
    """Build the ``googlenet`` family into ``b`` at shape ``s`` (batch of samples; images are
    ``s.image_size`` pixels square, sequences ``s.seq_len`` tokens).

    Raises:
        WorkloadError: the params give an impossible graph at this shape (e.g. an image too small).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> b = GraphBuilder("googlenet", batch=1)
        >>> build_googlenet(b, load_workload("googlenet").params, Shape(batch_size=1, seq_len=1, image_size=224))
        >>> round(b.build().parameters / 1e6, 2)      # millions of parameters
        6.62
    """
    x = b.input((s.batch_size, p.in_channels, s.image_size, s.image_size))
    x = b.pool_ceil("maxpool1", conv_bn_act(b, "conv1", x, 64, 7, 2), 3, 2)
    x = conv_bn_act(b, "conv3", conv_bn_act(b, "conv2", x, 64, 1), 192, 3)
    x = b.pool_ceil("maxpool2", x, 3, 2)
    for key, cfg in _INCEPTION.items():
        if key == "4a":
            x = b.pool_ceil("maxpool3", x, 3, 2)
        elif key == "5a":
            x = b.pool_ceil("maxpool4", x, 2, 2)
        x = _inception(b, f"inception{key}", x, cfg)
    x = b.flatten(b.global_pool("avgpool", x))
    b.loss("loss", b.linear("fc", x, p.num_classes))


register("lenet", Family(LenetParams, build_lenet, task="image", uses_seq_len=False, uses_image_size=True))
register("alexnet", Family(AlexnetParams, build_alexnet, task="image", uses_seq_len=False, uses_image_size=True))
register("vgg", Family(VggParams, build_vgg, task="image", uses_seq_len=False, uses_image_size=True))
register("googlenet", Family(GooglenetParams, build_googlenet, task="image", uses_seq_len=False,
                             uses_image_size=True))
