"""Serving LLM requests under a scheduler policy (vLLM / SGLang / TensorRT-LLM style): the paged-KV
iteration engine (:mod:`simulator.engine.llm_serving`) fed with service times from the cost models.

What one model copy's KV cache holds comes from the policy's memory rule
(:meth:`simulator.serving.costs.ServiceModel.engine_kv_bytes`) divided into blocks of
``kv_block_tokens``; swapping moves a request's blocks over each device's ``host_link`` (every device
copies its share of the blocks in parallel), into ``swap_space_gib`` of host memory per device.
"""
from __future__ import annotations

import math
from dataclasses import replace

from ..engine.llm_serving import PagedRun, PagedTrace, run_paged
from ..deadline import Deadline
from ..errors import InfeasibleError, ScenarioError
from ..units import parse_precision
from .costs import ServiceModel
from .generation import kv_cache_bytes_per_token
from .policy import SchedulerPolicy
from .requests import RequestTrace

__all__ = ["paged_run", "serve_paged", "kv_layout", "serve_disaggregated", "kv_transfer_s"]

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
                stop_when_late: tuple = (), deadline: Deadline | None = None) -> PagedTrace:
    """Play ``trace`` under ``policy`` (``stop_when_late``: see :class:`~simulator.engine.llm_serving.PagedRun`).

    Raises:
        InfeasibleError: a request that can never fit, or a prompt above the budget without chunking.
    """
    try:
        return run_paged(paged_run(model, trace, policy, replicas, stop_when_late), deadline)
    except ValueError as exc:
        raise InfeasibleError(str(exc)) from None


def kv_transfer_s(model: ServiceModel, tokens: float) -> float:
    """Seconds to move ``tokens`` of one sequence's KV cache from a prefill replica to a decode replica:
    each device sends its share over its own first interconnect link (NVLink, ICI...; the host link when
    it has none), the devices in parallel.

    Raises:
        ScenarioError: the device has no link at all.
    """
    hw = model.hw
    link = hw.links[0] if hw.links else hw.host_link
    if link is None:
        raise ScenarioError(f"disaggregated: {hw.name} has no link to move KV caches between pools")
    per_token = kv_cache_bytes_per_token(model.wl, parse_precision(model.precision).bytes)
    return tokens * per_token * model.where.kv_share(model.wl) / (link.bandwidth_gbs * 1e9) + link.latency_us * 1e-6


def serve_disaggregated(model: ServiceModel, trace: RequestTrace, policy: SchedulerPolicy, prefill_replicas: int,
                        decode_replicas: int, deadline: Deadline | None = None) -> PagedTrace:
    """Prefill and decode on separate pools of replicas (DistServe / Splitwise / Mooncake style): the
    prefill pool runs every prompt to its first token; its KV cache then crosses the link
    (:func:`kv_transfer_s`) and the request joins the decode pool's queue with it (``prefilled``),
    which generates the rest. Replicas ``0 .. prefill_replicas - 1`` of the merged trace are the
    prefill pool, the others the decode pool.

    Raises:
        InfeasibleError: as :func:`serve_paged`; ScenarioError: no link between the pools.
    """
    import numpy as np

    first_only = RequestTrace(trace.arrival_s, trace.prompt_len, np.ones(len(trace), dtype=np.int64),
                              trace.prefix_id, trace.prefix_len, name=trace.name)
    pre = serve_paged(model, first_only, policy, prefill_replicas, deadline=deadline)
    more = np.flatnonzero(trace.output_len > 1)
    ready = np.asarray(pre.first_token_s)[more] + np.array([kv_transfer_s(model, p) for p in trace.prompt_len[more]])
    order = np.argsort(ready, kind="stable")
    idx = more[order]
    base = paged_run(model, trace, policy, decode_replicas)
    try:
        dec = run_paged(replace(base, arrivals_s=ready[order].tolist(), prompt_len=trace.prompt_len[idx].tolist(),
                                output_len=trace.output_len[idx].tolist(), prefix_id=None, prefix_len=None,
                                prefilled=True), deadline) if len(idx) else None
    except ValueError as exc:
        raise InfeasibleError(str(exc)) from None
    return _merge(pre, dec, idx, prefill_replicas)


def _merge(pre: PagedTrace, dec: "PagedTrace | None", idx, offset: int) -> PagedTrace:
    """One trace of both pools: times per request in the original order, decode replicas renumbered."""
    finish = list(pre.finish_s)
    batches, kv, preempt = list(pre.batches), list(pre.kv_samples), list(pre.preemptions)
    if dec is not None:
        for k, i in enumerate(idx.tolist()):
            finish[i] = dec.finish_s[k]
        batches += [replace(b, replica=b.replica + offset) for b in dec.batches]
        kv += [(t, r + offset, u) for t, r, u in dec.kv_samples]
        preempt += [(t, r + offset, int(idx[q]), m, n) for t, r, q, m, n in dec.preemptions]
    events = sorted([(t, 1, 1) for t in pre.arrival_s] + [(t, -1, 0) for t in pre.start_s] +
                    [(t, 0, -1) for t in finish])
    queue, waiting, inside = [], 0, 0
    for t, dw, di in events:
        waiting, inside = waiting + dw, inside + di
        if queue and queue[-1][0] == t:
            queue[-1] = (t, waiting, inside)
        else:
            queue.append((t, waiting, inside))
    return replace(pre, finish_s=tuple(finish), batches=tuple(sorted(batches, key=lambda b: (b.start_s, b.replica))),
                   queue=tuple(queue), end_s=max(finish), kv_samples=tuple(sorted(kv)),
                   preemptions=tuple(sorted(preempt)))
