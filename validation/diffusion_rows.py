"""Stable Diffusion rows: MLPerf Inference SDXL (text-to-image samples) and MLPerf Training SD v2
(MaxDiffusion UNet training), each run as its submitter's configuration states.

Inference: one sample is the zoo's ``sdxl`` workload (text encoders once, 20 guided UNet steps, VAE
decoder; mlcommons/inference text_to_image reference). The submitters' batches:

* Google TPU (v5e-4, v6e-4; mlcommons/inference_results_v4.1 closed/Google/code/stable-diffusion-xl/
  flax/sdxl_tpu): ``backend_jax.py`` builds batch_size = per_device_batch_size (1, configs/base_xl.yml)
  x jax.device_count() and shards the latents over the chips (data_sharding), so each chip generates
  one image at a time; the weights are cast to bfloat16.
* NVIDIA (closed/NVIDIA/configs/stable-diffusion-xl/Offline/__init__.py): v4.0 (TensorRT 9.3) runs
  every GPU at gpu_batch_size 8 with precision "int8" (inference_results_v4.0 copy of the same file:
  H100_SXM_80GBx1 gpu_batch_size 8, offline_expected_qps 1.64); v4.1 runs Orin at batch 1 (UNet 1 x 2)
  in "int8", with no dla_core: the NVDLAs take no part in SDXL. Each component is its own TensorRT
  engine in its own format (:data:`NVIDIA_SDXL_FORMATS`): the int8 UNet as ModelOpt quant level 2.5
  leaves it, FP16 CLIPs, an FP32 (TF32) VAE.

Training: MaxDiffusion trains the SD 2 UNet on the MLPerf moments dataset (VAE latents precomputed:
AI-Hypercomputer/maxdiffusion src/maxdiffusion/pedagogical_examples/to_tfrecords.py stores 'moments'
and the raw caption), pure data parallel (ici_data_parallelism -1) at the notes' per_device_batch_size.

These rows are scored, not fitted (``Case.fit_evidence`` False): their predictions rest on
approximations that are not efficiencies (one image per chip behind a Server queue, data-parallel
gradient sync), so they are scored with the parameters fitted on
the other rows rather than pulling those parameters (and the other rows' cross-validated errors).
"""
from __future__ import annotations

import re

from .cases import Case, Unexpressible, refuse
from .cells import first_int
from .rows import Row
from .stacks import stack_for

# MLPerf Inference rules (mlcommons/inference mlperf.conf): stable-diffusion-xl Server target latency
# 20 s at the 99th percentile
SDXL_SERVER_BOUND_S = 20.0
# (MLPerf round, hardware) -> (per-device batch, precision) from the submitter's config (module docstring)
NVIDIA_SDXL = {("v4.0", "nvidia-h100-sxm"): (8, "int8"), ("v4.1", "nvidia-jetson-agx-orin"): (1, "int8")}
# NVIDIA builds one TensorRT engine per component, each in a format of its own:
# * UNet int8 at ModelOpt/AMMO quant level 2.5 (convolutions, feed-forward and q/k/v projections
#   quantized; attention, to_out, proj_in/out, norms in FP16): v4.0 download_model.sh runs
#   ammo.quantize_sdxl --quant-level 2.5 (github:mlcommons/inference_results_v4.0@92014844
#   closed/NVIDIA/code/stable-diffusion-xl/tensorrt/download_model.sh); v4.1 Orin reuses that UNet
#   (inference_results_v4.1@f44c9990 same file: "Orin: Use INT8 Unet ... use 4.0 NVIDIA submission code").
# * CLIP1 and CLIP2 in FP16 (v4.0 builder: CLIP 'fp16', CLIPWithProj 'fp32' only on Orin; the v4.1
#   builder github:mlcommons/inference_results_v4.1@b06ceefc closed/NVIDIA/code/stable-diffusion-xl/
#   tensorrt/builder.py builds both 'fp16').
# * VAE in FP32, which TensorRT runs on TF32 tensor cores (create_builder_config: tf32=precision == FP32):
#   the v4.0 builder's SDXLVAEBuilder builds VAE(precision='fp32') on every system (its TestPipeline
#   loads "stable-diffusion-xl-VAE-Offline-gpu-b1-fp32" engines: inference_results_v4.0@96c600ab
#   closed/NVIDIA/code/stable-diffusion-xl/tensorrt/backend.py); v4.1 keeps FP32 on SoCs (is_soc: Orin)
#   and moves datacenter GPUs to an int8 VAE.
NVIDIA_SDXL_FORMATS = (("int8_scope", "conv-ffn-qkv"), ("text_precision", "fp16"), ("vae_precision", "tf32"))
GOOGLE_SDXL_PER_CHIP = 1
# FLOPs of the frozen OpenCLIP ViT-H text encoder MaxDiffusion runs forward per sample (24 layers of
# 1024 at 77 tokens, ~0.05 TFLOP) against the UNet's ~2.4 TFLOP forward + backward: left out (~2 %)
# MaxDiffusion's train step (mlcommons/training_results_v4.1@b87b9e3 Google/benchmarks/stable_diffusion/
# implementations/maxdiffusion/maxdiffusion_fork/src/maxdiffusion/models/train.py, train_step): optax.adamw
# over the UNet's parameter tree after optax.clip_by_global_norm(config.max_grad_norm), max_grad_norm 1.0
# in configs/base_2_base.yml (run.sh leaves it). optax maps each transform over the tree's leaves
# (jax.tree_util.tree_map), and the UNet's parameters are a plain Flax tree, one leaf per tensor (no
# layer scan, unlike MaxText's stacked layers), so XLA compiles each tensor's norm and update as kernels
# of their own (optax's README offers the flatten wrapper "to reduce the overhead of performing many
# calculations on lots of small variables"; MaxDiffusion does not use it). SD 2's UNet has 686 tensors (UNet2DConditionModel at workloads/sd2-unet.yaml's config:
# conv_in 2, time embedding 4, down blocks 74 + 76 + 76 + 20, mid block 46, up blocks 38 + 116 + 116 +
# 114, norm and conv_out 4; a ResNet block 10 or 12 with its shortcut, a linear-projection transformer
# 26, its q/k/v without bias)
SD2_UNET_TENSORS = 686
TEXT_ENCODER_NOTE = ("the frozen OpenCLIP ViT-H text encoder's forward per sample (~2 % of the UNet's training "
                     "FLOPs) is not in the training graph; the VAE latents are precomputed (MLPerf moments dataset)")


def _round(row: Row) -> str:
    m = re.search(r"inference_results_(v\d\.\d)", row.source)
    return m.group(1) if m else ""


def diffusion_case(row: Row, base: dict, kind: str, name: str, prec: str | None) -> Case | Unexpressible:
    """The simulation of a Stable Diffusion row (``name``: the zoo workload the row's text maps to)."""
    if row.mode == "training":
        return _training(row, base, kind, name, prec)
    wl, n, hw = row.workload.lower(), row.n_devices or 1, base["hardware"]
    image = first_int(row.shape) or 1024
    assumptions = ["one sample = the text encoders once, the UNet 20 times on the guided (doubled) batch, the "
                   "scheduler step after each, the VAE decoder once (mlcommons/inference text_to_image reference)"]
    formats: tuple = ()
    if kind == "tpu":
        batch = GOOGLE_SDXL_PER_CHIP
        prec = prec or "bf16"
        assumptions.append(f"Google's harness: {batch} image per chip per call, latents sharded over the {n} chips "
                           "(backend_jax.py, base_xl.yml per_device_batch_size 1), bfloat16 weights")
    elif (_round(row), hw) in NVIDIA_SDXL:
        batch, prec = NVIDIA_SDXL[(_round(row), hw)]
        formats = NVIDIA_SDXL_FORMATS
        assumptions.append(f"NVIDIA's {_round(row)} SDXL config: batch {batch} per GPU, UNet {prec} as ModelOpt quant "
                           "level 2.5 leaves it (convolutions, feed-forward, q/k/v int8; attention, to_out, "
                           "proj_in/out, norms FP16), CLIP engines FP16, VAE engine FP32 (TF32 tensor cores)")
    else:
        return refuse(row, "SDXL: the submitter's batch and precision are not known for this system", kind)
    if n > 1:
        assumptions.append(f"{n} devices each generating their own images: throughput = {n} x one device's")
    latency = row.metric == "latency_ms"
    bound = SDXL_SERVER_BOUND_S if "server" in wl else None
    if bound:
        assumptions.append(f"MLPerf Server: Poisson arrivals served by {n} devices of batch {batch}; throughput = the "
                           f"highest rate whose p99 latency stays within {bound:.0f} s (validation.queueing)")
    return Case(**base, task="model", category="latency" if latency else "inference", workload=name,
                workload_params=formats, fit_evidence=False, mode="inference", precision=prec, batch=batch, image_size=image,
                scale=1.0 if latency else float(n), stack=stack_for(row, kind, "inference", hw),
                latency_bound_s=bound, assumptions=tuple(assumptions))


def _training(row: Row, base: dict, kind: str, name: str, prec: str | None) -> Case | Unexpressible:
    n = row.n_devices or 1
    per = re.search(r"per_device_batch_size (\d+)", row.notes)
    if not (per and re.search(r"pure data parallel", row.notes)):
        return refuse(row, "SD training: per-device batch or data-parallel layout not stated", kind)
    global_batch = int(per.group(1)) * n
    if str(global_batch) != row.batch_size.strip():
        return refuse(row, f"per_device_batch_size {per.group(1)} x {n} is not the global batch {row.batch_size}",
                       kind)
    image = first_int(row.shape) or 512
    assumptions = [f"MaxDiffusion: pure data parallel over {n} chips, {per.group(1)} images per chip, AdamW, "
                   "fp32 master weights", TEXT_ENCODER_NOTE,
                   f"optax: global-norm clipping then AdamW, each a kernel per parameter tensor ({SD2_UNET_TENSORS})"]
    return Case(**base, task="cluster", category="scaleout", workload=name, mode="training", fit_evidence=False,
                precision=prec or "bf16",
                weight_precision="fp32", batch=global_batch, image_size=image, optimizer="adamw",
                optimizer_tensors=SD2_UNET_TENSORS, grad_clip=True, devices=n,
                system=base["hardware"], parallelism=f"dp={n},tp=1,pp=1", microbatches=1,
                assumptions=tuple(assumptions))
