"""REPORT.md paragraphs about more than one device kind (power, software stacks, multi-device runs, never-fitted rows): ``MECH_*`` go under "Cost-model mechanisms",
``GAP_*`` under "Known gaps"; each is one Markdown bullet, placed in order by
:mod:`validation.report_text.mechanisms` and :mod:`validation.report_text.known_gaps`."""

MECH_POWER_CAPPING = """\
* Power capping: an op whose dynamic power would exceed TDP - idle - active stretches until it fits
  (`simulator/cost/base.py: finish`). The library keeps each spec's matrix peak within that budget,
  except where a measurement says the chip cannot: a continuous fp16 GEMM on the 70 W T4 holds ~24
  TFLOPS of its 65 (NVIDIA Developer Forums thread 264462), and its tensor-path energy per FLOP is
  derived from that. T4 TensorRT BERT-Large rows went from -13 / -34 % to +6 / -6 % (M085, M086).
"""

MECH_SOFTWARE_STACKS = """\
* Software stacks (per row, from the `software`/`precision` columns, run as simulate's `stack`,
  `simulator/scenario.py`): compiled inference stacks (TensorRT, MLPerf, Neuron, TFLite/Edge TPU,
  Vitis AI, TPU) fuse pointwise ops into their producers (`simulator/workload/fusion.py`); eager
  PyTorch/TF rows use unfused attention (2021 stacks) and an op cannot start before the host has
  dispatched it (`framework_dispatch_us` per op, the engine's host process).
"""

MECH_MULTI_DEVICE = """\
* Multi-device runs partition the graph one device runs (`run/graphs.forward_graph`): the stack's
  fused regions, output scans and attention fusion limit apply to every replica (a data-parallel
  OpenVINO BERT or Intel MLPerf RetinaNet replica was 2-8 % faster than one device with its share).
"""

GAP_TRAINING_GRAPHS = """\
* Training graphs carry what the frameworks run: dropout where the model config has it (BERT, GPT-2),
  batch norms that read their input twice in training (statistics, then normalise) and norms whose
  backward reads (x, dy) twice. NVIDIA's MLPerf MXNet ResNet-50 (stack `mxnet-mlperf`) runs each batch
  norm with the ReLU, or the residual add and ReLU, after it as one NHWC kernel forward and backward
  (run_and_time.sh `--fuse-bn-relu 1 --fuse-bn-add-relu 1`; `workload/fusion.py fuse_norm_epilogues`):
  M146/M148 went from ~26 % slow to within 7 %. Its statistics fused into the convolutions'
  epilogues (NormConvolution) are not modelled.
"""

GAP_EXTERNAL_ROWS = """\
* Found by the out-of-sample rows (`EXTERNAL.md`, never fitted): PyTorch 1.x eager (NGC 21.03)
  ResNet-50 inference at batch 1-8 is host-bound at ~10-13 ms per iteration, ~55-60 us per op on the
  DGX-1 and T4 hosts, where the same container's EfficientNet-B0 on a DGX A100 takes ~39 us per op:
  one host time per stack cannot be both, and the host CPU is not in the device specs, so the DGX-1 /
  T4 batch-1 rows read ~-33 % (and the V100 EfficientNet-B0 fit rows ~-28 %); A100 TF32 training
  was ~30 % slower than predicted (D001, like M032/M041) before cuDNN's NCHW transforms were charged
  (now +14 %). Inferentia2 BERT throughput, flat in batch (BERT-Base 2,600-2,900 seq/s at
  batch 4-16), was predicted to gain 1.9x from batch 4 to 16 under the serial SCALE-Sim fold; with
  the NeuronCore model above the 12 Inferentia2 rows land at 8.6 % median (batch 16-32 BERT-Base
  still +13..+21 %). Edge TPU MobileNet v2 is +46 % (USB and Dev Board), like MobileNet v1 here: the depthwise vector
  rate is an ESTIMATE; raising it to fit MobileNet makes Inception v1 (M165) ~25 % fast instead.
"""

GAP_POWER = """\
* Power: GPUs and TPUs draw an active power while any op runs (`power.active_w`, 0.54 of TDP -
  idle, from ML.ENERGY v3 H100 serving power: Llama 3.1 8B at batch 16-128 is predicted 498-562 W
  against 513-669 W measured, was 183-319 W); H100 ResNet-50 training averages ~520 W (was ~235 W).
  The fraction is measured on the H100 only and assumed for the other GPUs and the TPUs; on the TPUs
  it was checked, not fitted: fleet mean power M157/M158 went from ~27 % low to within +5 %. CPUs,
  FPGAs and ASICs have no active term yet.
"""

GAP_TRIED_ROUND = """\
* Tried this round, not shipped (each paragraph above gives the figures): the OpenVINO BERT-Large
  latency rows on AMX Xeons against four sourced leads, none of which is large enough (branch
  wt-cpulat: weights from DRAM 1-2.5 ms, no per-inference shape work on the static 1x384 IR, AMX tile
  configuration and power-up under 0.6 ms, against 12-38 ms missing); the T4 batch-1 rows against its
  clock, power cap and kernel floor (wt-t4) and a per-step TF 1.x host time in series (wt-tfstep,
  sourced in the benchmark code, not identified out of fold: p90 35.1 -> 35.9 %); the Neuron layout
  transposes on the TensorEngine (wt-neuronbert, ~2 % of BERT against the 1.7x the per-tap conv mapping
  leaves). Shipped this round: the DPUCV2DX8G AI Engine clocks of the zoo table (V70 1.00, VEK280
  1.18 GHz), the VCK5000 MLPerf v1.0 xclbin's clocks (PL 375 MHz, AIE 1.33 GHz) and MaxDiffusion's
  per-tensor optimizer with its gradient clip (U037/U038 +40/+36 -> +21/+17 %).
* Tried the round before, scored on their own branches, not shipped: (1) OpenVINO's FullyConnected as
  oneDNN's brgemm inner product, which reads the whole weight matrix once per row chunk (os_block 64
  int8, 128 BF16: jit_brgemm_inner_product_utils.cpp, loop order osc_occ), charged from DRAM in each
  one-core stream (branch wt-cpuint8): the int8/BF16 BERT-Large ratio becomes 1.03-1.10 (measured
  1.11-1.12) but both precisions then read 17-26 % slow (the streams must hit the LLC on part of those
  re-reads, not modelled) and the refit moves RetinaNet +28 -> +37 % (X003): CPU leave-one-source-out
  13.9 -> 17.3 %. (2) run_squad.py's per-sample host calls between synchronizing steps and demo/BERT's
  skip-layernorm plugin kernels (branch wt-gpubert): M079 +26 -> +1 %, M081 -34 -> -11 % out of fold,
  but the joint refit doubles the NVIDIA per-query time (59 -> 113 us) and moves M083 -8 -> +24 %; the
  count of rows under 10 % is unchanged. (3) The VCK5000 MLPerf v1.0 harness packs two images per
  processing engine (closed/Xilinx/code/resnet50/app.cc, batchSize 16 over 8 PEs, branch wt-versal):
  with the model's all-or-nothing feature-map spill it reads 45-53 % slow where the packed run was 34 %
  faster than the zoo's; a per-layer time added instead of taken as a floor moved Inception v3 on the
  DPUCV2DX8G +59/+85 -> +34/+55 % but the AI-Engine DPU rows' median 8.8 -> 13.2 %.
"""
