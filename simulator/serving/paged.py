"""Serving LLM requests under a scheduler policy (vLLM / SGLang / TensorRT-LLM style): the paged-KV
iteration engine (:mod:`simulator.engine.llm_serving`) fed with service times from the cost models.

What one model copy's KV cache holds comes from the policy's memory rule
(:meth:`simulator.serving.costs.ServiceModel.engine_kv_bytes`) divided into blocks of
``kv_block_tokens``; swapping moves a request's blocks over each device's ``host_link`` (every device
copies its share of the blocks in parallel), into ``swap_space_gib`` of host memory per device.
"""
from __future__ import annotations

import math

from ..engine.llm_serving import PagedRun, PagedTrace, run_paged
from ..errors import InfeasibleError, ScenarioError
from ..units import parse_precision
from .costs import ServiceModel
from .generation import kv_cache_bytes_per_token
from .policy import SchedulerPolicy
from .requests import RequestTrace

__all__ = ["paged_run", "serve_paged", "kv_layout"]

DEFAULT_TOKEN_BUDGET = 8192  # for the memory profile when a policy sets no budget


def kv_layout(model: ServiceModel, policy: SchedulerPolicy) -> dict[str, float]:
    """Blocks per model copy, bytes per block (whole copy), swap blocks and seconds per block copied.

    Raises:
        DoesNotFitError: no room for a KV cache; ScenarioError: ``swap`` on a device without a host link.
    """
    link = model.hw.host_link
    if policy.preemption == "swap" and link is None:
        raise ScenarioError(f"preemption: 'swap' copies KV blocks over the host link; {model.hw.name} has none "
                            "(use 'recompute')")
    per_token = kv_cache_bytes_per_token(model.wl, parse_precision(model.precision).bytes)
    block_bytes = per_token * policy.kv_block_tokens
    kv_bytes = model.engine_kv_bytes(max_seqs=policy.max_num_seqs,
                                     token_budget=policy.max_num_batched_tokens or DEFAULT_TOKEN_BUDGET,
                                     utilization=policy.memory_utilization,
                                     of_free=policy.memory_fraction_of == "free")
    share = model.where.kv_share(model.wl)  # of a block, on one device
    out = {"kv_blocks": int(kv_bytes // block_bytes), "block_bytes": block_bytes, "swap_blocks": 0,
           "swap_s_per_block": 0.0, "kv_bytes": kv_bytes}
    if policy.preemption == "swap":
        out["swap_blocks"] = int(policy.swap_space_gib * 2**30 // (block_bytes * share))
        out["swap_s_per_block"] = block_bytes * share / (link.bandwidth_gbs * 1e9) + link.latency_us * 1e-6
    return out


def paged_run(model: ServiceModel, trace: RequestTrace, policy: SchedulerPolicy, replicas: int,
              stop_when_late: tuple = ()) -> PagedRun:
    """The :class:`PagedRun` of ``trace`` on ``replicas`` copies of ``model`` under ``policy``."""
    lay = kv_layout(model, policy)
    return PagedRun(arrivals_s=trace.arrival_s.tolist(), prompt_len=trace.prompt_len.tolist(),
                    output_len=trace.output_len.tolist(), iteration=model.iteration, kv_blocks=lay["kv_blocks"],
                    block_tokens=policy.kv_block_tokens, replicas=replicas, max_num_seqs=policy.max_num_seqs,
                    token_budget=policy.max_num_batched_tokens, chunked_prefill=policy.chunked_prefill,
                    reserve_full=policy.reserve == "full", preemption=policy.preemption,
                    swap_blocks=lay["swap_blocks"], swap_s_per_block=lay["swap_s_per_block"],
                    watermark_blocks=math.floor(policy.watermark * lay["kv_blocks"]),
                    prefix_caching=policy.prefix_caching, prefix_id=trace.prefix_id.tolist(),
                    prefix_len=trace.prefix_len.tolist(), stop_when_late=tuple(stop_when_late),
                    tokens_per_decode=model.tokens_per_decode)


def serve_paged(model: ServiceModel, trace: RequestTrace, policy: SchedulerPolicy, replicas: int,
                stop_when_late: tuple = ()) -> PagedTrace:
    """Play ``trace`` under ``policy`` (``stop_when_late``: see :class:`~simulator.engine.llm_serving.PagedRun`).

    Raises:
        InfeasibleError: a request that can never fit, or a prompt above the budget without chunking.
    """
    try:
        return run_paged(paged_run(model, trace, policy, replicas, stop_when_late))
    except ValueError as exc:
        raise InfeasibleError(str(exc)) from None
