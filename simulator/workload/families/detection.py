"""Real-time object detection: YOLOv5 (Ultralytics v6.0+ layout: 6x6 stem conv, C3 blocks, SPPF, PANet)
and YOLOv3 (Darknet-53 backbone, three-scale head).

One family covers YOLOv5 n/s/m/l/x through ``depth_multiple`` and ``width_multiple``, exactly as the
Ultralytics model YAMLs scale the base (YOLOv5l) layout. Non-maximum suppression runs on the host
after the network and is not part of the graph.
"""
from __future__ import annotations

import math

from pydantic import Field

from ..graph import GraphBuilder, Tensor
from . import Family, FamilyParams, Shape, register
from .cnn import conv_bn_act


class Yolov5Params(FamilyParams):
    """YOLOv5 scaling constants and head size. YOLOv5s: depth 0.33, width 0.50.

    Raises ``pydantic.ValidationError`` for unknown keys or out-of-range values (the loader names
    the file and field in a :class:`~simulator.errors.WorkloadError`).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> p = load_workload("yolov5s").params
        >>> p.depth_multiple, p.width_multiple
        (0.33, 0.5)
    """

    depth_multiple: float = Field(default=0.33, gt=0, le=4)
    width_multiple: float = Field(default=0.50, gt=0, le=4)
    num_classes: int = Field(default=80, gt=0, le=10**5)
    anchors_per_scale: int = Field(default=3, gt=0, le=64)
    in_channels: int = Field(default=3, gt=0, le=1024)


def _conv(b: GraphBuilder, name: str, x: Tensor, ch: int, k: int, stride: int = 1) -> Tensor:
    """Ultralytics ``Conv``: conv (no bias, 'same' padding) -> BN -> SiLU."""
    return conv_bn_act(b, name, x, ch, k, stride, act="silu")


def _c3(b: GraphBuilder, name: str, x: Tensor, ch: int, n: int, shortcut: bool = True) -> Tensor:
    """CSP bottleneck with 3 convs: two 1x1 branches, ``n`` bottlenecks on one, concat, 1x1 fuse."""
    hidden = ch // 2
    y = _conv(b, f"{name}.cv1", x, hidden, 1)
    for i in range(n):
        z = _conv(b, f"{name}.m{i}.cv2", _conv(b, f"{name}.m{i}.cv1", y, hidden, 1), hidden, 3)
        y = b.add_tensors(f"{name}.m{i}.add", z, y) if shortcut else z
    return _conv(b, f"{name}.cv3", b.concat(f"{name}.cat", [y, _conv(b, f"{name}.cv2", x, hidden, 1)]), ch, 1)


def _sppf(b: GraphBuilder, name: str, x: Tensor, ch: int, k: int = 5) -> Tensor:
    """Spatial pyramid pooling (fast): three chained k x k max pools, concatenated."""
    y = [_conv(b, f"{name}.cv1", x, x.shape[1] // 2, 1)]
    for i in range(3):
        y.append(b.pool(f"{name}.pool{i}", y[-1], k, 1, k // 2))
    return _conv(b, f"{name}.cv2", b.concat(f"{name}.cat", y), ch, 1)


def build_yolov5(b: GraphBuilder, p: Yolov5Params, s: Shape) -> None:
    """Build the ``yolov5`` family into ``b`` at shape ``s`` (batch of samples; images are
    ``s.image_size`` pixels square, sequences ``s.seq_len`` tokens).

    Raises:
        WorkloadError: the params give an impossible graph at this shape (e.g. an image too small).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> b = GraphBuilder("yolov5s", batch=1)
        >>> build_yolov5(b, load_workload("yolov5s").params, Shape(batch_size=1, seq_len=1, image_size=640))
        >>> round(b.build().parameters / 1e6, 2)      # millions of parameters
        7.24
    """
    if s.image_size % 32:
        raise ValueError(f"YOLOv5 needs an image size divisible by 32 (its largest stride), got {s.image_size}")

    def ch(c: int) -> int:
        return math.ceil(c * p.width_multiple / 8) * 8

    def depth(n: int) -> int:
        return max(round(n * p.depth_multiple), 1)

    x = b.input((s.batch_size, p.in_channels, s.image_size, s.image_size))
    x = b.norm("b0.bn", b.conv("b0.conv", x, ch(64), 6, stride=2, pad=2))  # 6x6 stem, padding 2 (not 'same')
    x = b.act("b0.silu", x, "silu")
    x = _c3(b, "b2", _conv(b, "b1", x, ch(128), 3, 2), ch(128), depth(3))
    p3 = _c3(b, "b4", _conv(b, "b3", x, ch(256), 3, 2), ch(256), depth(6))
    p4 = _c3(b, "b6", _conv(b, "b5", p3, ch(512), 3, 2), ch(512), depth(9))
    x = _c3(b, "b8", _conv(b, "b7", p4, ch(1024), 3, 2), ch(1024), depth(3))
    h10 = _conv(b, "h10", _sppf(b, "b9", x, ch(1024)), ch(512), 1)
    x = b.concat("h12", [b.upsample("h11", h10, 2), p4])
    h14 = _conv(b, "h14", _c3(b, "h13", x, ch(512), depth(3), shortcut=False), ch(256), 1)
    x = b.concat("h16", [b.upsample("h15", h14, 2), p3])
    out_p3 = _c3(b, "h17", x, ch(256), depth(3), shortcut=False)
    x = b.concat("h19", [_conv(b, "h18", out_p3, ch(256), 3, 2), h14])
    out_p4 = _c3(b, "h20", x, ch(512), depth(3), shortcut=False)
    x = b.concat("h22", [_conv(b, "h21", out_p4, ch(512), 3, 2), h10])
    out_p5 = _c3(b, "h23", x, ch(1024), depth(3), shortcut=False)
    outputs = p.anchors_per_scale * (p.num_classes + 5)
    for i, feat in enumerate((out_p3, out_p4, out_p5)):
        b.act(f"detect{i}.sigmoid", b.conv(f"detect{i}", feat, outputs, 1, bias=True), "sigmoid")


class Yolov3Params(FamilyParams):
    """YOLOv3 head size: ``num_classes`` (20 for VOC, 80 for COCO) and anchors per scale.

    Raises ``pydantic.ValidationError`` for unknown keys or out-of-range values (the loader names
    the file and field in a :class:`~simulator.errors.WorkloadError`).

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> load_workload("yolov3-voc").params.num_classes
        20
    """

    num_classes: int = Field(default=80, gt=0, le=10**5)
    anchors_per_scale: int = Field(default=3, gt=0, le=64)
    in_channels: int = Field(default=3, gt=0, le=1024)


def _dark(b: GraphBuilder, name: str, x: Tensor, ch: int, k: int, stride: int = 1) -> Tensor:
    """Darknet conv: conv (no bias, 'same' padding) -> BN -> leaky ReLU."""
    return conv_bn_act(b, name, x, ch, k, stride, act="leaky_relu")


def _darknet_stage(b: GraphBuilder, name: str, x: Tensor, ch: int, blocks: int) -> Tensor:
    x = _dark(b, f"{name}.down", x, ch, 3, 2)
    for i in range(blocks):
        y = _dark(b, f"{name}.{i}.2", _dark(b, f"{name}.{i}.1", x, ch // 2, 1), ch, 3)
        x = b.add_tensors(f"{name}.{i}.add", y, x)
    return x


def _yolo_head(b: GraphBuilder, name: str, x: Tensor, ch: int, outputs: int) -> tuple[Tensor, Tensor]:
    """Five alternating 1x1 / 3x3 convs (the branch point), then a 3x3 and the 1x1 detection conv."""
    for i in range(5):
        x = _dark(b, f"{name}.{i}", x, ch if i % 2 == 0 else 2 * ch, 1 if i % 2 == 0 else 3)
    y = _dark(b, f"{name}.5", x, 2 * ch, 3)
    return x, b.conv(f"{name}.detect", y, outputs, 1, bias=True)


def build_yolov3(b: GraphBuilder, p: Yolov3Params, s: Shape) -> None:
    """Build the ``yolov3`` family into ``b`` at shape ``s`` (images ``s.image_size`` square, a multiple
    of 32; 416 in the paper's headline).

    Raises:
        ValueError: an image size not divisible by 32.

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> b = GraphBuilder("yolov3-voc", batch=1)
        >>> build_yolov3(b, load_workload("yolov3-voc").params, Shape(batch_size=1, seq_len=1, image_size=416))
        >>> round(b.build().parameters / 1e6, 2)      # millions of parameters
        61.63
    """
    if s.image_size % 32:
        raise ValueError(f"YOLOv3 needs an image size divisible by 32 (its largest stride), got {s.image_size}")
    x = _dark(b, "stem", b.input((s.batch_size, p.in_channels, s.image_size, s.image_size)), 32, 3)
    x = _darknet_stage(b, "s1", x, 64, 1)
    x = _darknet_stage(b, "s2", x, 128, 2)
    c3 = _darknet_stage(b, "s3", x, 256, 8)
    c4 = _darknet_stage(b, "s4", c3, 512, 8)
    x = _darknet_stage(b, "s5", c4, 1024, 4)
    outputs = p.anchors_per_scale * (p.num_classes + 5)
    x, _ = _yolo_head(b, "h1", x, 512, outputs)
    x = b.concat("h2.cat", [b.upsample("h2.up", _dark(b, "h2.reduce", x, 256, 1), 2), c4])
    x, _ = _yolo_head(b, "h2", x, 256, outputs)
    x = b.concat("h3.cat", [b.upsample("h3.up", _dark(b, "h3.reduce", x, 128, 1), 2), c3])
    _yolo_head(b, "h3", x, 128, outputs)


register("yolov5", Family(Yolov5Params, build_yolov5, task="image", uses_seq_len=False, uses_image_size=True))
register("yolov3", Family(Yolov3Params, build_yolov3, task="image", uses_seq_len=False, uses_image_size=True))
