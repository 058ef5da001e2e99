"""Map one measurement row to a :class:`~validation.rows.Case`, or say why it cannot be expressed.

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
from .cluster_rows import cluster_training_case, collective_case, serving_case
from .diffusion_rows import diffusion_case
from .tpu_rows import tpu_training_case
from .cpu_rows import cpu_case
from .rows import (MAX_DP_DEVICES, Case, Row, Unexpressible, family_of, first_int, parse_precision,
                   resolve_device, stack_for, SQUAD_LENGTHS)

# workload string (regex, case-insensitive) -> zoo name; first match wins
WORKLOADS: tuple[tuple[str, str], ...] = (
    # MaxText's synthetic decoders of the per-generation tables (workloads/maxtext-*.yaml)
    *((rf"(?<![\d.]){size}B dense decoder LLM training \(MaxText", f"maxtext-{size}b")
      for size in (16, 22, 32, 52, 64, 128, 256, 512, 1024)),
    (r"se-resnext101-32x4d", "se-resnext101-32x4d"),
    (r"(?<!se-)resnext101-32x4d", "resnext101-32x4d"),
    (r"resnet-50|resnet50", "resnet50"),
    (r"stable diffusion xl", "sdxl"),
    (r"stable diffusion v2", "sd2-unet"),
    (r"bert-large|bert-99", "bert-large"),
    (r"bert-base", "bert-base"),
    (r"gpt-j", "gptj-6b"),
    (r"llama 7b|llama-2-7b|llama2-7b", "llama2-7b"),
    (r"llama[ -]?2[ -]13b", "llama2-13b"),
    (r"mixtral[ -]8x7b", "mixtral-8x7b"),
    (r"llama[ -]?2[ -]70b|llama 70b|llama2-70b", "llama2-70b"),
    (r"llama[ -]?3(\.\d)?[ -]405b", "llama3.1-405b"),
    (r"llama[ -]?3\.[1-3][ -]70b", "llama3.1-70b"),  # Llama 3.1 / 3.3: 128K context
    (r"llama[ -]?3[ -]70b", "llama3-70b"),
    (r"llama[ -]?3\.[1-3][ -]8b", "llama3.1-8b"),
    (r"llama[ -]?3[ -]8b", "llama3-8b"),
    (r"phi-4", "phi-4"),
    (r"efficientnet-b0(?!\d)", "efficientnet-b0"),
    (r"mobilenet v1", "mobilenet-v1"),
    (r"mobilenet v2", "mobilenet-v2"),
    (r"resnet-18|resnet18", "resnet18"),
    (r"resnet-34|resnet34", "resnet34"),
    (r"resnet-101|resnet101", "resnet101"),
    (r"resnet-152|resnet152", "resnet152"),
    (r"vit-base-patch16|vit-b/16|vit-base", "vit-b16"),
    (r"inception v1", "googlenet"),
    (r"vgg16", "vgg16"),
    (r"vgg11", "vgg11"),
    (r"alexnet conv layers", "alexnet-conv"),
    (r"gpt 1\.7b", "megatron-gpt-1.7b"),
    (r"gpt 16b", "megatron-gpt-16b"),
    (r"gpt 177b", "megatron-gpt-177b"),
    (r"gpt 462b", "megatron-gpt-462b"),
    (r"gpt-3 175b", "gpt3-175b"),
)

# Workloads rows name that the zoo does not hold, with what is missing (regex, case-insensitive)
# Detectors whose backbone is in the zoo: refused rather than simulated as the bare backbone (TPU
# rows; the FPGA SSD rows F007-F049 still map to their backbones, for their owner to decide)
BACKBONE_ONLY = (r"\bssd\b", "SSD detection (a MobileNet backbone plus the SSD box-predictor layers and the box "
                              "decoding / NMS post-processing) is not in the zoo: only the classification backbone is")
NOT_IN_ZOO: tuple[tuple[str, str], ...] = (
    (r"deepseek", "DeepSeek-V3 (multi-head latent attention, 256 routed + 1 shared expert) is not in the zoo"),
    (r"llama-4", "Llama 4 Scout (16 routed + 1 shared expert, chunked attention) is not in the zoo"),
)

# A TF 1.x run with XLA auto-clustering launches compiled clusters, not the graph's ops one by one: at
# batch 1 its host time is per cluster (and the same README tables read 7-48 % slower than without
# XLA), which neither tf-graph's per-op dispatch nor the xla stack (no host time) describes
TF_XLA_LATENCY = ("TensorFlow 1.x with XLA auto-clustering at a host-bound batch: the host time per compiled "
                  "cluster is not modelled (tf-graph dispatches every op, the xla stack none)")

# Offline MLPerf rows do not state the batch; for fixed-shape CNNs throughput saturates well before
# this per-device batch, so the choice does not move the prediction by more than a few percent.
OFFLINE_CNN_BATCH = 256
# ...except where the submitter's configuration is known: NVIDIA's MLPerf harness runs each GPU at
# its config's gpu_batch_size (mlcommons/inference_results_v4.1 closed/NVIDIA/configs/resnet50/
# Offline/__init__.py: L4x1 32, L40Sx1 64, H100/H200/A100 2048). A small batch is chosen so that a
# layer's activations stay in the L2 cache (48 MB on L4).
MLPERF_NVIDIA_OFFLINE_BATCH = {"nvidia-l4": 32, "nvidia-h100-sxm": 2048, "nvidia-h200": 2048,
                               "nvidia-a100-sxm-80gb": 2048, "nvidia-a100-pcie": 2048}
# Jetson Orin MLPerf Offline and MultiStream submissions run the GPU and both NVDLA engines together
# (closed/NVIDIA configs: dla_core / dla_batch_size set for Orin); the DLAs are not modelled.
DLA_AGGREGATE = re.compile(r"orin|xavier", re.I)
# Vitis AI "multi-thread" throughput keeps several images in flight on the DPU cores.
FPGA_THROUGHPUT_BATCH = 8



def kinds() -> dict[str, str]:
    return {name: load_hardware(name).kind for name in catalogue()}


def map_rows(rows: list[Row]) -> list[Case | Unexpressible]:
    """Map each row (see :func:`validation.mapping.map_row`)."""
    cat, kd = catalogue(), kinds()
    return [map_row(r, cat, kd) for r in rows]


def _refuse(row: Row, reason: str, kind: str = "?") -> Unexpressible:
    return Unexpressible(row=row, reason=reason, kind=kind)


def map_row(row: Row, catalogue: dict, kinds: dict[str, str]) -> Case | Unexpressible:
    """The simulation that reproduces ``row`` (``kinds`` maps catalogue names to device kinds)."""
    hardware, overrides = resolve_device(row.device, catalogue)
    if "maxq" in row.device.lower():
        return _refuse(row, "power-capped MaxQ run: the cap is not stated (and watts are whole-system wall power)", "gpu")
    if hardware is None:
        return _refuse(row, f"no spec for device {row.device!r} in hardware_specs/")
    kind = kinds[hardware]
    fam = family_of(hardware, kind)
    n = row.n_devices or 1
    wl = row.workload.lower()
    metric = row.metric
    base = dict(row=row, hardware=hardware, kind=kind, family=fam, overrides=tuple(sorted(overrides.items())))
    if kind == "fpga":
        placed = fpga_rows.place(row, base)
        if isinstance(placed, str):
            return _refuse(row, placed, kind)
        base, fpga_notes = placed
        if load_hardware(base["hardware"]).compute.dpu is not None:
            return _dpu_model(row, base, fpga_notes)
    if metric == "time_to_train_min":
        return _refuse(row, "time-to-train depends on epochs to converge and evaluation time, not on step time", kind)
    if re.search(r"all_reduce|sendrecv|transferbench|rccl|nccl", wl):
        return collective_case(row, base, kind)
    if "host-to-device" in wl:
        return _refuse(row, "host-to-device copy: the engine models the host link only for weight streaming", kind)
    if metric in ("gbs",):
        return _stream(row, base)
    if re.search(r"gemm|matmul", wl) and metric in ("tflops", "tops"):
        return _gemm(row, base, kind)
    if metric == "watts":
        return _power(row, base, kind)
    if kind == "cpu":
        return cpu_case(row, base, _zoo_name(wl))
    return _model(row, base, kind, n)


def _gemm(row: Row, base: dict, kind: str) -> Case | Unexpressible:
    dims = [int(x) for x in re.findall(r"\d+", row.shape)]
    if "M=N=K" in row.shape and dims:
        m = n = k = dims[0]
    elif len(dims) >= 3:
        m, n, k = dims[:3]
    else:
        return _refuse(row, "GEMM shape not stated", kind)
    count = first_int(row.batch_size) or 1
    prec = parse_precision(row.precision, kind)
    if prec is None:
        return _refuse(row, "precision not stated", kind)
    sweep = "max achievable" in row.workload.lower()
    assumptions = ("MAMF shape string read as MxNxK",) if "best shape" in row.shape else ()
    if sweep:
        assumptions += ("max achievable = the model's best over mamf-finder's shape sweep "
                        "(validation.predict.mamf_shapes), the reported shape included",)
    c_out, assumed = _gemm_c(row)
    return Case(**base, task="gemm", category="gemm", precision=prec, gemm=(m, n, k, count), gemm_sweep=sweep,
                gemm_c=c_out, assumptions=assumptions + assumed)


# BLAS benchmarks that state their C/D types and beta (rocblas-bench --c_type/--d_type/--beta, quoted in
# the row's notes): a 32-bit C/D (FP32 or INT32) of a 16- or 8-bit GEMM is written, and read as well
# when beta != 0, at 4 bytes per element. On a short-K GEMM that traffic outweighs A and B: the MI300X
# acceptance GEMMs (M013/M014, 1024x2048x512 x5) move 84 MB of C and D against 16 MB of A and B.
C_TYPE = re.compile(r"C and D (FP32|INT32)", re.I)
BETA = re.compile(r"--beta ([\d.]+)")


def _gemm_c(row: Row) -> tuple[tuple[str, bool], tuple[str, ...]]:
    """((C/D format, C read), assumptions) of a GEMM row from the benchmark command its notes quote."""
    wide, beta = C_TYPE.search(row.notes), BETA.search(row.notes)
    if not (wide or beta):
        return ("", False), ()
    reads = beta is not None and float(beta.group(1)) != 0.0
    fmt = "fp32" if wide else ""
    said = [f"C and D {wide.group(1).upper()} (4 bytes per element)"] if wide else []
    said += [f"beta {beta.group(1)}: C read before D is written"] if reads else []
    return (fmt, reads), ("; ".join(said),)


def _stream(row: Row, base: dict) -> Case | Unexpressible:
    wl = row.workload.lower()
    mb = re.search(r"([\d.]+)\s*MB", row.shape)
    if "triad" in wl:
        # a[i] = b[i] + s * c[i]: read 2 arrays, write 1 (BabelStream counts 3 x array bytes)
        return Case(**base, task="stream", category="stream", precision="fp32",
                    stream=(3 * float(mb.group(1)) * 1e6, 2))
    if "babelstream copy" in wl:
        return Case(**base, task="stream", category="stream", precision="fp32", stream=(2 * float(mb.group(1)) * 1e6, 1))
    if "device-to-device" in wl:
        # bandwidthTest counts read + write: 2 x size / time
        return Case(**base, task="stream", category="stream", precision="fp32", stream=(2 * float(mb.group(1)) * 1e6, 1),
                    assumptions=("32 MB copy: fits in the 40-50 MB L2 of A100/H100 but is counted as HBM traffic",))
    if "reduction" in wl:
        n = 2 ** 30 if "2^30" in row.shape else first_int(row.shape)
        return Case(**base, task="stream", category="stream", precision="fp32", stream=(4.0 * n, 0),
                    assumptions=("reduction of fp32 elements: read-only traffic",))
    return _refuse(row, "unknown bandwidth benchmark", base["kind"])


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
    return _refuse(row, "whole-system power: host CPUs, fans and PSU losses are not modelled", kind)


def _zoo_name(wl: str) -> str | None:
    for pattern, name in WORKLOADS:
        if re.search(pattern, wl, re.I):
            return name
    return None


def _squad_lengths(row: Row, name: str, assumptions: list[str]) -> str | None:
    if not (name.startswith("bert") and "mlperf" in row.workload.lower() and "384" in row.shape):
        return None
    assumptions.append(f"SQuAD v1.1 samples at their own lengths ({SQUAD_LENGTHS}: mean 178 of at most 384 "
                       "tokens), variable-length (unpadded) kernels")
    return SQUAD_LENGTHS


def _model(row: Row, base: dict, kind: str, n: int) -> Case | Unexpressible:
    wl = row.workload
    if kind == "tpu" and re.search(BACKBONE_ONLY[0], wl, re.I):
        return _refuse(row, BACKBONE_ONLY[1], kind)
    name = _zoo_name(wl)
    if name is None:
        reason = next((why for pattern, why in NOT_IN_ZOO if re.search(pattern, wl, re.I)), None)
        return _refuse(row, reason or f"workload {wl!r} is not in the zoo", kind)
    if name in ("sdxl", "sd2-unet"):
        return diffusion_case(row, base, kind, name, parse_precision(row.precision, kind))
    assumptions: list[str] = []
    metric = row.metric
    prec = parse_precision(row.precision, kind, vendor_default=_vendor_default(row, kind, name))
    if prec is None:
        return _refuse(row, "precision not stated and no documented vendor default", kind)
    if prec == "fp4":
        return _refuse(row, "FP4 is not in the precision vocabulary", kind)
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
        return _refuse(row, "Jetson MLPerf Offline/MultiStream runs the GPU and both NVDLA engines together; "
                            "the DLAs are not modelled", kind)
    if llm and re.search(r"singlestream|offline|server", wl.lower()) and "mlperf" in wl.lower():
        return _refuse(row, "MLPerf LLM query over a dataset of variable input and output lengths (and beam "
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
            return _refuse(row, f"MLPerf {scenario} with a dataset of variable sequence lengths and a submitter-chosen "
                                "batch: neither is in the row", kind)
    if gen and re.search(r"ifb|concurrency", row.batch_size.lower()):
        return serving_case(row, base, kind, name, prec, weight_prec, assumptions)
    if n > 1 and kind == "tpu" and mode == "training" and "maxtext" in f"{row.software} {wl}".lower():
        return tpu_training_case(row, base, name, prec, seq, assumptions)
    if n > 1 and (llm or n > MAX_DP_DEVICES) and "offline" not in wl.lower():
        if mode == "training":
            return cluster_training_case(row, base, kind, name, prec, seq, image, assumptions)
        return serving_case(row, base, kind, name, prec, weight_prec, assumptions)
    batch, scale, accum, extra = _batch(row, n, name, kind, base["hardware"])
    if lengths and batch is None:
        batch, scale, extra = OFFLINE_CNN_BATCH, n, f"offline batch not stated; simulated at {OFFLINE_CNN_BATCH} per device"
    if batch is None:
        return _refuse(row, extra or "batch size not stated", kind)
    assumptions += [extra] if extra else []
    if scale > 1:
        if scale > MAX_DP_DEVICES:
            return _refuse(row, f"{int(scale)} devices span several nodes: needs the scale-out feature", kind)
        assumptions.append(f"{int(scale)} devices data-parallel in one node: throughput = {int(scale)} x one device's "
                           "batch over (its step + the gradient all-reduce time the cluster engine finds exposed)")
    if gen:
        if metric not in ("tokens_per_s",):
            return _refuse(row, f"metric {metric} of a generation run needs the serving feature", kind)
        if not row.batch_size.strip().isdigit():
            return _refuse(row, "in-flight batching at an unstated batch or request rate: simulator.serve needs one of them", kind)
        return Case(**base, task="generate", category="llm", workload=name, mode="inference", precision=prec,
                    stack=stack_for(row, kind, "inference", base["hardware"]),
                    weight_precision=weight_prec, batch=batch, generate=(int(gen.group(1)), int(gen.group(2))),
                    assumptions=tuple(assumptions + ["static batching: prefill then one decode step per output token"]))
    if metric not in ("images_per_s", "sequences_per_s", "samples_per_s", "latency_ms", "ttft_ms", "watts"):
        return _refuse(row, f"metric {metric} needs the serving feature", kind)
    per_core = _neuron_data_parallel(row, base, batch)
    if per_core:
        batch, base, note = per_core
        assumptions.append(note)
    category = _category(row, mode, batch, metric)
    stack = stack_for(row, kind, mode, base["hardware"])
    eager = stack in ("torch-eager", "tf-graph")
    if stack == "tf-graph" and category == "latency" and "xla" in row.precision.lower():
        return _refuse(row, TF_XLA_LATENCY, kind)
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
    name = _zoo_name(row.workload) if name is None else name
    if not name:
        return _refuse(row, f"workload {row.workload!r} is not in the zoo", "fpga")
    if row.metric not in ("images_per_s", "latency_ms"):
        return _refuse(row, f"metric {row.metric} of a DPU run", "fpga")
    if re.search(r"\bfinn\b", f"{row.workload} {row.software}", re.I):
        return _refuse(row, "FINN layer-pipelined design, not the DPU overlay the spec describes: its binary "
                            "weights and 2-bit activations are not in the precision vocabulary", "fpga")
    prec = parse_precision(row.precision, "fpga")
    if prec != "int8":
        return _refuse(row, f"precision {row.precision!r}: the DPU computes int8 only", "fpga")
    run = fpga_rows.dpu_run(row, base["hardware"])
    if isinstance(run, str):
        return _refuse(row, run, "fpga")
    batch, threads, note = run
    image = first_int(row.shape) if re.search(r"\d+x\d+", row.shape) else None
    # one request at a time (a single runner thread, a latency) is the latency category whatever the
    # DPU's batch; several threads keeping every core busy are throughput
    category = "latency" if threads == 1 or row.metric == "latency_ms" else "inference"
    return Case(**base, task="model", category=category, workload=name,
                mode="inference", precision=prec, batch=batch, image_size=image, stack="vitis-ai", host_threads=threads,
                assumptions=tuple(notes + [note]))


# AWS Neuron benchmark CSVs, run mode "Data Parallel": one model instance per NeuronCore, each at the
# published batch size. Throughput ("Batch" application type) is every instance's batch over one
# instance's latency (bert-base-uncased on inf2.xlarge: batch 8, P50 5.97 ms, 2674/s = 2 x 8 / 5.97 ms);
# "Real Time" rows send one request at a time (resnet50: 0.83 ms P50, 1,219/s = 1 / 0.82 ms), so
# they run on one core.
NEURON_DP = "data-parallel over both cores"


def _neuron_data_parallel(row: Row, base: dict, batch: int) -> tuple[int, dict, str] | None:
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


def _batch(row: Row, n: int, name: str, kind: str, hardware: str = "") -> tuple[int | None, int, int, str]:
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


def _category(row: Row, mode: str, batch: int, metric: str) -> str:
    if mode == "training":
        return "training"
    if batch == 1 or metric in ("latency_ms", "ttft_ms") and batch <= 4:
        return "latency"
    return "inference"
