"""The batch a row ran at: per-device micro-batch, data-parallel devices and accumulation steps, read
from the batch cell and the notes, or the documented default where the row leaves it unstated."""
from __future__ import annotations

import re

from simulator.spec.loader import load_hardware

from .cells import first_int
from .rows import Row

# Offline MLPerf rows do not state the batch; for fixed-shape CNNs throughput saturates well before
# this per-device batch, so the choice does not move the prediction by more than a few percent.
OFFLINE_CNN_BATCH = 256
# ...except where the submitter's configuration is known: NVIDIA's MLPerf harness runs each GPU at
# its config's gpu_batch_size (mlcommons/inference_results_v4.1 closed/NVIDIA/configs/resnet50/
# Offline/__init__.py: L4x1 32, L40Sx1 64, H100/H200/A100 2048). A small batch is chosen so that a
# layer's activations stay in the L2 cache (48 MB on L4).
MLPERF_NVIDIA_OFFLINE_BATCH = {"nvidia-l4": 32, "nvidia-h100-sxm": 2048, "nvidia-h200": 2048,
                               "nvidia-a100-sxm-80gb": 2048, "nvidia-a100-pcie": 2048}
# Vitis AI "multi-thread" throughput keeps several images in flight on the DPU cores.
FPGA_THROUGHPUT_BATCH = 8


# AWS Neuron benchmark CSVs, run mode "Data Parallel": one model instance per NeuronCore, each at the
# published batch size. Throughput ("Batch" application type) is every instance's batch over one
# instance's latency (bert-base-uncased on inf2.xlarge: batch 8, P50 5.97 ms, 2674/s = 2 x 8 / 5.97 ms);
# "Real Time" rows send one request at a time (resnet50: 0.83 ms P50, 1,219/s = 1 / 0.82 ms), so
# they run on one core.
NEURON_DP = "data-parallel over both cores"


def neuron_data_parallel(row: Row, base: dict, batch: int) -> tuple[int, dict, str] | None:
    """(chip batch, base with overrides, assumption) for a Neuron "Data Parallel" row, else None."""
    if NEURON_DP not in row.notes.lower():
        return None
    cores = load_hardware(base["hardware"]).compute.arrays
    if row.metric in ("latency_ms", "ttft_ms"):
        overrides = tuple(sorted({**dict(base["overrides"]), "compute.arrays": 1}.items()))
        return batch, {**base, "overrides": overrides}, (
            f"Neuron real-time latency: one request of batch {batch} at a time, on one of the {cores} NeuronCores")
    return batch * cores, base, (f"Neuron data-parallel run mode: one instance per NeuronCore at batch {batch}, "
                                 f"so the chip runs {batch * cores}")


def batch_of(row: Row, n: int, name: str, kind: str, hardware: str = "") -> tuple[int | None, int, int, str]:
    """(per-device micro-batch, data-parallel devices, accumulation steps, assumption or refusal text)."""
    text = row.batch_size.lower()
    notes = row.notes.lower()
    if "see note" in text:
        m = re.search(r"global (\d+) with (\d+) accumulation", notes)
        if not m:
            return None, 1, 1, "batch size given only as 'see note' without a per-step batch"
        glob, steps = int(m.group(1)), int(m.group(2))
        return glob // steps, 1, steps, f"micro-batch {glob // steps} x {steps} accumulation steps (from notes)"
    if "multi-thread" in text or "threads" in text:
        return FPGA_THROUGHPUT_BATCH, 1, 1, f"multi-threaded throughput simulated at batch {FPGA_THROUGHPUT_BATCH}"
    if not text:
        if name == "resnet50" and hardware in MLPERF_NVIDIA_OFFLINE_BATCH and "mlperf" in row.workload.lower():
            b = MLPERF_NVIDIA_OFFLINE_BATCH[hardware]
            return b, n, 1, f"offline batch {b} per GPU: NVIDIA's MLPerf config gpu_batch_size for this GPU"
        if name == "resnet50":
            return OFFLINE_CNN_BATCH, n, 1, f"offline batch not stated; simulated at {OFFLINE_CNN_BATCH} per device"
        return None, 1, 1, ""
    b = first_int(text)
    if b is None:
        if "ifb" in text or "concurrency" in text:
            return None, 1, 1, "in-flight batching at an unstated batch or request rate: simulator.serve needs one of them"
        return None, 1, 1, f"batch {row.batch_size!r} not a number"
    per_device = any(f"/{unit}" in text for unit in ("gpu", "core", "device"))
    if n > 1 and not per_device:
        if row.metric.endswith("_per_gpu"):
            return b, 1, 1, ""
        return None, 1, 1, f"{n} devices with a global batch: parallel layout not stated"
    accum = 1
    m = re.search(r"accumulation to (\d+) \(ph1\)", notes)
    if m and "phase 1" in row.workload.lower():
        accum = max(1, int(m.group(1)) // (b * n))
    return b, n, accum, (f"gradient accumulation {accum} steps to the global batch {m.group(1)} (notes)"
                         if accum > 1 else "")
