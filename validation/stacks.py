"""The software stack (``stacks/*.yaml``) a measurement row ran under, read from its cells."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .rows import Row

# Inference stacks that compile the graph (software, precision and workload cells, first match
# wins). Not TF 1.x XLA auto-clustering: its rows (M044, M046) run within 20 % of the same GPU's
# unfused eager rows. Training is never simulated fused: batch-norm statistics and every backward
# op still make their own passes over the activations.
COMPILED_STACKS: tuple[tuple[str, str], ...] = (
    (r"openvino", "openvino"), (r"vitis", "vitis-ai"), (r"neuron", "neuron"), (r"tflite|edgetpu", "tflite"),
    (r"jax|flax|maxtext|pax|saxml|jetstream", "xla"),
    # TensorRT-LLM before 0.7.1: masked-MHA decode, one thread block per query head (stacks/tensorrt-llm-0.6.yaml)
    (r"tensorrt-llm v0\.[56]\b", "tensorrt-llm-0.6"),
    # trtllm-bench of TensorRT-LLM ~1.0 runs the PyTorch backend: CUDA graphs for generation-only
    # iterations, context iterations eager (stacks/tensorrt-llm.yaml)
    (r"trtllm-bench|tensorrt-llm ~?v?1\.", "tensorrt-llm"),
    (r"tensorrt|trt", "tensorrt"),
)
# a compiled row's stack when its cells name none: by device kind (MLPerf NVIDIA GPU submissions
# run TensorRT engines; Intel CPU ones oneDNN through Intel Extension for PyTorch)
KIND_COMPILED = {"gpu": "tensorrt", "cpu": "onednn", "tpu": "xla", "fpga": "vitis-ai", "asic": "compiled"}
# a row of NVIDIA's MLPerf harness whose notes record that its config turned CUDA graphs off (the
# submission's configs/<benchmark>/<scenario>/__init__.py, use_graphs = False: Orin BERT SingleStream
# in v2.0 and v2.1): the harness enqueues the engine from the host on every query
# (stacks/tensorrt-mlperf-stream.yaml cites the config and bert_core_vs.cc)
NO_GRAPHS = re.compile(r"\buse_graphs\s*=?\s*false\b", re.I)
# frameworks that dispatch every op from the host (GPU rows only: CPU rows run in their threads)
EAGER_STACKS: tuple[tuple[str, str], ...] = ((r"pytorch", "torch-eager"), (r"tensorflow", "tf-graph"))


def stack_for(row: Row, kind: str, mode: str, hardware: str = "") -> str:
    """The software stack (``stacks/*.yaml``) a row ran under.

    Example:
        >>> from validation.rows import Row
        >>> r = Row(id="X", device="d", n_devices=1, workload="ResNet-50 (TensorRT)", mode="inference",
        ...         precision="INT8", batch_size="1", shape="224x224", metric="latency_ms", value=1.0,
        ...         software="TensorRT 8.6", notes="")
        >>> stack_for(r, "gpu", "inference"), stack_for(r, "gpu", "training")
        ('tensorrt', 'default')
        >>> m = Row(id="X", device="d", n_devices=1, workload="MLPerf Inference v2.1 BERT-99 (SingleStream)",
        ...         mode="inference", precision="INT8", batch_size="1", shape="seq 384 (max; variable)",
        ...         metric="latency_ms", value=1.0, software="TensorRT 8.5.0", notes="use_graphs True")
        >>> stack_for(m, "gpu", "inference", "nvidia-jetson-agx-orin")
        'tensorrt-mlperf'
        >>> from dataclasses import replace
        >>> stack_for(replace(m, notes="class Orin: use_graphs = False"), "gpu", "inference", "nvidia-jetson-agx-orin")
        'tensorrt-mlperf-stream'
    """
    text = f"{row.software} {row.precision} {row.workload}".lower()
    compiled = kind in ("tpu", "asic", "fpga") or "mlperf" in text or any(re.search(p, text) for p, _ in COMPILED_STACKS)
    if mode == "inference" and compiled:
        named = next((s for p, s in COMPILED_STACKS if re.search(p, text)), None)
        if named is None and hardware == "google-edge-tpu":
            named = "tflite"
        if named is None and hardware.startswith("aws-"):
            named = "neuron"
        named = named or KIND_COMPILED[kind]
        if named == "tensorrt" and "mlperf" in text and hardware.startswith("nvidia-") and "xavier" not in hardware:
            named = "tensorrt-mlperf"  # NVIDIA's own MLPerf harness: TensorRT plus its plugins (RES2_FULL_FUSION)
            if NO_GRAPHS.search(row.notes):
                named = "tensorrt-mlperf-stream"  # the same harness with CUDA graphs off: enqueueV2 per query
        if named == "onednn" and "mlperf" in text and hardware.startswith("intel-xeon"):
            named = "intel-mlperf"  # Intel's own MLPerf harness: oneDNN plus its Graph Compiler ResNet-50 backbone
        return named
    if kind == "asic" and mode == "training" and hardware.startswith("intel-gaudi"):
        return "habana-graph"  # SynapseAI graph compiler: batch norm + ReLU / + add + ReLU fused, fwd and bwd
    if kind == "gpu" and mode == "training" and "mxnet" in row.software.lower() and "mlperf" in row.workload.lower():
        return "mxnet-mlperf"  # NVIDIA's MLPerf Training MXNet ResNet-50: fused batch norm + add + ReLU kernels
    if kind == "gpu":
        return next((s for p, s in EAGER_STACKS if re.search(p, row.software.lower())), "default")
    return "default"
