"""Calibration families: catalogue devices that share one set of fitted efficiency parameters."""
from __future__ import annotations

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
    "amd-versal-vck5000-8pe-mlperf-v1": "xilinx-dpucvdx8h",
    "amd-versal-vek280": "xilinx-dpucv2dx8g", "amd-versal-vek280-c20b1": "xilinx-dpucv2dx8g",
    "amd-alveo-v70": "xilinx-dpucv2dx8g",
    # the low-latency HBM DPU is its own IP too: its feature maps live in HBM ("Virtual" feature-map
    # banks in DPUCAHX8L_ISA0.prototxt), not in on-chip banks like the DPUCAHX8H / DPUCZDX8G it would
    # otherwise share a family with; the zoo's DPUCAHX8L tables run ResNet-50 at ~12-15 % of the lane
    # peak where the DPUCAHX8H runs it at ~75 %: most of that is its element-wise adds and concats
    # as HBM passes of their own (dpu.hbm_pass_element_ns in its spec files); with them the family's
    # convolutions fit at ~0.88 of the lane peak
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
