"""The values of the paged LLM serving engine (:mod:`simulator.engine.llm_serving`): what one iteration
computes (handed to the cost callback), a run's inputs, and its trace."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from .serving import ServeTrace

__all__ = ["IterationWork", "PagedRun", "PagedTrace"]


@dataclass(frozen=True)
class IterationWork:
    """What one iteration computes: ``decode`` sequences generating one token each, over
    ``decode_past`` cached tokens in total; ``chunks`` prefill chunks of ``chunk_tokens`` new tokens in
    total, attending to ``chunk_past`` already cached tokens in total.

    Example:
        >>> IterationWork(decode=2, decode_past=300, chunks=1, chunk_tokens=512, chunk_past=0).tokens
        514
    """

    decode: int
    decode_past: int
    chunks: int
    chunk_tokens: int
    chunk_past: int

    @property
    def tokens(self) -> int:
        """Tokens this iteration processes (what the token budget counts)."""
        return self.decode + self.chunk_tokens


@dataclass(frozen=True)
class PagedRun:
    """Inputs of one paged serving simulation (times in s, lengths in tokens; see the module text).

    ``kv_blocks`` and ``swap_blocks`` are per replica; ``swap_s_per_block`` is the time to copy one
    block between device and host memory (each way); ``token_budget`` None means unlimited.
    """

    arrivals_s: Sequence[float]
    prompt_len: Sequence[int]
    output_len: Sequence[int]
    iteration: Callable[[IterationWork], tuple[float, float]]
    kv_blocks: int
    block_tokens: int = 16
    replicas: int = 1
    max_num_seqs: int = 256
    token_budget: int | None = 8192
    chunked_prefill: bool = True
    reserve_full: bool = False
    preemption: str = "recompute"
    swap_blocks: int = 0
    swap_s_per_block: float = 0.0
    watermark_blocks: int = 0
    prefix_caching: bool = False
    prefix_id: Sequence[int] | None = None
    prefix_len: Sequence[int] | None = None
    stop_when_late: tuple[tuple[str, float, int], ...] = ()
    tokens_per_decode: float = 1.0
    prefilled: bool = False


@dataclass(frozen=True)
class PagedTrace(ServeTrace):
    """A :class:`ServeTrace` plus the paged-KV story: ``preemptions`` rows (time s, replica, request,
    mode, tokens dropped or swapped), ``kv_samples`` rows (time s, replica, blocks used) after every
    iteration, blocks per replica, and prefix-cache hit and queried tokens."""

    preemptions: tuple = ()
    kv_samples: tuple = ()
    kv_blocks: int = 0
    prefix_hit_tokens: int = 0
    prefix_query_tokens: int = 0
    stopped: str = ""
