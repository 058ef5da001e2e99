"""Device strings of the measurement rows -> catalogue names (``hardware_specs/``) and what-if overrides.

Explicit tables first (:data:`DEVICES`), then regex fallbacks (:data:`DEVICE_RULES`) for spellings
the table lacks. A device whose spec is not in ``hardware_specs/`` yet resolves to None, and the
row is reported as unexpressible.
"""
from __future__ import annotations

import re

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
