"""The outcome of a serving run: :class:`ServingResult` (summary figures, per-request table, queue,
KV-cache and power timelines, preemptions) and its readable table."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine.serving import ServeTrace
from ..result import _clean, to_json_text

__all__ = ["ServingResult"]


@dataclass(frozen=True, eq=False)
class ServingResult:
    """Outcome of a serving run. Times in s, rates per s, energy in J.

    ``mean_requests_in_system`` and ``mean_queue_length`` are time averages over [0, end]; ``utilization``
    is the busy share of the replicas. LLM runs add ``ttft_*``, ``tpot_*`` and ``latency_*`` (end to
    end) mean/p50/p90/p99, ``tokens_per_s`` and, with a price in the device spec, ``usd_per_hour`` and
    ``usd_per_million_tokens`` (output tokens). With an ``slo`` (see :func:`simulator.serving.stats.parse_slo`):
    ``slo_attainment`` is the share of requests within every threshold, ``goodput_per_s`` those
    requests per second, ``slo_met`` whether every stated percentile is within its threshold (with
    ``slo_ms``: the share of latencies within it, as before). Scheduler runs (``scheduler=``) add
    ``preemption_count``, ``prefix_hit_rate`` and ``kv_blocks``.
    ``latencies_s`` is a numpy array in request order; :attr:`request_table`, :attr:`queue_timeline`,
    :attr:`kv_utilization_timeline`, :attr:`preemptions` and :attr:`batches` are pandas DataFrames.

    Example:
        >>> import simulator as sim
        >>> r = sim.serve("mlp", "nvidia-t4", rate_per_s=1000, requests=200, seed=0)
        >>> r.latency_p99_s >= r.latency_p50_s > 0
        True
    """

    summary: dict[str, Any]
    latencies_s: np.ndarray = field(repr=False)
    trace: ServeTrace = field(repr=False)
    prompt_len: np.ndarray | None = field(default=None, repr=False)
    output_len: np.ndarray | None = field(default=None, repr=False)
    idle_w: float = 0.0

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("summary", {})
        if name in values:
            return values[name]
        raise AttributeError(name)

    @property
    def request_table(self):
        """One row per request: arrival, start, first token, finish, latency (s), and LLM lengths."""
        import pandas as pd

        t = self.trace
        df = pd.DataFrame({"arrival_s": t.arrival_s, "start_s": t.start_s, "first_token_s": t.first_token_s,
                           "finish_s": t.finish_s, "latency_s": self.latencies_s})
        if self.prompt_len is not None:
            df["prompt_len"], df["output_len"] = self.prompt_len, self.output_len
            df["ttft_s"] = df["first_token_s"] - df["arrival_s"]
            steps = (df["output_len"] - 1).where(df["output_len"] > 1)
            df["tpot_s"] = (df["finish_s"] - df["first_token_s"]) / steps
        return df

    @property
    def kv_utilization_timeline(self):
        """KV-cache blocks in use after every iteration of a scheduler run: ``time_s``, ``replica``,
        ``blocks_used``, ``utilization`` (of the replica's blocks); empty without ``scheduler=``."""
        import pandas as pd

        rows = getattr(self.trace, "kv_samples", ())
        df = pd.DataFrame(list(rows), columns=["time_s", "replica", "blocks_used"])
        total = getattr(self.trace, "kv_blocks", 0)
        df["utilization"] = df["blocks_used"] / total if total else 0.0
        return df

    @property
    def preemptions(self):
        """One row per preemption: ``time_s``, ``replica``, ``request``, ``mode`` (recompute / swap) and
        ``tokens`` (cached tokens dropped or copied to the host); empty without ``scheduler=``."""
        import pandas as pd

        return pd.DataFrame(list(getattr(self.trace, "preemptions", ())),
                            columns=["time_s", "replica", "request", "mode", "tokens"])

    @property
    def queue_timeline(self):
        """Piecewise-constant samples: from ``time_s`` on, ``queue_length`` wait and ``in_system`` are present."""
        import pandas as pd

        return pd.DataFrame(list(self.trace.queue), columns=["time_s", "queue_length", "in_system"])

    @property
    def batches(self):
        """One row per executed batch (or LLM iteration)."""
        import pandas as pd

        return pd.DataFrame([b.__dict__ for b in self.trace.batches],
                            columns=["replica", "start_s", "end_s", "size", "energy_j", "phase"])

    @property
    def power_timeline(self):
        """Power of all replicas over the run, piecewise constant: ``time_s``, ``end_s``, ``power_w``.

        Idle power of every replica plus each batch's dynamic energy spread evenly over its duration;
        integrates to ``energy_j``.
        """
        import pandas as pd

        deltas: dict[float, float] = {0.0: 0.0, self.trace.end_s: 0.0}
        for b in self.trace.batches:
            if b.end_s > b.start_s:
                p = b.energy_j / (b.end_s - b.start_s)
                deltas[b.start_s] = deltas.get(b.start_s, 0.0) + p
                deltas[b.end_s] = deltas.get(b.end_s, 0.0) - p
        times = sorted(deltas)
        base = self.idle_w * self.summary["replicas"]
        level, rows = 0.0, []
        for t0, t1 in zip(times, times[1:]):
            level += deltas[t0]
            rows.append((t0, t1, base + max(0.0, level)))
        return pd.DataFrame(rows, columns=["time_s", "end_s", "power_w"])

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data (per-request rows are in :attr:`request_table`)."""
        return _clean(dict(self.summary))

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON with sorted keys."""
        return to_json_text(self.to_dict(), indent)

    def table(self) -> str:
        """A readable multi-line summary (three significant digits, units scaled; :mod:`simulator.readable`)."""
        from ..readable import count, joules, percent, seconds, sig3

        s = self.summary
        lat = " / ".join(seconds(s[f"latency_{q}_s"]) for q in ("mean", "p50", "p90", "p99"))
        lines = [f"{s['workload']} on {s['hardware']} x{s['replicas']}: {s['arrival']} arrivals at "
                 f"{sig3(s['rate_per_s'])}/s, {s['requests']} requests, "
                 f"{'scheduler ' + s['scheduler'] if s.get('scheduler') else 'batching ' + s['batching']}, {s['precision']}",
                 f"  latency mean/p50/p90/p99  {lat}",
                 f"  throughput        {count(s['throughput_per_s'])} req/s, utilization {percent(s['utilization'])}",
                 f"  in system (mean)  {sig3(s['mean_requests_in_system'])}, queue (mean) {sig3(s['mean_queue_length'])},"
                 f" mean batch {sig3(s['mean_batch_size'])}",
                 f"  energy            {joules(s['energy_j'])}, {joules(s['energy_per_request_j'])}/request"]
        if s.get("slo_attainment") is not None and s.get("slo_ms"):
            lines.append(f"  SLO {sig3(s['slo_ms'])} ms attained by {percent(s['slo_attainment'])} of requests")
        if s.get("ttft_p50_s") is not None:
            lines.append(f"  TTFT p50/p90/p99 {seconds(s['ttft_p50_s'])} / {seconds(s['ttft_p90_s'])} / "
                         f"{seconds(s['ttft_p99_s'])}, TPOT p50/p90/p99 {seconds(s['tpot_p50_s'])} / "
                         f"{seconds(s['tpot_p90_s'])} / {seconds(s['tpot_p99_s'])}")
            lines.append(f"  tokens            {count(s['tokens_per_s'])} tokens/s out, "
                         f"{joules(s['energy_per_token_j'])}/token")
        lines += _extra_lines(s)
        return "\n".join(lines)


def _extra_lines(s: dict[str, Any]) -> list[str]:
    """Table lines of the SLO, price and scheduler figures a run has."""
    from ..readable import count, percent, sig3

    lines = []
    if s.get("slo"):
        goals = ", ".join(f"{k} <= {sig3(v)} s" for k, v in s["slo"].items())
        lines.append(f"  SLO {goals}: {'MET' if s['slo_met'] else 'MISSED'}; {percent(s['slo_attainment'])} of "
                     f"requests within every threshold, goodput {count(s['goodput_per_s'])} req/s")
    if s.get("usd_per_hour") is not None:
        lines.append(f"  cost              ${sig3(s['usd_per_hour'])}/h ({s['price_basis']}), "
                     f"${sig3(s['usd_per_million_tokens'])} per million output tokens")
    if s.get("prefill_replicas"):
        lines.append(f"  disaggregated     {s['prefill_replicas']} prefill + {s['decode_replicas']} decode replicas, "
                     "KV caches moved between them")
    if s.get("draft"):
        lines.append(f"  speculative       draft {s['draft']}, {s['draft_tokens']} tokens per step, acceptance "
                     f"{sig3(s['draft_acceptance'])}: {sig3(s['tokens_per_decode'])} tokens per decode step")
    if s.get("scheduler"):
        lines.append(f"  scheduler {s['scheduler']}: {s['kv_blocks']} KV blocks of {s['kv_block_tokens']} tokens "
                     f"per replica, peak use {percent(s['kv_utilization_max'])}, {s['preemption_count']} "
                     f"preemptions, prefix-cache hit rate {percent(s['prefix_hit_rate'])}")
    return lines


