"""Reduce a serving trace to its summary: latency percentiles, time averages, utilization, energy.

Time averages run over [0, end of the last request]; with every request arriving and leaving inside that
window, ``mean_requests_in_system`` equals ``throughput_per_s x latency_mean_s`` (Little's law) up to
floating point, which the tests check against the independently sampled queue timeline.
"""
from __future__ import annotations

import math
import re
from typing import Any, Mapping

import numpy as np

from ..engine.serving import ServeTrace
from ..errors import ScenarioError

SLO_METRICS = ("ttft", "tpot", "latency")
SLO_QUANTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0}


def _pct(x: np.ndarray, q: float) -> float:
    return float(np.percentile(x, q)) if len(x) else 0.0


def time_averages(trace: ServeTrace) -> tuple[float, float]:
    """(mean waiting, mean in system) over [0, ``trace.end_s``] from the piecewise-constant samples."""
    if trace.end_s <= 0 or not trace.queue:
        return 0.0, 0.0
    cols = trace.columns
    s = cols["queue"] if cols is not None else np.asarray(trace.queue, dtype=float)
    t = np.append(s[:, 0], trace.end_s)
    dt = np.diff(t)
    return float(np.dot(dt, s[:, 1]) / trace.end_s), float(np.dot(dt, s[:, 2]) / trace.end_s)


def parse_slo(slo: "Mapping[str, float] | str | None") -> dict[str, float]:
    """SLO targets as ``{"<metric>_<quantile>_s": seconds}``: metric ``ttft``, ``tpot`` or ``latency``
    (end to end; ``e2e`` is accepted), quantile ``p50``, ``p90``, ``p95`` or ``p99``. A string is the
    CLI form ``ttft_p99=0.5,tpot_p99=0.05`` (seconds; the ``_s`` suffix optional).

    Each target is met when that percentile over the requests is within its threshold; a request
    *attains* the SLO when it is within every threshold (DistServe's per-request definition, so a
    ``p99`` target is the threshold 99 % of requests must attain).

    Raises:
        ScenarioError: an unknown key or a non-positive threshold.

    Example:
        >>> parse_slo("ttft_p99=0.5,tpot_p99=0.05")
        {'ttft_p99_s': 0.5, 'tpot_p99_s': 0.05}
    """
    if slo is None:
        return {}
    items = slo.items() if isinstance(slo, Mapping) else [_pair(x) for x in str(slo).split(",") if x.strip()]
    out: dict[str, float] = {}
    for key, v in items:
        k = str(key).strip().replace("e2e_", "latency_")
        k = k if k.endswith("_s") else f"{k}_s"
        m = re.fullmatch(r"(ttft|tpot|latency)_(p50|p90|p95|p99)_s", k)
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
        if m is None or not ok:
            raise ScenarioError(f"slo: {key}={v!r}: expected <ttft|tpot|latency>_<p50|p90|p95|p99>[_s] = "
                                "a positive number of seconds")
        out[k] = float(v)
    if not out:
        raise ScenarioError("slo: no targets given")
    return out


def _pair(text: str) -> tuple[str, Any]:
    key, _, value = text.partition("=")
    try:
        return key.strip(), float(value)
    except ValueError:
        raise ScenarioError(f"slo: {text.strip()!r}: expected KEY=SECONDS, e.g. ttft_p99=0.5") from None


def slo_figures(slo: dict[str, float], values: dict[str, np.ndarray], duration_s: float) -> dict[str, Any]:
    """``slo_met``, ``slo_attainment``, ``goodput_per_s`` and each target's achieved percentile.

    ``values`` maps ttft / tpot / latency to per-request seconds (tpot NaN for one-token outputs: they
    have no time per output token and meet any TPOT target).
    """
    n = len(values["latency"])
    ok = np.ones(n, dtype=bool)
    met = True
    achieved = {}
    for key, limit in slo.items():
        metric, q, _ = key.split("_")
        x = values[metric]
        finite = x[~np.isnan(x)]
        got = float(np.percentile(finite, SLO_QUANTILES[q])) if len(finite) else 0.0
        achieved[key] = got
        met = met and got <= limit + 1e-12
        ok &= np.isnan(x) | (x <= limit + 1e-12)
    return {"slo": dict(slo), "slo_met": met, "slo_achieved": achieved,
            "slo_attainment": float(ok.mean()) if n else 0.0,
            "goodput_per_s": float(ok.sum()) / duration_s if duration_s > 0 else 0.0}


def hourly_price(hw) -> tuple[float | None, str]:
    """(USD per device-hour, basis) of device spec ``hw`` as :func:`simulator.pricing.device_hour_price`
    prices it: the cloud rate ("cloud"), else the purchase price over three years of round-the-clock
    use ("owned"); (None, "no price") without either.

    Example:
        >>> from simulator.spec.loader import load_hardware
        >>> hourly_price(load_hardware("nvidia-h100-sxm")), hourly_price(load_hardware("nvidia-rtx-4090"))[1]
        ((2.99, 'cloud'), 'owned')
    """
    from ..pricing import device_hour_price

    p = device_hour_price(hw)
    return (None, "no price") if p is None else (float(p["usd_per_device_hour"]), p["basis"])


def summarise(trace: ServeTrace, args: dict[str, Any], *, idle_w: float, slo_s: float | None,
              output_len: np.ndarray | None, slo: dict[str, float] | None = None,
              usd_per_device_hour: tuple[float | None, str] = (None, "no price"),
              devices: int = 1) -> tuple[dict[str, Any], np.ndarray]:
    """(summary dict, per-request latencies in s) of a serving run."""
    cols = trace.columns
    if cols is not None:  # the engine's own arrays (equal to the tuples, element for element)
        arrival, finish, started = cols["arrival"], cols["finish"], cols["start"]
        busy, dynamic_j, sizes = cols["busy_s"], cols["energy_j"], cols["sizes"]
        max_queue = int(cols["queue"][:, 1].max()) if len(cols["queue"]) else 0
    else:
        arrival = np.asarray(trace.arrival_s)
        finish = np.asarray(trace.finish_s)
        started = np.asarray(trace.start_s)
        busy = sum(b.end_s - b.start_s for b in trace.batches)
        dynamic_j = sum(b.energy_j for b in trace.batches)
        sizes = [b.size for b in trace.batches if b.phase != "prefill"]
        max_queue = int(max((q for _, q, _ in trace.queue), default=0))
    lat = finish - arrival
    n = len(lat)
    end = trace.end_s
    mean_q, mean_in = time_averages(trace)
    replicas = args["replicas"]
    energy = replicas * idle_w * end + dynamic_j
    out = dict(args)
    out.update({
        "latency_mean_s": float(lat.mean()) if n else 0.0, "latency_p50_s": _pct(lat, 50),
        "latency_p90_s": _pct(lat, 90), "latency_p99_s": _pct(lat, 99), "latency_max_s": float(lat.max()),
        "waiting_mean_s": float(np.mean(started - arrival)) if n else 0.0,
        "throughput_per_s": n / end if end > 0 else 0.0, "duration_s": end,
        "mean_requests_in_system": mean_in, "mean_queue_length": mean_q,
        "max_queue_length": max_queue,
        "utilization": busy / (replicas * end) if end > 0 else 0.0,
        "mean_batch_size": float(np.mean(sizes)) if sizes else 0.0, "batches": len(trace.batches),
        "slo_attainment": float(np.mean(lat <= slo_s + 1e-12)) if slo_s is not None and n else None,
        "energy_j": energy, "energy_per_request_j": energy / n if n else 0.0,
        "average_power_w": energy / (replicas * end) if end > 0 else idle_w,
    })
    if output_len is not None:
        out.update(_llm_figures(trace, lat, output_len, end, energy))
        first = np.asarray(trace.first_token_s)
        multi = output_len > 1
        tpot_all = np.full(n, np.nan)
        tpot_all[multi] = (finish[multi] - first[multi]) / (output_len[multi] - 1)
        if slo:
            out.update(slo_figures(slo, {"ttft": first - arrival, "tpot": tpot_all, "latency": lat}, end))
        rate, basis = usd_per_device_hour
        if rate is not None:
            usd = rate * devices * replicas
            tokens = out["tokens"]
            out.update({"usd_per_hour": usd, "price_basis": basis,
                        "usd_per_million_tokens": usd * end / 3600 / tokens * 1e6 if tokens else 0.0})
        out.update(_paged_figures(trace))
    elif slo:
        raise ScenarioError("slo: TTFT/TPOT targets are for LLM workloads; use slo_ms for a latency target")
    return out, lat


def _llm_figures(trace: ServeTrace, lat: np.ndarray, output_len: np.ndarray, end: float,
                 energy: float) -> dict[str, Any]:
    arrival = np.asarray(trace.arrival_s)
    first = np.asarray(trace.first_token_s)
    finish = np.asarray(trace.finish_s)
    ttft = first - arrival
    multi = output_len > 1
    tpot = (finish[multi] - first[multi]) / (output_len[multi] - 1)
    tokens = int(output_len.sum())
    return {"ttft_mean_s": float(ttft.mean()), "ttft_p50_s": _pct(ttft, 50), "ttft_p90_s": _pct(ttft, 90),
            "ttft_p99_s": _pct(ttft, 99), "tpot_mean_s": float(tpot.mean()) if len(tpot) else 0.0,
            "tpot_p50_s": _pct(tpot, 50), "tpot_p90_s": _pct(tpot, 90), "tpot_p99_s": _pct(tpot, 99),
            "tokens": tokens, "tokens_per_s": tokens / end if end > 0 else 0.0,
            "energy_per_token_j": energy / tokens if tokens else 0.0,
            "kwh_per_million_tokens": energy / tokens * 1e6 / 3.6e6 if tokens else 0.0}


def _paged_figures(trace: ServeTrace) -> dict[str, Any]:
    """Preemptions, prefix-cache hit rate and KV use of a scheduler run (nothing for the others)."""
    if not hasattr(trace, "kv_samples"):
        return {}
    used = np.asarray([u for _, _, u in trace.kv_samples], dtype=float)
    total = trace.kv_blocks or 1
    return {"preemption_count": len(trace.preemptions), "kv_blocks": trace.kv_blocks,
            "kv_utilization_mean": float(used.mean()) / total if len(used) else 0.0,
            "kv_utilization_max": float(used.max()) / total if len(used) else 0.0,
            "prefix_hit_rate": trace.prefix_hit_tokens / trace.prefix_query_tokens if trace.prefix_query_tokens
            else 0.0}
