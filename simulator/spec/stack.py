"""Software stacks as data: ``stacks/<name>.yaml``, one per framework or compiler a run can go through.

A stack changes what the hardware is asked to do, not the hardware: whether pointwise ops are fused
into their producers' epilogues (graph compilers), whether the host must dispatch every op before
it can start (eager frameworks) and how long that takes, what fixed time each kernel costs on the
device (CUDA graphs and compiled engines launch back to back; the device family's fitted
``efficiency.op_overhead_us`` otherwise), and whether attention runs as one fused kernel. Every
number carries its source, fitted ones say what they were fitted to.
"""
from __future__ import annotations

import difflib
import functools
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..bundled import data_root
from ..errors import ScenarioError, SpecError
from ..validation_errors import check_no_bools, spec_error_from_validation
from ..yamlio import read_yaml_file

STACK_ROOT = data_root("stacks")
KindName = Literal["cpu", "gpu", "tpu", "fpga", "asic"]


class FusedRegion(BaseModel):
    """Ops of one workload that a stack's engine runs as a single kernel: every op whose name starts
    with ``prefix`` in workload ``workload`` (a hand-written plugin replacing a whole stage, e.g.
    NVIDIA's MLPerf ResNet-50 ``RES2_FULL_FUSION``), at the compute precisions ``precisions`` the
    plugin exists for (empty: any). Its intermediates stay on chip."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    workload: str = Field(min_length=1, max_length=80)
    prefix: str = Field(min_length=1, max_length=80)
    precisions: tuple[str, ...] = Field(default=(), max_length=16)


class NormKernels(BaseModel):
    """Workload ``workload`` at compute precisions ``precisions`` (empty: any) runs its norms as kernels
    of their own under a pointwise-fusing stack, each absorbing the residual add before it (a
    skip-layernorm plugin), instead of in the producing GEMM's epilogue
    (:func:`simulator.workload.fusion.fuse_pointwise` ``norm_kernels``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    workload: str = Field(min_length=1, max_length=80)
    precisions: tuple[str, ...] = Field(default=(), max_length=16)


class OutputScan(BaseModel):
    """A harness's post-processing of workload ``workload``'s outputs on the device's own cores, at the
    compute precisions ``precisions`` (empty: any): the ops whose names match the regular expression
    ``outputs`` write their tensors at FP32 (an int8 network's outputs, dequantized by their producers),
    and one scan reads the outputs of the ops matching ``scanned`` once at FP32 and keeps ``keep``
    candidates per output (:func:`simulator.workload.postprocess.add_score_scan`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    workload: str = Field(min_length=1, max_length=80)
    outputs: str = Field(min_length=1, max_length=200)
    scanned: str = Field(min_length=1, max_length=200)
    keep: Annotated[int, Field(ge=1, le=10**9)]
    precisions: tuple[str, ...] = Field(default=(), max_length=16)


class WeightBlockScale(BaseModel):
    """A stack's weight storage with block scales: weights stored at ``precision`` carry one scale of
    ``scale_bits`` bits per ``block`` weights, read with them (llama.cpp's GGUF Q8_0: 32 int8 weights
    and one FP16 scale per block, 34 bytes).

    Example:
        >>> WeightBlockScale(precision="int8", block=32, scale_bits=16, source="doc").bytes_per_weight("int8")
        0.0625
        >>> WeightBlockScale(precision="int8", block=32, scale_bits=16, source="doc").bytes_per_weight("fp16")
        0.0
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    precision: Literal["fp8", "int8", "int4"]
    block: Annotated[int, Field(ge=1, le=1_000_000)]
    scale_bits: Annotated[int, Field(ge=1, le=64)]
    source: str = Field(min_length=3, max_length=2000)

    def bytes_per_weight(self, weights: str) -> float:
        """Scale bytes stored per weight when the weights are stored at ``weights`` (else 0)."""
        return self.scale_bits / 8 / self.block if weights == self.precision else 0.0


class AttentionFusionLimit(BaseModel):
    """Where a stack's fused attention kernel stops: on devices of ``kinds`` at compute precisions
    ``precisions``, an attention whose two GEMMs (Q.K^T: K = head_dim, N = kv_len; P.V: K = kv_len,
    N = head_dim) exceed ``max_k`` or ``max_n`` runs as separate matmul, softmax and matmul kernels,
    its score and probability matrices written to memory and read back at the tensors' own format.

    ``unfused_nodes``: the runtime nodes such an attention then runs as (3: matmul, softmax, matmul;
    more when the layout permutes the fused kernel absorbed run as nodes of their own), each its own
    parallel region on a CPU (:func:`simulator.cost.cpu.fork_joins`). ``requantized_probabilities``: the
    compute precisions at which a quantized model feeds the unfused P.V GEMM 8-bit probabilities made by
    a node of their own (a FakeQuantize the softmax node cannot take as a post-op): one more node, reading
    the probabilities at the tensors' format and writing them at one byte, which P.V then reads
    (:func:`simulator.cost.cpu.requantized_probability_bytes`).

    Example:
        >>> lim = AttentionFusionLimit(kinds=("cpu",), precisions=("int8",), max_k=512, max_n=256, source="doc")
        >>> lim.fuses(head_dim=64, kv_len=128), lim.fuses(head_dim=64, kv_len=384), lim.unfused_nodes
        (True, False, 3)
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    # only the CPU cost model reads the limit (cost/cpu.py); other kinds are refused, not ignored
    kinds: tuple[Literal["cpu"], ...] = Field(min_length=1)
    precisions: tuple[Literal["fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4"], ...] = Field(min_length=1)
    max_k: Annotated[int, Field(ge=1, le=1_000_000)]
    max_n: Annotated[int, Field(ge=1, le=1_000_000)]
    unfused_nodes: Annotated[int, Field(ge=3, le=64)] = 3
    requantized_probabilities: tuple[Literal["int8", "int4"], ...] = ()
    source: str = Field(min_length=3, max_length=4000)

    def applies(self, kind: str, precision: str) -> bool:
        """Whether the limit binds on a device of ``kind`` computing at ``precision``."""
        return kind in self.kinds and precision in self.precisions

    def fuses(self, *, head_dim: int, kv_len: int) -> bool:
        """Whether an attention of this head size and key length still runs fused."""
        return max(head_dim, kv_len) <= self.max_k and max(head_dim, kv_len) <= self.max_n


class StackSpec(BaseModel):
    """One software stack (see the module docstring).

    ``fuse_pointwise``: a graph compiler merges norms, activations and element-wise ops into the
    producing kernel for inference (:mod:`simulator.workload.fusion`); training keeps its passes.
    ``host_dispatch_us``: host time per op before the op may start (0: the host keeps ahead).
    ``casts_off_host_chain``: the per-pass weight casts of mixed precision with FP32 weights
    (:mod:`simulator.workload.autocast`) depend on nothing but the weights, and the framework's executor
    issues them from other host threads at the start of the pass, so they take no turn on the serial
    host dispatch of the activation chain (a TF 1.x graph executor; not eager PyTorch, where Python
    issues each cast just before its op).
    ``inputs_from_host``: each request's input tensors cross the device's host link before its program
    starts (:func:`simulator.run.stackhw.request_input_s`). ``per_query_time``: the stack's runtime runs
    the whole compiled engine once per request and the measurement includes what surrounds it (the
    request's issue, its inputs' copy to the device, the engine's launch, the wait for completion and
    the response), so each step pays the device's ``efficiency.request_overhead_us`` once
    (:func:`simulator.run.stackhw.request_s`); off for stacks whose steps are timed on the device alone
    or that launch op by op (microbenchmarks, training loops, eager frameworks). ``kernel_overhead_us``: fixed device time
    per kernel, replacing the device family's fitted ``efficiency.op_overhead_us`` (None: keep it). ``fused_attention``: the stack's attention kernel
    (None: the scenario's choice). ``fuse_norm_training``: in training, each norm absorbs the residual
    add and activation after it, forward and backward (:func:`simulator.workload.fusion.fuse_norm_epilogues`).
    ``attention_score_passes``: element-wise kernels the forward of an unfused attention runs over
    its score matrix besides the softmax, as the model code writes them (eager frameworks run the
    scale and the mask add as their own kernels; :func:`simulator.cost.base.score_passes`).
    ``decode_kv_per_query_head``: the decode attention kernel runs one thread block per (sequence,
    query head), loading a grouped-query attention's K/V once per query head
    (:func:`simulator.cost.gpu.repeated_kv_bytes`).
    ``wide_convs_nchw``: convolutions whose activations are wider than 16 bits (FP32 storage, TF32
    math) keep NCHW tensors, so on a GPU whose tensor cores run that precision cuDNN converts each
    one's inputs to NHWC and its output back (:func:`simulator.cost.gpu.nchw_transform_bytes`).
    ``attention_fusion_limit``: shapes beyond which the stack's fused
    attention kernel is not used on some device kinds and precisions (:class:`AttentionFusionLimit`).
    ``kinds``: device kinds the stack runs on; ``training``: whether it trains. ``fused_regions``:
    stages of named workloads the engine runs as one kernel each
    (:func:`simulator.workload.fusion.fuse_region`), for inference with ``fuse_pointwise``.
    ``norm_kernels``: workloads whose norms run as kernels of their own with the residual add before
    them (:class:`NormKernels`), for inference with ``fuse_pointwise``.
    ``output_scans``: the harness's post-processing of named workloads' outputs (:class:`OutputScan`),
    for inference. ``weight_block_scale``: the scales the stack stores with quantized weights
    (:class:`WeightBlockScale`), read with every weight.

    Example:
        >>> s = load_stack("tensorrt")
        >>> s.fuse_pointwise, s.host_dispatch_us, "gpu" in s.kinds
        (True, 0.0, True)
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=40)
    display_name: str = Field(min_length=1, max_length=80)
    description: str = Field(min_length=1, max_length=1000)
    kinds: tuple[KindName, ...] = Field(min_length=1)
    training: bool = True
    fuse_pointwise: bool = False
    fuse_norm_training: bool = False
    fused_attention: bool | None = None
    attention_fusion_limit: AttentionFusionLimit | None = None
    attention_score_passes: Annotated[int, Field(ge=0, le=8)] = 0
    decode_kv_per_query_head: bool = False
    wide_convs_nchw: bool = False
    host_dispatch_us: Annotated[float, Field(ge=0, le=1e6)] = 0.0
    casts_off_host_chain: bool = False
    kernel_overhead_us: Annotated[float, Field(ge=0, le=1e6)] | None = None
    inputs_from_host: bool = False
    per_query_time: bool = False
    fused_regions: tuple[FusedRegion, ...] = Field(default=(), max_length=64)
    norm_kernels: tuple[NormKernels, ...] = Field(default=(), max_length=64)
    output_scans: tuple[OutputScan, ...] = Field(default=(), max_length=16)
    weight_block_scale: WeightBlockScale | None = None
    source: str = Field(min_length=3, max_length=4000)
    fitted_to: str = ""

    def weight_scale_bytes(self, weights: str) -> float:
        """Block-scale bytes stored per weight at storage format ``weights`` (0 without block scales).

        Example:
            >>> load_stack("llamacpp").weight_scale_bytes("int8"), load_stack("default").weight_scale_bytes("int8")
            (0.0625, 0.0)
        """
        return self.weight_block_scale.bytes_per_weight(weights) if self.weight_block_scale else 0.0

    def regions_for(self, workload: str, precision: str) -> tuple[str, ...]:
        """Op-name prefixes of ``workload`` this stack runs as one kernel each at compute ``precision``.

        Example:
            >>> s = load_stack("tensorrt-mlperf")
            >>> s.regions_for("resnet50", "int8"), s.regions_for("resnet50", "fp16"), load_stack("tensorrt").regions_for("resnet50", "int8")
            (('layer1.',), (), ())
        """
        p = str(getattr(precision, "value", precision)).lower()
        return tuple(r.prefix for r in self.fused_regions
                     if r.workload == workload and (not r.precisions or p in r.precisions))


    def norms_apart(self, workload: str, precision: str) -> bool:
        """Whether ``workload`` at compute ``precision`` runs its norms as kernels of their own (``norm_kernels``).

        Example:
            >>> load_stack("tensorrt-mlperf").norms_apart("bert-large", "int8"), load_stack("tensorrt").norms_apart("bert-large", "int8")
            (True, False)
        """
        p = str(getattr(precision, "value", precision)).lower()
        return any(r.workload == workload and (not r.precisions or p in r.precisions) for r in self.norm_kernels)

    def scans_for(self, workload: str, precision: str) -> tuple[OutputScan, ...]:
        """The post-processing scans of ``workload``'s outputs this stack's harness runs at ``precision``.

        Example:
            >>> len(load_stack("intel-mlperf").scans_for("retinanet-resnext50", "int8")), load_stack("onednn").scans_for("retinanet-resnext50", "int8")
            (1, ())
        """
        p = str(getattr(precision, "value", precision)).lower()
        return tuple(s for s in self.output_scans if s.workload == workload and (not s.precisions or p in s.precisions))


@functools.lru_cache(maxsize=1)
def stack_catalogue() -> dict[str, Path]:
    """Every bundled stack name -> its YAML file. Raises nothing.

    Example:
        >>> {"default", "eager", "compiled", "tensorrt", "torch-eager"} <= set(stack_catalogue())
        True
    """
    return {p.stem: p for p in sorted(STACK_ROOT.glob("*.yaml"))}


@functools.lru_cache(maxsize=64)
def _load_path(path_text: str) -> StackSpec:
    raw = read_yaml_file(Path(path_text))
    if not isinstance(raw, dict):
        raise SpecError(path_text, "", f"expected a mapping at the top level, got {type(raw).__name__}")
    check_no_bools(raw, StackSpec, path_text)
    try:
        return StackSpec.model_validate(raw)
    except ValidationError as exc:
        raise spec_error_from_validation(exc, path_text, StackSpec) from None


def load_stack(name_or_path: "str | Path | StackSpec") -> StackSpec:
    """A stack by catalogue name (``"tensorrt"``) or path to a stack YAML file.

    Raises:
        ScenarioError: an unknown name (the known ones listed); SpecError: an invalid file (file
            and field named).

    Example:
        >>> load_stack("torch-eager").host_dispatch_us > 0
        True
        >>> load_stack("tensorrtt")
        Traceback (most recent call last):
        ...
        simulator.errors.ScenarioError: stack: unknown software stack 'tensorrtt'; did you mean tensorrt, tensorrt-llm, tensorrt-mlperf?
    """
    if isinstance(name_or_path, StackSpec):
        return name_or_path
    text = str(getattr(name_or_path, "value", name_or_path))
    cat = stack_catalogue()
    if text.lower() in cat:
        return _load_path(str(cat[text.lower()]))
    if text.endswith((".yaml", ".yml")) and Path(text).is_file():
        return _load_path(str(Path(text).resolve()))
    close = difflib.get_close_matches(text, list(cat), n=3)
    hint = f"did you mean {', '.join(close)}?" if close else f"choose one of {', '.join(cat)}"
    raise ScenarioError(f"stack: unknown software stack {text!r}; {hint}")


def list_stacks() -> list[dict[str, object]]:
    """Every bundled stack as ``{"name", "display_name", "kinds", "training", "description"}``.

    Example:
        >>> [s["name"] for s in list_stacks()][:3]
        ['compiled', 'default', 'eager']
    """
    out = []
    for name in stack_catalogue():
        s = load_stack(name)
        out.append({"name": s.name, "display_name": s.display_name, "kinds": list(s.kinds),
                    "training": s.training, "description": s.description})
    return out
