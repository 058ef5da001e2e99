"""Measurement rows of validation/data/*.csv and how each maps to a simulation.

Every row becomes either a :class:`Case` (what to simulate and how to turn the result into the
row's metric) or an :class:`Unexpressible` naming the reason. Nothing is dropped silently.

The maps below are explicit tables: device strings to catalogue names, workload strings to zoo
names (or to the one-op micro-benchmarks built in :mod:`validation.predict`), precision strings to
formats. A device whose spec is not in ``hardware_specs/`` yet is reported as unexpressible.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
MEASUREMENTS = DATA / "measurements.csv"
# every table scored and fitted by make validate (the external table is never fitted)
CALIBRATION_FILES = tuple(DATA / f for f in ("measurements.csv", "cpu.csv", "tpu.csv", "fpga.csv", "edge.csv",
                                                "asic.csv"))

# Data-parallel rows up to one node (8 devices) are simulated as n independent devices; beyond a
# node they run as a system spec in the cluster engine (validation.cluster_rows).
MAX_DP_DEVICES = 8

# device string in measurements.csv -> catalogue candidates (first present wins) and what-if overrides
DEVICES: dict[str, tuple[tuple[str, ...], dict]] = {
    "NVIDIA A100 SXM": (("nvidia-a100-sxm-80gb",), {}),
    "NVIDIA A100 PCIe": (("nvidia-a100-pcie",), {}),
    # the 40 GB PCIe card: HBM2 at 1555 GB/s against the 80 GB card's 1935 (NVIDIA A100 datasheet,
    # https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf)
    "NVIDIA A100-PCIe-40GB": (("nvidia-a100-pcie",), {"memory.hbm.bandwidth_gbs": 1555.0,
                                                      "memory.hbm.capacity_bytes": 42_949_672_960}),
    "NVIDIA H100 SXM": (("nvidia-h100-sxm",), {}),
    "NVIDIA H200 SXM": (("nvidia-h200",), {}),
    "NVIDIA GH200 (H100-class GPU, 900W, 141GB HBM3e)": (("nvidia-gh200",), {}),
    "NVIDIA B200 SXM": (("nvidia-b200",), {}),
    "AMD MI300X": (("amd-mi300x",), {}),
    # one of the two GCDs: half the CUs, half the HBM stacks, half the L2 (the spec models the module)
    "AMD MI250X (1 GCD)": (("amd-mi250x",), {"compute.sm_count": 110, "memory.hbm.bandwidth_gbs": 1638.4,
                                             "memory.hbm.capacity_bytes": 68_719_476_736,
                                             "memory.l2.capacity_bytes": 8_388_608,
                                             "power.tdp_w": 280.0, "power.idle_w": 45.0, "power.active_w": 127.0}),
    "NVIDIA H100 SXM (inferred from 3300 GB/s max)": (("nvidia-h100-sxm",), {}),
    "NVIDIA A100-SXM4-40GB": (("nvidia-a100-sxm-40gb",), {}),
    "NVIDIA V100-SXM2-16GB": (("nvidia-v100-sxm2",), {}),
    "NVIDIA T4": (("nvidia-t4",), {}),
    "NVIDIA H100 SXM 80GB": (("nvidia-h100-sxm",), {}),
    "NVIDIA H100 SXM 80GB 80GB": (("nvidia-h100-sxm",), {}),
    "NVIDIA A100 (8x NVLink)": (("nvidia-a100-sxm-80gb",), {}),
    "NVIDIA A100 SXM4 80GB": (("nvidia-a100-sxm-80gb",), {}),
    "NVIDIA V100 SXM2 16GB": (("nvidia-v100-sxm2",), {}),
    "NVIDIA V100 SXM2 32GB": (("nvidia-v100-sxm2-32gb", "nvidia-v100-sxm2"), {}),
    "NVIDIA A100 SXM4 40GB": (("nvidia-a100-sxm-40gb",), {}),
    "NVIDIA A100 40GB": (("nvidia-a100-sxm-40gb",), {}),
    "NVIDIA H200 SXM 141GB": (("nvidia-h200",), {}),
    "AMD MI300X 192GB": (("amd-mi300x",), {}),
    "Google TPU v3": (("google-tpu-v3",), {}),
    "Google TPU v4": (("google-tpu-v4",), {}),
    "Google TPU v5e": (("google-tpu-v5e",), {}),
    "Google TPU v5p": (("google-tpu-v5p",), {}),
    "Google TPU v6e (Trillium)": (("google-tpu-v6e",), {}),
    "Intel Xeon Platinum 8480+ (2 sockets)": (("intel-xeon-platinum-8480",), {}),
    "Intel Xeon Platinum 8480+ (CPU-only)": (("intel-xeon-platinum-8480",), {}),
    "NVIDIA H100 SXM 80GB (DGX H100, MaxQ power-capped)": (("nvidia-h100-sxm",), {}),
    "AWS Inferentia2": (("aws-inferentia2",), {}),
    "AWS Trainium (Trn1)": (("aws-trainium", "aws-trainium1", "aws-trn1"), {}),
    "NVIDIA A100 (variant not stated)": (("nvidia-a100-sxm-80gb",), {}),
    "NVIDIA B200 180GB": (("nvidia-b200",), {}),
    "NVIDIA H100 80GB (NIM benchmark system)": (("nvidia-h100-sxm",), {}),
    "NVIDIA H100 SXM5 80GB": (("nvidia-h100-sxm",), {}),
    "NVIDIA H100 SXM5 80GB (Dell XE9680)": (("nvidia-h100-sxm",), {}),
    "NVIDIA H100 SXM5 80GB (Azure ND H100 v5)": (("nvidia-h100-sxm",), {}),
    "NVIDIA H200 SXM5 141GB": (("nvidia-h200",), {}),
    "Intel Gaudi2": (("intel-gaudi2",), {}),
    "Eyeriss (research ASIC, 168 PEs)": (("mit-eyeriss", "eyeriss"), {}),
    "Google Edge TPU (USB Accelerator, USB 3.0)": (("google-edge-tpu",), {}),
    # the Dev Board's Edge TPU sits on the SoC's PCIe link, not USB (see the spec's notes)
    "Google Edge TPU (Dev Board)": (("google-edge-tpu",), {"host_link.bandwidth_gbs": 0.5,
                                                         "host_link.latency_us": 20.0}),
    "AMD/Xilinx Versal VCK190 (XCVC1902)": (("amd-versal-vck190",), {}),
    "AMD/Xilinx Versal VCK5000 (XCVC1902)": (("amd-versal-vck5000",), {}),
    "AMD/Xilinx Alveo U50LV": (("amd-alveo-u50lv",), {}),
    "AMD/Xilinx Alveo U200": (("amd-alveo-u200",), {}),
    "AMD/Xilinx Alveo U250": (("amd-alveo-u250",), {}),
    "AMD/Xilinx Alveo U280": (("amd-alveo-u280",), {}),
    "AMD/Xilinx Zynq UltraScale+ ZCU102": (("amd-zcu102",), {}),
    "AMD/Xilinx Zynq UltraScale+ ZCU104": (("amd-zcu104",), {}),
    "AMD/Xilinx Kria KV260": (("amd-kria-kv260",), {}),
    "AMD/Xilinx Versal VEK280 (VE2802)": (("amd-versal-vek280",), {}),
    "AMD/Xilinx Alveo V70": (("amd-alveo-v70",), {}),
    "AMD/Xilinx Alveo U50": (("amd-alveo-u50",), {}),
    "AMD/Xilinx Alveo U55C": (("amd-alveo-u55c",), {}),
    "Desktop CPU (Coral footnote 1; model not captured)": (("intel-xeon-gold-6154",), {}),
    "Embedded CPU (Coral footnote 2; Arm, model not captured)": (("arm-cortex-a53",), {}),
}

# Fallback rules for device strings not in the table (held-out rows may spell devices differently):
# the first regex that matches (case-insensitive) names the catalogue candidates.
DEVICE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"maxq", ()),  # power-capped runs at an unstated cap: refused (see map_row)
    (r"h100.*pcie", ("nvidia-h100-pcie",)),
    (r"gh200", ("nvidia-gh200",)),
    (r"h100", ("nvidia-h100-sxm",)),
    (r"h200", ("nvidia-h200",)),
    (r"b200", ("nvidia-b200",)),
    (r"a100.*pcie", ("nvidia-a100-pcie",)),
    (r"a100.*40", ("nvidia-a100-sxm-40gb",)),
    (r"a100", ("nvidia-a100-sxm-80gb",)),
    (r"v100.*32", ("nvidia-v100-sxm2-32gb", "nvidia-v100-sxm2")),
    (r"v100", ("nvidia-v100-sxm2",)),
    (r"\bt4\b", ("nvidia-t4",)),
    (r"\bl4\b", ("nvidia-l4",)),
    (r"4090", ("nvidia-rtx-4090",)),
    (r"orin nx 16", ("nvidia-jetson-orin-nx-16gb",)),
    (r"orin nano|orin nx", ()),  # no spec yet: refused as such
    (r"agx orin|orin", ("nvidia-jetson-agx-orin",)),
    (r"mi300x", ("amd-mi300x",)),
    (r"mi250x", ("amd-mi250x",)),
    (r"tpu v6e|trillium", ("google-tpu-v6e",)),
    (r"tpu v5p", ("google-tpu-v5p",)),
    (r"tpu v5e", ("google-tpu-v5e",)),
    (r"tpu v4", ("google-tpu-v4",)),
    (r"tpu v3", ("google-tpu-v3",)),
    (r"tpu v2", ("google-tpu-v2",)),
    (r"edge tpu", ("google-edge-tpu",)),
    (r"8480", ("intel-xeon-platinum-8480",)),
    (r"8592", ("intel-xeon-platinum-8592",)),
    (r"\b8580\b", ("intel-xeon-platinum-8580",)),
    (r"8490h", ("intel-xeon-platinum-8490h",)),
    (r"max 9480", ("intel-xeon-max-9480",)),
    (r"6980p", ("intel-xeon-6980p",)),
    (r"6787p", ("intel-xeon-6787p",)),
    (r"epyc 9175f", ("amd-epyc-9175f",)),
    (r"epyc 9554", ("amd-epyc-9554",)),
    (r"epyc 9654", ("amd-epyc-9654",)),
    (r"grace", ("arm-neoverse-v2-grace",)),
    (r"inferentia2", ("aws-inferentia2",)),
    (r"trainium2|trn2", ("aws-trainium2",)),
    (r"trainium|trn1", ("aws-trainium", "aws-trainium1")),
    (r"eyeriss", ("mit-eyeriss", "eyeriss")),
    (r"gaudi2", ("intel-gaudi2",)),
    (r"groq", ("groq-lpu",)),
    (r"vck190", ("amd-versal-vck190",)),
    (r"vck5000", ("amd-versal-vck5000",)),
    (r"u50lv", ("amd-alveo-u50lv",)),
    (r"u200", ("amd-alveo-u200",)),
    (r"u250", ("amd-alveo-u250",)),
    (r"u280", ("amd-alveo-u280",)),
    (r"zcu102", ("amd-zcu102",)),
    (r"zcu104", ("amd-zcu104",)),
    (r"kv260|kria", ("amd-kria-kv260",)),
    (r"vek280|ve2802", ("amd-versal-vek280",)),
    (r"\bv70\b", ("amd-alveo-v70",)),
    (r"u55c", ("amd-alveo-u55c",)),
    (r"\bu50\b", ("amd-alveo-u50",)),
    (r"stratix 10 nx", ("intel-stratix-10-nx",)),
)

# MLPerf BERT-Large runs SQuAD v1.1 samples at their own lengths (NVIDIA's TensorRT harness and
# Intel's, with variable-length kernels); the length distribution is bundled with its source
SQUAD_LENGTHS = "squad-v1.1-bert-384"

# calibration families: devices that share one set of efficiency parameters
FAMILIES: dict[str, str] = {
    "nvidia-v100-sxm2": "nvidia-datacenter", "nvidia-v100-sxm2-32gb": "nvidia-datacenter",
    "nvidia-a100-sxm-40gb": "nvidia-datacenter", "nvidia-a100-sxm-80gb": "nvidia-datacenter",
    "nvidia-a100-pcie": "nvidia-datacenter", "nvidia-h100-sxm": "nvidia-datacenter",
    "nvidia-h100-pcie": "nvidia-datacenter", "nvidia-h200": "nvidia-datacenter", "nvidia-gh200": "nvidia-datacenter",
    "nvidia-b200": "nvidia-datacenter",
    "nvidia-t4": "nvidia-inference", "nvidia-l4": "nvidia-inference", "nvidia-rtx-4090": "nvidia-inference",
    "nvidia-jetson-agx-orin": "nvidia-inference", "nvidia-jetson-orin-nx-16gb": "nvidia-inference",
    "amd-mi300x": "amd-instinct", "amd-mi250x": "amd-instinct",
    # Versal AI-Engine DPUs, one family per DPU IP (each its own array, PL interface and compiler
    # back end): DPUCVDX8G (VCK190), DPUCVDX8H (VCK5000), DPUCV2DX8G on AIE-ML tiles (VEK280, V70)
    "amd-versal-vck190": "xilinx-dpucvdx8g", "amd-versal-vck190-c32b3": "xilinx-dpucvdx8g",
    "amd-versal-vck5000": "xilinx-dpucvdx8h", "amd-versal-vck5000-8pe": "xilinx-dpucvdx8h",
    "amd-versal-vek280": "xilinx-dpucv2dx8g", "amd-versal-vek280-c20b1": "xilinx-dpucv2dx8g",
    "amd-alveo-v70": "xilinx-dpucv2dx8g",
    # the low-latency HBM DPU is its own IP too: its feature maps live in HBM ("Virtual" feature-map
    # banks in DPUCAHX8L_ISA0.prototxt), not in on-chip banks like the DPUCAHX8H / DPUCZDX8G it would
    # otherwise share a family with; the zoo's DPUCAHX8L tables run ResNet-50 at ~12-15 % of the lane
    # peak where the DPUCAHX8H runs it at ~75 %
    "amd-alveo-u50-dpucahx8l": "xilinx-dpucahx8l", "amd-alveo-u280-dpucahx8l": "xilinx-dpucahx8l",
}


FAMILY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("google-edge-tpu", "google-edge-tpu"),
    ("google-tpu", "google-tpu"),
    # Trainium and Inferentia2 share the NeuronCore-v2 but not their evidence: Inferentia2's rows
    # are compiled inference, Trainium's are training; one efficiency would be wrong for both
    ("aws-trainium", "aws-trainium"),
    ("aws-", "aws-neuron"),
    # Vitis AI DPUs: AI-Engine overlays on Versal vs DSP-slice overlays on Alveo / Zynq
    ("amd-versal", "xilinx-versal-aie-dpu"), ("amd-alveo", "xilinx-dsp-dpu"), ("amd-zcu", "xilinx-dsp-dpu"),
    ("amd-kria", "xilinx-dsp-dpu"),
    # server CPUs: every Xeon since Sapphire Rapids runs the same AMX / AVX-512 kernels (oneDNN via IPEX
    # and OpenVINO), every EPYC the same AVX-512-on-Zen kernels. Emerald Rapids (Platinum 85xx: 8580,
    # 8592+) gets its own share of the base-clock peak: per core, at the same 2.0 GHz base clock, the
    # OpenVINO 2024.3 table gives the 8580 1.16-1.19x the 8480+'s throughput on BERT-Large in FP32, BF16
    # and int8 and on ResNet-50 FP32 (1.10x int8, 1.75x BF16), one-core streams the model reads as
    # compute-bound: a sustained all-core clock (or cache effect) the spec's base clock does not carry,
    # and no AMX all-core frequency of either part was found published. One share for both had MLPerf
    # ResNet-50 on the 8592+ (X011, X012) -19/-20 % and the 8480+ BERT BF16/FP32 rows +16/+25 %.
    # Their per-op fork/join is the same runtime's (validation.stages.OVERHEAD_FROM).
    ("intel-xeon-platinum-85", "intel-xeon-emr"), ("intel-xeon", "intel-xeon"), ("amd-epyc", "amd-epyc"),
)


# Inference stacks that compile the graph (software, precision and workload cells, first match
# wins). Not TF 1.x XLA auto-clustering: its rows (M044, M046) run within 20 % of the same GPU's
# unfused eager rows. Training is never simulated fused: batch-norm statistics and every backward
# op still make their own passes over the activations.
COMPILED_STACKS: tuple[tuple[str, str], ...] = (
    (r"openvino", "openvino"), (r"vitis", "vitis-ai"), (r"neuron", "neuron"), (r"tflite|edgetpu", "tflite"),
    (r"jax|flax|maxtext|pax|saxml|jetstream", "xla"),
    # TensorRT-LLM before 0.7.1: masked-MHA decode, one thread block per query head (stacks/tensorrt-llm-0.6.yaml)
    (r"tensorrt-llm v0\.[56]\b", "tensorrt-llm-0.6"),
    # trtllm-bench of TensorRT-LLM ~1.0 runs the PyTorch backend: CUDA graphs for generation-only
    # iterations, context iterations eager (stacks/tensorrt-llm.yaml)
    (r"trtllm-bench|tensorrt-llm ~?v?1\.", "tensorrt-llm"),
    (r"tensorrt|trt", "tensorrt"),
)
# a compiled row's stack when its cells name none: by device kind (MLPerf NVIDIA GPU submissions
# run TensorRT engines; Intel CPU ones oneDNN through Intel Extension for PyTorch)
KIND_COMPILED = {"gpu": "tensorrt", "cpu": "onednn", "tpu": "xla", "fpga": "vitis-ai", "asic": "compiled"}
# frameworks that dispatch every op from the host (GPU rows only: CPU rows run in their threads)
EAGER_STACKS: tuple[tuple[str, str], ...] = ((r"pytorch", "torch-eager"), (r"tensorflow", "tf-graph"))


def stack_for(row: Row, kind: str, mode: str, hardware: str = "") -> str:
    """The software stack (``stacks/*.yaml``) a row ran under.

    Example:
        >>> r = Row(id="X", device="d", n_devices=1, workload="ResNet-50 (TensorRT)", mode="inference",
        ...         precision="INT8", batch_size="1", shape="224x224", metric="latency_ms", value=1.0,
        ...         software="TensorRT 8.6", notes="")
        >>> stack_for(r, "gpu", "inference"), stack_for(r, "gpu", "training")
        ('tensorrt', 'default')
    """
    text = f"{row.software} {row.precision} {row.workload}".lower()
    compiled = kind in ("tpu", "asic", "fpga") or "mlperf" in text or any(re.search(p, text) for p, _ in COMPILED_STACKS)
    if mode == "inference" and compiled:
        named = next((s for p, s in COMPILED_STACKS if re.search(p, text)), None)
        if named is None and hardware == "google-edge-tpu":
            named = "tflite"
        if named is None and hardware.startswith("aws-"):
            named = "neuron"
        named = named or KIND_COMPILED[kind]
        if named == "tensorrt" and "mlperf" in text and hardware.startswith("nvidia-") and "xavier" not in hardware:
            named = "tensorrt-mlperf"  # NVIDIA's own MLPerf harness: TensorRT plus its plugins (RES2_FULL_FUSION)
        if named == "onednn" and "mlperf" in text and hardware.startswith("intel-xeon"):
            named = "intel-mlperf"  # Intel's own MLPerf harness: oneDNN plus its Graph Compiler ResNet-50 backbone
        return named
    if kind == "asic" and mode == "training" and hardware.startswith("intel-gaudi"):
        return "habana-graph"  # SynapseAI graph compiler: batch norm + ReLU / + add + ReLU fused, fwd and bwd
    if kind == "gpu" and mode == "training" and "mxnet" in row.software.lower() and "mlperf" in row.workload.lower():
        return "mxnet-mlperf"  # NVIDIA's MLPerf Training MXNet ResNet-50: fused batch norm + add + ReLU kernels
    if kind == "gpu":
        return next((s for p, s in EAGER_STACKS if re.search(p, row.software.lower())), "default")
    return "default"


def family_of(hardware: str, kind: str) -> str:
    """Calibration family of a catalogue device: devices sharing one set of efficiency parameters.

    Example:
        >>> family_of("nvidia-h100-sxm", "gpu"), family_of("amd-alveo-u200", "fpga")
        ('nvidia-datacenter', 'xilinx-dsp-dpu')
    """
    if hardware in FAMILIES:
        return FAMILIES[hardware]
    for prefix, fam in FAMILY_PREFIXES:
        if hardware.startswith(prefix):
            return fam
    return f"{kind}-{hardware}"


@dataclass(frozen=True)
class Row:
    """One line of measurements.csv, typed."""

    id: str
    device: str
    n_devices: int | None
    workload: str
    mode: str
    precision: str
    batch_size: str
    shape: str
    metric: str
    value: float
    software: str
    notes: str
    source: str = ""

    @property
    def number(self) -> int:
        return int(re.sub(r"\D", "", self.id) or 0)

    @property
    def trust(self) -> str:
        m = re.search(r"trust=(\w+)", self.notes)
        return m.group(1) if m else "?"


@dataclass(frozen=True)
class Case:
    """A row expressed as a simulation.

    ``task``: ``model`` (a zoo workload step), ``gemm`` (one matmul), ``stream`` (one element-wise
    copy-like op), ``generate`` (prefill + decode steps of an LLM, on ``devices`` devices),
    ``power`` (average power of a proxy step), ``collective`` (one nccl-tests style collective) or
    ``cluster`` (a training step of a parallel layout over a system's nodes) or ``serve``
    (continuous batching at saturation, :func:`simulator.serve`). ``scale`` multiplies
    per-device throughput (data-parallel rows within a node).
    """

    row: Row
    hardware: str
    kind: str
    family: str
    task: str
    category: str
    workload: str = ""
    mode: str = "inference"
    precision: str = "bf16"
    weight_precision: str | None = None
    batch: int = 1
    seq_len: int | None = None
    image_size: int | None = None
    scale: float = 1.0
    accumulation: int = 1
    optimizer: str = "adam"
    overrides: tuple[tuple[str, object], ...] = ()
    gemm: tuple[int, int, int, int] | None = None      # m, n, k, count
    gemm_sweep: bool = False                           # a "max achievable" row: the best over a shape sweep
    gemm_c: tuple[str, bool] = ("", False)             # C/D format when not the inputs' ("fp32"), C read (beta != 0)
    stream: tuple[float, int] | None = None            # bytes moved per pass, tensors read (1 or 2)
    generate: tuple[int, int] | None = None            # input tokens, output tokens
    stack: str = "default"                             # software stack (stacks/*.yaml) the row ran under
    lengths: str = ""                                  # a dataset's sequence-length distribution, run unpadded
    logits: str = "all"                                # "last": LLM prefill computes one position's logits
    fused_attention: bool = True                       # FlashAttention-style kernel (not in 2021 eager stacks)
    # multi-device rows (validation.cluster_rows): devices, the system spec or device they run on,
    # the parallel layout ("dp=48,tp=8,pp=6,zero=1"), micro-batches per replica, recompute policy
    devices: int = 1
    system: str = ""
    parallelism: str = ""
    microbatches: int | None = None
    checkpointing: str = "none"
    collective: tuple[str, float] | None = None        # operation, bytes per rank
    served_metric: str = ""                            # generate rows: ttft_ms, itl_ms, tokens_per_s(_per_gpu)
    saturated: tuple[int, int] | None = None           # serve rows: max requests in flight, requests
    max_prefill_tokens: int | None = None              # serve rows: prompt tokens admitted per iteration
    system_overrides: tuple[tuple[str, object], ...] = ()  # changes to the system spec (a slice's size)
    # MLPerf blocks that end in an evaluation: (tokens per block, eval samples, eval global batch)
    mlperf_eval: tuple[int, int, int] | None = None
    host_threads: int | None = None                    # DPU rows: Vitis AI runner threads (None: DPU only)
    latency_bound_s: float | None = None               # MLPerf Server rows: p99 bound the ``scale`` instances meet
    # False: the row is scored (in-sample, cross-validated) but is no evidence for the efficiency fits:
    # workloads whose rows are scored with the parameters fitted on the others (validation.diffusion_rows)
    fit_evidence: bool = True
    assumptions: tuple[str, ...] = ()

    @property
    def eager(self) -> bool:
        """The row's stack dispatches op by op from the host (its per-op time is a fit target)."""
        from simulator.spec.stack import load_stack

        return load_stack(self.stack).host_dispatch_us > 0


@dataclass(frozen=True)
class Unexpressible:
    """A row the simulator cannot express yet, and why."""

    row: Row
    reason: str
    kind: str = "?"


def read_calibration() -> list[Row]:
    """Every row of the calibration tables (:data:`CALIBRATION_FILES`), in file order.

    Raises:
        ValueError: an id appears twice.
    """
    rows = [r for path in CALIBRATION_FILES for r in read_rows(path)]
    seen: set[str] = set()
    for r in rows:
        if r.id in seen:
            raise ValueError(f"validation data: row id {r.id} appears twice")
        seen.add(r.id)
    return rows


def read_rows(path: Path = MEASUREMENTS) -> list[Row]:
    """Parse one measurement table into rows (ids as written, values as floats)."""
    out: list[Row] = []
    with open(path, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            n = r.get("n_devices", "").strip()
            if r["precision"].strip().lower() == "see above" and out:
                r["precision"] = f"{out[-1].precision} (from row {out[-1].id}: 'see above')"
            out.append(Row(id=r["id"].strip(), device=r["device"].strip(), n_devices=int(n) if n.isdigit() else None,
                           workload=r["workload"].strip(), mode=r["mode"].strip(), precision=r["precision"].strip(),
                           batch_size=r["batch_size"].strip(), shape=r["seq_len_or_image_size"].strip(),
                           metric=r["metric"].strip(), value=float(r["value"]), software=r.get("software", "").strip(),
                           notes=r.get("notes", "").strip(), source=r.get("source", "").strip()))
    return out


def resolve_device(device: str, catalogue: dict) -> tuple[str | None, dict]:
    """(catalogue name or None, overrides) for a device string."""
    if device in DEVICES:
        names, overrides = DEVICES[device]
    else:
        names, overrides = (), {}
        for pattern, cands in DEVICE_RULES:
            if re.search(pattern, device, re.I):
                names = cands
                break
    for n in names:
        if n in catalogue:
            return n, overrides
    return None, overrides


def parse_precision(text: str, kind: str, vendor_default: str | None = None) -> str | None:
    """Simulator format for a precision cell (AMP -> fp16, or bf16 on TPU); None if not stated."""
    t = text.lower()
    half = "bf16" if kind == "tpu" else "fp16"
    if "nvfp4" in t or "fp4" in t:
        return "fp4"
    if "bf16 matmul" in t:
        return "bf16"
    if "fp8" in t:
        return "fp8"
    if "int8" in t:
        return "int8"
    if "16-bit fixed" in t:
        return "int16"
    if "tf32" in t:
        return "tf32"
    if "fp16" in t or "amp" in t or "mixed precision" in t:
        return half
    if "bf16" in t:
        return "bf16"
    if "fp32" in t:
        return "fp32"
    if "fp64" in t or t == "bytes":
        return "fp32"  # byte counts are converted explicitly in stream cases
    return vendor_default


def first_int(text: str) -> int | None:
    m = re.search(r"\d+", text.replace(",", ""))
    return int(m.group()) if m else None


def assign_splits(items: list) -> dict[str, str]:
    """The fixed train/test split: ``fit`` / ``test`` alternate, in id order, within each stratum
    (device kind, category); the first row of a stratum is a fit row. Unexpressible rows get ``-``.

    Stratified so that every kind of evidence (GEMM, bandwidth, batch-1 latency, large-batch
    inference, training, LLM, power) of every device kind has rows on both sides; plain id parity
    would put whole categories on one side, since the ids come in vendor pairs.
    """
    out: dict[str, str] = {}
    strata: dict[tuple[str, str], list] = {}
    for it in items:
        if isinstance(it, Case):
            strata.setdefault((it.kind, it.category), []).append(it)
        else:
            out[it.row.id] = "-"
    for members in strata.values():
        for i, it in enumerate(sorted(members, key=lambda c: (c.row.number, c.row.id))):
            out[it.row.id] = "fit" if i % 2 == 0 else "test"
    return out


@dataclass
class _Ctx:
    row: Row
    hardware: str
    kind: str
    overrides: dict
    assumptions: list[str] = field(default_factory=list)
