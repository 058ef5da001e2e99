"""FPGA measurement rows: the overlay a row names, its DPU clock, and how its runner was driven."""
from __future__ import annotations

import pytest
from simulator.spec.models import Precision

from validation.fpga_rows import ZOO_THREADS, clock_override, dpu_run, overlay, zoo_name
from validation.harness import map_rows
from validation.cases import Case, Unexpressible
from validation.rows import Row


def _row(device="AMD/Xilinx Zynq UltraScale+ ZCU102", workload="ResNet-50 (pt_resnet50, 8.2 GOPs)", batch="",
         metric="images_per_s", software="Vitis AI 2.5", notes="", precision="INT8") -> Row:
    return Row("X1", device, 1, workload, "inference", precision, batch, "224x224", metric, 100.0, software, notes)


def test_threads_from_the_rows_own_columns_before_its_notes():
    # M183-style: batch column "multi-thread", notes quote the single-thread figure
    assert dpu_run(_row(batch="multi-thread", notes="single-thread 77.58"), "amd-zcu102")[:2] == (3, ZOO_THREADS)
    assert dpu_run(_row(workload="ResNet-50 (single-thread)"), "amd-zcu102")[:2] == (1, 1)
    assert dpu_run(_row(batch="20 threads"), "amd-alveo-u200")[:2] == (8, 20)      # 2 kernels x batch 4
    assert isinstance(dpu_run(_row(), "amd-zcu102"), str)                            # no thread mode: refused


def test_latency_rows_need_one_thread():
    ok = dpu_run(_row(metric="latency_ms", notes="E2E latency, Thread Num =1"), "amd-zcu102")
    assert ok[:2] == (1, 1)
    refused = dpu_run(_row(metric="latency_ms", notes="E2E latency (ms) Thread num =20"), "amd-alveo-u250")
    assert isinstance(refused, str) and "20 threads" in refused


def test_mlperf_rows_keep_every_core_busy_without_host_preprocessing():
    r = _row(device="AMD/Xilinx Versal VCK5000 (XCVC1902)",
             workload="ResNet-50 v1.5 (MLPerf Inference v1.0 closed, Offline)")
    assert dpu_run(r, "amd-versal-vck5000-8pe")[:2] == (8, None)
    # a zoo model whose name contains "mlperf" is still a zoo run
    zoo = _row(workload="ResNet-50 (tf_mlperf_resnet50_imagenet_224_224_8.19G)", batch="multi-thread")
    assert dpu_run(zoo, "amd-zcu102")[:2] == (3, ZOO_THREADS)


def test_overlay_and_clock_named_by_the_row():
    r = _row(device="AMD/Xilinx Alveo U280", workload="ResNet-50 (Caffe, multi-thread, DPUCAHX8L)")
    assert overlay(r, "amd-alveo-u280")[0] == "amd-alveo-u280-dpucahx8l"
    assert overlay(_row(software="Vitis AI 2.5 (DPUCVDX8H-aieDWC 6PE @350)", notes="4PE config: 1675 fps"),
                   "amd-versal-vck5000")[0] == "amd-versal-vck5000"              # software column first
    spec, reason = overlay(_row(software="Vitis AI 1.4 (4x DPUCADX8G)"), "amd-alveo-u250")
    assert spec is None and "DPUCADX8G" in reason
    assert clock_override(_row(notes="row lists DPU frequency 150 MHz"), "amd-alveo-u280")[0] == \
        {"compute.clock_ghz": 0.15}
    assert clock_override(_row(notes="(row's DPU Frequency column = 300)"), "amd-alveo-u280") == ({}, "")


def test_zoo_model_names():
    assert zoo_name("ResNet-50 (Caffe, cf_resnet50_imagenet_224_224_7.7G)") == "resnet50-v1"
    assert zoo_name("ResNet-50 v1 (tf_resnetv1_50_imagenet_224_224_6.97G)") == "resnet50-tf-slim"
    assert zoo_name("MobileNet v2 (Caffe, cf_mobilenetv2_imagenet_224_224_0.59G)") is None   # not a ResNet
    assert zoo_name("YOLOv3 (VOC) detection (tf_yolov3_voc_416_416_65.63G)") == "yolov3-voc"
    assert zoo_name("SSD-MobileNet v2 (COCO) detection") == "ssd-mobilenet-v2"
    assert zoo_name("SSD-ResNet34 (MLPerf, COCO 1200x1200) detection") == ""                  # refused


def test_fpga_rows_map_to_dpu_cases_or_say_why_not():
    rows = [_row(batch="multi-thread"),
            _row(device="AMD/Xilinx Alveo U250", workload="ResNet-50 W1A2 FINN-style all-dataflow accelerator",
                 precision="W1A2 (binary weights, 2-bit activations)", batch="")]
    case, finn = map_rows(rows)
    assert isinstance(case, Case) and case.host_threads == ZOO_THREADS and case.batch == 3
    assert case.category == "inference" and case.family == "xilinx-dsp-dpu"
    assert isinstance(finn, Unexpressible)


def test_dpucahx8l_overlays_are_their_own_calibration_family():
    # the low-latency HBM DPU keeps its feature maps in HBM (virtual banks), unlike the DPUCAHX8H /
    # DPUCZDX8G overlays on the same cards: it does not share their efficiency
    from validation.families import family_of
    assert family_of("amd-alveo-u50-dpucahx8l", "fpga") == family_of("amd-alveo-u280-dpucahx8l", "fpga") \
        == "xilinx-dpucahx8l"
    assert family_of("amd-alveo-u280", "fpga") == family_of("amd-alveo-u50", "fpga") == "xilinx-dsp-dpu"


def test_xdputil_benchmark_rows_time_the_dpu_runner_alone():
    # README_DPUCV2DX8G: 'xdputil benchmark resnet50.xmodel 1' on the reference design's C20B1 overlay
    r = _row(device="AMD/Xilinx Versal VEK280 (VE2802)", workload="ResNet-50 (xdputil benchmark, 1 thread)",
             software="Vitis AI 3.5 (xdputil), DPUCV2DX8G reference design C20B1CU1")
    assert overlay(r, "amd-versal-vek280")[0] == "amd-versal-vek280-c20b1"
    assert dpu_run(r, "amd-versal-vek280-c20b1")[:2] == (1, None)    # batch 1, no host threads
    # each thread keeps one DPU batch in flight, at most one per core
    spec_cores_batch = dpu_run(_row(workload="ResNet-50 (xdputil benchmark, 1 thread)"), "amd-zcu102")[:2]
    assert spec_cores_batch == (1, None)                              # 1 of the ZCU102's 3 cores busy
    assert dpu_run(_row(workload="ResNet-50 (xdputil benchmark, 8 threads)"), "amd-zcu102")[:2] == (3, None)
    # the zoo's C20B14 rows stay on the C20B14 spec (C20B14CU1 is not C20B1)
    zoo = _row(device="AMD/Xilinx Versal VEK280 (VE2802)", notes="DPUCV2DX8G 1* C20B14CU1 @ 300MHz")
    assert overlay(zoo, "amd-versal-vek280")[0] == "amd-versal-vek280"


def test_the_c20b1_overlay_is_one_batch_handler_of_the_c20b14():
    from simulator.spec.loader import load_hardware
    from validation.families import family_of
    b1, b14 = load_hardware("amd-versal-vek280-c20b1").compute, load_hardware("amd-versal-vek280").compute
    assert (b1.dpu.batch, b14.dpu.batch) == (1, 14)
    assert b1.ai_engine_tiles * 14 == b14.ai_engine_tiles == 224
    assert family_of("amd-versal-vek280-c20b1", "fpga") == family_of("amd-alveo-v70", "fpga") == "xilinx-dpucv2dx8g"


def test_the_vck190_reference_design_names_its_c32b3_overlay():
    r = _row(device="AMD/Xilinx Versal VCK190 (XCVC1902)", workload="ResNet-50 (xdputil benchmark, 1 thread)",
             software="Vitis AI 3.0 (xdputil), DPUCVDX8G reference design C32B3CU1")
    assert overlay(r, "amd-versal-vck190")[0] == "amd-versal-vck190-c32b3"
    assert dpu_run(r, "amd-versal-vck190-c32b3")[:2] == (3, None)     # one batch of 3 in flight


def test_mlperf_v1_vck5000_rows_run_their_own_xclbin_clocks():
    # github:mlcommons/inference_results_v1.0 closed/Xilinx logs/run.log loads v4e_8pe_375MHz_333MHz_..._es1:
    # the MLPerf build, not the zoo's 8PE @350 MHz overlay; a zoo 8PE row keeps the zoo overlay
    from simulator.cost.peaks import fpga_macs_per_s
    from simulator.spec.loader import load_hardware
    r = _row(device="AMD/Xilinx Versal VCK5000 (XCVC1902)",
             workload="ResNet-50 v1.5 (MLPerf Inference v1.0 closed, Offline scenario)",
             notes="run.log loads xclbin v4e_8pe_375MHz_333MHz_xilinx_vck5000-es1 (DPUCVDX8H 'DPUv4e' 8PE)")
    assert overlay(r, "amd-versal-vck5000")[0] == "amd-versal-vck5000-8pe-mlperf-v1"
    zoo = _row(device="AMD/Xilinx Versal VCK5000 (XCVC1902)", workload="ResNet-50 (8PE, multi-thread)")
    assert overlay(zoo, "amd-versal-vck5000")[0] == "amd-versal-vck5000-8pe"
    mlperf, zoo8 = load_hardware("amd-versal-vck5000-8pe-mlperf-v1"), load_hardware("amd-versal-vck5000-8pe")
    # by hand: 256 AIE tiles x 128 int8 MACs x 1.333 GHz = 43.68 T MAC/s (zoo overlay at 1.25 GHz: 40.96 T)
    assert fpga_macs_per_s(mlperf, Precision.INT8) == pytest.approx(256 * 128 * 1.333e9)
    assert fpga_macs_per_s(zoo8, Precision.INT8) == pytest.approx(256 * 128 * 1.25e9)
    # the PL engines (eltwise / pool, 1024 int8 ops per cycle) on the xclbin's 375 MHz
    assert mlperf.compute.clock_ghz == pytest.approx(0.375) and zoo8.compute.clock_ghz == pytest.approx(0.35)
    # same overlay geometry otherwise
    assert mlperf.compute.dpu.conv == zoo8.compute.dpu.conv and mlperf.compute.dpu.batch == zoo8.compute.dpu.batch
