"""Segmentation: U-Net (Ronneberger et al. 2015) with batch norm and 'same' padding.

The default layout is the brain-MRI U-Net of Buda et al. (PyTorch Hub
``mateuszbuda/brain-segmentation-pytorch``): 32-64-128-256 encoder filters, a 512-filter
bottleneck, 2x2 up-convolutions, skip concatenations and a 1x1 sigmoid head. Padded convs keep
the output at the input size, so any image size divisible by 2**levels works (256, 512, ...).
"""
from __future__ import annotations

from pydantic import Field

from ..graph import GraphBuilder, Tensor
from . import Family, FamilyParams, Shape, register
from .cnn import conv_bn_act


class UnetParams(FamilyParams):
    """U-Net: ``levels`` down-sampling stages starting at ``features`` filters, doubling per level.

    Raises ``pydantic.ValidationError`` for unknown keys or out-of-range values (the loader names
    the file and field in a :class:`~simulator.errors.WorkloadError`).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> p = load_workload("unet").params
        >>> p.features, p.levels
        (32, 4)
    """

    features: int = Field(default=32, gt=0, le=4096)
    levels: int = Field(default=4, gt=0, le=8)
    in_channels: int = Field(default=3, gt=0, le=1024)
    out_channels: int = Field(default=1, gt=0, le=1024)


def _double_conv(b: GraphBuilder, name: str, x: Tensor, ch: int) -> Tensor:
    return conv_bn_act(b, f"{name}.2", conv_bn_act(b, f"{name}.1", x, ch, 3), ch, 3)


def build_unet(b: GraphBuilder, p: UnetParams, s: Shape) -> None:
    """Build the ``unet`` family into ``b`` at shape ``s`` (batch of samples; images are
    ``s.image_size`` pixels square, sequences ``s.seq_len`` tokens).

    Raises:
        WorkloadError: the params give an impossible graph at this shape (e.g. an image too small).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> b = GraphBuilder("unet", batch=1)
        >>> build_unet(b, load_workload("unet").params, Shape(batch_size=1, seq_len=1, image_size=256))
        >>> round(b.build().parameters / 1e6, 2)      # millions of parameters
        7.76
    """
    step = 2**p.levels
    if s.image_size % step:
        raise ValueError(f"U-Net with {p.levels} levels needs an image size divisible by {step}, "
                         f"got {s.image_size}")
    x = b.input((s.batch_size, p.in_channels, s.image_size, s.image_size))
    skips = []
    for lvl in range(p.levels):
        x = _double_conv(b, f"enc{lvl + 1}", x, p.features * 2**lvl)
        skips.append(x)
        x = b.pool(f"pool{lvl + 1}", x, 2, 2)
    x = _double_conv(b, "bottleneck", x, p.features * 2**p.levels)
    for lvl in reversed(range(p.levels)):
        ch = p.features * 2**lvl
        up = b.conv_transpose(f"upconv{lvl + 1}", x, ch, 2, stride=2)
        x = _double_conv(b, f"dec{lvl + 1}", b.concat(f"concat{lvl + 1}", [up, skips[lvl]]), ch)
    x = b.conv("head", x, p.out_channels, 1, bias=True)
    b.act("head.sigmoid", x, "sigmoid")


register("unet", Family(UnetParams, build_unet, task="image", uses_seq_len=False, uses_image_size=True))
