"""REPORT.md's "Cost-model mechanisms" section: each device kind's paragraphs, in the report's order."""
from . import common, cpu, fpga, gpu, tpu

MECHANISMS = """\
## Cost-model mechanisms this calibration relies on

""" + "".join((
    gpu.MECH_SPLIT_K,
    gpu.MECH_STREAM_K,
    gpu.MECH_TILE_FILL,
    gpu.MECH_MAMF_MAXIMUM,
    common.MECH_POWER_CAPPING,
    gpu.MECH_SMALL_TILES,
    gpu.MECH_WINOGRAD,
    gpu.MECH_NCHW_TRANSFORMS,
    gpu.MECH_ATTENTION_EXP,
    tpu.MECH_MXU_DOUBLE_BUFFER,
    tpu.MECH_MAXTEXT_MESH,
    common.MECH_SOFTWARE_STACKS,
    gpu.MECH_RES2_FUSION,
    cpu.MECH_INTEL_RESNET_BACKBONE,
    cpu.MECH_RETINANET_SCAN,
    cpu.MECH_OPENVINO_ATTENTION,
    cpu.MECH_INTEL_MLPERF_HARNESS,
    fpga.MECH_DPU_OVERLAYS,
    fpga.MECH_DPU_LAYER_TIME,
    cpu.MECH_GROUPED_INT8,
    gpu.MECH_EAGER_AMP,
    gpu.MECH_SDXL_ENGINE_FORMATS,
    cpu.MECH_FP32_LANES,
    gpu.MECH_KERNEL_FLOOR,
    common.MECH_MULTI_DEVICE,
))
