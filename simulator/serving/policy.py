"""Scheduler policies as data: ``schedulers/<name>.yaml`` (vLLM, SGLang, TensorRT-LLM), each default
with its source, any field overridable per run.

A policy drives :class:`simulator.engine.llm_serving.PagedServingSim`: the token budget per iteration
(``max_num_batched_tokens``), chunked prefill, the KV block size, whether blocks are reserved for the
whole request at admission (``reserve: full``, TensorRT-LLM's GUARANTEED_NO_EVICT) or allocated as
tokens arrive (``on_demand``, vLLM / SGLang), preemption by ``recompute`` or ``swap`` to host memory,
prefix caching, and how much of the device memory the engine may use.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..bundled import data_root
from ..errors import ScenarioError
from ..validation_errors import spec_error_from_validation
from ..yamlio import read_yaml_file

__all__ = ["SchedulerPolicy", "load_scheduler", "list_schedulers", "POLICY_KNOBS"]


class SchedulerPolicy(BaseModel):
    """One serving engine's scheduler (see the module docstring). Lengths in tokens, memory in GiB.

    ``memory_utilization`` is the share of device memory the engine may fill (``memory_fraction_of:
    total``, vLLM's gpu_memory_utilization) or the share of what is left after weights and activations
    that goes to the KV cache (``free``, TensorRT-LLM's kv_cache_free_gpu_memory_fraction).
    ``watermark``: share of the KV blocks admission keeps free. ``max_num_batched_tokens`` None: no budget.

    Example:
        >>> p = load_scheduler("vllm")
        >>> p.max_num_batched_tokens, p.kv_block_tokens, p.preemption, p.prefix_caching
        (8192, 16, 'recompute', True)
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=80)
    description: str = ""
    source: str = Field(min_length=3)
    max_num_seqs: int = Field(gt=0, le=1_000_000)
    max_num_batched_tokens: int | None = Field(gt=0, le=10_000_000)
    chunked_prefill: bool
    kv_block_tokens: int = Field(gt=0, le=65536)
    reserve: Literal["on_demand", "full"] = "on_demand"
    preemption: Literal["recompute", "swap"] = "recompute"
    swap_space_gib: float = Field(default=0.0, ge=0, le=1e6)
    watermark: float = Field(default=0.0, ge=0, lt=1)
    prefix_caching: bool = False
    memory_utilization: float = Field(default=0.9, gt=0, le=1)
    memory_fraction_of: Literal["total", "free"] = "total"


# what serve() and the CLI may override per run (the policy's own fields)
POLICY_KNOBS = ("max_num_seqs", "max_num_batched_tokens", "chunked_prefill", "kv_block_tokens", "reserve",
                "preemption", "swap_space_gib", "watermark", "prefix_caching", "memory_utilization",
                "memory_fraction_of")


def _bundled() -> dict[str, Path]:
    return {p.stem: p for p in sorted(data_root("schedulers").glob("*.yaml"))}


def list_schedulers() -> list[dict[str, str]]:
    """Every bundled policy as ``{"name", "description", "source"}``.

    Example:
        >>> [s["name"] for s in list_schedulers()]
        ['sglang', 'tensorrt-llm', 'vllm']
    """
    return [{"name": n, "description": (p := load_scheduler(n)).description, "source": p.source} for n in _bundled()]


def load_scheduler(name: "str | Path | SchedulerPolicy", overrides: dict[str, Any] | None = None) -> SchedulerPolicy:
    """The policy called ``name`` (bundled) or read from a YAML path, with ``overrides`` of its fields.

    Raises:
        ScenarioError: unknown name or override key, or a bad override value (naming it).
        SpecError: an invalid policy file (file and key named).

    Example:
        >>> load_scheduler("vllm", {"chunked_prefill": False, "max_num_batched_tokens": 4096}).chunked_prefill
        False
        >>> load_scheduler("vlm")
        Traceback (most recent call last):
        ...
        simulator.errors.ScenarioError: scheduler: unknown 'vlm'; did you mean vllm? (known: sglang, tensorrt-llm, vllm, or a policy YAML path)
    """
    if isinstance(name, SchedulerPolicy):
        policy = name
    else:
        named = _bundled()
        text = str(name)
        path = named.get(text) or (Path(text) if Path(text).suffix in (".yaml", ".yml") else None)
        if path is None or not path.is_file():
            close = difflib.get_close_matches(text, list(named), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise ScenarioError(f"scheduler: unknown {text!r}; {hint}(known: {', '.join(named)}, or a policy YAML path)")
        raw = read_yaml_file(path)
        try:
            policy = SchedulerPolicy.model_validate(raw)
        except ValidationError as exc:
            raise spec_error_from_validation(exc, str(path), SchedulerPolicy) from None
    if not overrides:
        return policy
    bad = sorted(set(overrides) - set(POLICY_KNOBS))
    if bad:
        raise ScenarioError(f"{bad[0]}: not a scheduler setting; choose from {', '.join(POLICY_KNOBS)}")
    try:
        return SchedulerPolicy.model_validate({**policy.model_dump(), **overrides})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ScenarioError(f"{'.'.join(map(str, err['loc']))}: {err['msg']}, got {err.get('input')!r}") from None
