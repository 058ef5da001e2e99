"""RetinaNet (Lin et al., Focal Loss for Dense Object Detection, 2017) as torchvision builds it: a
ResNet / ResNeXt backbone, a feature pyramid (P3-P5 from C3-C5 by 1x1 laterals, a nearest-neighbour
top-down path and 3x3 output convs; P6 and P7 by stride-2 3x3 convs on P5 and relu(P6)), and two heads
of four 3x3 conv + ReLU layers and a 3x3 predictor (``anchors x classes`` logits, ``anchors x 4``
box deltas) shared by every pyramid level. The heads' weights are stored once and read at every level.
Box decoding and non-maximum suppression run after the network and are not part of the graph.
"""
from __future__ import annotations

from pydantic import Field

from .. import ops as O
from ..graph import GraphBuilder, Tensor
from . import Family, FamilyParams, Shape, register
from .cnn import resnet_stages, ResnetParams


class RetinanetParams(FamilyParams):
    """Backbone (ResNet / ResNeXt, see :class:`~simulator.workload.families.cnn.ResnetParams`), pyramid
    width and head size.

    Example:
        >>> RetinanetParams(depths=[3, 4, 6, 3], groups=32, width_per_group=4, num_classes=264).fpn_channels
        256
    """

    depths: list[int] = Field(default=[3, 4, 6, 3], min_length=4, max_length=4)
    width: int = Field(default=64, gt=0, le=4096)
    groups: int = Field(default=1, gt=0, le=1024)
    width_per_group: int = Field(default=64, gt=0, le=4096)
    in_channels: int = Field(default=3, gt=0, le=1024)
    fpn_channels: int = Field(default=256, gt=0, le=4096)
    num_classes: int = Field(default=91, gt=0, le=10**5)
    anchors: int = Field(default=9, gt=0, le=64)
    head_convs: int = Field(default=4, ge=0, le=16)


def _conv(b: GraphBuilder, name: str, x: Tensor, out_ch: int, *, stride: int = 1, shared: bool = False) -> Tensor:
    """3x3 'same' conv with bias; ``shared``: its weights were already counted at an earlier level."""
    n, c, h, w = x.shape
    op = O.conv2d(name, batch=n, in_ch=c, h=h, w=w, out_ch=out_ch, kernel=3, stride=stride, pad=1, bias=True)
    if shared:
        op = op.renamed(name, param_elems=0.0)
    attrs = dict(op.attrs)
    return b.add(op, [x], (n, out_ch, attrs["out_h"], attrs["out_w"]))


def _fpn(b: GraphBuilder, p: RetinanetParams, feats: list[Tensor]) -> list[Tensor]:
    ch = p.fpn_channels
    inner = [b.conv(f"fpn.inner{i + 3}", c, ch, 1, bias=True) for i, c in enumerate(feats)]
    top = inner[-1]
    outs = [top]
    for i in range(len(inner) - 2, -1, -1):
        lateral = inner[i]
        factor = max(1, lateral.shape[2] // top.shape[2])
        up = b.upsample(f"fpn.up{i + 3}", top, factor)
        if up.shape != lateral.shape:  # odd sizes: torchvision interpolates to the lateral's size
            up = b.add(O.elementwise(f"fpn.fit{i + 3}", elems=lateral.elems, inputs=1, flops_per_elem=0.0),
                       [up], lateral.shape)
        top = b.add_tensors(f"fpn.add{i + 3}", lateral, up)
        outs.insert(0, top)
    levels = [_conv(b, f"fpn.layer{i + 3}", t, ch) for i, t in enumerate(outs)]
    p6 = _conv(b, "fpn.p6", levels[-1], ch, stride=2)
    p7 = _conv(b, "fpn.p7", b.act("fpn.p6.relu", p6), ch, stride=2)
    return levels + [p6, p7]


def _head(b: GraphBuilder, p: RetinanetParams, name: str, x: Tensor, out_ch: int, level: int) -> Tensor:
    for j in range(p.head_convs):
        x = b.act(f"{name}.p{level}.relu{j}", _conv(b, f"{name}.p{level}.conv{j}", x, p.fpn_channels,
                                                    shared=level > 3))
    return _conv(b, f"{name}.p{level}.out", x, out_ch, shared=level > 3)


def build_retinanet(b: GraphBuilder, p: RetinanetParams, s: Shape) -> None:
    """Build the ``retinanet`` family into ``b`` at shape ``s`` (square images of ``s.image_size``).

    Raises:
        WorkloadError: an image too small for the seven-level pyramid.

    Example:
        >>> b = GraphBuilder("retinanet", batch=1)
        >>> build_retinanet(b, RetinanetParams(), Shape(batch_size=1, seq_len=1, image_size=800))
        >>> g = b.build()
        >>> g.op("cls.p3.out").output_elems, g.op("cls.p7.out").output_elems      # 100x100 and 7x7 maps
        (8190000, 40131)
    """
    backbone = ResnetParams(depths=p.depths, block="bottleneck", width=p.width, in_channels=p.in_channels,
                            groups=p.groups, width_per_group=p.width_per_group)
    feats = resnet_stages(b, backbone, b.input((s.batch_size, p.in_channels, s.image_size, s.image_size)))
    for level, x in enumerate(_fpn(b, p, feats[1:]), start=3):
        _head(b, p, "cls", x, p.anchors * p.num_classes, level)
        _head(b, p, "box", x, p.anchors * 4, level)


register("retinanet", Family(RetinanetParams, build_retinanet, task="image", uses_seq_len=False, uses_image_size=True))
