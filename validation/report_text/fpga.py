"""REPORT.md paragraphs about FPGAs (Vitis AI DPU overlays): ``MECH_*`` go under "Cost-model mechanisms",
``GAP_*`` under "Known gaps"; each is one Markdown bullet, placed in order by
:mod:`validation.report_text.mechanisms` and :mod:`validation.report_text.known_gaps`."""

MECH_DPU_OVERLAYS = """\
* Vitis AI DPUs: the low-latency DPUCAHX8L overlays (U50, U280) keep feature maps in HBM virtual banks,
  not on-chip banks, and are their own calibration family (`xilinx-dpucahx8l`); on the AI-Engine
  DPUCV2DX8G (VEK280, V70) a layer (conv with its fused BN/ReLU/add, pool) takes at least
  `dpu.layer_floor_us` = 32.3 us per batch run, derived from the Vitis AI 3.5 zoo's V70 MobileNet v1
  series (0.11 / 0.12 / 1.14 GOPs at a flat ~14.9k fps) and cross-checked on its pruned ResNet-50
  series. FPGA in-sample median 10.2 -> 8.7 %, leave-one-source-out 21.4 -> 17.9 %. The first-generation
  AI-Engine DPUs have floors too, derived the same way from the Vitis AI 2.5 zoo's mobilenet_v1_0.25 at
  128x128 (29 layers): DPUCVDX8G (VCK190) 6 / 10,348 fps / 29 = 20.0 us per layer, DPUCVDX8H-aieDWC 6PE
  (VCK5000) 10.1 us, each less the 5 us per-op overhead added after the floor. And where the target
  file pools on the ALU that runs depthwise convolutions (DPUCZDX8G, DPUCVDX8G, DPUCV2DX8G:
  `dpu.pool_on_alu`), a pooling layer steps through its window on those lanes as a depthwise kernel
  does (Inception's 3x3 stride-1 branch pools: 9 lane-cycles per output on the VCK190's 16 x 8 PL
  lanes). External VCK190 Inception v1 +103 -> +11 %, Inception v3 +89 -> +42 %, VCK5000 Inception v1
  +47 -> +37 %; external FPGA median 13.1 -> 12.5 %.
"""

MECH_DPU_LAYER_TIME = """\
* A DPU family's per-layer time (`efficiency.op_overhead_us`) is fitted on its one-thread Vitis AI
  runner rows (`validation.stages._dpu_one_image`: one image passes its layers one after another,
  each layer's instruction fetch, weight load and pipeline fill not overlapping the next; PG338), so
  every leave-one-source-out fold identifies it. Before, xilinx-dsp-dpu's value was identified by no
  row: every fold fell back to the schema default while the shipped value kept an older fit (refit:
  compute 0.977 -> 1.0, op_overhead_us 33.0 -> 43.2 us on F015, F022, F043-F045). FPGA
  leave-one-source-out 17.0 -> 11.4 %.
"""

GAP_DPU_BOARDS = """\
* Vitis AI DPU boards (`compute.dpu`, `run/dpu_board.py`): cores x batch engines sharing DDR/HBM,
  lane padding (pixel / input / output-channel lanes, depthwise engine), feature maps kept in the
  banks when one image's fit, and the Vitis AI Library runner (1 thread: normalise, DPU, post-process in
  series; 8 threads: the slowest of DPU cores, APU/host cores, link). Without the lane padding the FPGA
  fit/test medians were 8.5/19.6 % against 6.4/11.9 % with it (same rows), so it stays. Known misses:
  Inception v3 is ~2x slower per MAC than ResNet-50 on every AI-Engine DPU (VCK190, VCK5000, VEK280,
  V70) and not on the DSP DPUs (ZCU104 within 6 %): not modelled. The Vitis AI 3.5 zoo's pruned series
  put it in the MACs, not in a per-layer or per-image cost: on the V70 each GOP removed from Inception v3
  saves 52 us per image, from ResNet-50 16 us; ResNet v2-50/101/152 at 299x299 (3x3/1x1 kernels only)
  also run at 18-28 TOPS on the VEK280 against 33-47 for ResNet v1 at 224, which the model reproduces
  by feature maps spilling from the 2 MB bank (its ResNet-50 graph at 299 vs v2-50: -8 %) while
  Inception's layers fit the bank; the 1xn/nx1 kernels are not shown to be the cause (the DPUCV2DX8G
  target file limits kernels to 1-16, nothing more); the same zoo table runs the same network from three
  frameworks at 11.4-11.5 GOPs at 1,144 (pt) / 1,296 (tf) / 1,503 (tf2) fps on the V70 and 1,463 / 1,505 / 1,761
  on the VEK280, a 1.3x spread the lane model cannot see (the ResNet-50s of the table spread by their GOPs
  only), so part of the gap is in how each quantizer's graph compiles, not in the array's geometry;
  Inception v1 on the VCK190/VCK5000 +57..+101 % (`EXTERNAL.md`);
  MobileNets on the DSP DPUs read 21-33 % slow (the per-layer time `op_overhead_us`, 43.2 us, is fitted on
  five one-thread runner rows and weighs more on MobileNet's many small layers); the ZCU102's three cores share DDR4 less well than the model allows (+25 %); the U200/U250
  DPUCADF8H runs ~20 % above the lane model's peak (its per-kernel MAC count is an ESTIMATE); the V70
  running ~15 % below the VEK280 on the same overlay in every network is its AI Engine clock: the zoo
  table's post-release headers (github:Xilinx/Vitis-AI@5880ef45, same cells as the v3.5 tag) give 'AIE
  fclk = 1.00GHz' for the V70 and 1.18 GHz for the VEK280 (not the reference design's 1.25 GHz), which the
  specs now carry (xilinx-dpucv2dx8g compute refit 0.264 -> 0.319). The MLPerf v1.0 VCK5000 rows
  (F047/F048) ran their own build, not the zoo's 8PE @350 MHz overlay: run.log loads
  v4e_8pe_375MHz_333MHz_xilinx_vck5000-es1 (DPU PL clock 375 MHz; 333 MHz = 1.333 GHz / 4, the AIE
  array interface's PL side) and run_mlperf.sh labels the QPS targets used '(1.33)', the 'internal' run
  at '(1.5)' loading the same xclbin, so the AI Engine clock is 1.33 GHz (spec
  amd-versal-vck5000-8pe-mlperf-v1; refit xilinx-dpucvdx8h compute 0.823 -> 0.803). That explains
  ~3 points of their gap; they stay 19-23 % slow in-sample (28-32 % out of fold). The run is 1.38x the
  zoo's own tf_mlperf_resnet50 on the 8PE overlay (4,519 fps, Vitis AI 2.5 README), where the clocks give
  1.07x: it also packs two images per processing engine (tried, not shipped: see 'Tried this round')
  and feeds pre-processed samples. MobileNet v1 on the 6PE aieDWC
  overlay (M178) stays +30 % (+38 % out of fold): the zoo table states DPU 350 MHz and the model runs
  the depthwise engine (64 channels x 8 pixels, DPUCVDX8H_ISA1_F2W4_6PE_aieDWC.prototxt) at that clock;
  'aieDWC' places the depthwise on the AI Engines, which at the array clock would only read faster.
  The Vitis AI 1.4 zoo's U280 DPUCAHX8L table printed cf_resnet50 541.6 fps and cf_resnet18 155.6; the
  1.4.1 release of the same README (tag v1.4.1, @5e500db2) prints 160.5 and 542.3: the two cells were
  transposed, and F039 now carries 160.5 (U280/U50 ratio 1.82, like 1.73-1.83 for every other model of
  the two tables). Refitted on it the DPUCAHX8L efficiency fell to its 0.2 bound: against the lane
  model the ResNets and VGG16 took 2.2-2.4x their lane time, MobileNet v1/v2 0.33x/0.47x. Now each
  element-wise add and each concatenation on this overlay is a pass of its own through HBM
  (`dpu.hbm_pass_element_ns`, `cost.fpga.hbm_pass_s`): the eltwise engine (32 channels x 1 pixel) reads
  both operands back from the HBM virtual banks and the conv engine lists no fused add
  (DPUCAHX8L_ISA0.prototxt, Vitis AI 3.5), the IP is built with ENABLE_CH_OFFSET 0 so a concat is a copy
  (v1.4 dsa/DPUCAHX8L-XO component.xml), and ELEW is an instruction of its own (vaitrace dpuv3me.py).
  ResNet-50 writes 5.5 M add outputs per image, MobileNet v2 0.2 M, which is what separates them. The
  time per element, 1.6 ns, is memory-side (the zoo's U50 tables at 333 and 250 MHz give the same one)
  and DERIVED, not from first principles: it minimises the median error (7.7 %) of ten other cells of the
  same zoo README at the schema's compute share (ResNet-18/101/152, Inception v1/v3 on the U50 and U280),
  and the convolutions then fit at 0.88 of the lane peak (was 0.2). In-sample F038/F039/F040
  +34.0/+11.6/-53.1 -> +3.3/+7.6/-5.2 %. Because the value comes from the rows' own document, their leave-one-source-out fold
  takes it back (`validation.crossval.DERIVED_SPEC_VALUES`: the fold runs with 0 and the schema's 0.75),
  so out of fold they still read +360/+291/+29 %: no second document with DPUCAHX8L measurements was found
  (the only other one, the Whole-App-Acceleration ssd_mobilenet README on the U280, is end-to-end with
  host pre/post-processing). Zoo cells that are not rows still miss: VGG16 +91/+56 % (its 123 MB of FC
  weights likely come through the narrow 256-bit system ports), ResNet-18 +30/+34 %. Tried, not shipped: a DPU layer waiting for
  its weights at the core's port-limited memory rate before its MACs start (no new parameter) fits the
  embedded DPUCZDX8G boards (MobileNet v1 ZCU104/KV260 F017/F024 -21/-26 -> +10/+2 %, the five
  one-thread rows within 5 %) but drives the shared per-layer time to its 0.5 us bound, and the Alveo
  DPUCAHX8H/DPUCADF8H rows that share it then read +18..+112 % (F037, F041, F042, M179, M182); neither
  PG338 nor PG367 says whether a layer's weight fetch overlaps its MACs.
"""
