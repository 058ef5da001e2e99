"""Convolutional families. ResNet here; other CNN families register in their own modules."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..graph import GraphBuilder, Tensor
from . import Family, FamilyParams, Shape, register


class ResnetParams(FamilyParams):
    """ResNet v1.5 (stride in the 3x3 conv of bottlenecks), as torchvision builds it.

    Raises ``pydantic.ValidationError`` for unknown keys or out-of-range values (the loader names
    the file and field in a :class:`~simulator.errors.WorkloadError`).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> p = load_workload("resnet50").params
        >>> p.depths
        [3, 4, 6, 3]
    """

    depths: list[int] = Field(min_length=1, max_length=10)
    block: Literal["basic", "bottleneck"]
    width: int = Field(default=64, gt=0, le=4096)
    num_classes: int = Field(default=1000, gt=0, le=10**6)
    in_channels: int = Field(default=3, gt=0, le=1024)
    # ResNeXt (torchvision): a bottleneck's 3x3 conv has planes * width_per_group / 64 * groups channels
    # in ``groups`` groups (resnext50_32x4d: groups 32, width_per_group 4)
    groups: int = Field(default=1, gt=0, le=1024)
    width_per_group: int = Field(default=64, gt=0, le=4096)
    # where a stage's stride sits: torchvision v1.5 in the first block's 3x3, Caffe / Keras v1 in its
    # first 1x1, TF-slim v1 in the last block's 3x3
    downsample: Literal["first_3x3", "first_1x1", "last_3x3"] = "first_3x3"
    # SE-ResNeXt: a squeeze-and-excitation gate on each bottleneck's output before the residual add, with
    # this many hidden units (0: none). NVIDIA DeepLearningExamples' SEBottleneck passes se_squeeze=16 to
    # nn.Linear(C, 16) as a width, not as the paper's reduction ratio C/16
    se_channels: int = Field(default=0, ge=0, le=4096)


def conv_bn_act(b: GraphBuilder, name: str, x: Tensor, out_ch: int, k: int, stride: int = 1, act: str | None = "relu",
                groups: int = 1) -> Tensor:
    """Conv (no bias) -> batch norm -> optional activation: the unit most CNNs repeat.

    Returns the output tensor; ``k`` is the square kernel size, ``act=None`` skips the activation.

    Raises:
        WorkloadError: as :meth:`GraphBuilder.conv` (not NCHW, bad groups, kernel larger than the input).

    Example:
        >>> b = GraphBuilder("g", batch=1)
        >>> conv_bn_act(b, "stem", b.input((1, 3, 224, 224)), 64, 7, 2).shape
        (1, 64, 112, 112)
        >>> b.build().order
        ['stem.conv', 'stem.bn', 'stem.relu']
    """
    x = b.norm(f"{name}.bn", b.conv(f"{name}.conv", x, out_ch, k, stride=stride, groups=groups), kind="batchnorm")
    return b.act(f"{name}.{act}", x, act) if act else x


def squeeze_excite(b: GraphBuilder, name: str, x: Tensor, squeeze: int, act: str) -> Tensor:
    """Squeeze-and-excitation: global pool, two biased 1x1 layers (``act`` then sigmoid), and ``x`` scaled
    channel by channel; five kernels for an eager framework besides the product.

    Example:
        >>> b = GraphBuilder("g", batch=1)
        >>> squeeze_excite(b, "se", b.input((1, 256, 7, 7)), 16, "relu").shape
        (1, 256, 7, 7)
        >>> b.build().order
        ['se.pool', 'se.fc1', 'se.relu', 'se.fc2', 'se.sigmoid', 'se.scale']
    """
    n, c = x.shape[:2]
    s = b.reshape(b.global_pool(f"{name}.pool", x), (n, c, 1, 1))
    s = b.act(f"{name}.{act}", b.conv(f"{name}.fc1", s, squeeze, 1, bias=True), act)
    s = b.act(f"{name}.sigmoid", b.conv(f"{name}.fc2", s, c, 1, bias=True), "sigmoid")
    return b.mul_tensors(f"{name}.scale", x, s)


def _block(b: GraphBuilder, name: str, x: Tensor, planes: int, stride: int, bottleneck: bool,
           groups: int = 1, width_per_group: int = 64, stride_in_1x1: bool = False, se_channels: int = 0) -> Tensor:
    expansion = 4 if bottleneck else 1
    out_ch = planes * expansion
    if bottleneck:
        width = int(planes * width_per_group / 64) * groups
        y = conv_bn_act(b, f"{name}.1", x, width, 1, stride if stride_in_1x1 else 1)
        y = conv_bn_act(b, f"{name}.2", y, width, 3, 1 if stride_in_1x1 else stride, groups=groups)
        y = conv_bn_act(b, f"{name}.3", y, out_ch, 1, act=None)
    else:
        y = conv_bn_act(b, f"{name}.1", x, planes, 3, stride)
        y = conv_bn_act(b, f"{name}.2", y, planes, 3, act=None)
    if se_channels:
        y = squeeze_excite(b, f"{name}.se", y, se_channels, "relu")
    if x.shape[1] == out_ch and stride != 1:
        x = b.pool(f"{name}.down", x, 1, stride)  # TF-slim subsamples an identity shortcut
    elif stride != 1 or x.shape[1] != out_ch:
        x = conv_bn_act(b, f"{name}.down", x, out_ch, 1, stride, act=None)
    return b.act(f"{name}.relu", b.add_tensors(f"{name}.add", y, x))


def build_resnet(b: GraphBuilder, p: ResnetParams, s: Shape) -> None:
    """Build the ``resnet`` family into ``b`` at shape ``s`` (batch of samples; images are
    ``s.image_size`` pixels square, sequences ``s.seq_len`` tokens).

    Raises:
        WorkloadError: the params give an impossible graph at this shape (e.g. an image too small).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> b = GraphBuilder("resnet50", batch=1)
        >>> build_resnet(b, load_workload("resnet50").params, Shape(batch_size=1, seq_len=1, image_size=224))
        >>> round(b.build().parameters / 1e6, 2)      # millions of parameters
        25.56
    """
    x = resnet_stages(b, p, b.input((s.batch_size, p.in_channels, s.image_size, s.image_size)))[-1]
    x = b.flatten(b.global_pool("avgpool", x))
    b.loss("loss", b.linear("fc", x, p.num_classes))


def resnet_stages(b: GraphBuilder, p: ResnetParams, x: Tensor) -> list[Tensor]:
    """Stem and residual stages of a ResNet / ResNeXt on image tensor ``x``: the output of every stage
    (C2..C5 for four stages), what classifiers pool and detection necks (FPN) tap.

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> b = GraphBuilder("r", batch=1)
        >>> [t.shape[1:] for t in resnet_stages(b, load_workload("resnet50").params, b.input((1, 3, 224, 224)))]
        [(256, 56, 56), (512, 28, 28), (1024, 14, 14), (2048, 7, 7)]
    """
    x = conv_bn_act(b, "stem", x, p.width, 7, 2)
    x = b.pool("stem.maxpool", x, 3, 2, 1)
    out = []
    last = len(p.depths) - 1
    for stage, depth in enumerate(p.depths):
        planes = p.width * 2**stage
        for i in range(depth):
            if p.downsample == "last_3x3":
                stride = 2 if (i == depth - 1 and stage < last) else 1
            else:
                stride = 2 if (i == 0 and stage > 0) else 1
            x = _block(b, f"layer{stage + 1}.{i}", x, planes, stride, p.block == "bottleneck", p.groups,
                       p.width_per_group, stride_in_1x1=p.downsample == "first_1x1", se_channels=p.se_channels)
        out.append(x)
    return out


register("resnet", Family(ResnetParams, build_resnet, task="image", uses_seq_len=False, uses_image_size=True))
