"""LLM use cases: token lengths, concurrency and latency objectives, each with where the numbers come from.

Lengths are the medians (or means) the sources report for that kind of traffic; SLOs are the MLPerf
Inference targets for interactive and server LLM scenarios. A preset only fills the controls: every
number stays editable.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """One use case: prompt and output tokens, sequences in flight, TTFT / TPOT objectives (ms, 0 = none)."""

    name: str
    prompt: int
    output: int
    batch: int
    ttft_ms: float
    tpot_ms: float
    rate_per_s: float
    source: str


PRESETS = {p.name: p for p in (
    Preset("Chat", 1020, 129, 16, 2000.0, 200.0, 4.0,
           "Median prompt and output of Azure's production conversation trace (Patel et al., Splitwise, ISCA 2024: "
           "1,020 and 129 tokens); SLOs: MLPerf Inference Llama 2 70B server scenario (TTFT 2 s, TPOT 200 ms)"),
    Preset("RAG / summarisation", 4096, 256, 8, 2000.0, 200.0, 1.0,
           "ESTIMATE: a retrieval prompt carries a question and about four retrieved passages of ~1k tokens, the answer "
           "or summary a few hundred tokens (MLPerf's GPT-J summarisation on CNN/DailyMail has inputs up to 1,919 "
           "tokens and outputs up to 128); SLOs as the MLPerf server scenario"),
    Preset("Code completion", 1500, 13, 8, 450.0, 40.0, 8.0,
           "Median prompt and output of Azure's production coding trace (Patel et al., Splitwise, ISCA 2024: 1,500 and "
           "13 tokens); SLOs: MLPerf Inference interactive LLM scenario (TTFT 450 ms, TPOT 40 ms)"),
    Preset("Batch offline", 161, 338, 256, 0.0, 0.0, 50.0,
           "Mean prompt and output of ShareGPT, the dataset of vLLM's throughput benchmark (Kwon et al., "
           "PagedAttention, SOSP 2023: 161 and 338 tokens); offline: no latency objective, throughput is the goal"),
)}
CUSTOM = "Custom"
NAMES = list(PRESETS) + [CUSTOM]
