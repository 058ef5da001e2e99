"""FPGA cost model: the deployed overlay (DPU-style PE array on DSP slices, plus Versal AI Engines).

MAC throughput = DSPs in use x MACs per DSP per cycle x achieved clock (+ AI-Engine tiles).
Weights live in BRAM/URAM when the whole model fits there (batch-1 latency then has no weight
traffic to DDR/HBM); otherwise they stream from the main memory every inference. Overlays that buffer
feature maps on chip (``compute.feature_maps_on_chip``, the Versal AI-Engine DPUs) keep a layer's
input and output there when they fit in half of it; otherwise feature maps go through DDR/HBM.

A Vitis AI DPU overlay (``compute.dpu``) is costed by its lanes (:mod:`.dpu`): a layer takes its
padded MACs at the array's rate, depthwise layers run on the depthwise engine, batch norm and
activations ride the convolution pipeline, pooling and element-wise ops stream their tensors through
the pool / eltwise lanes (``vector_flops_per_cycle`` counts those lanes), all at ``efficiency.compute``;
where the target file pools on the ALU that runs depthwise convolutions (``dpu.pool_on_alu``), a pooling
layer steps through its window on those lanes as a depthwise kernel does;
weights stream from main memory on every run (the DPU's weight buffers hold one layer's tile, not
the model), feature maps stay in the banks when one image's fit (``dpu.feature_buffer_bytes``).
Where feature maps live in HBM (the DPUCAHX8L, ``dpu.hbm_pass_element_ns``) an element-wise add
and a concatenation are passes of their own through HBM at a memory-side time per output element.
A layer takes at least ``dpu.layer_floor_us`` on its engines however few its MACs (the AI-Engine
DPUCV2DX8G: array fill and drain, the layer's instruction and weight fetch; derived in its spec files).
"""
from __future__ import annotations

from ..spec.models import FpgaSpec, lookup
from ..units import GIGA
from ..workload.ops import Op, OpKind
from .base import CostOptions, Numerics, OpCost, finish, op_bytes, overhead_s
from .dpu import depthwise_macs_per_s, dpu_lane_macs, pool_lane_macs
from .peaks import fpga_macs_per_s

# ops a DPU does not execute: concatenation is addressing (a copy of its own only on an overlay with
# ``dpu.hbm_pass_element_ns``), the loss / softmax runs on the host
DPU_FREE = frozenset({OpKind.DATA_MOVEMENT, OpKind.LOSS, OpKind.SOFTMAX})


def skip_elems(op: Op) -> float:
    """Elements a fused convolution reads beyond its own input: the skip tensor of a residual add
    merged into it (:mod:`simulator.workload.fusion`); 0 for any other op.

    Example:
        >>> from dataclasses import replace
        >>> from simulator.workload.ops import conv2d
        >>> c = conv2d("c", batch=1, in_ch=64, h=56, w=56, out_ch=256, kernel=1)
        >>> skip_elems(c), skip_elems(replace(c, input_elems=c.input_elems + c.output_elems)) == 256 * 56 * 56
        (0.0, True)
    """
    if op.kind != OpKind.CONV2D or not op.gemms:
        return 0.0
    a = dict(op.attrs)
    images = op.gemms[0].m // (int(a["out_h"]) * int(a["out_w"]))
    return max(0.0, op.input_elems - images * int(a["in_ch"]) * int(a["h"]) * int(a["w"]))


def hbm_pass_s(op: Op, dpu) -> float:
    """Seconds of ``op``'s own pass through the feature-map memory at ``dpu.hbm_pass_element_ns`` per
    output element (memory-side: not scaled by the DPU clock): an element-wise add (alone, or merged
    into the convolution that produced one operand: the eltwise engine still reads both operands
    back from the banks) and a concatenation copy; 0 for other ops or when the overlay has none.

    Example:
        >>> from dataclasses import replace
        >>> from simulator.spec.models import Dpu, DpuLanes
        >>> from simulator.workload.ops import conv2d, data_movement, elementwise
        >>> d = Dpu(conv=DpuLanes(pixels=4, input_channels=32, output_channels=64), hbm_pass_element_ns=2.0,
        ...         source="test")
        >>> add = elementwise("add", elems=56 * 56 * 256)          # 802,816 outputs x 2 ns
        >>> c = conv2d("c", batch=1, in_ch=64, h=56, w=56, out_ch=256, kernel=1)
        >>> res = replace(c, input_elems=c.input_elems + c.output_elems)   # conv + bn + add fused
        >>> [round(hbm_pass_s(o, d) * 1e3, 4) for o in (add, res, c, data_movement("cat", elems=1000))]
        [1.6056, 1.6056, 0.0, 0.002]
    """
    ns = dpu.hbm_pass_element_ns
    if not ns:
        return 0.0
    if op.kind in (OpKind.ELEMENTWISE, OpKind.DATA_MOVEMENT) or skip_elems(op) > 0:
        return op.output_elems * ns * 1e-9
    return 0.0


def _dpu_compute_s(op: Op, hw: FpgaSpec, macs_s: float, vec_s: float) -> float:
    """Time of ``op`` on the DPU's engines: padded MACs on the array and the depthwise engine; the
    vector engines only for ops without a matrix part (pooling, element-wise adds)."""
    conv, dw = dpu_lane_macs(op, hw.compute.dpu)
    t = conv / macs_s if conv and macs_s else 0.0
    if dw:
        t += dw / (depthwise_macs_per_s(hw.compute.dpu) * hw.efficiency.compute)
    d = hw.compute.dpu
    if op.kind == OpKind.POOL and d.pool_on_alu and d.depthwise is not None:
        # the ALU pools as it runs a depthwise kernel, one window element per lane-cycle (the window
        # is not a parallel tree: the same engine takes windows up to 256 x 256, alu_limit)
        t += pool_lane_macs(op, d.depthwise) / (depthwise_macs_per_s(d) * hw.efficiency.compute)
    elif not op.gemms and op.vector_flops and vec_s:
        # pooling and element-wise engines stream their tensors through their lanes once (a line
        # buffer holds the window): the larger of input and output, not the window's FLOPs
        t += max(op.input_elems, op.output_elems) / vec_s
    elif op.kind == OpKind.ATTENTION and op.vector_flops and vec_s:
        # an attention core's scaling and softmax sit between its two GEMMs (the value product needs
        # the normalised scores): they cannot ride a convolution's output pipeline as batch norm and
        # activations do, so they take their turn on the element-wise lanes
        t += op.vector_flops / vec_s
    return t


def cost(op: Op, hw: FpgaSpec, numerics: Numerics, options: CostOptions) -> OpCost:
    """Cost of ``op`` on the FPGA overlay."""
    c = hw.compute
    if c.dpu is not None and op.kind in DPU_FREE:
        # a DPU writes each branch's output into its slot of the concatenation (no copy, no instruction)
        # unless its IP cannot (hbm_pass_s: the copy is a pass of its own); the classifier's softmax /
        # loss is host work (simulator.run.dpu_board)
        return finish(hw=hw, numerics=numerics, options=options, flops=0.0, compute_s=hbm_pass_s(op, c.dpu),
                      bytes_by_level={}, overhead_s=0.0)
    macs_s = fpga_macs_per_s(hw, numerics.compute) * hw.efficiency.compute
    vec_s = c.clock_ghz * GIGA * lookup(c.vector_flops_per_cycle, numerics.compute) * (
        hw.efficiency.compute if c.dpu is not None else hw.efficiency.vector)
    if c.dpu is not None:
        compute_s = _dpu_compute_s(op, hw, macs_s, vec_s)
        if compute_s > 0:
            compute_s = max(compute_s, c.dpu.layer_floor_us * 1e-6)
        compute_s += hbm_pass_s(op, c.dpu)
    else:
        compute_s = (op.matrix_flops / 2) / macs_s if op.gemms and macs_s else 0.0
        compute_s += op.vector_flops / vec_s if vec_s else 0.0
    act_in, act_out, w_read = op_bytes(op, numerics, fused_attention=options.fused_attention)
    main = hw.main_memory.name
    on_chip = hw.memory[-2].name if len(hw.memory) >= 2 else None
    levels = {main: act_in + act_out}
    if c.dpu is not None:
        # one image's input and output in a batch engine's feature-map banks: no main-memory round trip
        if on_chip and act_in + act_out <= c.dpu.feature_buffer_bytes * c.dpu.batch:
            levels = {on_chip: act_in + act_out}
    elif c.feature_maps_on_chip and on_chip and act_in + act_out <= 0.5 * hw.memory[-2].capacity_bytes:
        levels = {on_chip: act_in + act_out}
    weights_at = on_chip if options.weights_on_chip and on_chip and c.dpu is None else main
    levels[weights_at] = levels.get(weights_at, 0.0) + w_read
    steps = max(1, op.sequential_steps)
    return finish(hw=hw, numerics=numerics, options=options, flops=op.flops, compute_s=compute_s,
                  bytes_by_level=levels, overhead_s=overhead_s(hw) * steps,
                  compute_cycles=int(round(compute_s * c.clock_ghz * GIGA)) if op.gemms else None)
