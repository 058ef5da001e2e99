"""CPU cost model: GEMMs on matrix tiles (AMX) or SIMD FMA units over the cores that have work, element-wise
work over the cores its size can feed, traffic at the last-level cache or DRAM.

Three physical limits a socket's peak hides:

* **parallel work**: a GEMM is cut into output blocks (:func:`gemm_blocks`), one core computes one block
  at a time, so an op with fewer blocks than cores leaves cores idle, and blocks that do not divide
  evenly leave a last, partial wave (a batch-1 7x7 convolution keeps 32 of 56 cores busy);
* **tile fill**: an AMX tile instruction costs the same however much of its 16 x 16 output and its K
  depth the GEMM fills, so a GEMM with 1 row (LLM decode at batch 1) gets 1/16 of the AMX rate; the
  core then runs it on its SIMD units when that is faster (:func:`core_flops_per_cycle`), each path at
  its own achieved share of peak: AMX loses to tile loads and configuration, a blocked AVX-512 FMA
  loop does not (:func:`achieved_flops_per_cycle`);
* **cache residency**: an op's activations stay on chip when they fit in half of the caches
  (:func:`cache_bytes`: a producer's output is still there for its consumer); its weights do only when
  the run found that the whole step's weights fit there (``CostOptions.weights_on_chip``, decided by
  :mod:`simulator.run.device` from the graph), because weights read once per step are evicted by the
  next layers' weights before the next step comes back to them. Traffic that stays on chip is
  charged at the last-level cache's bandwidth.

Element-wise work (a GEMM's bias, activation and requantization epilogue, softmax, norms) runs on FP32
lanes whatever the run's precision (:func:`elementwise_flops_per_cycle`); a convolution's or matmul's
epilogue on the AMX path overlaps its tile multiplications (:func:`on_matrix_unit`), on the SIMD path it
follows them on the same FMA units, and an int8 convolution's there also converts, scales, saturates and
narrows its accumulators to int8 (:func:`int8_requant_flops`).

Each op also pays a fork/join of the threads it runs on (:func:`fork_join_s`): a batch-1 op on a
whole socket waits for a 6-level barrier, a one-core instance's op only for its dispatch; an attention
its stack runs unfused pays one per runtime node it becomes (:func:`fork_joins`).

A stack's fused attention kernel may not take every shape (:class:`~simulator.spec.stack.AttentionFusionLimit`:
OpenVINO's CPU plugin fuses a BF16 or int8 MatMul-Softmax-MatMul only while K <= 512 and N <= 256);
beyond it the attention's score and probability matrices go through memory at the tensors' format
(:func:`~simulator.cost.base.attention_fused`), from DRAM when a one-core stream's cache share cannot
hold them (BERT-Large at 384 tokens: 16 x 384 x 384 scores per layer).

Int8 inference on CPUs quantizes the operands of the int8 kernels only: convolutions keep int8 tensors
between layers (requantization fused into the convolution), but matmul, attention, layer-norm, softmax
and embedding tensors are 16-bit (32-bit without BF16 support) around the int8 GEMM
(:func:`tensor_numerics`).
"""
from __future__ import annotations

import math

from ..spec.models import CpuSpec, lookup
from ..units import GIGA, Precision
from ..workload.ops import Gemm, Op, OpKind, ceil_div
from .base import CostOptions, Numerics, OpCost, attention_fused, finish, op_bytes, overhead_s
from .peaks import cpu_vector_flops_per_cycle_per_core

# Element-wise work is split over threads in chunks of this many elements (PyTorch's
# at::internal::GRAIN_SIZE = 32768, the grain of its parallel_for over tensors): a smaller tensor
# runs on fewer cores.
ELEMENT_GRAIN = 32768
# Share of the last-level cache an op's activations (or the step's weights) may use and still stay
# resident: the other half holds the other operand set and what other cores touch meanwhile.
LLC_SHARE = 0.5
# Share of the SIMD FMA peak a cache-blocked GEMM sustains on AVX-512 cores (the SIMD path's own
# efficiency; ``efficiency.compute`` is the share of the matrix unit's peak, fitted on AMX rows, whose
# losses are the tile loads and tile configuration the SIMD path does not have). Measured: MKL DGEMM on
# three AVX-512 Xeons reached 892 of 1056 GFLOP/s (W-2255, 84 %), 784 of 819 (Silver 4216, 96 %) and
# 1156 of 1280 (Gold 6242, 90 %), each peak at the part's AVX-512 all-core clock (Intel oneAPI MKL
# community forum, "multithreading performance of MKL DGEMM on Xeon", thread td-p/1231308); the middle
# one, 0.90. Same 2 x 512-bit FMA ports per core as Sapphire/Emerald Rapids and Granite Rapids.
SIMD_GEMM_EFFICIENCY = 0.90
# Cores needed to draw the socket's full DRAM bandwidth: one core's outstanding misses (a few dozen
# 64-byte lines in flight over ~100 ns) reach about a quarter's share of the socket.
DRAM_SATURATING_CORE_SHARE = 0.25


def cache_bytes(hw: CpuSpec) -> float:
    """Bytes the socket's caches hold together: every level inside main memory. Server CPUs keep their
    L2 and last-level cache non-inclusive (Intel since Skylake-SP, AMD's L3 is a victim cache of L2),
    so their capacities add.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> cache_bytes(load_hardware("intel-xeon-platinum-8480")) / 2**20      # 112 MiB L2 + 105 MiB L3
        217.0
    """
    return float(sum(level.capacity_bytes for level in hw.memory[:-1]))


# Ops whose tensors stay wide under int8 inference: OpenVINO's low-precision transformations and IPEX
# quantize the inputs of an int8 matmul and dequantize its output; layer norm, softmax and the
# attention core have no int8 kernels. Convolutions, pooling and their fused activations stay int8.
_WIDE_UNDER_INT8 = (OpKind.MATMUL, OpKind.ATTENTION, OpKind.SOFTMAX, OpKind.EMBEDDING)


def tensor_numerics(op: Op, hw: CpuSpec, numerics: Numerics) -> Numerics:
    """The numerics an op's tensors move at on a CPU: int8 transformer tensors are BF16 (FP32 without
    AVX512_BF16) around the int8 GEMMs; everything else as the run's numerics.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> from simulator.workload import ops as O
        >>> xeon, int8 = load_hardware("intel-xeon-platinum-8480"), Numerics(Precision.INT8, Precision.INT8)
        >>> tensor_numerics(O.matmul("fc", batch=1, m=8, k=64, n=64), xeon, int8).act_bytes
        2.0
        >>> tensor_numerics(O.conv2d("c", batch=1, in_ch=8, h=8, w=8, out_ch=8, kernel=3, pad=1), xeon, int8).act_bytes
        1.0
    """
    wide = op.kind in _WIDE_UNDER_INT8 or (op.kind == OpKind.NORM and dict(op.attrs).get("norm") != "batchnorm")
    if numerics.compute not in (Precision.INT8, Precision.INT4) or not wide:
        return numerics
    fmt = Precision.BF16 if Precision.BF16 in hw.compute.simd_precisions else Precision.FP32
    return Numerics(compute=fmt, weights=numerics.weights)


# Vector instructions oneDNN's depthwise kernel (brdgmm, the first depthwise implementation it tries on
# AVX-512: oneapi-src/oneDNN@515bfba6 src/cpu/cpu_convolution_list.cpp) issues per multiply-add of a
# 32-bit lane, by format (src/cpu/x64/brgemm/jit_brdgmm_kernel.cpp, load_a / load_b / dot_product):
# FP32 folds the source load into VFMADD231PS (is_fma_embd): 1. Int8 with VNNI and channels a multiple
# of 16 broadcasts the source with VBROADCASTI32X4, a pure load, then one VPDPBUSD (is_fast_vnni_int8): 1;
# otherwise it widens the source with VPMOVZXBD first: 2. BF16 widens with VPMOVZXWD and then VDPBF16PS:
# 2; on a part with AMX it shifts the widened value into an FP32 one (VPSLLD) and uses VFMADD231PS
# instead, "On avx512_core_amx machines, the bf16 vnni is found to be slower" (is_slow_bf16_vnni): 3.
# Loads have their own ports; the widening, shift and multiply-add all issue on the two 512-bit vector
# ports the FMA peak counts (cpu_vector_flops_per_cycle_per_core: 2 FMA units), so the lane rate divides
# by the instructions per multiply-add. The weights are widened once per block and stay in registers.
# The kernel's ISA is the convolution's (src/cpu/x64/jit_brdgmm_dw_conv.cpp get_supported_isa: int8
# avx512_core_vnni, bf16 avx512_core_bf16; brgemm_utils.cpp init_brdgmm_conf keeps it), never AMX, while
# is_slow_bf16_vnni asks whether the machine has AMX (mayiuse(avx512_core_amx)).
# OpenVINO 2024.3 does not run brdgmm (see _INT8_REQUANT_INSTRUCTIONS) but x8s8s32x's compute_ker_dw,
# which for int8 with channels a multiple of 16 (is_fast_depthwise) also issues one VPDPBUSD per
# multiply-add of a lane after a VBROADCASTI32X4 load: the same 1.
_DW_INSTRUCTIONS = {Precision.FP32: 1, Precision.INT8: 1, Precision.BF16: 2}
_DW_INT8_WIDENED = 2       # VPMOVZXBD + VPDPBUSD: channels not a multiple of 16, or no VNNI
_DW_BF16_ON_AMX = 3        # VPMOVZXWD + VPSLLD + VFMADD231PS


def depthwise_instructions(hw: CpuSpec, g: Gemm, p: Precision) -> int:
    """Vector-port instructions oneDNN's depthwise kernel issues per lane multiply-add of depthwise GEMM
    ``g`` (``n == 1``, ``count`` channels) at precision ``p`` (see :data:`_DW_INSTRUCTIONS`).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> xeon = load_hardware("intel-xeon-platinum-8480")      # AMX: bf16 goes through FP32 FMAs
        >>> [depthwise_instructions(xeon, Gemm(m=3136, n=1, k=9, count=96), q) for q in (Precision.FP32, Precision.INT8, Precision.BF16)]
        [1, 1, 3]
        >>> depthwise_instructions(xeon, Gemm(m=3136, n=1, k=9, count=24), Precision.INT8)   # 24 channels: widened
        2
    """
    if p == Precision.BF16 and lookup(hw.compute.matrix_flops_per_cycle_per_core, p) > 0:
        return _DW_BF16_ON_AMX
    lanes = max(1, hw.compute.simd_width_bits // 32)
    if p == Precision.INT8 and g.count % lanes:
        return _DW_INT8_WIDENED
    return _DW_INSTRUCTIONS.get(p, 1)


def simd_gemm_flops_per_cycle(hw: CpuSpec, g: Gemm, p: Precision) -> float:
    """SIMD FLOP per cycle one core's FMA units give GEMM ``g`` before efficiency: the precision's
    dot-product rate over the lanes a grouped convolution fills (:func:`grouped_lane_fill`), except a
    depthwise convolution (one output channel per group, ``n == 1``): oneDNN's AVX-512 depthwise kernels
    keep one channel in each 32-bit lane, so a dot-product format (int8: VPDPBUSD sums 4 products per
    32-bit lane, bf16: VDPBF16PS 2) makes one multiply-add per lane, the FP32 lane rate, divided by the
    vector instructions each multiply-add takes (:func:`depthwise_instructions`: widening the
    source, and on AMX parts converting bf16 to FP32; openvinotoolkit/oneDNN@032f111c
    src/cpu/x64/jit_avx512_core_x8s8s32x_conv_kernel.cpp compute_ker_dw, "okay for depthwise since src is
    zero-extended"; oneapi-src/oneDNN@515bfba6 src/cpu/x64/brgemm/jit_brdgmm_kernel.cpp).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> xeon = load_hardware("intel-xeon-platinum-8480")      # AVX-512: int8 256, fp32 64 per cycle
        >>> simd_gemm_flops_per_cycle(xeon, Gemm(m=3136, n=1, k=9, count=32), Precision.INT8)
        64.0
        >>> round(simd_gemm_flops_per_cycle(xeon, Gemm(m=3136, n=1, k=9, count=32), Precision.BF16), 2)   # 64 / 3
        21.33
        >>> simd_gemm_flops_per_cycle(xeon, Gemm(m=3136, n=64, k=576), Precision.INT8)
        256.0
    """
    if g.n == 1 and p in (Precision.INT8, Precision.BF16):
        return cpu_vector_flops_per_cycle_per_core(hw, Precision.FP32) / depthwise_instructions(hw, g, p)
    return cpu_vector_flops_per_cycle_per_core(hw, p) * grouped_lane_fill(hw, g, p)


# Formats an AVX-512 core has element-wise arithmetic for (add, multiply, max, FMA on packed lanes):
# FP32 and, with AVX512_FP16, FP16. AVX512_BF16 adds only a dot product and conversions (VDPBF16PS,
# VCVTNE2PS2BF16) and AVX512_VNNI only int8/int16 dot products (VPDPBUSD), so the element-wise work of a
# BF16 or int8 network (bias, activation, requantization scales, softmax, norms) runs on FP32 lanes:
# Intel Architecture Instruction Set Extensions Programming Reference, AVX512_BF16 and AVX512_VNNI
# instruction lists; oneDNN's post-ops convert int32 accumulators to FP32 before applying scales,
# bias and eltwise (oneDNN developer guide, "Quantization" and "Primitive Attributes: Post-ops").
_ELEMENTWISE_FORMATS = (Precision.FP32, Precision.FP16)


def elementwise_flops_per_cycle(hw: CpuSpec, p: Precision) -> float:
    """SIMD FLOP per cycle one core gives element-wise work of a run at precision ``p``: the format's
    own lanes when the SIMD unit has arithmetic for it (FP32, FP16 with AVX512_FP16), else the FP32
    lanes (BF16 and int8 have dot products only, which element-wise work cannot use).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> xeon = load_hardware("intel-xeon-platinum-8480")   # 512-bit, 2 FMA units: 16 FP32 lanes x 2 x 2
        >>> [elementwise_flops_per_cycle(xeon, q) for q in (Precision.FP32, Precision.FP16, Precision.BF16, Precision.INT8)]
        [64.0, 128.0, 64.0, 64.0]
    """
    q = p if p in _ELEMENTWISE_FORMATS and p in hw.compute.simd_precisions else Precision.FP32
    return cpu_vector_flops_per_cycle_per_core(hw, q)


def grouped_lane_fill(hw: CpuSpec, g: Gemm, p: Precision) -> float:
    """Share of a SIMD register's 32-bit lanes an int8 grouped convolution fills: oneDNN's AVX-512 int8
    direct convolution keeps one group's output channels across the lanes and does not pad a group's
    channels, so when a group's channels are not a multiple of the register's lanes it runs on a
    256-bit (Ymm, multiple of 8 channels) or 128-bit (Xmm, multiple of 4) register at the same
    instruction rate (openvinotoolkit/oneDNN and oneapi-src/oneDNN
    src/cpu/x64/jit_avx512_core_x8s8s32x_conv_kernel.cpp init_conf: "For grouped convolutions, oneDNN
    doesn't support padding. When channels per group is not multiple of 16: Use Ymm when channels per
    group is multiple of 8, Use Xmm when channels per group is multiple of 4"). ResNeXt50 32x4d's
    grouped 3x3 convolutions have 4, 8, 16 and 32 channels per group. Ungrouped GEMMs (``count == 1``),
    depthwise ones (``n == 1``, :func:`simd_gemm_flops_per_cycle`) and other formats: 1.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> xeon = load_hardware("intel-xeon-platinum-8480")      # AVX-512: 16 lanes of 32 bits
        >>> [grouped_lane_fill(xeon, Gemm(m=100, n=n, k=9 * n, count=32), Precision.INT8) for n in (4, 8, 16, 32, 12)]
        [0.25, 0.5, 1.0, 1.0, 0.25]
        >>> grouped_lane_fill(xeon, Gemm(m=100, n=4, k=36), Precision.INT8)     # ungrouped: not this limit
        1.0
    """
    if g.count <= 1 or g.n <= 1 or p != Precision.INT8:
        return 1.0
    lanes = max(1, hw.compute.simd_width_bits // 32)
    block = next((b for b in (lanes, 8, 4) if b <= lanes and g.n % b == 0), min(4, lanes))
    return block / lanes


def _fill(extent: int, tile: int) -> float:
    return extent / (ceil_div(extent, tile) * tile)


def core_flops_per_cycle(hw: CpuSpec, g: Gemm, p: Precision) -> float:
    """FLOP per cycle one core achieves on GEMM ``g`` at precision ``p``, before efficiency.

    A matrix extension runs whole tiles: its rate is scaled by how much of the tile's rows, columns and
    K depth the GEMM fills. The core uses its SIMD FMA units instead when they are faster (oneDNN picks
    AVX-512 kernels for GEMMs too small for AMX).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> xeon = load_hardware("intel-xeon-platinum-8480")       # AMX bf16 1024, AVX-512 bf16 128
        >>> core_flops_per_cycle(xeon, Gemm(m=64, n=64, k=64), Precision.BF16)
        1024.0
        >>> core_flops_per_cycle(xeon, Gemm(m=4, n=64, k=64), Precision.BF16)    # 4 of 16 tile rows
        256.0
        >>> core_flops_per_cycle(xeon, Gemm(m=1, n=4096, k=4096), Precision.BF16)  # decode: AVX-512
        128.0
    """
    c = hw.compute
    vec = simd_gemm_flops_per_cycle(hw, g, p)
    mat = lookup(c.matrix_flops_per_cycle_per_core, p)
    if mat <= vec:
        return vec
    k_tile = max(1, int(c.matrix_tile_k_bytes // max(p.bytes, 1.0)))
    fill = _fill(g.m, c.matrix_tile_rows) * _fill(g.n, c.matrix_tile_cols) * _fill(g.k, k_tile)
    return max(mat * fill, vec)


def gemm_blocks(hw: CpuSpec, g: Gemm) -> int:
    """Output blocks of ``g`` that cores take one at a time: 2 x 2 accumulator tiles each (oneDNN's
    brgemm micro-kernel keeps 4 of AMX's 8 tile registers as accumulators), over all ``count`` GEMMs.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> xeon = load_hardware("intel-xeon-platinum-8480")
        >>> gemm_blocks(xeon, Gemm(m=49, n=512, k=4608))      # ResNet-50 layer4 at batch 1: 2 x 16
        32
    """
    c = hw.compute
    return g.count * ceil_div(g.m, 2 * c.matrix_tile_rows) * ceil_div(g.n, 2 * c.matrix_tile_cols)


def achieved_flops_per_cycle(hw: CpuSpec, g: Gemm, p: Precision) -> float:
    """FLOP per cycle one core sustains on GEMM ``g``: the matrix unit's filled rate at
    ``efficiency.compute`` or the SIMD rate at :data:`SIMD_GEMM_EFFICIENCY`, whichever is faster (oneDNN
    dispatches AVX-512 kernels where AMX tiles would run nearly empty, and FP32 has no AMX path at all).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> xeon = load_hardware("intel-xeon-platinum-8480", {"efficiency.compute": 0.4})
        >>> round(achieved_flops_per_cycle(xeon, Gemm(m=64, n=64, k=64), Precision.BF16), 1)   # AMX 1024 x 0.4
        409.6
        >>> round(achieved_flops_per_cycle(xeon, Gemm(m=64, n=64, k=64), Precision.FP32), 1)   # AVX-512 64 x 0.9
        57.6
        >>> round(achieved_flops_per_cycle(xeon, Gemm(m=2, n=64, k=64), Precision.BF16), 1)    # 2 of 16 rows: SIMD 128 x 0.9
        115.2
    """
    vec = simd_gemm_flops_per_cycle(hw, g, p) * SIMD_GEMM_EFFICIENCY
    mat = lookup(hw.compute.matrix_flops_per_cycle_per_core, p)
    if mat <= cpu_vector_flops_per_cycle_per_core(hw, p):
        return vec
    return max(core_flops_per_cycle(hw, g, p) * hw.efficiency.compute, vec)


# Ops whose element-wise work is an epilogue of their GEMM: a convolution's or matmul's bias,
# activation, residual add and requantization scales, applied as oneDNN post-ops to each block of
# accumulators while it is stored.
_EPILOGUE_KINDS = (OpKind.CONV2D, OpKind.MATMUL)


def on_matrix_unit(hw: CpuSpec, g: Gemm, p: Precision) -> bool:
    """Whether GEMM ``g`` runs on the matrix unit (AMX) rather than the SIMD FMA units.

    On the matrix unit a fused epilogue overlaps the tile multiplications: oneDNN's AMX brgemm
    micro-kernel interleaves the stores of one block's accumulator tiles, with their post-ops on the
    AVX-512 units, among the tile instructions of the next block (``interleave_tilestores_``, set
    for the 2 x 2 accumulator decomposition when ``brgattr.use_interleave_stores``, which the brgemm
    convolution, inner product and matmul set with ``use_uker``: oneapi-src/oneDNN
    src/cpu/x64/brgemm/brgemm_utils.cpp, jit_brgemm_amx_uker.cpp, src/cpu/x64/jit_brgemm_inner_product_utils.cpp
    ``jbgp.use_interleave_stores = jbgp.use_uker``). The SIMD path runs its epilogue on the same FMA
    units as the GEMM, one after the other.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> xeon = load_hardware("intel-xeon-platinum-8480", {"efficiency.compute": 0.4})
        >>> on_matrix_unit(xeon, Gemm(m=64, n=64, k=64), Precision.INT8)     # AMX 2048 x 0.4 > 256 x 0.9
        True
        >>> on_matrix_unit(xeon, Gemm(m=1, n=4096, k=4096), Precision.INT8)  # decode row: AVX-512
        False
        >>> on_matrix_unit(xeon, Gemm(m=64, n=64, k=64), Precision.FP32)     # no FP32 tiles
        False
    """
    return achieved_flops_per_cycle(hw, g, p) > simd_gemm_flops_per_cycle(hw, g, p) * SIMD_GEMM_EFFICIENCY


def gemm_time_s(hw: CpuSpec, g: Gemm, p: Precision, clock_hz: float) -> tuple[float, int]:
    """(seconds, cores kept busy) of GEMM ``g`` on the socket's cores at the rate
    :func:`achieved_flops_per_cycle` gives.

    Blocks go to cores in waves; the time is the number of waves times one block's time.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> xeon = load_hardware("intel-xeon-platinum-8480", {"efficiency.compute": 1.0})
        >>> t, used = gemm_time_s(xeon, Gemm(m=49, n=512, k=4608), Precision.BF16, 2.0e9)
        >>> # one 7.2 MFLOP block per core at 1024 x 49/64 FLOP/cycle (49 of 64 tile rows filled)
        >>> used, round(t * 1e6, 2)
        (32, 4.61)
    """
    blocks = gemm_blocks(hw, g)
    used = max(1, min(hw.compute.cores, blocks))
    waves = ceil_div(blocks, used)
    rate = achieved_flops_per_cycle(hw, g, p) * clock_hz
    return waves * (g.flops / blocks) / rate, used


def fork_join_s(hw: CpuSpec, cores: int) -> float:
    """Fixed time of one op on ``cores`` threads: ``efficiency.op_overhead_us`` per level of the tree
    barrier that starts and joins them (OpenMP fork/join), log2(1 + cores) levels; one core still
    pays one level (the primitive's dispatch).

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> xeon = load_hardware("intel-xeon-platinum-8480", {"efficiency.op_overhead_us": 3.0})
        >>> round(fork_join_s(xeon, 1) * 1e6, 2), round(fork_join_s(xeon, 63) * 1e6, 2)
        (3.0, 18.0)
    """
    return overhead_s(hw) * math.log2(1 + cores)


def _unfused_attention(op: Op, options: CostOptions) -> bool:
    return (op.kind == OpKind.ATTENTION and options.attention_fusion_limit is not None
            and not attention_fused(op, options))


def _requantizes(op: Op, numerics: Numerics, options: CostOptions) -> bool:
    return (_unfused_attention(op, options)
            and numerics.compute.value in options.attention_fusion_limit.requantized_probabilities)


def requantized_probability_bytes(op: Op, numerics: Numerics, options: CostOptions) -> tuple[float, float]:
    """(extra bytes read, extra bytes written) of an unfused attention whose probabilities a node of their
    own requantizes to 8 bits for the int8 P.V GEMM (the stack's ``requantized_probabilities``): that node
    reads every probability at the tensors' format ``t`` and writes it at 1 byte, and P.V reads the 1-byte
    copy instead of the ``t``-byte one: ``t - (t - 1) = 1`` byte more read and 1 byte more written per score,
    whatever ``t``; (0, 0) otherwise.

    Example:
        >>> from simulator.spec.stack import AttentionFusionLimit
        >>> from simulator.workload import ops as O
        >>> lim = AttentionFusionLimit(kinds=("cpu",), precisions=("int8",), max_k=512, max_n=256,
        ...                            requantized_probabilities=("int8",), source="doc")
        >>> att = O.attention("a", batch=1, heads=16, q_len=384, kv_len=384, head_dim=64)
        >>> int8, bf16 = Numerics(Precision.INT8, Precision.INT8), Numerics(Precision.BF16, Precision.BF16)
        >>> requantized_probability_bytes(att, int8, CostOptions(attention_fusion_limit=lim))   # 16 x 384 x 384 scores
        (2359296.0, 2359296.0)
        >>> requantized_probability_bytes(att, bf16, CostOptions(attention_fusion_limit=lim))
        (0.0, 0.0)
    """
    if not _requantizes(op, numerics, options):
        return 0.0, 0.0
    from ..workload.ops import attention_scores

    s = attention_scores(op)
    return s * 1.0, s * 1.0


def fork_joins(op: Op, options: CostOptions, numerics: Numerics | None = None) -> int:
    """Parallel regions (fork/joins) op ``op`` runs as, per step: one, except an attention its stack's
    fused kernel does not take (:func:`~simulator.cost.base.attention_fused`), which the runtime runs as
    ``unfused_nodes`` nodes of its own (:class:`~simulator.spec.stack.AttentionFusionLimit`), each a
    primitive with its own parallel section over the stream's threads, one more when ``numerics`` is a
    precision whose probabilities a node of their own requantizes (:func:`requantized_probability_bytes`).

    Example:
        >>> from simulator.spec.stack import AttentionFusionLimit
        >>> from simulator.workload import ops as O
        >>> lim = AttentionFusionLimit(kinds=("cpu",), precisions=("bf16",), max_k=512, max_n=256,
        ...                            unfused_nodes=7, source="doc")
        >>> att = O.attention("a", batch=1, heads=16, q_len=384, kv_len=384, head_dim=64)
        >>> short = O.attention("a", batch=1, heads=16, q_len=128, kv_len=128, head_dim=64)
        >>> fork_joins(att, CostOptions(attention_fusion_limit=lim)), fork_joins(short, CostOptions(attention_fusion_limit=lim))
        (7, 1)
        >>> fork_joins(att, CostOptions()), fork_joins(O.matmul("fc", batch=1, m=384, k=64, n=64), CostOptions(attention_fusion_limit=lim))
        (1, 1)
        >>> q = AttentionFusionLimit(kinds=("cpu",), precisions=("int8",), max_k=512, max_n=256, unfused_nodes=7,
        ...                          requantized_probabilities=("int8",), source="doc")
        >>> fork_joins(att, CostOptions(attention_fusion_limit=q), Numerics(Precision.INT8, Precision.INT8))
        8
    """
    if _unfused_attention(op, options):
        return options.attention_fusion_limit.unfused_nodes + int(numerics is not None and _requantizes(op, numerics, options))
    return 1


def _element_cores(hw: CpuSpec, elems: float) -> int:
    return int(max(1, min(hw.compute.cores, -(-elems // ELEMENT_GRAIN))))


# Vector instructions an int8 convolution's store adds per output vector to the epilogue the graph
# counts (bias, activation: ``Op.vector_flops``), to turn the int32 accumulators into the int8 tensor the
# next layer reads: VCVTDQ2PS, VMULPS by the weight scales, VMAXPS + VMINPS (saturate_f32), VCVTPS2DQ and
# the narrowing store VPMOVUSDB/VPMOVSDB; the depthwise kernel first un-interleaves its accumulators with
# VPERMD (is_fast_depthwise). openvinotoolkit/oneDNN@032f111c src/cpu/x64/jit_avx512_core_x8s8s32x_conv_kernel.cpp
# store_output, the int8 kernel OpenVINO 2024.3 runs for depthwise convolutions: its impl-type parser
# (src/plugins/intel_cpu/src/onednn/iml_type_mapper.cpp) maps brdgmm's "brdgmm_dw:" name to no type in
# Convolution::getDefaultImplPriority until openvinotoolkit/openvino#27589 (2024-11), and brgemm
# convolution refuses depthwise (jit_brgemm_conv_utils.cpp, "for now direct approach is faster").
_INT8_REQUANT_INSTRUCTIONS = 6
_INT8_DW_PERMUTE = 1


def int8_requant_flops(op: Op, p: Precision) -> float:
    """Element-wise FLOP-equivalents an int8 convolution's requantizing store adds to ``op.vector_flops``
    (:data:`_INT8_REQUANT_INSTRUCTIONS`, plus :data:`_INT8_DW_PERMUTE` for a depthwise one), in the unit
    :func:`elementwise_flops_per_cycle` counts: one instruction on every lane is 2 FLOP per lane (the
    rate counts an FMA as 2).

    Example:
        >>> from simulator.workload import ops as O
        >>> c = O.conv2d("c", batch=1, in_ch=16, h=8, w=8, out_ch=16, kernel=1)
        >>> int8_requant_flops(c, Precision.INT8) / c.output_elems           # 6 instructions x 2
        12.0
        >>> int8_requant_flops(c, Precision.FP32)
        0.0
    """
    if p != Precision.INT8 or op.kind != OpKind.CONV2D or not op.gemms:
        return 0.0
    dw = any(g.n == 1 for g in op.gemms)
    return 2.0 * (_INT8_REQUANT_INSTRUCTIONS + (_INT8_DW_PERMUTE if dw else 0)) * op.output_elems


def _compute(op: Op, hw: CpuSpec, p: Precision) -> tuple[float, int]:
    """(compute seconds, cores kept busy) of one op: its GEMMs, then its element-wise work."""
    c = hw.compute
    # one core turbos, but never past what the whole socket's peak counts (cores x all-core clock):
    # on a one-core socket (--set compute.cores=1) the turbo would beat the roofline
    turbo = min(c.single_core_clock_ghz or c.clock_ghz, c.cores * c.clock_ghz)
    steps = max(1, op.sequential_steps)
    seconds, busy, tiles = 0.0, 0, False
    for g in op.gemms:
        per_step = Gemm(m=g.m, n=g.n, k=g.k, count=max(1, g.count // steps)) if steps > 1 else g
        blocks = gemm_blocks(hw, per_step)
        one_core = blocks == 1 and c.single_core_clock_ghz
        clock = (turbo if one_core else c.clock_ghz) * GIGA
        t, used = gemm_time_s(hw, per_step, p, clock)
        seconds += t * steps
        busy = max(busy, used)
        tiles = tiles or on_matrix_unit(hw, per_step, p)
    # the requantizing store of the kernel read (x8s8s32x, the SIMD path); the AMX brgemm path's
    # epilogue is left as the graph counts it
    element_flops = op.vector_flops + (0.0 if tiles else int8_requant_flops(op, p))
    if element_flops:
        cores = _element_cores(hw, max(op.output_elems, op.input_elems) / steps)
        busy = max(busy, cores)
        vec = elementwise_flops_per_cycle(hw, p) * hw.efficiency.vector
        clock = (turbo if cores == 1 else c.clock_ghz) * GIGA
        element_s = element_flops / (cores * clock * vec)
        overlapped = tiles and op.kind in _EPILOGUE_KINDS
        seconds = max(seconds, element_s) if overlapped else seconds + element_s
    if not busy:
        busy = _element_cores(hw, max(op.output_elems, op.input_elems) / steps)
    return seconds, busy


def cost(op: Op, hw: CpuSpec, numerics: Numerics, options: CostOptions) -> OpCost:
    """Cost of ``op`` on one CPU socket (see the module docstring for the three limits)."""
    compute_s, busy = _compute(op, hw, numerics.compute)
    steps = max(1, op.sequential_steps)
    # a stack whose fused attention kernel does not take this shape runs it as matmul, softmax, matmul
    # with the scores in memory at the tensors' format (its softmax node, no FP32 cast kernels)
    act_in, act_out, w_read = op_bytes(op, tensor_numerics(op, hw, numerics), fused_attention=attention_fused(op, options),
                                       fp32_softmax=options.attention_fusion_limit is None, passes=options.score_passes)
    rq_in, rq_out = requantized_probability_bytes(op, numerics, options)
    act_in, act_out = act_in + rq_in, act_out + rq_out
    main = hw.main_memory.name
    llc = hw.memory[-2] if len(hw.memory) >= 2 else None
    levels: dict[str, float] = {}
    acts = act_in + act_out
    if llc is not None and acts / steps <= LLC_SHARE * cache_bytes(hw):
        levels[llc.name] = acts
    else:
        levels[main] = acts
    weights_at = llc.name if llc is not None and options.weights_on_chip else main
    levels[weights_at] = levels.get(weights_at, 0.0) + w_read
    # a few cores cannot pull the socket's full DRAM bandwidth
    share = min(1.0, busy / max(1.0, hw.compute.cores * DRAM_SATURATING_CORE_SHARE))
    return finish(hw=hw, numerics=numerics, options=options, flops=op.flops, compute_s=compute_s,
                  bytes_by_level=levels, overhead_s=fork_join_s(hw, busy) * steps * fork_joins(op, options, numerics),
                  memory_efficiency=hw.efficiency.memory * share)
