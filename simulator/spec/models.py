"""Hardware spec schema: frozen pydantic models, unknown keys forbidden, union discriminated by ``kind``.

Every block that holds numbers carries a ``source`` (datasheet, paper or vendor page), so a spec
file cannot hold an unsourced figure. Bounds reject absurd values (a 10^30-byte memory) at load time.
"""
from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from ..units import Precision

# Physical plausibility bounds: generous, but they stop typos and hostile values.
MAX_BYTES = 1e16  # 10 PB: larger than any single device's memory
MAX_BANDWIDTH_GBS = 1e6
MAX_CLOCK_GHZ = 10.0
MAX_COUNT = 10_000_000
# Floors on rates, clocks and fractions: a positive but tiny value (1e-300) divides a FLOP or byte count
# into a time that overflows to inf. At these floors the slowest possible run still stays finite.
MIN_RATE = 1e-6  # GB/s, FLOP or MAC per cycle, pJ per FLOP
MIN_CLOCK_GHZ = 1e-3
MIN_FRACTION = 1e-4


def at_least(floor: float) -> AfterValidator:
    """A validator refusing positive values below ``floor`` (they would overflow simulated times).

    The returned validator raises ``ValueError`` (a pydantic ``ValidationError`` once in a model).

    Example:
        >>> from pydantic import TypeAdapter
        >>> from pydantic import TypeAdapter, ValidationError
        >>> try:
        ...     TypeAdapter(Annotated[float, at_least(1e-3)]).validate_python(1e-9)
        ... except ValidationError as exc:
        ...     print(exc.errors()[0]["msg"])
        Value error, must be at least 0.001; smaller values overflow the simulated time
    """
    def check(x: float) -> float:
        if x < floor:
            raise ValueError(f"must be at least {floor:g}; smaller values overflow the simulated time")
        return x
    return AfterValidator(check)


class Frozen(BaseModel):
    """Base: immutable, unknown keys rejected, NaN/inf rejected.

    Raises:
        pydantic.ValidationError: on construction from bad data (the loader turns it into a
            :class:`~simulator.errors.SpecError` naming the file and key path).

    Example:
        >>> Link(name="nvlink", kind="nvlink", bandwidth_gbs=450, source="datasheet").latency_us
        1.0
        >>> from pydantic import ValidationError
        >>> try:
        ...     Link(name="nvlink", kind="nvlink", bandwidth_gbs=450, source="datasheet", lanes=18)
        ... except ValidationError as exc:
        ...     print(exc.errors()[0]["loc"], exc.errors()[0]["msg"])
        ('lanes',) Extra inputs are not permitted
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


Source = Annotated[str, Field(min_length=3, max_length=2000)]
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=80)]
Pos = Annotated[float, Field(gt=0)]
NonNeg = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(gt=0, le=1), at_least(MIN_FRACTION)]
Count = Annotated[int, Field(gt=0, le=MAX_COUNT)]
Clock = Annotated[float, Field(gt=0, le=MAX_CLOCK_GHZ), at_least(MIN_CLOCK_GHZ)]
PrecisionMap = dict[Precision, Annotated[float, Field(gt=0, le=1e7), at_least(MIN_RATE)]]

# When a device lacks a native path for a precision, it runs in the next one it has.
FALLBACK: dict[Precision, tuple[Precision, ...]] = {
    Precision.INT4: (Precision.INT4, Precision.INT8, Precision.FP8, Precision.FP16, Precision.BF16, Precision.FP32),
    Precision.INT8: (Precision.INT8, Precision.FP8, Precision.FP16, Precision.BF16, Precision.FP32),
    Precision.FP8: (Precision.FP8, Precision.FP16, Precision.BF16, Precision.FP32),
    Precision.INT16: (Precision.INT16, Precision.FP16, Precision.BF16, Precision.FP32),
    Precision.FP16: (Precision.FP16, Precision.BF16, Precision.FP32),
    Precision.BF16: (Precision.BF16, Precision.FP16, Precision.FP32),
    Precision.TF32: (Precision.TF32, Precision.FP32),
    Precision.FP32: (Precision.FP32,),
}


def lookup(rates: dict[Precision, float], precision: Precision) -> float:
    """Rate for ``precision`` from a per-precision map, following :data:`FALLBACK`; 0 if none applies.

    Example:
        >>> lookup({Precision.FP16: 2.0, Precision.FP32: 1.0}, Precision.BF16)
        2.0
    """
    for p in FALLBACK[precision]:
        if p in rates:
            return rates[p]
    return 0.0


class Dataflow(str, Enum):
    """Systolic / PE-array dataflows: output-, weight-, input- and row-stationary.

    Example:
        >>> Dataflow("ws") is Dataflow.WS
        True
    """

    OS = "os"
    WS = "ws"
    IS = "is"
    RS = "rs"


class LinkKind(str, Enum):
    """Physical interconnects a device or system declares.

    Example:
        >>> LinkKind("infiniband").value
        'infiniband'
    """

    NVLINK = "nvlink"
    PCIE = "pcie"
    ICI = "ici"
    INFINIBAND = "infiniband"
    ETHERNET = "ethernet"
    UPI = "upi"
    USB = "usb"
    NEURONLINK = "neuronlink"
    INFINITY_FABRIC = "infinity_fabric"
    C2C = "c2c"
    AXI = "axi"


class MemoryLevel(Frozen):
    """One level of the memory hierarchy, innermost (closest to the compute) first.

    ``capacity_bytes`` is per device; ``bandwidth_gbs`` is the aggregate peak (decimal GB/s);
    ``energy_pj_per_byte`` is the access energy of one byte moved at this level.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> [(m.name, m.bandwidth_gbs) for m in load_hardware("nvidia-l4").memory]
        [('l2', 2500.0), ('gddr6', 300.0)]
    """

    name: Name
    capacity_bytes: Annotated[float, Field(gt=0, le=MAX_BYTES), at_least(1.0)]
    bandwidth_gbs: Annotated[float, Field(gt=0, le=MAX_BANDWIDTH_GBS), at_least(MIN_RATE)]
    energy_pj_per_byte: Annotated[float, Field(ge=0, le=1e5)]
    source: Source


class Link(Frozen):
    """An interconnect port group: ``bandwidth_gbs`` per direction, summed over its lanes/links.

    ``latency_us`` per message step in microseconds, ``energy_pj_per_byte`` per byte sent.
    ``peer_links`` > 1: the links go straight to that many peers (a fully connected mesh such as
    MI300X's seven xGMI links), so one peer gets ``bandwidth_gbs / peer_links``. ``torus_dims``: the
    dimensions of the torus an ICI link builds (2 for TPU v2/v3/v5e/v6e, 3 for v4/v5p); a slice of
    several chips is laid out on it as near-cubic as its size allows. See :class:`Frozen` for an example.
    """

    name: Name
    kind: LinkKind
    bandwidth_gbs: Annotated[float, Field(gt=0, le=MAX_BANDWIDTH_GBS), at_least(MIN_RATE)]
    latency_us: Annotated[float, Field(ge=0, le=1e6)] = 1.0
    energy_pj_per_byte: Annotated[float, Field(ge=0, le=1e5)] = 10.0
    peer_links: Annotated[int, Field(ge=1, le=1024)] = 1
    torus_dims: Annotated[int, Field(ge=1, le=3)] = 1
    source: Source


class Power(Frozen):
    """Power envelope and energy per operation.

    ``energy_pj_per_flop`` is the dynamic energy of one FLOP (half a MAC) by precision;
    precisions missing fall back like compute rates do. ``tdp_w`` and ``idle_w`` in W;
    ``active_w``: power above idle while the device runs any work at all (clocks and voltage up,
    schedulers, caches, on-chip network and memory PHYs busy), whatever the op does; per-FLOP and
    per-byte energies come on top.

    Raises:
        pydantic.ValidationError: ``idle_w`` not below ``tdp_w``, or a bound broken.

    Example:
        >>> from pydantic import ValidationError
        >>> try:
        ...     Power(tdp_w=10, idle_w=20, energy_pj_per_flop={"fp16": 1}, source="test")
        ... except ValidationError as exc:
        ...     print(exc.errors()[0]["msg"])
        Value error, idle_w (20.0) must be below tdp_w (10.0)
    """

    tdp_w: Annotated[float, Field(gt=0, le=1e5), at_least(MIN_RATE)]
    idle_w: Annotated[float, Field(ge=0, le=1e5)]
    energy_pj_per_flop: PrecisionMap
    active_w: Annotated[float, Field(ge=0, le=1e5)] = 0.0
    source: Source

    @model_validator(mode="after")
    def _idle_below_tdp(self) -> "Power":
        if self.idle_w >= self.tdp_w:
            raise ValueError(f"idle_w ({self.idle_w}) must be below tdp_w ({self.tdp_w})")
        if self.idle_w + self.active_w >= self.tdp_w:
            raise ValueError(f"idle_w + active_w ({self.idle_w + self.active_w}) must be below tdp_w ({self.tdp_w})")
        return self


class Price(Frozen):
    """What the device costs: cloud rental per device-hour and purchase price, in USD.

    Example:
        >>> Price(cloud_usd_per_hour=2.99, source="price list").purchase_usd is None
        True
    """

    cloud_usd_per_hour: Annotated[float, Field(ge=0, le=1e6)] | None = None
    purchase_usd: Annotated[float, Field(ge=0, le=1e9)] | None = None
    source: Source


class Efficiency(Frozen):
    """Achievable fractions of peak and fixed overheads, fitted to measurements.

    ``compute``: fraction of matrix peak a large, well-shaped GEMM reaches (on a CPU: of its matrix
    extension's peak; its SIMD GEMMs run at ``simulator.cost.cpu.SIMD_GEMM_EFFICIENCY``, a measured constant).
    ``vector``: fraction of vector peak for element-wise work.
    ``memory``: fraction of main-memory peak bandwidth a streaming kernel reaches.
    ``op_overhead_us``: fixed launch / dispatch time per op (kernel launch, framework dispatch).
    ``request_overhead_us``: fixed time per step of a runtime that runs the whole compiled graph as
    one device program per request (AWS Neuron: each ``nrt_execute`` submits the request, sets up the
    input and output DMA and waits for completion; NVIDIA's MLPerf harness: the query's input copy, the
    engine's graph launch, the wait for its output and the response), paid once however many ops the
    graph has, and only by runs whose stack says its runtime works that way (``per_query_time`` in
    ``stacks/*.yaml``): a bandwidth test or a training step on the same device pays none. 0 on
    families without such rows.
    ``collective_compute_share``: share of an overlapped collective's time (a ZeRO-3 weight gather, a
    gradient reduce-scatter, an overlapped tensor-parallel all-reduce) during which it also holds the
    device's compute stream. 0 where collectives run on their own engines beside the compute; on a
    TPU XLA runs them as TensorCore programs interleaved with the layer's fusions (the reductions on
    the vector unit, the DMAs issued from the core): MaxText's v5e/v5p configs pass
    ``--xla_tpu_overlap_compute_collective_tc`` and the v6e recipes offload all-reduces to the
    SparseCores to win that time back. Fitted on a family's multi-chip training rows.
    ``fitted_to``: which measurements (calibration row ids) or reference this was fitted to.

    Example:
        >>> Efficiency().compute, Efficiency().op_overhead_us, Efficiency().request_overhead_us
        (0.75, 5.0, 0.0)
    """

    compute: Fraction = 0.75
    vector: Fraction = 0.5
    memory: Fraction = 0.8
    op_overhead_us: Annotated[float, Field(ge=0, le=1e6)] = 5.0
    request_overhead_us: Annotated[float, Field(ge=0, le=1e6)] = 0.0
    collective_compute_share: Annotated[float, Field(ge=0, le=1)] = 0.0
    fitted_to: Source = "kind default (see simulator/spec/models.py)"


class GpuEfficiency(Efficiency):
    """:class:`Efficiency` of a GPU, plus its fitted tile fill.

    ``tile_fill_k``: pipeline fill and epilogue of one wave of output tiles, in K-steps of the
    tensor-core pipeline at the op's operand width: before its first MMA a tile waits for the first
    operand slabs to arrive through the multi-stage copy pipeline, after its last it converts and
    stores its output tile (the R + C - 2 fill/drain of a systolic fold). It is why long-K GEMMs
    get much closer to peak than implicit-GEMM convolutions (K = 576..4608) at the same
    ``compute``. Fitted with ``compute`` on a family's rows (``fitted_to`` says which).

    ``min_kernel_cycles``: the shortest time, in SM clock cycles, one kernel keeps the SMs busy however
    little work it has: its grid of thread blocks is dispatched to the SMs, runs, and drains before the
    next kernel's blocks start (a small kernel is a single partial wave, all ramp-up and tail). Being
    counted in cycles, the floor follows the SM clock of the device (and of a run below its boost
    clock). 0 (the default) is no floor. Fitted with ``op_overhead_us`` on batch-1 compiled-inference
    rows (:mod:`validation.calibrate`); see :func:`simulator.cost.gpu.kernel_floor_s`.

    Example:
        >>> GpuEfficiency().tile_fill_k, GpuEfficiency().min_kernel_cycles
        (256.0, 0.0)
    """

    tile_fill_k: Annotated[float, Field(ge=0, le=1e5)] = 256.0
    min_kernel_cycles: Annotated[float, Field(ge=0, le=1e6)] = 0.0


class GpuCompute(Frozen):
    """GPU: streaming multiprocessors with tensor cores (matrix) and CUDA cores (vector).

    Peak matrix FLOP/s = ``sm_count * clock_ghz * 1e9 * tensor_flops_per_cycle_per_sm[p]``.
    ``tile_m`` x ``tile_n`` is the output tile one thread block computes (wave quantization).
    ``sfu_ops_per_cycle_per_sm``: special-function results (exp2, reciprocal, ...) per cycle per SM,
    what a fused attention's softmax exponentials run on; 0 = not modelled.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> c = load_hardware("nvidia-l4").compute
        >>> round(c.sm_count * c.clock_ghz * 1e9 * c.tensor_flops_per_cycle_per_sm[Precision.BF16] / 1e12, 1)
        121.2
    """

    sm_count: Count
    clock_ghz: Clock
    tensor_flops_per_cycle_per_sm: PrecisionMap
    vector_flops_per_cycle_per_sm: PrecisionMap
    sfu_ops_per_cycle_per_sm: Annotated[float, Field(ge=0, le=1e4)] = 0.0
    tile_m: Count = 128
    tile_n: Count = 128
    source: Source


class BackgroundLoad(Frozen):
    """A PE array that loads its next stationary tile while the current one computes (AWS
    NeuronCore TensorEngine, TPU MXU): one instruction streams at most ``max_moving`` vectors past
    the loaded tile and issues at most every ``min_issue_cycles`` cycles (see
    :func:`simulator.cost.systolic.map_gemm_background`)."""

    max_moving: Count
    min_issue_cycles: Count
    source: Source


class TpuCompute(Frozen):
    """TPU: cores, each with MXU systolic arrays and a vector unit.

    Peak matrix FLOP/s = cores * mxus * rows * cols * 2 * macs_per_pe[p] * clock.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> c = load_hardware("google-tpu-v5e").compute
        >>> peak = (c.cores_per_chip * c.mxus_per_core * c.mxu_rows * c.mxu_cols * 2
        ...         * c.mxu_macs_per_pe_per_cycle[Precision.BF16] * c.clock_ghz * 1e9)
        >>> round(peak / 1e12, 1)
        196.6
    """

    cores_per_chip: Count
    mxus_per_core: Count
    mxu_rows: Count
    mxu_cols: Count
    clock_ghz: Clock
    mxu_macs_per_pe_per_cycle: PrecisionMap
    vector_flops_per_cycle_per_core: PrecisionMap
    dataflow: Dataflow = Dataflow.WS
    background_load: BackgroundLoad | None = None
    # VLIW TensorCore: vector and MXU slots issue in one bundle, so an op's vector work (softmax,
    # bias, activation) overlaps its matrix work; the source goes in ``source``
    vector_overlaps_mxu: bool = False
    source: Source


class CpuCompute(Frozen):
    """CPU socket: cores with SIMD FMA units and optional matrix extensions (AMX, SME).

    Vector FLOP/cycle/core for a precision in ``simd_precisions`` =
    ``simd_width_bits / bits(p) * fma_units_per_core * 2``.
    ``clock_ghz`` is the sustained all-core clock, ``single_core_clock_ghz`` the one-core turbo.
    A matrix extension (``matrix_flops_per_cycle_per_core``) works on tiles: one tile instruction
    multiplies a ``matrix_tile_rows`` x ``matrix_tile_k_bytes`` operand by a ``matrix_tile_k_bytes`` x
    ``matrix_tile_cols`` one in the same time however much of them the GEMM fills (Intel AMX: 16 rows
    of 64 bytes, a 16 x 16 accumulator tile).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> c = load_hardware("intel-xeon-platinum-8480").compute
        >>> c.cores, c.simd_width_bits // 32 * c.fma_units_per_core * 2      # fp32 FLOP/cycle/core
        (56, 64)
    """

    cores: Count
    clock_ghz: Clock
    single_core_clock_ghz: Clock | None = None
    simd_width_bits: Annotated[int, Field(ge=64, le=4096)]
    fma_units_per_core: Count
    simd_precisions: tuple[Precision, ...] = (Precision.FP32,)
    matrix_flops_per_cycle_per_core: PrecisionMap = {}
    matrix_tile_rows: Count = 16
    matrix_tile_cols: Count = 16
    matrix_tile_k_bytes: Count = 64
    source: Source


class DpuLanes(Frozen):
    """Parallel lanes of one DPU batch engine's convolution array (Vitis AI target names:
    ``pixel_parallel``, ``input_channel_parallel``, ``output_channel_parallel``). A layer whose output
    width or channel counts are not multiples of these leaves lanes idle.

    Example:
        >>> DpuLanes(pixels=8, input_channels=16, output_channels=16).output_channels
        16
    """

    pixels: Count
    input_channels: Count
    output_channels: Count


class DepthwiseLanes(Frozen):
    """The engine a DPU runs depthwise convolutions on (``dwconv_engine`` or the ALU): ``channels`` x
    ``pixels`` lanes (a layer is padded to them) doing ``macs_per_cycle`` MACs per ``clock_ghz`` cycle
    per batch engine (default: one per lane; more where AI-Engine tiles run the engine).

    Example:
        >>> DepthwiseLanes(pixels=4, channels=16, clock_ghz=0.3).rate_macs_per_cycle
        64
    """

    pixels: Count
    channels: Count
    clock_ghz: Clock
    macs_per_cycle: Count | None = None

    @property
    def rate_macs_per_cycle(self) -> int:
        """MACs per cycle per batch engine: ``macs_per_cycle`` or one per lane."""
        return self.macs_per_cycle or self.pixels * self.channels


class Dpu(Frozen):
    """The DPU instances of an overlay: ``cores`` independent cores (kernels, compute units), each
    taking one request at a time and computing ``batch`` images of it at once on its batch engines
    (which share the core's weight loads). The overlay's peak (``FpgaCompute``) is split evenly over
    the cores; ``conv`` / ``depthwise`` give one batch engine's lane geometry.
    ``feature_buffer_bytes``: one batch engine's on-chip feature-map banks (the target file's
    virtual banks); a layer whose input and output of one image fit there does not pass its feature
    maps through main memory (0: every feature map goes through main memory).
    ``port_bytes_per_cycle``: the width of a core's data ports to main memory, in bytes per DPU clock
    cycle (a core cannot stream faster than that, however idle the memory); None: not limiting.
    ``layer_floor_us``: the shortest time one layer (one DPU instruction group: a convolution with its
    fused batch norm / activation / add, a pooling) takes on a core, however few its MACs: the array's
    pipeline fill and drain, the layer's instruction and weight fetch (0: no floor).
    ``pool_on_alu``: pooling runs on the ``depthwise`` lanes (the target file lists ``avg_pool`` /
    ``max_pool`` or ``macc_temp`` / ``comp_temp`` under the ``alu_engine`` that also runs depthwise
    convolutions), stepping through its window as a depthwise convolution steps through its kernel;
    False: a dedicated ``pool_engine`` streams the tensors through the vector lanes.
    ``hbm_pass_element_ns``: time per output element of a layer that is its own pass through main
    memory instead of riding a convolution's output: an element-wise add on the ``eltwise_engine``
    (both operands read from the feature-map banks) and a concatenation copied into its output
    tensor (an IP built without channel-offset writes). A memory-side time per element: it does not
    scale with the DPU clock. 0: such layers ride the convolution pipeline or are free addressing
    (every DPU but the DPUCAHX8L, whose value is derived from zoo cells, see its spec files).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> d = load_hardware("amd-zcu102").compute.dpu
        >>> d.cores, d.batch, d.conv.pixels
        (3, 1, 8)
    """

    cores: Count = 1
    batch: Count = 1
    conv: DpuLanes
    depthwise: DepthwiseLanes | None = None
    feature_buffer_bytes: Annotated[float, Field(ge=0, le=MAX_BYTES)] = 0.0
    port_bytes_per_cycle: Annotated[float, Field(gt=0, le=1e6)] | None = None
    layer_floor_us: Annotated[float, Field(ge=0, le=1e6)] = 0.0
    pool_on_alu: bool = False
    hbm_pass_element_ns: Annotated[float, Field(ge=0, le=1e6)] = 0.0
    source: Source


class EmbeddedCpu(Frozen):
    """The application processor on an FPGA board (Zynq / Versal APU) that runs the host side of an
    inference: input normalisation and quantisation, post-processing, the runner. One input or output
    tensor element costs ``cycles_per_element`` core cycles.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> load_hardware("amd-zcu102").apu.cores
        4
    """

    name: Annotated[str, Field(min_length=1, max_length=200)]
    cores: Count
    clock_ghz: Clock
    cycles_per_element: Annotated[float, Field(gt=0, le=1e4)]
    source: Source


class FpgaCompute(Frozen):
    """FPGA with the overlay accelerator deployed on it (e.g. a DPU-style PE array).

    The overlay uses ``dsp_utilization`` of ``dsp_slices`` DSPs, each doing
    ``macs_per_dsp_per_cycle[p]`` MACs per cycle at the achieved ``clock_ghz``. Versal parts add
    AI-Engine tiles. ``reconfiguration_s`` is the cost of loading a new bitstream.
    ``feature_maps_on_chip``: the overlay keeps a layer's input and output feature maps in on-chip
    memory when they fit in half of it, instead of passing them through DDR between layers.
    ``dpu``: the overlay's cores, batch and lane geometry (:class:`Dpu`), when it is a Vitis AI DPU.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> c = load_hardware("amd-alveo-u250").compute
        >>> c.dsp_slices, c.dsp_utilization
        (12288, 0.6667)
    """

    dsp_slices: Count
    clock_ghz: Clock
    macs_per_dsp_per_cycle: PrecisionMap
    dsp_utilization: Fraction = 1.0
    ai_engine_tiles: Annotated[int, Field(ge=0, le=MAX_COUNT)] = 0
    ai_engine_clock_ghz: Clock = 1.0
    ai_engine_macs_per_tile_per_cycle: PrecisionMap = {}
    vector_flops_per_cycle: PrecisionMap
    overlay: Annotated[str, Field(min_length=1, max_length=200)]
    reconfiguration_s: Annotated[float, Field(ge=0, le=3600)] = 0.0
    feature_maps_on_chip: bool = False
    dpu: Dpu | None = None
    source: Source


class OutputGeometries(Frozen):
    """An output-stationary matrix engine that takes one of several output-tile shapes per GEMM
    (Habana Gaudi2: its two MMEs ganged as 1024x128 ... 128x1024 outputs): each ``[rows, cols]``
    tile (rows: the GEMM's M, cols: its N) has ``rows * cols`` = every MAC of the engine, and one
    tile step takes ``max(K, min_step_cycles)`` cycles (see
    :func:`simulator.cost.systolic.map_gemm_geometries`)."""

    shapes: tuple[tuple[Count, Count], ...] = Field(min_length=1, max_length=8)
    min_step_cycles: Count
    source: Source


class AsicCompute(Frozen):
    """ASIC: ``arrays`` PE arrays of ``pe_rows`` x ``pe_cols`` with a declared dataflow.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> c = load_hardware("aws-inferentia2").compute
        >>> c.arrays, c.pe_rows, c.pe_cols, c.dataflow.value
        (2, 128, 128, 'ws')
    """

    pe_rows: Count
    pe_cols: Count
    arrays: Count = 1
    clock_ghz: Clock
    macs_per_pe_per_cycle: PrecisionMap
    vector_flops_per_cycle: PrecisionMap
    dataflow: Dataflow
    background_load: BackgroundLoad | None = None
    geometries: OutputGeometries | None = None
    # GEMM results leave the array through the vector engines (NeuronCore: FP32 in PSUM, moved to
    # SBUF by a Vector / Scalar engine pass): one vector FLOP per output element
    gemm_output_via_vector: bool = False
    # Each engine runs its own instruction stream, synchronised only by data dependencies
    # (NeuronCore-v2: Tensor, Vector, Scalar, GpSimd engines with their own sequencers), so an op's
    # vector work (PSUM evacuation, fused epilogues) proceeds while the array works on the next tiles
    vector_overlaps_array: bool = False
    source: Source


class _DeviceBase(Frozen):
    """Fields every device kind shares.

    ``weights_stream_from_host``: the device keeps weights that do not fit its memory on the host
    and streams them over ``host_link`` every inference (Edge TPU over USB), instead of not fitting.
    """

    name: Name
    display_name: Annotated[str, Field(min_length=1, max_length=200)]
    vendor: Annotated[str, Field(min_length=1, max_length=100)]
    memory: tuple[MemoryLevel, ...] = Field(min_length=1)
    links: tuple[Link, ...] = ()
    host_link: Link | None = None
    power: Power
    price: Price | None = None
    efficiency: Efficiency = Efficiency()
    weights_stream_from_host: bool = False
    notes: Annotated[str, Field(max_length=5000)] = ""

    @field_validator("memory")
    @classmethod
    def _unique_levels(cls, levels: tuple[MemoryLevel, ...]) -> tuple[MemoryLevel, ...]:
        names = [m.name for m in levels]
        if len(set(names)) != len(names):
            raise ValueError(f"memory level names must be unique, got {names}")
        return levels

    @property
    def main_memory(self) -> MemoryLevel:
        """The outermost level: where weights, activations and optimizer state live."""
        return self.memory[-1]

    def level(self, name: str) -> MemoryLevel:
        """The memory level called ``name``.

        Raises:
            KeyError: no such level.
        """
        for m in self.memory:
            if m.name == name:
                return m
        raise KeyError(name)


class GpuSpec(_DeviceBase):
    """A GPU device (see :class:`GpuCompute`).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> isinstance(load_hardware("nvidia-h100-sxm"), GpuSpec)
        True
    """

    kind: Literal["gpu"]
    compute: GpuCompute
    efficiency: GpuEfficiency = GpuEfficiency()


class TpuSpec(_DeviceBase):
    """A TPU chip (see :class:`TpuCompute`).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> isinstance(load_hardware("google-tpu-v4"), TpuSpec)
        True
    """

    kind: Literal["tpu"]
    compute: TpuCompute


class CpuSpec(_DeviceBase):
    """A CPU socket (see :class:`CpuCompute`).

    ``shared_weight_instances``: when the spec is one of several instances on a socket (a what-if of
    validation rows: ``compute.cores`` and the memory levels cut to one instance's share), how many of
    them read one shared copy of the weights held in the socket's caches (1: each its own copy).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> isinstance(load_hardware("amd-epyc-9654"), CpuSpec)
        True
    """

    kind: Literal["cpu"]
    compute: CpuCompute
    # instances (processes, OpenVINO streams) of which this spec is one, all reading one shared copy
    # of the weights: the caches hold that copy for all of them (see simulator.run.device._residency)
    shared_weight_instances: Count = 1


class FpgaSpec(_DeviceBase):
    """An FPGA card with its overlay (see :class:`FpgaCompute`).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> isinstance(load_hardware("amd-alveo-u250"), FpgaSpec)
        True
    """

    kind: Literal["fpga"]
    compute: FpgaCompute
    apu: EmbeddedCpu | None = None


class AsicSpec(_DeviceBase):
    """A fixed-function accelerator (see :class:`AsicCompute`).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> isinstance(load_hardware("groq-lpu"), AsicSpec)
        True
    """

    kind: Literal["asic"]
    compute: AsicCompute


HardwareSpec = Annotated[Union[GpuSpec, TpuSpec, CpuSpec, FpgaSpec, AsicSpec], Field(discriminator="kind")]
# device kind -> its spec class: the one table of the five kinds
SPEC_CLASSES: dict[str, type[_DeviceBase]] = {"cpu": CpuSpec, "gpu": GpuSpec, "tpu": TpuSpec, "fpga": FpgaSpec,
                                              "asic": AsicSpec}
KINDS = tuple(SPEC_CLASSES)

