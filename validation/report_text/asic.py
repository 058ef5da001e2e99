"""REPORT.md paragraphs about the other ASICs (Gaudi, Neuron): ``MECH_*`` go under "Cost-model mechanisms",
``GAP_*`` under "Known gaps"; each is one Markdown bullet, placed in order by
:mod:`validation.report_text.mechanisms` and :mod:`validation.report_text.known_gaps`."""

GAP_GAUDI2_MME = """\
* Gaudi2 follows Habana's open-sourced MME stack (HabanaAI/Intel_Gaudi3_Software `mme/`): the two
  MMEs gang into one 1024x128 / 512x256 / 256x512 / 128x1024 output tile and each tile step takes
  max(K, 256) cycles (the MME brain's own cycle estimate), so 64-channel convolutions fill half a
  128-wide tile instead of a quarter of a 256x256 fold with 510 cycles of fill. Training runs under
  the SynapseAI graph compiler (stack `habana-graph`): batch norm fused with its ReLU or add + ReLU,
  forward and backward. MLPerf ResNet-50 training (A001-A003) went from -52..-58 % to -16..-26 %.
  Not modelled: the weight-gradient GEMMs' common-dim concurrency across the MMEs (mme_brain
  chooseConcurrency, dedw only), data gradients as transposed convolutions (K = Cout x taps, not the
  im2col K = Cout that meets the 256-cycle floor), MME / TPC overlap through SRAM slices and the batch
  norm statistics taken from SRAM (sram_management batch_norm_eviction_fuser).
"""

GAP_NEURONCORE = """\
* NeuronCores follow the NKI architecture guide (TensorEngine 128x128 at 2.8 GHz with background
  stationary loads, >= 64 cycles per instruction, element-wise work at the Vector/Scalar engines'
  element rate, GEMM results out of PSUM through them). The four engines run four independent
  instruction streams in parallel, synchronised only on data dependencies, so an op's PSUM
  evacuation and fused element-wise work overlap its TensorEngine tiles (`compute.vector_overlaps_array`,
  max of the two instead of their sum): refitted, Inferentia2 compute 0.58 -> 0.42 and Trainium
  0.66 -> 0.51 of peak, the 27 Neuron rows' in-sample median 16.3 -> 11.0 % and the ASIC kind's
  leave-one-source-out median 18.4 -> 10.2 % over 34 rows (BERT inference
  A008 -14 -> +7 %, A009 -17 -> -5 %; ResNet-101/152 throughput -9/-17 -> +6/-4 %; VGG batch-1
  latency -26/-22 -> -17/-11 %; BF16 BERT-Large pre-training M096 +28 -> +19 %, A028 +20 -> +11 %).
  The NeuronLink-v2 bandwidth is an ESTIMATE and the 70B pipeline stages are uneven (the LM head on
  the last one). The neuron stack runs the compiled graph as one program, so no op pays a kernel
  launch (`kernel_overhead_us` 0) and each request pays `efficiency.request_overhead_us` once
  (~0.46 ms, fitted on the batch-1 latency rows A017-A026, M091): Inferentia2's batch-1
  ResNet-18..152 latencies (0.60..1.19 ms) grow far slower with depth than a per-op launch would
  make them. Still open on Neuron: small CNNs' throughput (ResNet-18/34 at batch 8 per core,
  A012/A013, +42..64 % in-sample; neuronperf feeds FP32 224x224 inputs from the host,
  archive/src/benchmark/pytorch/resnet_benchmark.py). Copying each request's inputs over PCIe before
  its program (a stack's `inputs_from_host`, `simulator.run.stackhw.request_input_s`: 16 x 602 KB at
  the spec's 31.5 GB/s, 0.31 ms a batch-8-per-core step) was built and scored but is left off in the
  neuron stack: refitted before A030-A045 were added (Inferentia2 compute 0.399 -> 0.435) it took
  A012/A013 from +72/+50 to +40/+31 % leave-one-source-out and the ASIC p90 33.2 -> 29.3 %, but the
  higher compute share speeds up BERT throughput (M089 +4 -> +18 %; external N003 +5 -> +13, N007 +9
  -> +18 %): ASIC median 10.2 -> 11.5 %, ASIC external 5.0 -> 7.0 %. Per image, the batch-8 runs
  take longer than the batch-1 latency's compute (ResNet-18: 0.29 ms per image per core against
  ~0.15 ms), so a per-image cost that BERT does not pay is still missing (the PCIe figure itself is
  an ASSUMPTION: the Neuron docs give none). In series the copy is the wrong structure for these rows:
  resnet_benchmark.py runs neuronperf with workers_per_model [1, 2] and throughput x P50 = 2 x 2 cores x
  batch in every inf2 vision "Batch" row (ResNet-18: 6949/s x 4.587 ms = 31.9 = 2 x 16), so two requests
  are in flight per NeuronCore and one's copy overlaps the other's program. Per image and core the
  runs take ResNet-18 0.29 ms, -34 0.39, -50 0.46, -101 0.63, -152 0.82, VGG16 0.93: a straight line
  against the model's compute time with a ~0.13 ms intercept that BERT-Large (M087) also follows.
  Tried, not shipped (branches wt-neuron4, wt-neuron5): a time per sample and NeuronCore. As a fixed
  133 us it raised the jointly fitted compute share 0.375 -> 0.552 and sped up the never-fitted BERT
  rows (ASIC external 6.9 -> 12.0 %). Driven by each sample's input bytes instead
  (`efficiency.input_us_per_mb`, `simulator.run.stackhw.sample_s`: a 602 KB FP32 224x224 image against
  1 KB of int64 token ids per BERT sample, so BERT pays ~1/600 of an image's time without a knob of its
  own), the joint fit on the 17 aws-neuron throughput rows gives 187 us/MB (113 us per image, an
  effective 5.3 GB/s per NeuronCore; one of the core's 16 DMA engines peaks at 27 GiB/s,
  nki/guides/architecture/trainium_inferentia2_arch.rst) and compute 0.376 -> 0.500, request 489 -> 469 us.
  In-sample ResNet-18/34 throughput A012 +52 -> +5 %, A013 +30 -> +9 %, A031 +59 -> +10 %, A032 +38 -> +16 %,
  VGG16 A007 -15 -> -4 %; but VGG11/16 batch-1 latency A044/A045 -24/-17 -> -31/-27 % and, with no input
  time of their own, BERT throughput reads faster at the higher share (M089 +0 -> +28 %, M087 -16 -> +8 %;
  external N003 -1 -> +28, N007 +3 -> +31 %): ASIC external 6.7 -> 15.0 %, while the ASIC leave-one-source-out
  median moved only 13.0 -> 12.9 % (p90 31.5 -> 26.1 %; overall p90 40.8 -> 38.8 %, median 11.1 % unchanged). Paying nothing, BERT still
  breaks the fit, so what keeps the share low is BERT's own time per FLOP, not the per-image cost: the
  two workload types need different compute shares on the same TensorEngine. Lowering the element-wise
  rate does not separate them (vector 0.5 -> 0.3 at compute 0.5 brings M089 to +5 % but ResNet-152 A015
  to -30 %). Candidates not built: the attention's transposes, which neuronx-cc "most commonly" lowers to
  the TensorEngine (nki/deep-dives/nki_perf_guide.rst, IO / intermediate transposes), as TensorEngine
  time BERT pays and CNNs do not; for the images, the stem's 3-channel input, which no source yet says
  how neuronx-cc lays on the 128 partitions. Built and scored this round, not shipped (branch wt-infcnn):
  convolutions as one weights-stationary matmul per kernel tap over the input channels (the
  contraction sits on the SBUF's 128 partitions, a tensor keeps its channels there, taps accumulate in
  PSUM: nki/get-started/about/index.rst, `nc_matmul`, nki_perf_guide.rst intermediate transposes; the
  stem's 3 channels fill 3 of 128 rows, a 64-channel 3x3 layer a quarter of the array) together with
  two requests in flight per NeuronCore in the "Batch" rows (throughput x P50 / chip batch = 2 in every
  inf2 vision row, workers_per_model [1, 2]; a request's fixed time hides behind the other's program).
  At 100 % of peak with no overhead this mapping puts the seven CNN throughput tables at 0.83-1.11 of
  measured time (im2col: 0.25-0.75), and refitted it takes A012/A031 +52/+59 -> -16/-13 % and A032
  +38 -> 0 % in-sample; but the refit moves Inferentia2 compute 0.376 -> 0.889, which BERT and ViT on
  the same TensorEngine do not reach (~0.45-0.5): M087/M089 +66/+70 %, ViT A030 +81 %, ASIC
  leave-one-source-out 13.0 -> 16.0 %, external ASIC 6.7 -> 56 %. It waits for BERT's own missing time
  on NeuronCore-v2. The attention's and LayerNorm's layout transposes are not it (branch wt-neuronbert,
  built, not merged: `simulator.cost.array.layout_transposes`): each
  forward LayerNorm's [tokens, hidden] output and each head's P [q, kv] transposed as matmuls against a
  128-row identity (nki_perf_guide.rst Opt #8; RMSnorm and batch norm pay none) add ~1.5-2 % to BERT and
  ~2-5 % to ViT at the fitted share, against the ~1.7x the per-tap refit (0.891) leaves BERT short; with all
  three on and refitted M087/M089 read +66/+69 %, A030 +75 %, A023 +46 % out of fold, ASIC
  leave-one-source-out 13.0 -> 16.5 %, overall 9.76 -> 10.1 % (p90 35.1 -> 36.0 %), external ASIC 6.7 -> 54 %.
  On alone (refitted 0.376 -> 0.381) they are score-neutral: ASIC 13.0 -> 12.8 %, external ASIC 6.7 -> 6.4 %. What the per-image time is, is still not sourced: the
  benchmark's input is host FP32 (resnet_benchmark.py get_batch), nrt_execute is synchronous by default
  and the runtime reads, writes and executes in parallel per core (neuron-runtime/explore/
  runtime-performance-tips.rst), so the copy itself overlaps the other in-flight request.
  Rows A030-A045 are every cell of the older Neuron 2.14.0 inf2 vision tables (throughput_data_vision.csv, latency_data_vision.csv) whose network the zoo holds, taken whole: they repeat the misses (ResNet-18/34 throughput A031/A032 +66/+46 %, VGG11 latency A044 -28 %) and their batch-1 latencies run 0.07-0.31 ms slower than the 2.21.0 ones, which one per-request time cannot carry (refit 448 -> 488 us): the ASIC leave-one-source-out median went 10.2 % over 34 rows -> 13.0 % over 50. Also open: ViT (A023 -20 %,
  A024 +15 %, fine-tuning A029 +41 %), and FP32 against BF16 BERT-Large pre-training (A027 -33 %,
  M096 +19 %). A027 is true FP32: neuronx-cc's `--auto-cast` default is `none` since Neuron 2.27
  (release-notes/components/compiler.rst, "previously matmul"), the table's run is Neuron 2.28 and
  dp_bert_large_hf_pretrain_hdf5.py adds only `--model-type=transformer` (aws-neuron-samples);
  simulated with BF16 matmuls it reads +104 %. By the script's own FLOP count the FP32 run holds
  63 % of the FP32 TensorEngine peak and the BF16 run 28 % of the BF16 peak: the cost the model
  lacks scales with elements (Vector/Scalar/GpSimd work of the backward pass, optimizer or
  stochastic-rounding passes), not with matmul FLOPs, and is not sourced yet.
"""
