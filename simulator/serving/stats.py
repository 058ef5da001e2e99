"""Reduce a serving trace to its summary: latency percentiles, time averages, utilization, energy.

Time averages run over [0, end of the last request]; with every request arriving and leaving inside that
window, ``mean_requests_in_system`` equals ``throughput_per_s x latency_mean_s`` (Little's law) up to
floating point, which the tests check against the independently sampled queue timeline.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.serving import ServeTrace


def _pct(x: np.ndarray, q: float) -> float:
    return float(np.percentile(x, q)) if len(x) else 0.0


def time_averages(trace: ServeTrace) -> tuple[float, float]:
    """(mean waiting, mean in system) over [0, ``trace.end_s``] from the piecewise-constant samples."""
    if trace.end_s <= 0 or not trace.queue:
        return 0.0, 0.0
    s = np.asarray(trace.queue, dtype=float)
    t = np.append(s[:, 0], trace.end_s)
    dt = np.diff(t)
    return float(np.dot(dt, s[:, 1]) / trace.end_s), float(np.dot(dt, s[:, 2]) / trace.end_s)


def summarise(trace: ServeTrace, args: dict[str, Any], *, idle_w: float, slo_s: float | None,
              output_len: np.ndarray | None) -> tuple[dict[str, Any], np.ndarray]:
    """(summary dict, per-request latencies in s) of a serving run."""
    arrival = np.asarray(trace.arrival_s)
    finish = np.asarray(trace.finish_s)
    lat = finish - arrival
    n = len(lat)
    end = trace.end_s
    mean_q, mean_in = time_averages(trace)
    busy = sum(b.end_s - b.start_s for b in trace.batches)
    replicas = args["replicas"]
    energy = replicas * idle_w * end + sum(b.energy_j for b in trace.batches)
    sizes = [b.size for b in trace.batches if b.phase != "prefill"]
    out = dict(args)
    out.update({
        "latency_mean_s": float(lat.mean()) if n else 0.0, "latency_p50_s": _pct(lat, 50),
        "latency_p90_s": _pct(lat, 90), "latency_p99_s": _pct(lat, 99), "latency_max_s": float(lat.max()),
        "waiting_mean_s": float(np.mean(np.asarray(trace.start_s) - arrival)) if n else 0.0,
        "throughput_per_s": n / end if end > 0 else 0.0, "duration_s": end,
        "mean_requests_in_system": mean_in, "mean_queue_length": mean_q,
        "max_queue_length": int(max((q for _, q, _ in trace.queue), default=0)),
        "utilization": busy / (replicas * end) if end > 0 else 0.0,
        "mean_batch_size": float(np.mean(sizes)) if sizes else 0.0, "batches": len(trace.batches),
        "slo_attainment": float(np.mean(lat <= slo_s + 1e-12)) if slo_s is not None and n else None,
        "energy_j": energy, "energy_per_request_j": energy / n if n else 0.0,
        "average_power_w": energy / (replicas * end) if end > 0 else idle_w,
    })
    if output_len is not None:
        first = np.asarray(trace.first_token_s)
        ttft = first - arrival
        multi = output_len > 1
        tpot = (finish[multi] - first[multi]) / (output_len[multi] - 1)
        tokens = int(output_len.sum())
        out.update({"ttft_mean_s": float(ttft.mean()), "ttft_p50_s": _pct(ttft, 50), "ttft_p90_s": _pct(ttft, 90),
                    "ttft_p99_s": _pct(ttft, 99), "tpot_mean_s": float(tpot.mean()) if len(tpot) else 0.0,
                    "tpot_p50_s": _pct(tpot, 50), "tpot_p90_s": _pct(tpot, 90), "tpot_p99_s": _pct(tpot, 99),
                    "tokens": tokens, "tokens_per_s": tokens / end if end > 0 else 0.0,
                    "energy_per_token_j": energy / tokens if tokens else 0.0})
    return out, lat
