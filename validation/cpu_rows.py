"""CPU rows: how a published CPU measurement runs on its sockets, expressed as a simulation.

CPU inference throughput is not one model on a whole socket: the harnesses run many *instances*
(MLPerf: processes pinned to a few cores each; OpenVINO: "streams"), each on its own cores with its
own batch, all sharing the sockets' DRAM, caches and power. A row is simulated as **one instance** on
``compute.cores = k`` with its share ``k / cores`` of every per-socket resource (each memory level's
capacity and bandwidth, the power envelope; no core turbos while every core is busy), times the number
of instances (:func:`socket_share`). That is a what-if override of the socket spec, like the Neuron
rows of :mod:`validation.mapping` running one instance per NeuronCore: no factor, the layout is read
from the row's notes or from the harness's published scripts (sources in the tables below).

A two-socket row is ``sockets x cores_per_socket / k`` instances of the one-socket spec (MLPerf CPU
rows count sockets in ``n_devices``). A llama.cpp run spread over both sockets with ``--numa
distribute`` reads each half of the weights from its own socket's memory: it runs as one device with
both sockets' cores, caches, bandwidth and power (:func:`sockets_as_one`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from simulator.spec.loader import load_hardware
from simulator.workload.loader import load_workload

from .openvino_streams import isa_factor, model_threads_per_stream

from .cases import SQUAD_LENGTHS, Case, Unexpressible
from .cells import first_int, parse_precision
from .rows import Row
from .stacks import stack_for

# Intel's MLPerf harness (closed/Intel/code/<bench>/pytorch-cpu): cores per instance and batch per
# instance by model, scenario and round, used when a row's notes do not state them. A round without its
# own scripts in the index takes v4.1's (the same harness).
_V31, _V41, _V51 = ("mlcommons/inference_results_v3.1@eaf622a2", "mlcommons/inference_results_v4.1@198fc467",
                    "mlcommons/inference_results_v5.1@965182b0")
INTEL_HARNESS = {
    ("resnet50", "offline", "v4.1"): (1, 256, f"{_V41} closed/Intel/code/resnet50/pytorch-cpu/run_offline.sh "
                                              "(CPUS_PER_INSTANCE=1, --batch_size 256)"),
    ("resnet50", "server", "v3.1"): (2, 4, f"{_V31} closed/Intel/code/resnet50/pytorch-cpu/run_server.sh "
                                           "(CPUS_PER_INSTANCE=2, --batch_size 4)"),
    ("resnet50", "server", "v4.1"): (2, 4, f"{_V41} closed/Intel/code/resnet50/pytorch-cpu/run_server.sh"),
    ("retinanet-resnext50", "offline", "v4.1"): (4, 2, f"{_V41} closed/Intel/code/retinanet/pytorch-cpu/"
                                                       "run_offline.sh (CPUS_PER_INSTANCE=4, BATCH_SIZE=2)"),
    ("retinanet-resnext50", "server", "v4.1"): (8, 1, f"{_V41} closed/Intel/code/retinanet/pytorch-cpu/"
                                                      "run_server.sh (CPUS_PER_INSTANCE=8, BATCH_SIZE=1)"),
    ("retinanet-resnext50", "offline", "v5.1"): (3, 2, f"{_V51} closed/Intel/code/retinanet/pytorch-cpu/"
                                                       "run_local.sh (Offline: CPUS_PER_INSTANCE=3, BATCH_SIZE=2)"),
    ("retinanet-resnext50", "server", "v5.1"): (6, 1, f"{_V51} closed/Intel/code/retinanet/pytorch-cpu/"
                                                      "run_local.sh (Server: CPUS_PER_INSTANCE=6, BATCH_SIZE=1)"),
}
# MLPerf Inference Server latency constraints (p99), for rows whose notes do not state them:
# mlcommons/inference_policies inference_rules.adoc, "Server" latency constraints per benchmark
MLPERF_SERVER_BOUND_S = {"resnet50": 0.015, "retinanet-resnext50": 0.100}
# OpenVINO's CPU plugin under the THROUGHPUT hint gives a model one thread per stream when its worst
# MatMul/1x1 convolution keeps L2 / (bytes it touches) above 0.5 / 4 on AMX parts, wider streams when
# it is memory bound (get_model_prefer_threads; computed from the row's graph by
# validation.openvino_streams: ResNet-50 0.435, MobileNet v2 0.373 - its depthwise convolutions are
# GroupConvolution nodes the heuristic skips -, BERT-Large at 384 tokens 0.167, all at 4 bytes an
# element, so all three run one thread per stream); on a machine of more than one socket it drops the hyper-threads unless asked
# (src/plugins/intel_cpu/src/cpu_map_scheduling.cpp apply_hyper_threading), so each stream is one thread
# on its own physical core; benchmark_app sends batch-1 requests, one per stream. The LATENCY hint runs
# one stream on all cores of one socket (openvinotoolkit/openvino src/plugins/intel_cpu/src/
# cpu_streams_calculation.cpp, get_model_prefer_threads and get_streams_info_table).
OPENVINO_SOURCE = "openvinotoolkit/openvino src/plugins/intel_cpu/src/cpu_streams_calculation.cpp"
# The benchmark tables' latency column is one request at a time, not the per-request latency of the
# throughput run's streams: "Latency is measured by running the OpenVINO Runtime in synchronous mode ...
# each frame or image is processed through the entire set of stages ... before the next" (openvinotoolkit/
# openvino docs/articles_en/about-openvino/performance-benchmarks/performance-benchmarks-faq.rst, "How is
# Latency measured?"). Read as streams / throughput the BERT-Large cells would imply 7-14 streams, which
# no hint gives (THROUGHPUT runs 112-120 single-thread streams here), so the LATENCY-hint mapping stands.
# One socket, not one NUMA node, in the releases of these rows (2024.1, 2024.3): before openvinotoolkit/
# openvino pull 26798 (merged 2024-09-26, first in 2024.5) get_streams_info_table gave the default
# LATENCY stream (no model-distribution policy) the processors of the current socket's row of
# proc_socket_table, which sums the socket's NUMA nodes, so a sub-NUMA-clustered socket still ran one
# stream on all its cores (the per-NUMA-node branch was the TENSOR_PARALLEL one). Pull 26798 made the
# default one NUMA node (docs pull 26944: "inference_num_threads ... on one numa node"); pull 27850
# (2024-12-02) went back to one socket (docs pull 28227). So SNC cannot explain the BERT-Large latency
# cells (X063, X066, X067, X071, X072, X076, X077), which read like ~14-17 cores of one-stream work.

# workloads the zoo does not have, with what is missing
NOT_IN_ZOO = (
    (r"dlrm-v2", "DLRM-v2 (DCNv2 cross layers, multi-hot embeddings; an MLPerf sample aggregates many "
                 "user-item pairs) is not in the zoo; the zoo's dlrm is the MLPerf Training DLRM"),
    (r"3d-unet", "3D U-Net on KiTS19 volumes of variable size is not in the zoo"),
    (r"whisper", "Whisper large-v3 (encoder-decoder speech model) is not in the zoo"),
    (r"r-gat|rgat", "R-GAT (graph attention network with neighbour sampling) is not in the zoo"),
    (r"deepseek", "DeepSeek-R1 671B (MoE with multi-head latent attention) is not in the zoo"),
)


@dataclass(frozen=True)
class Layout:
    """How a row's sockets are used: ``instances`` copies of the model, each on ``cores`` cores
    with batch ``batch``; ``note`` says where the layout comes from."""

    cores: int
    batch: int
    instances: int
    note: str
    shared_weights: bool = False


def socket_share(hw, cores: int, shared_weights: bool = False) -> dict:
    """What-if overrides that make socket spec ``hw`` one instance on ``cores`` of its cores, with its
    share of each memory level, of the power envelope, and no turbo (every core is busy).
    ``shared_weights``: the socket's instances read one copy of the weights (OpenVINO streams), so
    the caches hold it once for all of them.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> o = socket_share(load_hardware("intel-xeon-platinum-8480"), 2)
        >>> o["compute.cores"], round(o["memory.ddr.bandwidth_gbs"], 2), o["compute.single_core_clock_ghz"]
        (2, 10.97, 2.0)
        >>> socket_share(load_hardware("intel-xeon-platinum-8480"), 1, shared_weights=True)["shared_weight_instances"]
        56
    """
    f = cores / hw.compute.cores
    out: dict = {"compute.cores": cores, "compute.single_core_clock_ghz": hw.compute.clock_ghz}
    if shared_weights:
        out["shared_weight_instances"] = hw.compute.cores // cores
    for level in hw.memory:
        out[f"memory.{level.name}.capacity_bytes"] = level.capacity_bytes * f
        out[f"memory.{level.name}.bandwidth_gbs"] = level.bandwidth_gbs * f
    out["power.tdp_w"] = hw.power.tdp_w * f
    out["power.idle_w"] = hw.power.idle_w * f
    out["power.active_w"] = hw.power.active_w * f
    return out


def sockets_as_one(hw, sockets: int, main_bandwidth_gbs: float | None = None) -> dict:
    """What-if overrides for ``sockets`` sockets run as one device (threads on all of them, each reading
    its own memory): cores, every memory level and power times ``sockets``; ``main_bandwidth_gbs``
    replaces the summed main-memory bandwidth when the row states a different DIMM population.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> o = sockets_as_one(load_hardware("amd-epyc-9654"), 2)
        >>> o["compute.cores"], o["memory.ddr.bandwidth_gbs"]
        (192, 921.6)
    """
    out: dict = {"compute.cores": hw.compute.cores * sockets}
    for level in hw.memory:
        out[f"memory.{level.name}.capacity_bytes"] = level.capacity_bytes * sockets
        out[f"memory.{level.name}.bandwidth_gbs"] = level.bandwidth_gbs * sockets
    if main_bandwidth_gbs:
        out[f"memory.{hw.main_memory.name}.bandwidth_gbs"] = main_bandwidth_gbs
    out["power.tdp_w"] = hw.power.tdp_w * sockets
    out["power.idle_w"] = hw.power.idle_w * sockets
    out["power.active_w"] = hw.power.active_w * sockets
    return out


def _refuse(row: Row, reason: str) -> Unexpressible:
    return Unexpressible(row=row, reason=reason, kind="cpu")


def _scenario(row: Row) -> str:
    return "server" if "server" in row.workload.lower() else "offline"


def _mlperf_layout(row: Row, hw, sockets: int, name: str) -> Layout | str:
    """The instance layout of an MLPerf row, from its notes or the Intel harness scripts."""
    notes = row.notes.lower()
    m = re.search(r"(\d+) (?:cores?|threads?(?: \(cores\))?) per instance", notes)
    batch = first_int(row.batch_size) if "per instance" in row.batch_size.lower() else None
    if m is None or batch is None:
        found = re.search(r"inference_results_(v[\d.]+)", row.source)
        round_ = found.group(1) if found else "v4.1"
        harness = INTEL_HARNESS.get((name, _scenario(row), round_)) or INTEL_HARNESS.get((name, _scenario(row), "v4.1"))
        if harness is None:
            return "cores or batch per instance not stated"
        cores, b, src = harness
        cores = int(m.group(1)) if m else cores
        batch = batch or b
        note = f"instance layout from the Intel harness: {src}"
    else:
        cores, note = int(m.group(1)), "instance layout from the row's notes (the submitter's run scripts)"
    instances = sockets * hw.compute.cores // cores
    return Layout(cores=cores, batch=batch, instances=instances, note=note)


def _openvino_layout(row: Row, hw, sockets: int, name: str) -> Layout:
    if row.metric == "latency_ms":
        return Layout(cores=hw.compute.cores, batch=1, instances=1,
                      note=f"OpenVINO LATENCY hint: one stream on the cores of one socket, batch 1 ({OPENVINO_SOURCE})")
    image = first_int(row.shape) if re.search(r"\d+x\d+", row.shape) else None
    m = re.search(r"seq (\d+)", row.shape)
    graph = load_workload(name).build(batch_size=1, image_size=image, seq_len=int(m.group(1)) if m else None)
    threads, tol = model_threads_per_stream(graph, hw)
    return Layout(cores=threads, batch=1, instances=sockets * (hw.compute.cores // threads), shared_weights=True,
                  note=f"OpenVINO THROUGHPUT hint: {threads}-thread streams on physical cores (hyper-threads "
                       f"dropped on a multi-socket machine), batch-1 requests, {sockets} sockets; the worst "
                       f"MatMul/1x1-convolution L2 factor {tol:.3f} against 0.5 / {isa_factor(hw):g} "
                       f"(validation.openvino_streams; {OPENVINO_SOURCE}); the streams of a socket share one copy "
                       f"of the weights (src/plugins/intel_cpu/src/weights_cache.hpp: SocketsWeights)")


def _one_per_socket(row: Row, hw, sockets: int) -> Layout | str:
    """A framework run that states no instances: one model instance on every core of a socket at the
    row's batch (a latency row runs on one socket), one per socket."""
    batch = first_int(row.batch_size) or (1 if row.metric == "latency_ms" else None)
    if batch is None:
        return "batch not stated and no instance layout"
    instances = 1 if row.metric == "latency_ms" else sockets
    return Layout(cores=hw.compute.cores, batch=batch, instances=instances,
                  note=f"no instance layout stated: one instance on all {hw.compute.cores} cores of a socket at batch "
                       f"{batch}, {instances} socket(s)")


def _precision(row: Row) -> tuple[str | None, str | None, str]:
    """(compute, weights, refusal) of a CPU row's precision cell; GGUF formats by their bits."""
    p = row.precision.lower()
    if "q4_k" in p:
        return None, None, ("GGUF Q4_K_M stores about 4.9 bits per weight (mixed 4/6-bit blocks with scales): "
                            "not in the precision vocabulary (int4 would undercount the bytes by ~19 %)")
    if "q8_0" in p:
        return "bf16", "int8", ""
    if re.search(r"\bf16\b", p):
        return "fp16", None, ""
    prec = parse_precision(row.precision, "cpu")
    if prec is None:
        return None, None, "precision not stated"
    return prec, None, ""


MLPERF_UNEXPRESSED = {
    "bert-large": "MLPerf BERT on SQuAD v1.1: the Intel harness runs each sample at its own length (up to 384 "
                  "tokens) and the mean length is not in the row (padded to 384 the measured rate would be ~90 % "
                  "of the AMX peak)",
    "llm": "MLPerf LLM throughput on CNN-DailyMail: inputs of variable length whose mean is in neither the row "
           "nor a sourced MLPerf document (the summary's tokens/samples ratio gives the mean output only)",
}


def cpu_case(row: Row, base: dict, name: str | None) -> Case | Unexpressible:
    """The simulation of a CPU model row (``name``: its zoo workload, None if not in the zoo)."""
    wl = row.workload.lower()
    if name is None and "retinanet" in wl:
        # MLPerf's RetinaNet; mapped here, not in validation.workloads.WORKLOADS, so that the GPU rows it
        # would make expressible (Jetson SingleStream J004, J013) stay the GPU owner's decision
        name = "retinanet-resnext50"
    if name is None:
        for pattern, reason in NOT_IN_ZOO:
            if re.search(pattern, wl):
                return _refuse(row, reason)
        return _refuse(row, f"workload {row.workload!r} is not in the zoo")
    if "mlperf" in wl and (name in MLPERF_UNEXPRESSED or name.startswith(("gpt", "llama"))) and \
            not name.startswith("bert"):
        return _refuse(row, MLPERF_UNEXPRESSED.get(name, MLPERF_UNEXPRESSED["llm"]))
    prec, weights, refusal = _precision(row)
    if refusal:
        return _refuse(row, refusal)
    hw = load_hardware(base["hardware"])
    sockets = row.n_devices or 1
    if "llama.cpp" in row.software.lower() or "llama-bench" in wl:
        return _llamacpp(row, base, hw, name, prec, weights)
    if "mlperf" in wl:
        layout = _mlperf_layout(row, hw, sockets, name)
    elif "openvino" in row.software.lower():
        layout = _openvino_layout(row, hw, sockets, name)
    else:
        layout = _one_per_socket(row, hw, sockets)
    if isinstance(layout, str):
        return _refuse(row, layout)
    return _instance_case(row, base, hw, name, prec, weights, layout)


def _instance_case(row: Row, base: dict, hw, name: str, prec: str, weights: str | None, layout: Layout) -> Case:
    image = first_int(row.shape) if re.search(r"\d+x\d+", row.shape) else None
    m = re.search(r"seq (\d+)", row.shape)
    overrides = dict(base["overrides"])
    if layout.cores != hw.compute.cores:
        overrides.update(socket_share(hw, layout.cores, layout.shared_weights))
    latency = row.metric == "latency_ms"
    assumptions = [layout.note]
    lengths = SQUAD_LENGTHS if name.startswith("bert") and "mlperf" in row.workload.lower() else ""
    if lengths:
        assumptions.append(f"SQuAD v1.1 samples at their own lengths ({lengths}), unpadded")
    if not latency:
        assumptions.append(f"{layout.instances} instances of {layout.cores} core(s) x batch {layout.batch}: throughput "
                           f"= instances x batch / one instance's step; each instance has {layout.cores}/"
                           f"{hw.compute.cores} of a socket's memory levels and power, no turbo")
    bound = _server_bound_s(row, name) if not latency else None
    if bound:
        assumptions.append(f"MLPerf Server: Poisson arrivals served by the {layout.instances} instances, each a batch of "
                           f"{layout.batch} in the simulated step; throughput = the highest rate whose p99 latency "
                           f"stays within {bound * 1e3:.0f} ms (M/M/c waits halved for deterministic service, "
                           "validation.queueing)")
    return Case(**{**base, "overrides": tuple(sorted(overrides.items()))}, task="model", latency_bound_s=bound,
                category="latency" if latency else "inference", workload=name, mode="inference", precision=prec,
                weight_precision=weights, batch=layout.batch,
                seq_len=int(m.group(1)) if m and not (image or lengths) else None, lengths=lengths,
                image_size=image, scale=1.0 if latency else float(layout.instances),
                stack=stack_for(row, "cpu", "inference", base["hardware"]),
                assumptions=tuple(assumptions))


def _server_bound_s(row: Row, name: str) -> float | None:
    """The p99 latency bound of an MLPerf Server row: from its notes, else the MLPerf rules."""
    if _scenario(row) != "server" or "mlperf" not in row.workload.lower():
        return None
    m = re.search(r"bound (?:p99 )?(\d+(?:\.\d+)?) ?(ms|s)\b", row.notes.lower())
    if m:
        return float(m.group(1)) * (1e-3 if m.group(2) == "ms" else 1.0)
    return MLPERF_SERVER_BOUND_S.get(name)


def _llamacpp(row: Row, base: dict, hw, name: str, prec: str, weights: str | None) -> Case:
    """llama-bench token generation: batch 1, a one-token prompt, ``tgN`` tokens (128 by default)."""
    sockets = row.n_devices or 1
    overrides = dict(base["overrides"])
    assumptions = ["llama-bench tg: one-token prompt then the generated tokens; thread count not stated: every core"]
    dimms = re.search(r"(\d+) x ddr5-(\d+) total", row.notes.lower())
    bandwidth = int(dimms.group(1)) * int(dimms.group(2)) * 8 / 1000 if dimms else None
    if sockets > 1 or bandwidth:
        overrides.update(sockets_as_one(hw, sockets, bandwidth))
        assumptions.append(f"{sockets} sockets as one device (--numa distribute: each socket's threads read the "
                           f"weights in its own memory)" + (f"; {dimms.group(1)} DIMMs of DDR5-{dimms.group(2)} "
                                                             f"at one per channel: {bandwidth:.1f} GB/s" if dimms else ""))
    if "q8_0" in row.precision.lower():
        assumptions.append("Q8_0: int8 weights with one fp16 scale per 32 weights, 8.5 bits per weight read "
                           "(stack llamacpp: weight_block_scale)")
    m = re.search(r"tg(\d+)", row.shape)
    return Case(**{**base, "overrides": tuple(sorted(overrides.items()))}, task="generate", category="llm",
                workload=name, mode="inference", precision=prec, weight_precision=weights, batch=1,
                generate=(1, int(m.group(1)) if m else 128), stack="llamacpp", assumptions=tuple(assumptions))
