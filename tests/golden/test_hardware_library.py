"""Golden checks of the bundled hardware library against the datasheet figures in validation/data/specs.csv.

What is checked:

1. every required device loads by name and is listed by ``catalogue()``;
2. for every device with a row in ``specs.csv`` (mapped explicitly in :data:`SPECS_ROWS`), the derived
   dense matrix peak (BF16, or FP16 where the device has no BF16) and INT8, the main-memory capacity and
   bandwidth and the TDP agree with the row within 2 %; blank or non-numeric cells are skipped;
3. every YAML file's ``name`` equals its file stem, and its ``kind`` the folder it sits in;
4. no two files share a name.

Units: vendors label binary memory capacities as "GB" (an "80 GB" H100 holds 80 GiB of HBM), so every
``mem_capacity_gb`` cell is read as GiB. Bandwidth is decimal GB/s unless the cell says GiB/s.
"""
from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

from simulator.cost.peaks import matrix_flops_per_s
from simulator.spec.loader import SPEC_ROOT, catalogue, load_hardware
from simulator.units import Precision
from simulator.yamlio import read_yaml_file

SPECS_CSV = Path(__file__).resolve().parents[2] / "validation" / "data" / "specs.csv"
TOLERANCE = 0.02
KIND_DIRS = ("cpu", "gpu", "tpu", "fpga", "asic")
GIB = 2**30

REQUIRED = (
    "nvidia-v100-sxm2", "nvidia-a100-sxm-40gb", "nvidia-a100-sxm-80gb", "nvidia-h100-sxm", "nvidia-h100-pcie",
    "nvidia-h200", "nvidia-b200", "nvidia-l4", "nvidia-t4", "nvidia-rtx-4090", "nvidia-jetson-agx-orin",
    "amd-mi250x", "amd-mi300x",
    "google-tpu-v2", "google-tpu-v3", "google-tpu-v4", "google-tpu-v5e", "google-tpu-v5p", "google-tpu-v6e",
    "google-edge-tpu",
    "intel-xeon-platinum-8480", "amd-epyc-9654", "arm-neoverse-v2-grace",
    "amd-alveo-u250", "amd-alveo-u280", "amd-versal-vck190", "amd-versal-vck5000", "intel-stratix-10-nx",
    "aws-inferentia2", "aws-trainium", "groq-lpu", "mit-eyeriss",
)

# Our device name -> the `device` cell of its specs.csv row.
SPECS_ROWS = {
    "nvidia-v100-sxm2": "NVIDIA V100 SXM2 (16/32 GB)",
    "nvidia-a100-sxm-40gb": "NVIDIA A100 SXM4 40GB",
    "nvidia-a100-sxm-80gb": "NVIDIA A100 SXM4 80GB",
    "nvidia-h100-sxm": "NVIDIA H100 SXM5 80GB",
    "nvidia-h100-pcie": "NVIDIA H100 PCIe 80GB",
    "nvidia-h200": "NVIDIA H200 SXM 141GB",
    "nvidia-b200": "NVIDIA B200 SXM 180GB",
    "nvidia-l4": "NVIDIA L4",
    "nvidia-t4": "NVIDIA T4",
    "amd-mi250x": "AMD Instinct MI250X",
    "amd-mi300x": "AMD Instinct MI300X",
    "google-tpu-v2": "Google TPU v2",
    "google-tpu-v3": "Google TPU v3",
    "google-tpu-v4": "Google TPU v4",
    "google-tpu-v5e": "Google TPU v5e",
    "google-tpu-v5p": "Google TPU v5p",
    "google-tpu-v6e": "Google TPU v6e (Trillium)",
    "google-edge-tpu": "Google Edge TPU",
    "intel-xeon-platinum-8480": "Intel Xeon Platinum 8480+ (Sapphire Rapids)",
    "amd-epyc-9654": "AMD EPYC 9654 (Genoa)",
    "amd-alveo-u250": "AMD/Xilinx Alveo U250",
    "amd-alveo-u280": "AMD/Xilinx Alveo U280",
    "amd-alveo-u50lv": "AMD/Xilinx Alveo U50LV",
    "amd-versal-vck190": "AMD/Xilinx Versal VCK190 (XCVC1902)",
    "amd-versal-vck5000": "AMD/Xilinx Versal VCK5000 (XCVC1902 card)",
    "intel-stratix-10-nx": "Intel Stratix 10 NX",
    "aws-inferentia2": "AWS Inferentia2",
    "aws-trainium": "AWS Trainium (Trn1)",
    "aws-trainium2": "AWS Trainium2",
    "groq-lpu": "Groq LPU (TSP v1)",
}

# Rows whose compute figure is the whole device while our spec models the deployed overlay (a subset):
# the overlay peak must not exceed the device figure.
DEVICE_CEILING_ONLY = {"amd-versal-vck190", "amd-versal-vck5000"}

# Rows whose matrix peak is the vendor's rounded chip figure while the NKI architecture guides give the
# TensorEngine's clock and width (NeuronCore-v2: 128 x 128 PEs, 2.8 GHz, 92 TFLOPS bf16 per core;
# NeuronCore-v3: 2.4 GHz, 79 per core), which the specs use: bf16 is checked against the guide's
# per-core figure x cores (within TOLERANCE) and int8 may not exceed the vendor figure.
GUIDE_BF16_TFLOPS = {"aws-inferentia2": 2 * 91.75, "aws-trainium": 2 * 91.75, "aws-trainium2": 8 * 78.64}

_CELL = re.compile(r"^\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*(GiB|GB)?(?:/s(?:ec)?)?\s*(?:\(.*\))?\s*$")


def _number(cell: str) -> tuple[float, str] | None:
    """A cell's leading number and its unit ('GiB', 'GB' or ''), or None for blank / non-numeric cells."""
    m = _CELL.match(cell or "")
    if m is None:
        return None
    return float(m.group(1).replace(",", "")), m.group(2) or ""


@pytest.fixture(scope="module")
def specs_rows() -> dict[str, dict[str, str]]:
    with SPECS_CSV.open(newline="") as fh:
        return {row["device"]: row for row in csv.DictReader(fh)}


def _check(name: str, field: str, ours: float, cell: str, ceiling_only: bool = False) -> str | None:
    parsed = _number(cell)
    if parsed is None:
        return None
    value = parsed[0]
    if ceiling_only:
        return None if ours <= value * (1 + TOLERANCE) else f"{name}.{field}: {ours:.4g} exceeds device figure {value:.4g}"
    if abs(ours - value) <= TOLERANCE * value:
        return None
    return f"{name}.{field}: ours {ours:.4g} vs specs.csv {value:.4g} ({(ours / value - 1) * 100:+.1f}%)"


@pytest.mark.parametrize("name", REQUIRED)
def test_required_device_loads_and_is_catalogued(name: str) -> None:
    assert name in catalogue()
    spec = load_hardware(name)
    assert spec.name == name


@pytest.mark.parametrize("name", sorted(SPECS_ROWS))
def test_peaks_memory_and_power_match_specs_csv(name: str, specs_rows: dict[str, dict[str, str]]) -> None:
    row = specs_rows.get(SPECS_ROWS[name])
    assert row is not None, f"specs.csv has no row {SPECS_ROWS[name]!r}"
    hw = load_hardware(name)
    ceiling = name in DEVICE_CEILING_ONLY
    guide = GUIDE_BF16_TFLOPS.get(name)
    bf16 = matrix_flops_per_s(hw, Precision.BF16) / 1e12
    problems = [
        _check(name, "bf16_tflops", bf16, f"{guide}" if guide else row["peak_tflops_fp16_bf16_dense"], ceiling),
        _check(name, "bf16_tflops", bf16, row["peak_tflops_fp16_bf16_dense"], True) if guide else None,
        _check(name, "int8_tops", matrix_flops_per_s(hw, Precision.INT8) / 1e12, row["peak_tops_int8_dense"],
               ceiling or guide is not None),
        _check(name, "tdp_w", hw.power.tdp_w, row["tdp_w"]),
    ]
    cap = _number(row["mem_capacity_gb"])
    if cap is not None:
        # Binary capacities are labelled "GB" by vendors: read as GiB (see module docstring).
        problems.append(_check(name, "mem_capacity_gib", hw.main_memory.capacity_bytes / GIB, row["mem_capacity_gb"]))
    bw = _number(row["mem_bandwidth_gbs"])
    if bw is not None:
        value, unit = bw
        expected_gbs = value * GIB / 1e9 if unit == "GiB" else value
        ours = hw.main_memory.bandwidth_gbs
        if abs(ours - expected_gbs) > TOLERANCE * expected_gbs:
            problems.append(f"{name}.mem_bandwidth_gbs: ours {ours:.4g} vs specs.csv {expected_gbs:.4g}")
    problems = [p for p in problems if p]
    assert not problems, "; ".join(problems)


def _spec_files() -> list[Path]:
    return sorted(p for d in KIND_DIRS for p in (SPEC_ROOT / d).glob("*.yaml"))


@pytest.mark.parametrize("path", _spec_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_name_equals_file_stem_and_kind_equals_folder(path: Path) -> None:
    raw = read_yaml_file(path)
    assert raw["name"] == path.stem
    assert raw["kind"] == path.parent.name


def test_no_two_files_share_a_name() -> None:
    names = Counter(read_yaml_file(p)["name"] for p in _spec_files())
    duplicates = sorted(n for n, count in names.items() if count > 1)
    assert not duplicates, f"names used by more than one file: {duplicates}"


def test_cell_parser_reads_units_and_skips_prose() -> None:
    assert _number("820 GiB/s (~880 GB/s)") == (820.0, "GiB")
    assert _number("80000 (on-chip SRAM)") == (80000.0, "")
    assert _number("32 GiB") == (32.0, "GiB")
    assert _number("16 or 32") is None
    assert _number("") is None
