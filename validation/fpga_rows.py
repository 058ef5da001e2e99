"""FPGA rows: which DPU overlay a row ran, and how its Vitis AI runner was driven.

A board runs whichever overlay (xclbin / bitstream) the publisher loaded, and the row names it: the
VCK5000 as 4, 6 or 8 processing engines, the VCK190 with 96 or 192 AI Engines, the U280 and U50 with
the DPUCAHX8H or the DPUCAHX8L. :data:`OVERLAYS` picks the spec of the named overlay; each is its own
file in ``hardware_specs/fpga`` with its sources. The row's own DPU clock (the zoo's "DPU Frequency"
column, e.g. 165 MHz for the U50LV where the header says 275) overrides the design clock.

How the runner was driven (:func:`dpu_run`):

* Vitis AI model zoo rows are the Vitis AI Library ``test_performance`` program: "single thread"
  is one host thread (normalise a batch, run it on one DPU core, post-process), "multi thread" is
  the documented ``-t 8`` (UG1354, "test_performance_classification resnet50 ... -t 8 -s 60");
  an "E2E latency, Thread num = 1" is one request through the idle board;
* MLPerf rows feed pre-processed samples from memory (the loadgen's QSL), so the host does not
  normalise images: the rate is every DPU core busy.
* ``xdputil benchmark <xmodel> <threads>`` rows (the reference designs' READMEs) time the DPU runner
  alone on random inputs: no host pre/post-processing, each thread one DPU batch in flight.
"""
from __future__ import annotations

import re

from simulator.spec.loader import load_hardware

# documented multi-thread count of the zoo's performance runs (UG1354 / Vitis AI Library README)
ZOO_THREADS = 8

# base spec -> (regex on the row's software / workload, then notes; overlay spec, or the refusal reason)
OVERLAYS: dict[str, tuple[tuple[str, str], ...]] = {
    # the MLPerf v1.0 submission's own 8PE build (PL 375 MHz, AIE 1.33 GHz on an ES1 card) before the generic 8PE
    "amd-versal-vck5000": ((r"v4e_8pe_375mhz_333mhz", "amd-versal-vck5000-8pe-mlperf-v1"),
                           (r"\b8\s*pe\b|_8pe_", "amd-versal-vck5000-8pe")),
    "amd-versal-vck190": ((r"\b96 aies?\b|\bc32b3(?:cu1)?\b", "amd-versal-vck190-c32b3"),),
    "amd-alveo-u280": ((r"dpucahx8l", "amd-alveo-u280-dpucahx8l"),
                       (r"v3me", "refused: the MLPerf v0.7 'xilinx_u280_v3me' overlay with its HLS post-processing "
                                 "kernel: how it spreads one image over its engines and runs depthwise layers is "
                                 "not in the sources")),
    "amd-alveo-u50": ((r"dpucahx8l", "amd-alveo-u50-dpucahx8l"),),
    # the DPUCV2DX8G reference design's default one-batch-handler overlay (the zoo ran the C20B14)
    "amd-versal-vek280": ((r"\bc20b1(?:cu1)?\b", "amd-versal-vek280-c20b1"),),
    "amd-alveo-u250": ((r"dpucadx8g", "refused: legacy DPUCADX8G (xDNN) overlay: its array geometry and engine "
                                      "count are not in the sources this project has"),),
}
_CLOCK = re.compile(r"dpu freq(?:uency)?(?: column)?\D{0,16}?(\d{3})\b", re.I)


# Vitis AI zoo models by their zoo names, before the generic workload table (validation.workloads.WORKLOADS):
# a detector built on a classifier backbone is not the classifier ("" = not in the zoo: refused).
ZOO_MODELS: tuple[tuple[str, str], ...] = (
    (r"yolov3.*\bvoc\b|yolov3_voc", "yolov3-voc"),
    (r"ssd[- _]?mobilenet[ _-]?v1", "ssd-mobilenet-v1"),
    (r"ssd[- _]?mobilenet[ _-]?v2", "ssd-mobilenet-v2"),
    (r"\bssd\b|yolo|detection", ""),
    (r"inception[ _-]?v3", "inception-v3"),
    (r"efficientnet[ _-]lite", "efficientnet-lite0"),
    # ResNet-50 v1 downsampling in the first 1x1 conv: Caffe (cf_resnet50, 7.7 G ops) and Keras (tf2, 7.76 G)
    (r"cf_resnet50|resnet-?50 \(caffe|tf2_resnet50", "resnet50-v1"),
    # TF-slim resnet_v1_50 (6.97 G ops): downsampling at a stage's last block
    (r"tf_resnetv1_50|resnet_v1_50", "resnet50-tf-slim"),
)


def zoo_name(workload: str) -> str | None:
    """The zoo workload of a Vitis AI model name; "" for a model the zoo lacks, None to defer to
    the generic table.

    Example:
        >>> zoo_name("SSD-MobileNet v2 (COCO)"), zoo_name("SSD-ResNet34 (MLPerf)"), zoo_name("MobileNet v1 1.0")
        ('ssd-mobilenet-v2', '', None)
    """
    for pattern, name in ZOO_MODELS:
        if re.search(pattern, workload, re.I):
            return name
    return None


def overlay(row, hardware: str) -> tuple[str | None, str]:
    """(spec of the overlay the row ran, assumption text); (None, the reason) when it is refused.

    Example:
        >>> from validation.rows import Row
        >>> r = Row("X1", "AMD/Xilinx Versal VCK5000 (XCVC1902)", 1, "ResNet-50 (8PE, multi-thread)", "inference",
        ...         "INT8", "", "224x224", "images_per_s", 1.0, "Vitis AI 3.0", "")
        >>> overlay(r, "amd-versal-vck5000")[0]
        'amd-versal-vck5000-8pe'
        >>> import dataclasses
        >>> mlperf = dataclasses.replace(r, workload="ResNet-50 v1.5 (MLPerf Inference v1.0 closed, Offline)",
        ...                              notes="run.log loads xclbin v4e_8pe_375MHz_333MHz_xilinx_vck5000-es1")
        >>> overlay(mlperf, "amd-versal-vck5000")[0]
        'amd-versal-vck5000-8pe-mlperf-v1'
    """
    for texts in (f"{row.software} {row.workload}", row.notes):
        for pattern, spec in OVERLAYS.get(hardware, ()):
            if re.search(pattern, texts, re.I):
                if spec.startswith("refused: "):
                    return None, spec.removeprefix("refused: ")
                return spec, f"overlay named in the row: {spec}"
    return hardware, ""


def clock_override(row, hardware: str) -> tuple[dict, str]:
    """({"compute.clock_ghz": ...} and the PL engines' clocks, assumption) when the row states the DPU
    clock and it differs from the spec's; ({}, "") otherwise.

    Example:
        >>> from validation.rows import Row
        >>> r = Row("X1", "AMD/Xilinx Alveo U50LV", 1, "ResNet-50", "inference", "INT8", "multi-thread", "224x224",
        ...         "images_per_s", 1.0, "Vitis AI 2.5", "header says 275 MHz but row lists DPU freq 165 MHz")
        >>> clock_override(r, "amd-alveo-u50lv")[0]
        {'compute.clock_ghz': 0.165}
    """
    m = _CLOCK.search(row.notes)
    if not m:
        return {}, ""
    ghz = int(m.group(1)) / 1000
    hw = load_hardware(hardware)
    if hw.compute.dpu is None or abs(hw.compute.clock_ghz - ghz) < 1e-9:
        return {}, ""
    out = {"compute.clock_ghz": ghz}
    if hw.compute.dpu.depthwise is not None and hw.compute.ai_engine_tiles == 0:
        out["compute.dpu.depthwise.clock_ghz"] = ghz
    return out, f"DPU clock {int(m.group(1))} MHz as the row states (spec: {hw.compute.clock_ghz * 1000:g} MHz)"


def dpu_run(row, hardware: str) -> tuple[int, int | None, str] | str:
    """(images per step, host threads or None, assumption) for a DPU row, or a refusal reason.

    Example:
        >>> from validation.rows import Row
        >>> r = Row("X1", "AMD/Xilinx Zynq UltraScale+ ZCU102", 1, "ResNet-50 (1 thread)", "inference", "INT8", "1",
        ...         "224x224", "latency_ms", 12.4, "Vitis AI 2.0", "E2E latency, Thread Num =1")
        >>> dpu_run(r, "amd-zcu102")[:2]
        (1, 1)
    """
    d = load_hardware(hardware).compute.dpu
    text = f"{row.workload} {row.batch_size} {row.software}".lower()
    every = d.cores * d.batch
    if "pruned" in row.workload.lower():
        return "pruned network: the zoo's pruned channel counts are not a workload here"
    if re.search(r"mlperf (inference|v\d)", text):
        if row.metric == "latency_ms":
            return d.batch, None, "MLPerf SingleStream: one query through the idle board, no host pre-processing"
        return every, None, (f"MLPerf: pre-processed samples from memory; all {d.cores} DPU core(s) x batch "
                             f"{d.batch} busy")
    if "xdputil benchmark" in text:
        # the DPU runner alone on random inputs, each thread one batch in flight: no host pre/post-processing
        threads = _threads(text, row.metric)
        if isinstance(threads, str):
            return threads
        busy = min(threads, d.cores)
        return d.batch * busy, None, (f"xdputil benchmark: the DPU runner alone, no host pre/post-processing; "
                                      f"{threads} thread(s) keep {busy} DPU core(s) x batch {d.batch} busy")
    threads = _threads(text, row.metric)
    if isinstance(threads, str):  # the notes only when the row's own columns say nothing
        threads = _threads(f"{text} {row.notes.lower()}", row.metric)
    if isinstance(threads, str):
        return threads
    if threads == 1:
        return d.batch, 1, (f"Vitis AI Library runner, 1 host thread: normalise {d.batch} image(s), run them on "
                            "one DPU core, post-process, one after another")
    return every, threads, (f"Vitis AI Library runner, {threads} host threads (UG1354 '-t 8'): "
                            f"{d.cores} DPU core(s) x batch {d.batch} shared with host pre/post-processing")


def _threads(text: str, metric: str) -> int | str:
    m = re.search(r"thread num\s*=\s*(\d+)", text)
    if metric == "latency_ms":
        if m and int(m.group(1)) != 1:
            return (f"E2E latency measured with {m.group(1)} threads: the published figure is the batch over the "
                    "aggregate rate, not one request's latency")
        if m or re.search(r"\b1 thread\b|single[- ]thread", text):
            return 1
        return "latency without its thread count"
    if re.search(r"single[- ]thread|\b1 thread\b", text):
        return 1
    m = re.search(r"(\d+)\s*threads\b", text)
    if m:
        return int(m.group(1))
    if re.search(r"multi[- ]thread", text):
        return ZOO_THREADS
    return "Vitis AI throughput without its thread mode (single or multi-thread)"


def place(row, base: dict) -> tuple[dict, list[str]] | str:
    """The case fields of an FPGA row on the overlay it names (hardware, family, overrides) and the
    assumptions made, or a refusal reason.

    Example:
        >>> from validation.rows import Row
        >>> r = Row("X1", "AMD/Xilinx Alveo U280", 1, "ResNet-50 (DPUCAHX8L)", "inference", "INT8", "", "224x224",
        ...         "images_per_s", 1.0, "Vitis AI 1.4", "")
        >>> place(r, {"hardware": "amd-alveo-u280", "family": "xilinx-dsp-dpu", "overrides": ()})[0]["hardware"]
        'amd-alveo-u280-dpucahx8l'
    """
    from .families import family_of

    from simulator.spec.loader import catalogue

    spec, note = overlay(row, base["hardware"])
    if spec is None:
        return note
    if spec not in catalogue():
        return f"no spec for the overlay {spec!r} the row names in hardware_specs/"
    notes = [note] if note else []
    clock, why = clock_override(row, spec)
    if why:
        notes.append(why)
    overrides = tuple(sorted({**dict(base["overrides"]), **clock}.items()))
    return {**base, "hardware": spec, "family": family_of(spec, "fpga"), "overrides": overrides}, notes
