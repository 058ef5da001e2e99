"""REPORT.md paragraphs about TPUs (Cloud TPUs and the Edge TPU): ``MECH_*`` go under "Cost-model mechanisms",
``GAP_*`` under "Known gaps"; each is one Markdown bullet, placed in order by
:mod:`validation.report_text.mechanisms` and :mod:`validation.report_text.known_gaps`."""

MECH_MXU_DOUBLE_BUFFER = """\
* TPU MXUs shift the next weight tile in behind the current one (weights double-buffered, ISCA 2017):
  the systolic fill and drain is paid once per GEMM, so batch-1 decode is HBM-bound (Llama-2-7B on
  v5p 16.6 -> 7.8 ms/token, weight-stream floor 4.9 ms). TensorCores are VLIW (an op's vector work
  overlaps its MXU work); fused causal attention computes only the blocks on or below the diagonal
  (Pallas flash attention); decode attention runs a K/V head's query heads together (GQA). Depthwise
  convolutions take the fastest of the vector unit, one channel per array column and channels packed
  block-diagonally into a fold.
"""

MECH_MAXTEXT_MESH = """\
* MaxText TPU training rows (`validation/tpu_rows.py`) run the mesh their notes state: FSDP is ZeRO-3
  over the fsdp axis with replicas across data axes and slices (hybrid sharding, `Parallelism.fsdp`),
  slices joined over the data-center network (`tpu-*-multislice`), the remat policy (host-offloaded
  tensors leave the device), AQT int8 training (int8 MXU, 16-bit tensors, operand quantization on the
  vector units), fp32 parameters and gradients; TFLOP/s and MFU use MaxText's FLOP counter, MLPerf
  GPT-3 blocks include their evaluation pass.
"""

GAP_EDGE_TPU_MOBILENET = """\
* Edge TPU MobileNet v1 (M163, M169) is predicted ~18 % slow, MobileNet v2 (external) ~31 %: with
  depthwise convolutions packed into the array the rest is the 64x64 array's serial folds (its
  geometry and clock are an ASSUMED decomposition of 4 TOPS); Inception v1 (M165) is -11 %.
"""

GAP_MULTISLICE = """\
* TPU multislice: MaxText's per-generation tables lose 3-10 % per chip from 1 to 2-32 slices; the
  model overlaps the cross-slice (DCN) gradient all-reduce with the backward pass and loses ~0 %.
"""

GAP_COLLECTIVE_COMPUTE = """\
* TPU collectives cost TensorCore time while they overlap the layers: XLA runs a ZeRO-3 weight
  gather or gradient reduce-scatter as work interleaved with the fusions (MaxText passes
  `--xla_tpu_overlap_compute_collective_tc`; the v6e recipes offload all-reduces to the SparseCores to
  win that time back), so an overlapped collective holds the compute stream for
  `efficiency.collective_compute_share` of its link time (google-tpu family, fitted on the 29
  multi-chip training rows U001-U034; not published as a number; now at its 1.0 upper bound, see below). Single-slice ICI is a torus of the
  chip's dimensions (2-D on v5e/v6e, 3-D on v4/v5p) laid out near-cubic (v5p 512 = 8x8x8, v6e-256 =
  16x16), not one ring of every chip: 21 latency steps per half on v5p-1024 instead of 511. The v6e
  GPT-3 175B rows went from 19-21 % fast to 12-14 % (U021, U022), the MLPerf v6e rows U031 +19 -> +3 %,
  TPU leave-one-source-out 9.1 -> 8.3 %. Left: v5e 32B (U005) -17 %; AQT int8 (U022) gathers its
  weights at 1 byte in the model (MaxText probably gathers bf16 and quantizes in the matmul: not
  verified); MaxDiffusion SD 2 on 512-1,024 v5p (U037, U038) went from interconnect-bound and 38-64 %
  slow to compute-bound and 39-43 % fast, and U039 (v6e) -5 -> +16 %: what limits it at 2-4 images
  per chip is not modelled. Measured step times fit fwd + bwd (model) + optimizer + ~29 ms exposed at
  64, 512 and 1,024 chips alike (201.5, 66.0, 65.6 ms), as if the gradient all-reduce ran after the
  backward pass; no source for that was found. Part of it now has one: MaxDiffusion's train step
  clips gradients by their global norm (optax.clip_by_global_norm, max_grad_norm 1.0 in
  base_2_base.yml) and runs optax.adamw over the UNet's plain Flax tree, one leaf per tensor (686 in
  SD 2's UNet; no layer scan, no optax.flatten), so each tensor's norm and update are kernels of their
  own, 1,372 per step at the device's per-kernel time (5 us on TPU), plus one more read of every
  gradient for the norm: +7.6 ms on v5p, +8.2 ms on v6e (`optimizer_tensors=686`,
  `grad_clip=True`; `plan._optimizer_segments`). U035-U039 in-sample +12.2/+12.8/+40.0/+35.9/
  +9.5 -> +9.6/+8.2/+20.5/+17.3/-0.2 %. What is left on U037/U038 (~11 ms a step, independent of chip
  count: 66.0 and 65.6 ms measured at 512 and 1,024 chips) still has no source; the flat step time
  across chip counts also fits a host-side floor (JAX dispatch of a ~2,000-leaf train state, the
  tf.data input), which nothing in the logs measures. Tried, not shipped (branch wt-diff2): passing the cases'
  fp32 parameter format to the training step (`validation.predict._cluster` drops `weight_precision`,
  so gradients sync in bf16; `plan._grad_bytes` would sync fp32): U035-U039 +11.7/+13.3/+49.0/+45.5/
  +15.5 -> +10.1/+9.8/+27.7/+24.2/+0.8 %, but the multislice Trillium GPT-3 rows U032-U034 -7 -> -19 %
  and U031 +6 -> -4 % (the weight gradient's dot runs in bf16 and is converted to the fp32 parameter's
  format after it; whether XLA all-reduces before or after that convert was not checked). MaxDiffusion's
  attention (the v4.1 fork's attention_flax.py) takes the splash kernel only when q, k and v are all
  >= 4,096 tokens (flash_min_seq_length; the 64x64 level's self-attention at 512x512), zero-pads head
  dim 64 to 128 for it, and runs every other attention as dot_product with fp32 Q.K^T scores
  (float32_qk_product); Google's SDXL inference config sets attention 'dot_product' (base_xl.yml).
  Tried, not shipped: charging the unfused cost (fp32 scores through HBM) to the attentions below
  4,096 tokens brings U035/U036/U039 to -0.9/+1.3/+4.2 % and U037/U038 to +40.8/+37.6 %, but the same
  cost on SDXL inference's dot_product attentions makes M058/M059/U042/U043 65-75 % slow: XLA does not
  pay it, so the training improvement would rest on a cost the inference rows refute. The v6e rows are vector-bound in the model (flash-attention softmax and AQT
  quantization). Tried, not shipped (branch wt-tpu4): native bf16 VPU arithmetic from TPU generation 6
  (Mosaic's bf16_ops_min_supported_versions: 4,096 bf16 FLOP/cycle against 2,048 fp32): TPU
  leave-one-source-out 8.3 -> 7.8 %, but the refit pushed `collective_compute_share` to its 1.0 bound,
  AQT int8 U022 -13 -> -24 %, U031 +3 -> +20 %, and the external TPU rows 8.4 -> 9.2 %. The per-op form was
  tried as well (branch wt-tpu6): bf16 at twice the f32 rate only on element-wise work (activations,
  residual and bias adds), with fused attention (the splash kernel takes its scores in f32), norms
  (MaxText's RMSNorm upcasts), loss, optimizer and AQT's scales at the f32 rate. Refitted, the share
  stays off its bound (0.687 -> 0.737) but TPU leave-one-source-out went 8.14 -> 8.16 % (overall
  11.1 -> 11.2 %): the v6e rows' vector time is mostly the f32 attention softmax, so element-wise
  packing moves them by 1 point at most (U031 +6.4 -> +7.4 %, U022 -11.7 -> -12.5 %); not shipped. The MLPerf v4.1 Trillium rows show the FSDP gathers costing almost no
  TensorCore time (2.581 ms per token per chip at 3 sequences per chip, 2.620 at 2: +1.5 %; the model
  +15.6 %), but the rows' own recipes do not support a SparseCore form of the share. Read per row, the
  only SparseCore collective offload any of them enables is the all-reduce
  (`--xla_tpu_enable_sparse_core_collective_offload_all_reduce=true`): U013, U014, U017 (MaxText
  benchmarks/maxtext_trillium_model_configs.py, `ENABLE_SPARSECORE_OFFLOADING_FOR_ALL_REDUCE`) and
  the MLPerf v4.1 v5p Stable Diffusion runs U035-U038 (maxdiffusion run.sh). No row offloads
  all-gathers or reduce-scatters (MaxText's xla_flags_library has those on by default only on
  Ironwood); the Trillium GPT-3 rows fuse their FSDP gathers into TensorCore fusions
  (`CF_FOR_ALL_GATHER`). The Llama rows have no all-reduce in the model (pure FSDP), so offloading it
  moves nothing there; on U035-U038 (data-parallel gradient all-reduce) it would make the already fast
  predictions faster (+11.7/+13.3/+49.6/+46.1 % -> +13.2/+17.1/+75.7/+70.1 % in-sample). Offloading
  the v6e gathers and reduce-scatters (no flag says so) would not fit either: U032-U034 -7 -> +3 %,
  but U021 -12 -> -21 %, U018 -12 -> -18 %, U031 +6 -> +15 %. The Trillium GPT-3 rows disagree among
  themselves under one set of flags (U021/U022, 3 sequences per chip on one slice, 12 % fast; U031,
  3 per chip on 2 slices, 6 % fast; U032-U034, 2 per chip on 4-12 slices, 7 % slow): what changes with
  sequences per chip and slices is not the offload, and is not modelled (flags recorded in tpu.csv).
"""

GAP_AQT_SHARD = """\
* TPU AQT int8 training under ZeRO-3 / FSDP quantizes each weight on its shard: XLA's sharding
  propagation keeps the parameter's sharding through the element-wise quantization (the per-channel
  abs-max over a sharded axis is a local max plus a small all-reduce) and all-gathers the int8 tensor
  where the dot needs it, the 1-byte gather the model already charged; the model had also quantized
  the whole gathered weight on every chip (forward, recompute and the dX GEMM: ~2.3 s of a 12.6 s
  v6e GPT-3 step that did not scale with tokens). Now each rank quantizes 1/fsdp of it
  (`CostOptions.weight_shards`, `cost/tpu.aqt_vector_flops`). The MLPerf v4.1 GPT-3 rows also evaluate
  at 1 sequence per chip (`eval_per_device_batch_size: 1` in the submission's gpt3-175b.yml; U029,
  U031-U034), not at the training batch. Refitted, google-tpu compute 0.844 -> 0.852 and
  `collective_compute_share` 0.705 -> 0.93 (the round's full refit: 0.859 and 1.0, the share's upper
  bound, so the fit now charges every overlapped collective second to the TensorCore); leave-one-source-out U032-U034 -12 -> -4 %, U021
  -13.5 -> -7.2 %, U018 -12.4 -> -8.3 %, U009 +11.1 -> +8.8 %, U039 +15.5 -> +9.5 %, but U022 (the
  tpu-recipes AQT int8 log line) -12.5 -> -23.1 %, U010 -10.8 -> -13.3 %, U007 -8.2 -> -10.0 %, U005
  -16.0 -> -17.3 %. U022 runs the same MaxText config as MLPerf's trillium-512 (U031: pdb 3, full
  remat, flash, int8): with U022's logged 14.2 s step, U031's blocks leave ~0.54 s per 1-sequence eval
  step, where the model spends ~1.3 s (gather-bound at 2,048 tokens per chip) and only ~11 s per
  training step; which of the two (training compute or the eval pass) the model misses is not resolved.
"""
