"""What a software stack changes about the device's fixed costs: its per-kernel time.

The device families' ``efficiency.op_overhead_us`` is the gap between kernels that a runtime replaying
a CUDA graph leaves (validation.calibrate fits it on NVIDIA's MLPerf harness rows); a runtime that
launches each kernel from the host on a stream (TensorRT-LLM 0.6's GptSession) waits longer, and its
stack sets its own ``kernel_overhead_us``. A graph compiler that emits one device program for the
whole graph (AWS Neuron's NEFF: an instruction stream per engine, synchronised on chip by
semaphores) launches no kernels, so the device family's fitted ``efficiency.op_overhead_us`` (a
kernel launch per op) does not apply; the stack's ``kernel_overhead_us`` replaces it. The program's
own per-request cost is the device's ``efficiency.request_overhead_us``, paid once per step by the
stacks whose runtime runs a whole compiled engine per request (``per_query_time``: Neuron's
``nrt_execute``, NVIDIA's MLPerf harness around a TensorRT engine; :func:`request_s`). A stack whose runtime
takes each request's inputs from host memory (``inputs_from_host``) also waits for them to cross the
device's host link before the program starts (:func:`request_input_s`).
"""
from __future__ import annotations

from collections import OrderedDict

from ..spec.loader import load_hardware
from ..spec.models import _DeviceBase
from ..spec.stack import StackSpec

_DERIVED_MAX = 64
_DERIVED: "OrderedDict[tuple[int, float], tuple[_DeviceBase, _DeviceBase]]" = OrderedDict()


def stack_device(hw: _DeviceBase, stack: StackSpec) -> _DeviceBase:
    """``hw`` with its per-op overhead replaced by the stack's ``kernel_overhead_us`` (if it sets one).

    Example:
        >>> from simulator.spec.stack import load_stack
        >>> hw = load_hardware("aws-inferentia2", {"efficiency.op_overhead_us": 7.0})
        >>> stack_device(hw, load_stack("neuron")).efficiency.op_overhead_us
        0.0
        >>> stack_device(hw, load_stack("default")) is hw
        True
        >>> stack_device(hw, load_stack("neuron")) is stack_device(hw, load_stack("neuron"))
        True
    """
    k = stack.kernel_overhead_us
    if k is None or k == hw.efficiency.op_overhead_us:
        return hw
    # the same derived object for the same device and value, so a warm run finds its op costs
    # (kept per device object: simulator.run.costcache) instead of validating a new spec each time;
    # the entry holds ``hw``, so its id cannot be taken by another device while it is cached
    hit = _DERIVED.get((id(hw), k))
    if hit is not None and hit[0] is hw:
        return hit[1]
    out = load_hardware(hw, {"efficiency.op_overhead_us": k})
    _DERIVED[(id(hw), k)] = (hw, out)
    while len(_DERIVED) > _DERIVED_MAX:
        _DERIVED.popitem(last=False)
    return out


def request_s(hw: _DeviceBase, stack: StackSpec) -> float:
    """Fixed time of one step's request, in s: the device's ``efficiency.request_overhead_us`` where the
    stack's runtime runs the whole compiled engine once per request and the measurement includes what
    surrounds it (``per_query_time``), else 0. A property of the stack, not of the device: on one GPU a
    LoadGen query through NVIDIA's MLPerf harness pays it, a bandwidth test or a training step does not.

    Example:
        >>> from simulator.spec.stack import load_stack
        >>> inf2 = load_hardware("aws-inferentia2", {"efficiency.request_overhead_us": 250.0})
        >>> request_s(inf2, load_stack("neuron")), request_s(inf2, load_stack("default"))
        (0.00025, 0.0)
        >>> h100 = load_hardware("nvidia-h100-sxm", {"efficiency.request_overhead_us": 50.0})
        >>> round(request_s(h100, load_stack("tensorrt-mlperf")) * 1e6, 6), request_s(h100, load_stack("torch-eager"))
        (50.0, 0.0)
    """
    return hw.efficiency.request_overhead_us * 1e-6 if stack.per_query_time else 0.0


# Bytes per sample of the tensors a framework hands the compiled program: images as the FP32 tensor
# the benchmark builds (aws-neuron-sdk archive/src/benchmark/pytorch/resnet_benchmark.py get_batch:
# torch.zeros([batch, 3, 224, 224], dtype=torch.float32); the tables' Model Data Type is FP32), token
# ids as int64 (the attention mask and segment ids add as much again per tensor: under 3 KB at seq 128)
INPUT_BYTES = {"image": 4.0, "text": 8.0}


def request_input_s(hw: _DeviceBase, task: str, batch: int, *, image_size: int | None = None,
                    seq_len: int | None = None) -> float:
    """Time in s to copy one request's inputs (``batch`` samples) over ``hw``'s host link, in series
    with the request: the runtime starts the program once its input tensors are in device memory
    (Neuron's System Trace Viewer shows these ``host_to_device`` transfers of input tensors as
    "often a significant contributor to end-to-end latency": aws-neuron-sdk@81ce03ae
    tools/neuron-explorer/overview-system-profiles.rst). 0 without a host link or for other tasks.

    Example:
        >>> hw = load_hardware("aws-inferentia2")   # PCIe at 31.5 GB/s, 5 us latency
        >>> round(request_input_s(hw, "image", 16, image_size=224) * 1e6, 1)  # 5 + 16 x 602,112 B / 31.5 GB/s
        310.8
    """
    link = hw.host_link
    if link is None or task not in INPUT_BYTES:
        return 0.0
    if task == "image":
        per_sample = 3.0 * (image_size or 224) ** 2 * INPUT_BYTES["image"]
    else:
        per_sample = (seq_len or 128) * INPUT_BYTES["text"]
    return link.latency_us * 1e-6 + batch * per_sample / (link.bandwidth_gbs * 1e9)
