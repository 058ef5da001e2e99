"""REPORT.md's "Known gaps" section: each device kind's paragraphs, in the report's order."""
from . import asic, common, cpu, fpga, gpu, tpu

KNOWN_GAPS = """\
## Known gaps (found while validating)

""" + "".join((
    tpu.GAP_EDGE_TPU_MOBILENET,
    tpu.GAP_MULTISLICE,
    tpu.GAP_COLLECTIVE_COMPUTE,
    tpu.GAP_AQT_SHARD,
    gpu.GAP_MI300X_BATCHED_GEMM,
    gpu.GAP_EAGER_BERT,
    common.GAP_TRAINING_GRAPHS,
    asic.GAP_GAUDI2_MME,
    gpu.GAP_DATA_PARALLEL_HOST,
    asic.GAP_NEURONCORE,
    gpu.GAP_FP8,
    gpu.GAP_LLM_PREFILL,
    common.GAP_EXTERNAL_ROWS,
    fpga.GAP_DPU_BOARDS,
    cpu.GAP_CPU_ROWS,
    gpu.GAP_TENSORRT_BATCH1,
    gpu.GAP_EAGER_BATCH1,
    cpu.GAP_OPENVINO_XEON,
    common.GAP_POWER,
    common.GAP_TRIED_ROUND,
))
