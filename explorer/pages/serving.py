"""Serving: a stream of requests with batching and replicas (``simulator.serve``), on the sidebar device and
any others. LLMs get their use case's prompt and output lengths, TTFT and TPOT objectives (goodput: the
share of requests meeting both) and tensor parallelism; other models a latency objective."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from explorer import report
from explorer.calls import Outcome, price, serve
from explorer.charts import latency_figure, queue_figure
from explorer.format import fmt_energy, fmt_si, fmt_time, fmt_usd, per_million
from explorer.llm import context_warning, length_defaults, model_choice, preset_caption, preset_controls, tp_degrees
from explorer.share import init
from explorer.state import Scenario, decoder_names, device_labels
from explorer.views import Column, price_help, table

ARRIVALS = ["poisson", "constant", "bursty"]
BATCHING = ["continuous", "dynamic", "static", "none"]
# production engines' schedulers as data (``schedulers/*.yaml``): paged KV, chunked prefill, preemption
SCHEDULERS = ["vllm", "sglang", "tensorrt-llm"]


def _common(c: list[Any], llm: bool) -> dict[str, Any]:
    init("srv_arrival", ARRIVALS[0], ARRIVALS)
    init("srv_rate", 4.0 if llm else 200.0, lo=0.01, hi=1e6)
    init("srv_n", 300 if llm else 1000, lo=10, hi=100_000)
    batching = BATCHING[:1] + SCHEDULERS + BATCHING[1:] if llm else BATCHING[1:]
    init("srv_batching", batching[0], batching)
    init("srv_max_batch", 32, lo=1, hi=4096)
    init("srv_wait", 5.0, lo=0.0, hi=10_000.0)
    init("srv_replicas", 1, lo=1, hi=1024)
    return {"arrival": c[0].selectbox("Arrivals", ARRIVALS, key="srv_arrival"),
            "rate_per_s": c[1].number_input("Rate (requests/s)", 0.01, 1e6, key="srv_rate"),
            "requests": int(c[2].number_input("Requests", 10, 100_000, step=100, key="srv_n")),
            "batching": c[3].selectbox("Batching", batching, key="srv_batching",
                                       help="continuous: iteration-level batching, each request's KV cache "
                                            "reserved whole; vllm / sglang / tensorrt-llm: that engine's scheduler "
                                            "(token budget, chunked prefill, paged KV blocks, preemption, prefix "
                                            "caching; max batch = max_num_seqs, max wait unused); dynamic: a batch "
                                            "when full or when the oldest request waited the max wait"),
            "max_batch_size": int(c[4].number_input("Max batch", 1, 4096, key="srv_max_batch")),
            "max_wait_ms": c[5].number_input("Max wait (ms)", 0.0, 10_000.0, key="srv_wait"),
            "replicas": int(c[6].number_input("Replicas", 1, 1024, key="srv_replicas"))}


def _controls(sc: Scenario) -> tuple[str, dict[str, Any], dict[str, float], str]:
    top = st.columns([2, 2, 1, 1, 1, 1, 1])
    model = model_choice(sc, "srv_model", top[1], allow_sidebar=True)
    llm = model in decoder_names()
    slos: dict[str, float] = {}
    preset = ""
    if llm:
        preset = preset_controls("srv", top[0])
        length_defaults("srv")
        prompt = int(top[2].number_input("Prompt tokens", 1, 131072, key="srv_prompt"))
        out = int(top[3].number_input("Output tokens", 1, 131072, key="srv_out"))
        slos["ttft_ms"] = float(top[4].number_input("TTFT SLO (ms)", 0.0, 1e7, key="srv_ttft", help="0 = none"))
        slos["tpot_ms"] = float(top[5].number_input("TPOT SLO (ms)", 0.0, 1e7, key="srv_tpot", help="0 = none"))
        degrees = tp_degrees(model)
        init("srv_tp", 1, degrees)
        tp = int(top[6].selectbox("Tensor parallel", degrees, key="srv_tp", help="devices per replica"))
    else:
        init("srv_slo", 0.0, lo=0.0, hi=1e6)
        slos["latency_ms"] = float(top[2].number_input("Latency SLO (ms)", 0.0, 1e6, key="srv_slo", help="0 = none"))
    knobs = _common(st.columns(7), llm)
    knobs["rate_per_s"] = float(knobs["rate_per_s"])
    knobs["max_wait_ms"] = float(knobs["max_wait_ms"])
    if llm:
        knobs.update(prompt_len=prompt, output_len=out)
        if knobs["batching"] in SCHEDULERS:
            knobs["scheduler"] = knobs.pop("batching")
            knobs["max_num_seqs"] = knobs.pop("max_batch_size")
            knobs.pop("max_wait_ms")
        if tp > 1:
            knobs.update(devices=tp, parallelism=f"tp={tp}")
    else:
        knobs["slo_ms"] = slos["latency_ms"] or None
        if sc.seq_len and model == sc.workload:
            knobs["seq_len"] = sc.seq_len
        if sc.image_size and model == sc.workload:
            knobs["image_size"] = sc.image_size
    return model, knobs, slos, preset


def goodput(r: Any, slos: dict[str, float]) -> float | None:
    """Share of requests meeting every objective set (TTFT and TPOT for LLMs, latency otherwise); None: none set.

    Example:
        >>> from types import SimpleNamespace as NS
        >>> t = pd.DataFrame({"arrival_s": [0.0, 0.0], "first_token_s": [0.1, 0.5], "finish_s": [1.1, 1.5],
        ...                   "latency_s": [1.1, 1.5], "output_len": [11, 11]})
        >>> goodput(NS(request_table=t), {"ttft_ms": 200.0, "tpot_ms": 200.0})
        0.5
    """
    t = r.request_table
    ok = np.ones(len(t), dtype=bool)
    used = False
    if slos.get("ttft_ms"):
        ok &= (t["first_token_s"] - t["arrival_s"]).to_numpy() * 1e3 <= slos["ttft_ms"] + 1e-9
        used = True
    if slos.get("tpot_ms"):
        steps = np.maximum(t["output_len"].to_numpy() - 1, 1)
        tpot = (t["finish_s"] - t["first_token_s"]).to_numpy() / steps
        ok &= (tpot * 1e3 <= slos["tpot_ms"] + 1e-9) | (t["output_len"].to_numpy() <= 1)
        used = True
    if slos.get("latency_ms"):
        ok &= t["latency_s"].to_numpy() * 1e3 <= slos["latency_ms"] + 1e-9
        used = True
    return float(ok.mean()) if used and len(t) else None


def _row(device: str, o: Outcome, slos: dict[str, float], devices: int, basis: str) -> dict[str, Any]:
    row: dict[str, Any] = {"device": device}
    if not o.ok:
        return {**row, "fits": False, "status": o.error}
    s = o.result.summary
    n = devices * s["replicas"]
    tokens = s.get("tokens_per_s")
    p = price(device, basis)
    per_unit = tokens if tokens else s["throughput_per_s"]
    cost = per_million(p["usd_per_device_hour"], n, 1.0, per_unit) if p and per_unit else None
    row.update(latency_p50_s=s["latency_p50_s"], latency_p99_s=s["latency_p99_s"], ttft_p99_s=s.get("ttft_p99_s"),
               tpot_p99_s=s.get("tpot_p99_s"), goodput=goodput(o.result, slos),
               throughput_per_s_per_device=per_unit / n, usd_per_million=cost, utilization=s["utilization"],
               energy_j_per_request=s["energy_per_request_j"], fits=True, status="ok", price_basis=p and p["basis"])
    return row


def _metrics(r: Any, slos: dict[str, float], cost: float | None, p: Any, basis: str) -> None:
    s = r.summary
    good = goodput(r, slos)
    c = st.columns(4)
    if s.get("llm"):
        c[0].metric("TTFT p99", fmt_time(s["ttft_p99_s"]), f"p50 {fmt_time(s['ttft_p50_s'])}", delta_color="off",
                    delta_arrow="off")
        c[1].metric("TPOT p99", fmt_time(s["tpot_p99_s"]), f"p50 {fmt_time(s['tpot_p50_s'])}", delta_color="off",
                    delta_arrow="off")
        c[2].metric("Tokens/s", fmt_si(s["tokens_per_s"]), f"{fmt_si(s['throughput_per_s'])} requests/s",
                    delta_color="off", delta_arrow="off")
    else:
        c[0].metric("Latency p50", fmt_time(s["latency_p50_s"]))
        c[1].metric("Latency p99", fmt_time(s["latency_p99_s"]), f"max {fmt_time(s['latency_max_s'])}",
                    delta_color="off", delta_arrow="off")
        c[2].metric("Throughput (requests/s)", fmt_si(s["throughput_per_s"]))
    c[3].metric("SLO attainment", "n/a" if good is None else f"{good * 100:.1f}%",
                help="goodput: the share of requests meeting every objective set (TTFT and TPOT, or latency)")
    c = st.columns(4)
    c[0].metric("Latency p99" if s.get("llm") else "Utilization",
                fmt_time(s["latency_p99_s"]) if s.get("llm") else f"{s['utilization'] * 100:.1f}%",
                f"mean batch {s['mean_batch_size']:.1f}", delta_color="off", delta_arrow="off")
    c[1].metric("Mean queue length", f"{s['mean_queue_length']:.2f}", f"max {s['max_queue_length']}",
                delta_color="off", delta_arrow="off")
    unit = "tokens" if s.get("llm") else "requests"
    c[2].metric(f"Cost per 1M {unit}", fmt_usd(cost), help=price_help(p, basis))
    c[3].metric("Energy per request", fmt_energy(s["energy_per_request_j"]),
                f"{s['average_power_w']:.0f} W per replica", delta_color="off", delta_arrow="off")
    report.add_metrics(f"{s['workload']} served on {s['hardware']}", [
        ("Latency p99", fmt_time(s["latency_p99_s"])), ("SLO attainment", "n/a" if good is None else f"{good:.1%}"),
        (f"Cost per 1M {unit}", fmt_usd(cost))])


def serving_view(r: Any, slos: dict[str, float], cost: float | None, p: Any, basis: str) -> None:
    """Latency percentiles, throughput, SLO attainment; latency histogram and queue over time."""
    _metrics(r, slos, cost, p, basis)
    s = r.summary
    slo = slos.get("latency_ms") or None
    cc = st.columns(2)
    cc[0].plotly_chart(latency_figure(r.latencies_s, slo), key="srv_lat")
    cc[1].plotly_chart(queue_figure(r.queue_timeline), key="srv_queue")
    if s.get("utilization", 0) > 0.98 and s.get("mean_queue_length", 0) > 1:
        st.warning("The queue grows through the run: the arrival rate is beyond what this configuration serves, "
                   "so latencies depend on how many requests are simulated.")
    d = st.columns(2)
    d[0].download_button("Requests CSV", r.request_table.to_csv(index=False).encode(), "requests.csv", "text/csv",
                         key="dl_srv_csv")
    d[1].download_button("Serving JSON", r.to_json().encode(), "serving.json", "application/json", key="dl_srv_json")


def page_serve(sc: Scenario) -> None:
    """Use case, lengths, SLOs, arrivals, batching, replicas and devices; the simulated request stream."""
    st.title("Serving")
    model, knobs, slos, preset = _controls(sc)
    if "prompt_len" in knobs:
        preset_caption(preset, knobs["prompt_len"], knobs["output_len"])
        context_warning(model, knobs["prompt_len"], knobs["output_len"])
    labels = device_labels()
    others = [n for n in labels if n != sc.device]
    init("srv_devices", [], others)
    more = st.multiselect("Compare on", others, key="srv_devices", format_func=lambda n: labels.get(n, n))
    tp = int(knobs.get("devices", 1))
    how = f"{knobs['scheduler']} scheduler" if "scheduler" in knobs else f"{knobs['batching']} batching"
    st.caption(f"{model} on {knobs['replicas']} replica(s) of {f'{tp} x ' if tp > 1 else ''}{sc.device} · "
               f"{how} · {sc.precision_label}")
    outs: dict[str, Outcome] = {}
    with st.spinner("Simulating the request stream..."):
        for d in [sc.device] + more:
            outs[d] = serve(sc, model, d, knobs)
    main = outs[sc.device]
    if not main.ok:
        st.error(f"{sc.device}: {main.error}")
    elif not hasattr(main.result, "summary"):
        st.write(main.result)
    else:
        if main.note:
            st.info(main.note + ".")
        row = _row(sc.device, main, slos, tp, sc.cost_basis)
        serving_view(main.result, slos, row.get("usd_per_million"), price(sc.device, sc.cost_basis), sc.cost_basis)
    if len(outs) > 1:
        df = pd.DataFrame([_row(d, o, slos, tp, sc.cost_basis) for d, o in outs.items()])
        unit = "tokens" if "prompt_len" in knobs else "requests"
        cols: list[Column] = [("device", "device", None), ("latency_p50_s", "latency p50", fmt_time),
                              ("latency_p99_s", "latency p99", fmt_time), ("ttft_p99_s", "TTFT p99", fmt_time),
                              ("tpot_p99_s", "TPOT p99", fmt_time), ("goodput", "SLO attainment", lambda g: f"{g:.1%}"),
                              ("throughput_per_s_per_device", f"{unit}/s per device", fmt_si),
                              ("usd_per_million", f"$ per 1M {unit}", fmt_usd),
                              ("utilization", "utilization", lambda u: f"{u:.0%}"), ("status", "status", None)]
        st.subheader(f"On {len(outs)} devices")
        table(df, "Serving comparison", key="srv_cmp", columns=cols, infeasible=~df["fits"].astype(bool))

