"""Vitis AI DPU lane geometry: how many lane-cycles a layer occupies on a DPU's fixed-width engines. Pure.

A DPU convolution engine computes, every cycle, ``pixels`` output pixels of one output row for
``output_channels`` output channels, each summing ``input_channels`` input channels (PG338,
"Architecture of the DPUCZDX8G": pixel, input-channel and output-channel parallelism; the same three
numbers describe every DPU in the Vitis AI target files). A layer therefore costs its *padded* MACs:
output width rounded up to ``pixels``, channels rounded up to the channel lanes. Two refinements of
the compiler and hardware:

* channel augmentation (PG338): a layer with fewer input channels than lanes (the 3-channel image
  stem) packs its kernel width into the input-channel lanes, so a 7x7 stem on 3 channels fills
  ceil(7 * 3 / 16) * 16 = 32 lanes per kernel row instead of 7 * 16;
* depthwise convolutions run on the depthwise / ALU engine (``channels`` x ``pixels`` lanes at its
  own clock) when the DPU has one; without it they are grouped convolutions of one channel per
  group on the main array.

A fully connected layer is a 1x1 convolution on a single pixel: one of the ``pixels`` lanes works.
"""
from __future__ import annotations

from ..spec.models import DepthwiseLanes, Dpu, DpuLanes
from ..workload.ops import Op, OpKind


def _up(x: int, q: int) -> int:
    """``x`` rounded up to a multiple of ``q``."""
    return -(-x // q) * q


def conv_lane_macs(op: Op, lanes: DpuLanes, *, depthwise_engine: bool) -> float:
    """Lane-cycles x lanes (padded MACs) ``op`` occupies on the convolution array; 0 for ops that run
    elsewhere (the depthwise engine, vector engines).

    Example:
        >>> from simulator.workload.ops import conv2d, matmul
        >>> lanes = DpuLanes(pixels=8, input_channels=16, output_channels=16)
        >>> c = conv2d("c", batch=1, in_ch=64, h=7, w=7, out_ch=64, kernel=1)   # 7 of 8 pixel lanes busy
        >>> conv_lane_macs(c, lanes, depthwise_engine=True) / (c.matrix_flops / 2)
        1.1428571428571428
        >>> fc = matmul("fc", batch=1, m=1, k=2048, n=1000)    # 1 of 8 pixel lanes, 1000 -> 1008 outputs
        >>> conv_lane_macs(fc, lanes, depthwise_engine=True) == 8 * 2048 * 1008
        True
    """
    if op.kind == OpKind.MATMUL:
        return float(sum(g.count * g.m * lanes.pixels * _up(g.k, lanes.input_channels)
                         * _up(g.n, lanes.output_channels) for g in op.gemms))
    if op.kind != OpKind.CONV2D:
        # any other GEMM (attention's score and value products) tiles rows onto the pixel lanes
        return float(sum(g.count * _up(g.m, lanes.pixels) * _up(g.k, lanes.input_channels)
                         * _up(g.n, lanes.output_channels) for g in op.gemms))
    a = dict(op.attrs)
    groups, cin, cout = int(a["groups"]), int(a["in_ch"]), int(a["out_ch"])
    if groups > 1 and groups == cin and depthwise_engine:
        return 0.0
    kh, kw = (int(k) for k in str(a["kernel"]).split("x"))
    cin_g, cout_g = cin // groups, cout // groups
    icp = lanes.input_channels
    # channel augmentation: few input channels share the lanes with the kernel width
    row = _up(kw * cin_g, icp) if cin_g < icp else kw * _up(cin_g, icp)
    images = op.gemms[0].m // (int(a["out_h"]) * int(a["out_w"]))
    per_image = groups * kh * row * _up(cout_g, lanes.output_channels) * int(a["out_h"]) \
        * _up(int(a["out_w"]), lanes.pixels)
    return float(images * per_image)


def depthwise_lane_macs(op: Op, dw: DepthwiseLanes) -> float:
    """Padded MACs of a depthwise convolution on the depthwise engine; 0 for any other op.

    Example:
        >>> from simulator.workload.ops import conv2d
        >>> dwc = conv2d("dw", batch=1, in_ch=32, h=112, w=112, out_ch=32, kernel=3, pad=1, groups=32)
        >>> depthwise_lane_macs(dwc, DepthwiseLanes(pixels=4, channels=16, clock_ghz=0.3)) == 9 * 32 * 112 * 112
        True
    """
    if op.kind != OpKind.CONV2D:
        return 0.0
    a = dict(op.attrs)
    groups, cin = int(a["groups"]), int(a["in_ch"])
    if not (groups > 1 and groups == cin):
        return 0.0
    kh, kw = (int(k) for k in str(a["kernel"]).split("x"))
    oh, ow = int(a["out_h"]), int(a["out_w"])
    images = op.gemms[0].m // (oh * ow)
    return float(images * kh * kw * _up(cin, dw.channels) * oh * _up(ow, dw.pixels))


def pool_lane_macs(op: Op, dw: DepthwiseLanes) -> float:
    """Lane-cycles x lanes of a pooling layer on an ALU that steps through the window as through a
    depthwise kernel: window elements x output pixels, the output width padded to ``pixels``; 0 for
    any other op. A global pool is one output pixel whose window is the whole map.

    Example:
        >>> from simulator.workload.ops import pool
        >>> p = pool("p", batch=1, ch=192, h=35, w=35, kernel=3, stride=1, pad=1)   # 35 -> 40 on 8 lanes
        >>> pool_lane_macs(p, DepthwiseLanes(pixels=8, channels=16, clock_ghz=0.333)) == 9 * 192 * 35 * 40
        True
    """
    if op.kind != OpKind.POOL or not op.output_elems:
        return 0.0
    a = dict(op.attrs)
    ow = int(a.get("out_w", 1)) or 1
    window = op.flops / op.output_elems
    return float(window * op.output_elems / ow * _up(ow, dw.pixels))


def dpu_lane_macs(op: Op, dpu: Dpu) -> tuple[float, float]:
    """(padded MACs on the convolution array, padded MACs on the depthwise engine) of ``op``.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> from simulator.workload.ops import conv2d
        >>> dwc = conv2d("dw", batch=1, in_ch=32, h=112, w=112, out_ch=32, kernel=3, pad=1, groups=32)
        >>> conv, dw = dpu_lane_macs(dwc, load_hardware("amd-zcu102").compute.dpu)
        >>> conv, dw == dwc.matrix_flops / 2
        (0.0, True)
    """
    has_dw = dpu.depthwise is not None
    conv = conv_lane_macs(op, dpu.conv, depthwise_engine=has_dw)
    dw = depthwise_lane_macs(op, dpu.depthwise) if has_dw else 0.0
    return conv, dw


def depthwise_macs_per_s(dpu: Dpu) -> float:
    """Depthwise MACs per second of one DPU core (its ``batch`` engines together); 0 without an engine.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> depthwise_macs_per_s(load_hardware("amd-zcu102").compute.dpu) / 1e9   # 16 x 4 lanes x 4 MACs, 281 MHz
        71.936
    """
    d = dpu.depthwise
    return 0.0 if d is None else dpu.batch * d.rate_macs_per_cycle * d.clock_ghz * 1e9
