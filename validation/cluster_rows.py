"""Multi-device rows: collective benchmarks, LLM serving on several devices, multi-node training.

Each row is played through the public multi-device API: :func:`simulator.collective_benchmark`
for nccl-tests / rccl-tests / TransferBench rows, :func:`simulator.generate` with ``devices`` and
``parallelism`` for tensor-parallel serving, :func:`simulator.simulate` on a system spec for
multi-node training. The parallel layout is read from the row (notes such as ``TP=8 PP=6 DP=48``);
where the row leaves it out, the layout the submitter published elsewhere is stated as an
assumption, with its source, in :data:`LAYOUTS`.
"""
from __future__ import annotations

import re

from .cases import Case, Unexpressible, refuse
from .cells import first_int
from .rows import Row
from .stacks import stack_for

# Systems whose nodes a row names in its software / notes column (regex -> system spec).
SYSTEMS: tuple[tuple[str, str], ...] = (
    (r"a3 mega|a3-mega|tcpxo", "gcp-a3-mega"),
)
# The node a device string scales out over when the row does not name one.
NODES: dict[str, str] = {
    "nvidia-h100-sxm": "dgx-h100",
    "nvidia-a100-sxm-80gb": "dgx-a100",
    "nvidia-a100-sxm-40gb": "dgx-a100",
    "nvidia-h200": "hgx-h200",
    "nvidia-b200": "hgx-b200",
    "aws-trainium": "trn1-32xl",
}

# Layouts the row does not state, from the submitter's published configuration (row id -> layout,
# micro-batch size, recompute, source). Stated in the report as the row's assumption.
LAYOUTS: dict[str, tuple[str, int, str, str]] = {
    # NVIDIA MLPerf Training v3.1, eos_n64 (512 x H100), NeMo 23.09 GPT-3 175B
    "M134": ("tp=4,pp=8,dp=16,zero=1,vp=12", 1, "none",
             "mlcommons/training_results_v3.1 NVIDIA/benchmarks/gpt3/implementations/pytorch: config "
             "config_DGXH100_64x8x128x4x8_mbs1.sh = 64 nodes x 8 GPUs, mini-batch 128, TP 4, PP 8, micro-batch 1; "
             "the run log's gradient accumulation 128 = 2048 / (DP 16 x 1) agrees; conf/custom.yaml defaults: "
             "no activation recompute, distributed optimizer, interleaved pipeline of 12 virtual stages "
             "(1 layer per chunk); the config files that could override these defaults are not in the index"),
}

# Megatron-Core benchmark runs (M124-M129) overlap DP/TP/PP communication with compute and use the
# distributed optimizer (ZeRO-1) and selective recompute (README 'Performance Benchmarking').
MEGATRON = {"zero": 1, "checkpointing": "selective"}
# NeuronX Distributed Llama pre-training (M097, M098): the published configs recompute the attention
# cores and the whole MLP block in backward (activations_checkpoint_granularity: selective,
# activations_checkpoint_recompute: [CoreAttention, LlamaMLP]); aws-neuron/neuronx-distributed-training
# examples/conf/hf_llama3.1_8B_config.yaml and hf_llama3.1_70B_config.yaml (@d9e0bf60), which also
# state the rows' layouts (TP 32, PP 1 / 8, ZeRO-1, sequence parallel, micro-batch 1, global 1024).
NXD_LLAMA_RECOMPUTE = "selective-mlp"
# Stacks that run tensor parallelism with sequence parallelism on by default: Megatron-Core and
# NeMo (conf/custom.yaml sequence_parallel: True in NVIDIA's MLPerf GPT-3 code), NeuronX Distributed.
SEQUENCE_PARALLEL = r"megatron|nemo|neuronx distributed"


# Saturated in-flight batching rows (trtllm-bench with requests at an unbounded rate): TensorRT-LLM's
# default max_batch_size is 2048 (the KV cache caps the batch first for long sequences), and the
# benchmark's request count is not in the rows: 1,000 requests (steady state dominates the run).
IFB_MAX_BATCH = 2048
SATURATED_REQUESTS = 1000


def collective_case(row: Row, base: dict, kind: str) -> Case | Unexpressible:
    """nccl-tests / rccl-tests all_reduce_perf and sendrecv_perf, TransferBench p2p (busbw in GB/s)."""
    wl = row.workload.lower()
    n = row.n_devices or 2
    m = re.search(r"([\d.]+)\s*(GiB|MiB|KiB|GB|MB)", row.shape)
    if not m:
        return refuse(row, "collective message size not stated", kind)
    unit = {"GiB": 2**30, "MiB": 2**20, "KiB": 2**10, "GB": 1e9, "MB": 1e6}[m.group(2)]
    nbytes = float(m.group(1)) * unit
    if "all_reduce" in wl:
        op = "all_reduce"
    elif "all_gather" in wl:
        op = "all_gather"
    elif "reduce_scatter" in wl:
        op = "reduce_scatter"
    elif "alltoall" in wl or "all_to_all" in wl:
        op = "all_to_all"
    elif "sendrecv" in wl or "p2p" in wl:
        op = "p2p"
    else:
        return refuse(row, "collective benchmark of an unknown operation", kind)
    system, assumptions = _system(row, base["hardware"], n)
    if system is None:
        return refuse(row, f"{n} devices span several nodes and the row names no system spec", kind)
    if op == "p2p" and "transferbench" in wl:
        assumptions.append("TransferBench unidirectional copy between one GPU pair: one point-to-point transfer")
    return Case(**base, task="collective", category="collective", precision="fp32", devices=n, system=system,
                collective=(op, nbytes), assumptions=tuple(assumptions))


# Devices in one server when it is not 8: inf2.48xlarge holds 12 Inferentia2 chips on NeuronLink,
# trn1.32xlarge 16 Trainium chips (AWS Neuron docs, inf2 / trn1 architecture pages).
NODE_DEVICES = {"aws-inferentia2": 12, "aws-trainium": 16}


def _system(row: Row, hardware: str, n: int) -> tuple[str | None, list[str]]:
    """The system spec a row runs on: one named in the row, one node of ``hardware`` over its own
    links, or ``n / node size`` nodes of the device's standard server on its network."""
    text = f"{row.software} {row.notes} {row.device}".lower()
    for pattern, name in SYSTEMS:
        if re.search(pattern, text):
            return name, [f"nodes are {name} (named in the row)"]
    per_node = NODE_DEVICES.get(hardware, 8)
    if n <= per_node:
        return hardware, []
    node = NODES.get(hardware)
    if node is None:
        return None, []
    return node, [f"{n} devices = {n // per_node} x {node} nodes on its network"]


def layout(row: Row, devices: int, hardware: str) -> tuple[dict | None, list[str]]:
    """Parallel degrees stated in the row's notes (``TP=8 PP=6 DP=48``) as a dict, or None.

    Trainium rows count NeuronCores (2 per chip): their TP is halved to chips when the stated
    degrees multiply to twice the chip count.
    """
    deg = {}
    for key in ("TP", "PP", "DP"):
        m = re.search(rf"\b{key}\s*=?\s*(\d+)\b", row.notes)
        if m:
            deg[key.lower()] = int(m.group(1))
    if not deg:
        return None, []
    notes_out = []
    tp, pp, dp = deg.get("tp", 1), deg.get("pp", 1), deg.get("dp")
    if dp is None:
        dp = max(1, devices // (tp * pp))
    if hardware.startswith("aws-") and tp * pp * dp == 2 * devices and tp % 2 == 0:
        notes_out.append(f"TP={tp} NeuronCores = {tp // 2} chips (2 NeuronCores per chip)")
        tp //= 2
    return {"tp": tp, "pp": pp, "dp": dp}, notes_out


def megatron_model_flops(params, batch: int, seq: int) -> float:
    """Model FLOPs of one training step as Megatron-LM counts them (no recompute, full attention).

    Per token and layer the forward pass does ``2 h (h + 2 kv) + 2 h h`` (QKV, output projection),
    ``2 h f x (3 if gated else 2)`` (MLP) and ``4 s h`` (scores and values over the full sequence);
    the LM head ``2 h V``; backward is twice the forward. For a GPT with ``f = 4h`` and no GQA this is
    ``72 B s L h^2 (1 + s / (6h) + V / (12 L h))`` (Narayanan et al., SC21, eq. 3 without recompute).

    Example:
        >>> from types import SimpleNamespace as NS
        >>> p = NS(layers=2, hidden=64, heads=4, kv_heads=None, head_dim=None, ffn=256, ffn_activation="gelu", vocab=100)
        >>> megatron_model_flops(p, 2, 32) == 72 * 2 * 32 * 2 * 64**2 * (1 + 32 / (6 * 64) + 100 / (12 * 2 * 64))
        True
    """
    h, layers, vocab = params.hidden, params.layers, params.vocab
    head_dim = params.head_dim or h // params.heads
    kv = (params.kv_heads or params.heads) * head_dim
    gated = 3 if str(params.ffn_activation) in ("swiglu", "geglu") else 2
    per_token_layer = 2 * h * (h + 2 * kv) + 2 * h * h + 2 * h * params.ffn * gated + 4 * seq * h
    return 3.0 * batch * seq * (layers * per_token_layer + 2 * h * vocab)


def cluster_training_case(row: Row, base: dict, kind: str, name: str, prec: str, seq: int | None,
                          image: int | None, assumptions: list[str]) -> Case | Unexpressible:
    """Data / tensor / pipeline parallel training over nodes of a system spec."""
    n = row.n_devices or 1
    hardware = base["hardware"]
    system, notes = _system(row, hardware, n)
    if system is None:
        return refuse(row, f"{n} devices span several nodes and {hardware} has no node spec", kind)
    assumptions = assumptions + notes
    deg, notes = layout(row, n, hardware)
    assumptions += notes
    micro, checkpointing, zero = 1, "none", 0
    text = row.batch_size.lower()
    per_dev = re.search(r"(\d+)\s*/\s*(gpu|core)", text)
    glob = re.search(r"(\d+)\s*(seqs\s*)?global", text)
    if deg is None and row.id in LAYOUTS:
        spec, micro, checkpointing, source = LAYOUTS[row.id]
        d = dict(kv.split("=") for kv in spec.split(","))
        deg = {"tp": int(d["tp"]), "pp": int(d["pp"]), "dp": int(d["dp"]), "vp": int(d.get("vp", 1))}
        zero = int(d.get("zero", 0))
        assumptions.append(f"layout not in the row: {spec}, micro-batch {micro}, {checkpointing} recompute ({source})")
    if "megatron" in row.software.lower() or "megatron" in row.workload.lower():
        zero, checkpointing = MEGATRON["zero"], MEGATRON["checkpointing"]
        assumptions.append("Megatron-Core: distributed optimizer (ZeRO-1), selective recompute, micro-batch 1")
    if "neuronx distributed" in row.software.lower() and re.search(r"llama", name):
        checkpointing = NXD_LLAMA_RECOMPUTE
        assumptions.append("NeuronX Distributed Llama config: attention cores and MLP blocks recomputed "
                           "(hf_llama3.1_8B/70B_config.yaml)")
    if "zero-1" in row.notes.lower():
        zero = 1
    if deg is None:
        if re.search(r"gpt|llama", name):
            return refuse(row, "parallel layout (TP / PP / DP) of this LLM run is not stated", kind)
        deg = {"tp": 1, "pp": 1, "dp": n}
        assumptions.append(f"pure data parallelism over {n} devices (no layout stated)")
    tp, pp, dp = deg["tp"], deg["pp"], deg["dp"]
    if tp * pp * dp != n:
        return refuse(row, f"stated layout TP {tp} x PP {pp} x DP {dp} is not the {n} devices of the row", kind)
    if per_dev:
        per = int(per_dev.group(1)) * (2 if per_dev.group(2) == "core" else 1)
        global_batch = int(glob.group(1)) if glob else per * dp
        micro = per
        if per_dev.group(2) == "core":
            assumptions.append(f"{per_dev.group(1)} per NeuronCore = {per} per chip")
    elif glob:
        global_batch = int(glob.group(1))
        m = re.search(r"(\d+)\s*micro", text)
        micro = int(m.group(1)) if m else micro
    else:
        return refuse(row, "global batch not stated", kind)
    per_replica = global_batch // dp
    if per_replica * dp != global_batch or per_replica % micro:
        return refuse(row, f"global batch {global_batch} does not split into DP {dp} x micro-batch {micro}", kind)
    microbatches = per_replica // micro
    if microbatches > 1:
        assumptions.append(f"{microbatches} micro-batches of {micro} per replica "
                           + ("(pipelined)" if pp > 1 else "(gradient accumulation)"))
    parallel = f"dp={dp},tp={tp},pp={pp}" + (f",zero={zero}" if zero else "")
    if deg.get("vp", 1) > 1:
        parallel += f",vp={deg['vp']}"
    if tp > 1 and re.search(SEQUENCE_PARALLEL, row.software.lower()):
        parallel += ",sp=1"
        assumptions.append("sequence parallelism with TP (the stack's default)")
    if tp > 1 and "megatron" in row.software.lower():
        parallel += ",tp_overlap=1"
        assumptions.append("TP communication overlapped with GEMMs (--tp-comm-overlap, README)")
    opt = "momentum" if name.startswith("resnet") else "adam"
    software = row.software.lower()
    # eager PyTorch / TF training of 2021 had no fused (flash) attention; Megatron and NeMo do
    eager = kind == "gpu" and re.search(r"pytorch|tensorflow", software) and not re.search(r"nemo|megatron", software)
    if eager:
        assumptions.append("eager framework stack: unfused attention")
    return Case(**base, task="cluster", category="scaleout", workload=name, mode="training", precision=prec,
                fused_attention=not eager,
                batch=global_batch, seq_len=seq if not image else None, image_size=image, optimizer=opt,
                devices=n, system=system, parallelism=parallel, microbatches=microbatches,
                checkpointing=checkpointing, assumptions=tuple(assumptions))


def serving_case(row: Row, base: dict, kind: str, name: str, prec: str, weight_prec: str | None,
                 assumptions: list[str]) -> Case | Unexpressible:
    """Tensor-parallel LLM serving: prefill latency, decode step time, static-batch throughput."""
    n = row.n_devices or 1
    metric = row.metric
    system, notes = _system(row, base["hardware"], n)
    if system is None:
        return refuse(row, f"{n} devices span several nodes and the row names no system", kind)
    deg, more = layout(row, n, base["hardware"])
    assumptions = assumptions + notes + more
    if deg is None:
        deg = {"tp": n, "pp": 1, "dp": 1}
        if n > 1:
            assumptions.append(f"tensor parallel over the {n} devices (TP={n}; not in the row's notes)")
    if deg["tp"] * deg["pp"] * deg["dp"] != n:
        return refuse(row, f"stated layout TP {deg['tp']} x PP {deg['pp']} x DP {deg['dp']} is not the row's {n} "
                            "devices (NeuronCores, not chips?)", kind)
    gen = re.search(r"in (\d+) / out (\d+)", row.shape)
    inp = re.search(r"input (\d+)", row.shape)
    text = row.batch_size.lower()
    saturated = None
    # a serving benchmark's client concurrency stated in the notes (vllm bench serve --max-concurrency)
    client = re.search(r"max(?:imum)?[ _]concurrency[ =]?(\d+)", f"{row.notes} {row.source}", re.I)
    if client and text.strip() == client.group(1):
        text = f"concurrency {text}"
    if "ifb" in text or "concurrency" in text:
        # in-flight batching with requests at an unbounded rate: as many in flight as the stack allows
        # (TensorRT-LLM's default max_batch_size, or the client's concurrency) and the KV cache holds
        limit = first_int(text) if "concurrency" in text else IFB_MAX_BATCH
        stated = re.search(r"num_requests[ =](\d+)|(\d+) prompts", row.notes)
        saturated = (limit, int(stated.group(1) or stated.group(2)) if stated
                     else max(SATURATED_REQUESTS, 4 * limit))
        assumptions.append(f"continuous batching at saturation: at most {limit} requests in flight "
                           + ("(the client's concurrency)" if "concurrency" in text else
                              "(TensorRT-LLM's default max_batch_size)")
                           + f", KV cache permitting; {saturated[1]} requests, all queued at the start "
                           + ("(the benchmark's stated request count)" if stated else
                              "(the benchmark's request count is not in the row)"))
    batch = first_int(row.batch_size) if row.batch_size.strip().isdigit() else None
    if batch is None and saturated is None and "mlperf" in row.workload.lower():
        return refuse(row, "MLPerf offline with a dataset of variable sequence lengths and a submitter-chosen "
                            "batch: neither is in the row", kind)
    if batch is None and saturated is None:
        return refuse(row, "in-flight batching at an unstated batch or request rate: simulator.serve needs one of them", kind)
    if gen:
        n_in, n_out = int(gen.group(1)), int(gen.group(2))
    elif inp:
        n_in, n_out = int(inp.group(1)), 1
    elif "sharegpt" in row.shape.lower():
        return refuse(row, "ShareGPT prompts: the row gives only the length caps, not the request-length "
                            "distribution the throughput depends on", kind)
    else:
        return refuse(row, "prompt and output lengths not stated", kind)
    if metric == "tokens_per_s" and "per gpu" in row.notes.lower():
        metric = "tokens_per_s_per_gpu"
        assumptions.append("tokens/s per GPU, as the notes read the (ambiguous) published column")
    if metric == "latency_ms" and "tpot" in row.notes.lower():
        metric = "itl_ms"
        assumptions.append("latency_ms is the time per output token (TPOT, per the notes)")
    if metric in ("ttft_ms", "latency_ms"):
        n_out = 1  # the prefill alone gives the first token
    elif metric not in ("itl_ms", "tokens_per_s", "tokens_per_s_per_gpu"):
        return refuse(row, f"metric {metric} of a multi-device generation run", kind)
    parallel = f"dp={deg['dp']},tp={deg['tp']},pp={deg['pp']}"
    if saturated is not None:
        if metric not in ("tokens_per_s", "tokens_per_s_per_gpu", "itl_ms"):
            return refuse(row, f"metric {metric} of a saturated serving run", kind)
        budget = re.search(r"--max-num-batched-tokens (\d+)", row.notes)
        if budget:
            assumptions.append(f"prefill admitted up to {budget.group(1)} tokens per iteration "
                               "(--max-num-batched-tokens)")
        return Case(**base, task="serve", category="serving", workload=name, mode="inference", precision=prec,
                    weight_precision=weight_prec, batch=saturated[0], generate=(n_in, n_out), stack=stack_for(row, kind, "inference", base["hardware"]),
                    logits="last", devices=n, system=system, parallelism=parallel, served_metric=metric,
                    saturated=saturated, max_prefill_tokens=int(budget.group(1)) if budget else None,
                    assumptions=tuple(assumptions))
    return Case(**base, task="generate", category="serving", workload=name, mode="inference", precision=prec,
                weight_precision=weight_prec, batch=batch, generate=(n_in, n_out), stack=stack_for(row, kind, "inference", base["hardware"]), logits="last",
                devices=n, system=system, parallelism=parallel, served_metric=metric,
                assumptions=tuple(assumptions + ["static batching: prefill then one decode step per output token"]))
