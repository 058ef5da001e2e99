"""TPU training rows run with MaxText (per-generation tables, tpu-recipes, MLPerf): the layout, the
rematerialisation policy and the FLOP counter the row states, read from its notes.

MaxText shards a model over a device mesh whose axes the notes name (``ici_fsdp_parallelism``,
``ici_tensor_parallelism``, ``ici_data_parallelism`` within a slice; ``dcn_data_parallelism`` or
``dcn_fsdp_parallelism`` across slices over the data-center network). FSDP is ZeRO-3: parameters,
gradients and optimizer state sharded over the fsdp axis, each layer's weights all-gathered before
use; the data axes hold replicas (hybrid sharding, ``Parallelism.fsdp``). ``-1`` takes what the
other axes of the slice leave. One slice runs on the chip's own ICI torus; several slices run on
``tpu-<generation>-multislice`` with a node of the slice's size.
"""
from __future__ import annotations

import re

from .cases import Case, Unexpressible
from .rows import Row

# remat_policy -> simulator checkpointing (MaxText layers/models.py policies: 'full' saves nothing
# but the layer input; 'minimal' = jax.checkpoint_policies.checkpoint_dots_with_no_batch_dims, every
# projection output kept; save_dot_except_mlpwi / _logits keep every dot but the MLP up-projection /
# the logits; save_qkv_proj / qkv_proj_offloaded keep only the Q, K, V projections)
REMAT = {"full": "full", "minimal": "selective", "save_dot_except_logits": "selective",
         "save_dot_except_mlpwi": "selective-mlp-up", "save_qkv_proj": "save-qkv", "qkv_proj_offloaded": "save-qkv"}
# MLPerf GPT-3: every MLLOG block of 50,331,648 tokens ends with an evaluation over eval_samples
# sequences (MLLOG 'eval_samples': 24567 in Google's v4.0/v4.1 logs), forward only
MLPERF_GPT3_EVAL_SAMPLES = 24567
MLPERF_GPT3_BLOCK_TOKENS = 50_331_648
GENERATION = re.compile(r"google-tpu-(v\w+)")


def _refuse(row: Row, reason: str) -> Unexpressible:
    return Unexpressible(row=row, reason=reason, kind="tpu")


def _axis(notes: str, name: str) -> int | None:
    m = re.search(rf"\bici_{name}(?:_parallelism)?\s*[= ]\s*(-?\d+)", notes)
    if m:
        return int(m.group(1))
    m = re.search(rf"\bici_data \d+ x .*?\b{name} (\d+)", notes)  # 'ici_data 4 x fsdp 64 x tensor 8'
    return int(m.group(1)) if m else None


def _slices(row: Row) -> int:
    text = f"{row.workload} {row.notes}"
    m = re.search(r"\((?:MaxText, )?(\d+)x v\w+-\d+", row.workload) or re.search(r"\b(\d+) (?:v\w+-\d+ )?slices\b", text)
    return int(m.group(1)) if m else 1


def maxtext_layout(row: Row, n: int) -> tuple[dict, list[str]] | str:
    """Mesh degrees of a MaxText row: tensor, data (all data-parallel ranks), fsdp (ranks one ZeRO-3
    shard spans), slices and chips per slice; or the reason they cannot be read.

    Example:
        >>> r = Row("U", "Google TPU v4", 512, "22B (MaxText, 8x v4-128 multislice)", "training", "bf16", "8192",
        ...         "seq 2048", "tflops_per_chip", 1.0, "", "ici_fsdp_parallelism=64 ... dcn_data_parallelism=8")
        >>> maxtext_layout(r, 512)[0]
        {'tensor': 1, 'data': 512, 'fsdp': 64, 'slices': 8, 'slice_chips': 64}
    """
    notes, out = row.notes, []
    slices = _slices(row)
    if n % slices:
        return f"{n} chips do not split into {slices} slices"
    per_slice = n // slices
    tensor, data_ici = _axis(notes, "tensor") or 1, _axis(notes, "data") or 1
    if (_axis(notes, "expert") or 1) > 1:
        return "MaxText expert-parallel mesh axis (ici_expert_parallelism) is not mapped"
    fsdp_ici = _axis(notes, "fsdp") or _axis(notes, "fsdp_transpose")
    if fsdp_ici is None and "pure fsdp" not in notes.lower():
        return "MaxText mesh (ici_fsdp / ici_tensor parallelism) not stated"
    if fsdp_ici in (None, -1):
        fsdp_ici = per_slice // (tensor * data_ici)
    if fsdp_ici * tensor * data_ici != per_slice:
        return f"mesh fsdp {fsdp_ici} x tensor {tensor} x data {data_ici} is not the {per_slice} chips of a slice"
    m = re.search(r"dcn_fsdp_parallelism\s*=\s*(\d+)", notes)
    fsdp = fsdp_ici * (int(m.group(1)) if m else 1)
    if m:
        out.append(f"FSDP also across the {slices} slices (dcn_fsdp_parallelism)")
    elif slices > 1:
        out.append(f"data parallel across {slices} slices over DCN (dcn_data_parallelism)")
    return {"tensor": tensor, "data": n // tensor, "fsdp": fsdp, "slices": slices, "slice_chips": per_slice}, out


def remat_policy(notes: str) -> tuple[str, str] | None:
    """(simulator checkpointing, how it was read) for a MaxText ``remat_policy``, or None.

    A ``custom`` policy names the tensors it keeps (on device or offloaded to host); the rest of the
    layer is recomputed.

    Example:
        >>> remat_policy("remat_policy=save_dot_except_mlpwi, fused_qkv")
        ('selective-mlp-up', 'remat_policy save_dot_except_mlpwi')
        >>> remat_policy("remat custom (decoder_layer_input, out_proj, q/k/v proj offloaded)")[0]
        'selective-mlp+offload-all'
    """
    m = re.search(r"remat_policy\s*=\s*(\w+)", notes)
    if m and m.group(1) in REMAT:
        offload = "+offload" if m.group(1).endswith("_offloaded") else ""
        return REMAT[m.group(1)] + offload, f"remat_policy {m.group(1)}"
    c = re.search(r"remat(?:_policy=)? ?custom[^;.]*", notes)
    if not c:
        return None
    kept = c.group(0).lower()
    # tensors a custom policy marks 'offload' live in host memory between forward and backward
    offload = ("+offload-all" if "decoder_layer_input" in kept else "+offload") if "offload" in kept else ""
    qkv = "q/k/v" in kept or "query_proj" in kept
    if qkv and "out_proj" in kept:
        return "selective-mlp" + offload, "custom remat keeping Q, K, V and output projections"
    if qkv:
        return "save-qkv" + offload, "custom remat keeping the Q, K, V projections"
    if "context" in kept and "mlpwo" in kept:
        return "selective-mlp" + offload, ("custom remat keeping the attention context and MLP output: simulated as "
                                           "keeping the attention projections instead (the same recomputed matmul "
                                           "FLOPs to within the QKV/up-projection ratio)")
    if "decoder_layer_input" in kept:
        return "full" + offload, "custom remat keeping only the layer input"
    return None


def maxtext_model_flops(params, batch: int, seq: int) -> float:
    """Model FLOPs of one training step as MaxText counts them (``calculate_training_tflops`` at
    76bd53b0: 6 x parameters x tokens + causal attention; ``calculate_tflops_training_per_device``
    later: the same terms): 3 x (matmul weights x 2 per token + 2 s^2 heads head_dim per sequence
    and layer + the logits 2 x hidden x vocab per token), without rematerialisation.

    Example:
        >>> from types import SimpleNamespace as NS
        >>> p = NS(layers=1, hidden=8, heads=2, kv_heads=None, head_dim=4, ffn=16, ffn_activation="relu", vocab=10,
        ...        experts=0, top_k=2)
        >>> maxtext_model_flops(p, 1, 4) == 3 * (2 * 4 * (8 * 4 * 2 * 3 + 4 * 2 * 8 + 2 * 8 * 16 + 8 * 10) + 2 * 16 * 8)
        True
    """
    h, d = params.hidden, params.head_dim or params.hidden // params.heads
    kv = params.kv_heads or params.heads
    gated = 3 if str(params.ffn_activation) in ("swiglu", "geglu") else 2
    ffn = h * params.ffn * gated * (params.top_k if getattr(params, "experts", 0) else 1)
    per_token = params.layers * (h * d * (params.heads + 2 * kv) + params.heads * d * h + ffn) + h * params.vocab
    attention = 2 * seq * seq * params.heads * d * params.layers
    return 3.0 * batch * (2 * seq * per_token + attention)


def tpu_training_case(row: Row, base: dict, name: str, prec: str, seq: int | None,
                      assumptions: list[str]) -> Case | Unexpressible:
    """A MaxText training row on several TPU chips: its mesh, remat policy and step."""
    n = row.n_devices or 1
    if seq is None:
        return _refuse(row, "sequence length not stated")
    if re.search(r"capacity_factor|dropping", row.notes):
        return _refuse(row, "MaxText dropping MoE (GShard one-hot dispatch and combine einsums, experts padded to "
                            "capacity_factor x tokens) is not modelled: the zoo's MoE computes the routed tokens only")
    lay = maxtext_layout(row, n)
    if isinstance(lay, str):
        return _refuse(row, lay)
    mesh, notes = lay
    remat = remat_policy(row.notes)
    if remat is None:
        return _refuse(row, "MaxText remat_policy not stated (or not one the simulator maps)")
    global_batch = int(row.batch_size) if row.batch_size.strip().isdigit() else None
    if not global_batch or global_batch % mesh["data"]:
        return _refuse(row, f"global batch {row.batch_size!r} does not split over {mesh['data']} data-parallel ranks")
    tensor, data, fsdp = mesh["tensor"], mesh["data"], mesh["fsdp"]
    parallel = f"dp={data},tp={tensor},pp=1,zero=3" + (f",fsdp={fsdp}" if fsdp != data else "")
    if tensor > 1:
        # MaxText shards the activations' embed dim over the tensor axis between blocks
        # (logical rule activation_embed: tensor): reduce-scatter + all-gather around each block
        parallel += ",sp=1"
        if re.search(r"overlap_compute_collective|async collective", row.notes):
            parallel += ",tp_overlap=1"
    gen = GENERATION.match(base["hardware"])
    system, sys_over = base["hardware"], ()
    if mesh["slices"] > 1:
        system = f"tpu-{gen.group(1)}-multislice"
        sys_over = (("devices_per_node", mesh["slice_chips"]),)
    text = f"{row.precision} {row.notes}".lower()
    if prec == "int8" and not re.search(r"aqt|quantization=int8", text):
        prec = "bf16"  # 'int8_training=false': a bf16 run
        assumptions = assumptions + ["int8_training=false: bf16 matmuls"]
    if "weight_dtype bfloat16" in text or "weight_dtype bf16" in text:
        # optax keeps Adam's moments in the parameter dtype and MaxText keeps no fp32 master copy:
        # 8 bytes per parameter, where the simulator's training memory holds 2 + 2 + 4 + 8
        return _refuse(row, "MaxText weight_dtype bfloat16 trains without fp32 master weights and with bf16 Adam "
                            "moments; the simulator's training memory assumes fp32 master weights and moments")
    weights = "fp32"
    assumptions = assumptions + notes + [
        f"MaxText mesh: {mesh['slices']} slice(s) of {mesh['slice_chips']} chips, fsdp {fsdp} x tensor {tensor}"
        f" x data {data // fsdp}: ZeRO-3 over each fsdp group", f"{remat[1]} -> checkpointing {remat[0]}",
        f"parameters stored in {weights} (MaxText weight_dtype)"]
    if prec == "int8":
        assumptions.append("AQT int8 training: forward and both backward matmuls in int8, tensors bf16")
    evaluation = _mlperf_eval(row, n, global_batch)
    if evaluation:
        assumptions.append(f"every MLPerf block of {evaluation[0]:,} tokens ends in a forward pass over "
                           f"{evaluation[1]:,} eval samples at a global batch of {evaluation[2]} (MLLOG eval_samples)")
    return Case(**base, task="cluster", category="scaleout", workload=name, mode="training", precision=prec,
                weight_precision=weights, batch=global_batch, seq_len=seq, optimizer="adamw", devices=n,
                system=system, system_overrides=sys_over, parallelism=parallel, microbatches=1,
                checkpointing=remat[0], mlperf_eval=evaluation, assumptions=tuple(assumptions))


def _mlperf_eval(row: Row, n: int, global_batch: int) -> tuple[int, int, int] | None:
    """(block tokens, eval samples, eval global batch) of an MLPerf GPT-3 throughput row derived
    from MLLOG blocks, whose block time includes the evaluation; the eval per-device batch is the
    notes' ``eval_per_device_batch_size``, else the training one."""
    if row.metric != "tokens_per_s" or not re.search(r"mlperf training gpt-3", row.workload, re.I):
        return None
    m = re.search(r"eval_per_device_batch_size (\d+)", row.notes)
    per_device = int(m.group(1)) if m else max(1, global_batch // n)
    return MLPERF_GPT3_BLOCK_TOKENS, MLPERF_GPT3_EVAL_SAMPLES, per_device * n
