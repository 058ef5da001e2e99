"""SSD detectors on MobileNet backbones, as the TensorFlow Object Detection API builds them
(``ssd_mobilenet_v1_coco`` / ``ssd_mobilenet_v2_coco``): six feature maps, a box predictor on each.

The graph ends at the predictors' raw outputs (class logits and box codes for every anchor); anchor
decoding, score conversion and non-maximum suppression run on the host after the network.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..graph import GraphBuilder, Tensor
from . import Family, FamilyParams, Shape, register
from .cnn import conv_bn_act
from .mobile import _V1_BLOCKS, _V2_SETTINGS


class SsdMobilenetParams(FamilyParams):
    """SSD-MobileNet head and backbone.

    ``backbone``: MobileNet ``v1`` (feature maps: Conv2d_11 and Conv2d_13 pointwise outputs) or ``v2``
    (layer_15's expansion output and the 1,280-channel layer_19); ``extra_depths``: the four extra
    feature maps, each a 1x1 conv to half the depth then a stride-2 3x3 conv; ``anchors``: boxes per
    location on each of the six maps; ``box_kernel``: the predictors' kernel (1 or 3); ``num_classes``
    counts the background class (91 for COCO).

    Raises ``pydantic.ValidationError`` for unknown keys or out-of-range values (the loader names
    the file and field in a :class:`~simulator.errors.WorkloadError`).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> load_workload("ssd-mobilenet-v2").params.box_kernel
        3
    """

    backbone: Literal["v1", "v2"]
    num_classes: int = Field(default=91, gt=0, le=10**5)
    box_kernel: int = Field(default=1, ge=1, le=7)
    extra_depths: list[int] = Field(default=[512, 256, 256, 128], min_length=1, max_length=8)
    anchors: list[int] = Field(default=[3, 6, 6, 6, 6, 6], min_length=2, max_length=10)
    in_channels: int = Field(default=3, gt=0, le=1024)


def _v1_maps(b: GraphBuilder, x: Tensor) -> list[Tensor]:
    x = conv_bn_act(b, "stem", x, 32, 3, 2, act="relu6")
    maps = []
    for i, (ch, stride) in enumerate(_V1_BLOCKS):
        x = conv_bn_act(b, f"block{i + 1}.dw", x, x.shape[1], 3, stride, act="relu6", groups=x.shape[1])
        x = conv_bn_act(b, f"block{i + 1}.pw", x, ch, 1, act="relu6")
        if i + 1 in (11, 13):
            maps.append(x)
    return maps


def _v2_maps(b: GraphBuilder, x: Tensor) -> list[Tensor]:
    x = conv_bn_act(b, "stem", x, 32, 3, 2, act="relu6")
    maps, block = [], 0
    for t, c, n, first_stride in _V2_SETTINGS:
        for i in range(n):
            block, stride, in_ch = block + 1, first_stride if i == 0 else 1, x.shape[1]
            y = conv_bn_act(b, f"block{block}.expand", x, in_ch * t, 1, act="relu6") if t != 1 else x
            if block == 14:  # layer_15/expansion_output: the first 160-channel block's expansion
                maps.append(y)
            y = conv_bn_act(b, f"block{block}.dw", y, y.shape[1], 3, stride, act="relu6", groups=y.shape[1])
            y = conv_bn_act(b, f"block{block}.project", y, c, 1, act=None)
            x = b.add_tensors(f"block{block}.add", y, x) if stride == 1 and in_ch == c else y
    maps.append(conv_bn_act(b, "layer19", x, 1280, 1, act="relu6"))
    return maps


def build_ssd_mobilenet(b: GraphBuilder, p: SsdMobilenetParams, s: Shape) -> None:
    """Build the ``ssd_mobilenet`` family into ``b`` at shape ``s`` (images ``s.image_size`` square, 300
    in the TF configs).

    Raises:
        ValueError: ``anchors`` does not list one count per feature map (two backbone maps + extras).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> b = GraphBuilder("ssd-mobilenet-v1", batch=1)
        >>> build_ssd_mobilenet(b, load_workload("ssd-mobilenet-v1").params, Shape(batch_size=1, seq_len=1, image_size=300))
        >>> g = b.build()
        >>> sum(g.op(n).output_elems for n in g.order if n.endswith(".cls")) // 91   # anchors
        1917
    """
    if len(p.anchors) != 2 + len(p.extra_depths):
        raise ValueError(f"anchors: one count per feature map ({2 + len(p.extra_depths)}), got {len(p.anchors)}")
    x = b.input((s.batch_size, p.in_channels, s.image_size, s.image_size))
    maps = _v1_maps(b, x) if p.backbone == "v1" else _v2_maps(b, x)
    x = maps[-1]
    for i, depth in enumerate(p.extra_depths):
        x = conv_bn_act(b, f"extra{i + 1}.reduce", x, depth // 2, 1, act="relu6")
        x = conv_bn_act(b, f"extra{i + 1}.conv", x, depth, 3, 2, act="relu6")
        maps.append(x)
    for i, (feat, anchors) in enumerate(zip(maps, p.anchors)):
        b.conv(f"head{i}.cls", feat, anchors * p.num_classes, p.box_kernel, bias=True)
        b.conv(f"head{i}.box", feat, anchors * 4, p.box_kernel, bias=True)


register("ssd_mobilenet", Family(SsdMobilenetParams, build_ssd_mobilenet, task="image", uses_seq_len=False,
                                 uses_image_size=True))
