"""Map one measurement row to a :class:`~validation.cases.Case`, or say why it cannot be expressed.

The rules read top to bottom as a checklist: device known? metric a step-level quantity? workload
in the zoo (or a one-op micro-benchmark)? precision stated? batch and shape known? one device, a
data-parallel group within one node, or a multi-device layout (collectives, tensor-parallel
serving, multi-node training: :mod:`validation.cluster_rows`)? Each refusal names the missing feature.
"""
from __future__ import annotations

import re

from simulator.spec.loader import catalogue, load_hardware
from simulator.workload.lengths import load_lengths

from . import fpga_rows
from .batching import OFFLINE_CNN_BATCH, batch_of, neuron_data_parallel
from .cases import MAX_DP_DEVICES, SQUAD_LENGTHS, Case, Unexpressible, refuse
from .cells import first_int, parse_precision
from .cluster_rows import cluster_training_case, collective_case, serving_case
from .cpu_rows import cpu_case
from .devices import resolve_device
from .diffusion_rows import diffusion_case
from .families import family_of
from .micro_rows import gemm_case, stream_case
from .rows import Row
from .stacks import stack_for
from .tpu_rows import tpu_training_case
from .workloads import BACKBONE_ONLY, NOT_IN_ZOO, zoo_name_of

# A TF 1.x run with XLA auto-clustering launches compiled clusters, not the graph's ops one by one: at
# batch 1 its host time is per cluster (and the same README tables read 7-48 % slower than without
# XLA), which neither tf-graph's per-op dispatch nor the xla stack (no host time) describes
TF_XLA_LATENCY = ("TensorFlow 1.x with XLA auto-clustering at a host-bound batch: the host time per compiled "
                  "cluster is not modelled (tf-graph dispatches every op, the xla stack none)")

# Jetson Orin MLPerf Offline and MultiStream submissions run the GPU and both NVDLA engines together
# (closed/NVIDIA configs: dla_core / dla_batch_size set for Orin); the DLAs are not modelled.
DLA_AGGREGATE = re.compile(r"orin|xavier", re.I)


def kinds() -> dict[str, str]:
    return {name: load_hardware(name).kind for name in catalogue()}


def map_rows(rows: list[Row]) -> list[Case | Unexpressible]:
    """Map each row (see :func:`validation.mapping.map_row`)."""
    cat, kd = catalogue(), kinds()
    return [map_row(r, cat, kd) for r in rows]


def map_row(row: Row, catalogue: dict, kinds: dict[str, str]) -> Case | Unexpressible:
    """The simulation that reproduces ``row`` (``kinds`` maps catalogue names to device kinds)."""
    hardware, overrides = resolve_device(row.device, catalogue)
    if "maxq" in row.device.lower():
        return refuse(row, "power-capped MaxQ run: the cap is not stated (and watts are whole-system wall power)", "gpu")
    if hardware is None:
        return refuse(row, f"no spec for device {row.device!r} in hardware_specs/")
    kind = kinds[hardware]
    fam = family_of(hardware, kind)
    n = row.n_devices or 1
    wl = row.workload.lower()
    metric = row.metric
    base = dict(row=row, hardware=hardware, kind=kind, family=fam, overrides=tuple(sorted(overrides.items())))
    if kind == "fpga":
        placed = fpga_rows.place(row, base)
        if isinstance(placed, str):
            return refuse(row, placed, kind)
        base, fpga_notes = placed
        if load_hardware(base["hardware"]).compute.dpu is not None:
            return _dpu_model(row, base, fpga_notes)
    if metric == "time_to_train_min":
        return refuse(row, "time-to-train depends on epochs to converge and evaluation time, not on step time", kind)
    if re.search(r"all_reduce|sendrecv|transferbench|rccl|nccl", wl):
        return collective_case(row, base, kind)
    if "host-to-device" in wl:
        return refuse(row, "host-to-device copy: the engine models the host link only for weight streaming", kind)
    if metric in ("gbs",):
        return stream_case(row, base)
    if re.search(r"gemm|matmul", wl) and metric in ("tflops", "tops"):
        return gemm_case(row, base, kind)
    if metric == "watts":
        return _power(row, base, kind)
    if kind == "cpu":
        return cpu_case(row, base, zoo_name_of(wl))
    return _model(row, base, kind, n)


def _power(row: Row, base: dict, kind: str) -> Case | Unexpressible:
    wl = row.workload.lower()
    if "fleet power" in wl and kind == "tpu":
        return Case(**base, task="power", category="power", workload="resnet50", mode="training", precision="bf16",
                    batch=256, image_size=224, optimizer="momentum",
                    assumptions=("fleet mean of an unspecified workload mix, proxied by ResNet-50 training at "
                                 "batch 256 bf16",))
    if "alexnet conv" in wl:
        case = _model(row, base, kind, 1)
        if isinstance(case, Case):
            return Case(**{**case.__dict__, "task": "power", "category": "power"})
        return case
    return refuse(row, "whole-system power: host CPUs, fans and PSU losses are not modelled", kind)


def _squad_lengths(row: Row, name: str, assumptions: list[str]) -> str | None:
    if not (name.startswith("bert") and "mlperf" in row.workload.lower() and "384" in row.shape):
        return None
    assumptions.append(f"SQuAD v1.1 samples at their own lengths ({SQUAD_LENGTHS}: mean 178 of at most 384 "
                       "tokens), variable-length (unpadded) kernels")
    return SQUAD_LENGTHS


def _model(row: Row, base: dict, kind: str, n: int) -> Case | Unexpressible:
    wl = row.workload
    if kind == "tpu" and re.search(BACKBONE_ONLY[0], wl, re.I):
        return refuse(row, BACKBONE_ONLY[1], kind)
    name = zoo_name_of(wl)
    if name is None:
        reason = next((why for pattern, why in NOT_IN_ZOO if re.search(pattern, wl, re.I)), None)
        return refuse(row, reason or f"workload {wl!r} is not in the zoo", kind)
    if name in ("sdxl", "sd2-unet"):
        return diffusion_case(row, base, kind, name, parse_precision(row.precision, kind))
    assumptions: list[str] = []
    metric = row.metric
    prec = parse_precision(row.precision, kind, vendor_default=_vendor_default(row, kind, name))
    if prec is None:
        return refuse(row, "precision not stated and no documented vendor default", kind)
    if prec == "fp4":
        return refuse(row, "FP4 is not in the precision vocabulary", kind)
    if row.precision.lower() != prec and not row.precision.lower().startswith(prec):
        assumptions.append(f"precision {row.precision!r} simulated as {prec}")
    weight_prec = None
    if "int8 weights" in row.precision.lower():
        prec, weight_prec = ("bf16", "int8")
    mode = "training" if row.mode == "training" else "inference"
    image = first_int(row.shape) if re.search(r"\d+x\d+", row.shape) else None
    seq = None
    m = re.search(r"seq (\d+)|input (\d+)", row.shape)
    if m:
        seq = int(m.group(1) or m.group(2))
    gen = re.search(r"in (\d+) / out (\d+)", row.shape)
    llm = name.startswith(("gpt", "llama", "megatron-gpt"))
    if re.search(r"offline|multistream", wl.lower()) and DLA_AGGREGATE.search(row.device):
        return refuse(row, "Jetson MLPerf Offline/MultiStream runs the GPU and both NVDLA engines together; "
                            "the DLAs are not modelled", kind)
    if llm and re.search(r"singlestream|offline|server", wl.lower()) and "mlperf" in wl.lower():
        return refuse(row, "MLPerf LLM query over a dataset of variable input and output lengths (and beam "
                            "search for GPT-J): the length distribution is not in the row", kind)
    lengths = _squad_lengths(row, name, assumptions)
    if lengths and "singlestream" in wl.lower():
        # a SingleStream p90 latency is the latency of the sample at the 90th percentile of length; NVIDIA's
        # BERT harness runs a batch-1 query through a CUDA graph captured every 4 tokens of length, so a
        # sample runs at its own length, not padded to 384 (github:mlcommons/inference_results_v0.7@1321d137
        # closed/NVIDIA/code/harness/harness_bert/bert_core_vs.cc, InitializeGraphSpecs)
        seq = round(load_lengths(lengths).quantile(0.9))
        assumptions.append(f"SingleStream p90 latency = one sample of the p90 length of {lengths} ({seq} tokens), "
                           "run at its own length")
        lengths = None
    if "offline" in wl.lower() or (metric in ("samples_per_s",) and not row.batch_size):
        if name != "resnet50" and not lengths:
            scenario = "Server (queries at a target rate under a latency bound)" if "server" in wl.lower() else "offline"
            return refuse(row, f"MLPerf {scenario} with a dataset of variable sequence lengths and a submitter-chosen "
                                "batch: neither is in the row", kind)
    if gen and re.search(r"ifb|concurrency", row.batch_size.lower()):
        return serving_case(row, base, kind, name, prec, weight_prec, assumptions)
    if n > 1 and kind == "tpu" and mode == "training" and "maxtext" in f"{row.software} {wl}".lower():
        return tpu_training_case(row, base, name, prec, seq, assumptions)
    if n > 1 and (llm or n > MAX_DP_DEVICES) and "offline" not in wl.lower():
        if mode == "training":
            return cluster_training_case(row, base, kind, name, prec, seq, image, assumptions)
        return serving_case(row, base, kind, name, prec, weight_prec, assumptions)
    batch, scale, accum, extra = batch_of(row, n, name, kind, base["hardware"])
    if lengths and batch is None:
        batch, scale, extra = OFFLINE_CNN_BATCH, n, f"offline batch not stated; simulated at {OFFLINE_CNN_BATCH} per device"
    if batch is None:
        return refuse(row, extra or "batch size not stated", kind)
    assumptions += [extra] if extra else []
    if scale > 1:
        if scale > MAX_DP_DEVICES:
            return refuse(row, f"{int(scale)} devices span several nodes: needs the scale-out feature", kind)
        assumptions.append(f"{int(scale)} devices data-parallel in one node: throughput = {int(scale)} x one device's "
                           "batch over (its step + the gradient all-reduce time the cluster engine finds exposed)")
    if gen:
        if metric not in ("tokens_per_s",):
            return refuse(row, f"metric {metric} of a generation run needs the serving feature", kind)
        if not row.batch_size.strip().isdigit():
            return refuse(row, "in-flight batching at an unstated batch or request rate: simulator.serve needs one of them", kind)
        return Case(**base, task="generate", category="llm", workload=name, mode="inference", precision=prec,
                    stack=stack_for(row, kind, "inference", base["hardware"]),
                    weight_precision=weight_prec, batch=batch, generate=(int(gen.group(1)), int(gen.group(2))),
                    assumptions=tuple(assumptions + ["static batching: prefill then one decode step per output token"]))
    if metric not in ("images_per_s", "sequences_per_s", "samples_per_s", "latency_ms", "ttft_ms", "watts"):
        return refuse(row, f"metric {metric} needs the serving feature", kind)
    per_core = neuron_data_parallel(row, base, batch)
    if per_core:
        batch, base, note = per_core
        assumptions.append(note)
    category = _category(row, mode, batch, metric)
    stack = stack_for(row, kind, mode, base["hardware"])
    eager = stack in ("torch-eager", "tf-graph")
    if stack == "tf-graph" and category == "latency" and "xla" in row.precision.lower():
        return refuse(row, TF_XLA_LATENCY, kind)
    if eager and mode == "inference" and weight_prec is None and prec in ("fp16", "bf16") \
            and re.search(r"\bamp\b|mixed precision", row.precision.lower()):
        weight_prec = "fp32"
        assumptions.append("automatic mixed precision keeps the FP32 weights and casts each weighted op's "
                           "weights per pass (simulator.workload.autocast)")
    opt = "momentum" if name.startswith("resnet") else "adam"
    return Case(**base, task="model", category=category, workload=name, mode=mode, precision=prec,
                weight_precision=weight_prec, batch=batch, seq_len=seq if not (image or lengths) else None,
                image_size=image, scale=float(scale), accumulation=accum, optimizer=opt, stack=stack,
                logits="last" if llm else "all", fused_attention=not eager, lengths=lengths or "",
                assumptions=tuple(assumptions))


def _dpu_model(row: Row, base: dict, notes: list[str]) -> Case | Unexpressible:
    """A row on a Vitis AI DPU overlay: the zoo workload, int8, the runner's threads (fpga_rows.dpu_run)."""
    name = fpga_rows.zoo_name(row.workload)
    name = zoo_name_of(row.workload) if name is None else name
    if not name:
        return refuse(row, f"workload {row.workload!r} is not in the zoo", "fpga")
    if row.metric not in ("images_per_s", "latency_ms"):
        return refuse(row, f"metric {row.metric} of a DPU run", "fpga")
    if re.search(r"\bfinn\b", f"{row.workload} {row.software}", re.I):
        return refuse(row, "FINN layer-pipelined design, not the DPU overlay the spec describes: its binary "
                            "weights and 2-bit activations are not in the precision vocabulary", "fpga")
    prec = parse_precision(row.precision, "fpga")
    if prec != "int8":
        return refuse(row, f"precision {row.precision!r}: the DPU computes int8 only", "fpga")
    run = fpga_rows.dpu_run(row, base["hardware"])
    if isinstance(run, str):
        return refuse(row, run, "fpga")
    batch, threads, note = run
    image = first_int(row.shape) if re.search(r"\d+x\d+", row.shape) else None
    # one request at a time (a single runner thread, a latency) is the latency category whatever the
    # DPU's batch; several threads keeping every core busy are throughput
    category = "latency" if threads == 1 or row.metric == "latency_ms" else "inference"
    return Case(**base, task="model", category=category, workload=name,
                mode="inference", precision=prec, batch=batch, image_size=image, stack="vitis-ai", host_threads=threads,
                assumptions=tuple(notes + [note]))


def _vendor_default(row: Row, kind: str, name: str) -> str | None:
    """Precision a row leaves unstated, from the README's documented (unverified) vendor practice."""
    p = row.precision.lower()
    if "eyeriss" in row.device.lower() and not p:
        return "int16"  # the same run as its throughput row, which states 16-bit fixed point
    if kind == "tpu" and ("bf16 typical" in p or not p):
        return "bf16"
    if "mlperf" in row.workload.lower() and "nvidia" in row.device.lower() and row.mode == "inference":
        return "int8" if name == "resnet50" else "fp8"
    return None


def _category(row: Row, mode: str, batch: int, metric: str) -> str:
    if mode == "training":
        return "training"
    if batch == 1 or metric in ("latency_ms", "ttft_ms") and batch <= 4:
        return "latency"
    return "inference"
