"""Serving: a stream of inference requests with batching and replicas (``simulator.serve``), when the API has it."""
from __future__ import annotations

from typing import Any

import streamlit as st

import simulator as sim
from explorer.charts import latency_figure, queue_figure
from explorer.format import fmt_si, fmt_time
from explorer.state import TIME_LIMIT_S, Scenario, Upload, UploadError, upload_workload
from explorer.views import show_any_result


@st.cache_data(show_spinner=False, max_entries=64)
def _serve(workload: str, upload_digest: str | None, _upload: Upload | None, hardware: str,
           knobs: tuple[tuple[str, Any], ...]) -> Any:
    wl = upload_workload(upload_digest, _upload) if _upload else workload
    return sim.serve(wl, hardware, time_limit_s=TIME_LIMIT_S, **dict(knobs))


def _serve_controls(sc: Scenario) -> dict[str, Any]:
    c = st.columns(4)
    knobs: dict[str, Any] = {
        "arrival": c[0].selectbox("Arrivals", ["poisson", "constant", "bursty"], key="srv_arrival"),
        "rate_per_s": c[1].number_input("Rate (requests/s)", 0.01, 1e6, 200.0, key="srv_rate"),
        "requests": c[2].number_input("Requests", 10, 100_000, 1000, step=100, key="srv_n"),
        "batching": c[3].selectbox("Batching", ["dynamic", "continuous", "static", "none"], key="srv_batching"),
    }
    c = st.columns(4)
    knobs["max_batch_size"] = c[0].number_input("Max batch", 1, 4096, 32, key="srv_max_batch")
    knobs["max_wait_ms"] = c[1].number_input("Max wait (ms)", 0.0, 10_000.0, 5.0, key="srv_wait")
    knobs["replicas"] = c[2].number_input("Replicas", 1, 1024, 1, key="srv_replicas")
    slo = c[3].number_input("Latency SLO (ms, 0 = none)", 0.0, 1e6, 0.0, key="srv_slo")
    knobs["slo_ms"] = slo or None
    knobs["precision"] = sc.precision
    if sc.seq_len:
        knobs["seq_len"] = sc.seq_len
    if sc.image_size:
        knobs["image_size"] = sc.image_size
    return knobs


def _serving_metrics(s: dict[str, Any]) -> None:
    c = st.columns(4)
    c[0].metric("Latency p50", fmt_time(s["latency_p50_s"]))
    c[1].metric("Latency p99", fmt_time(s["latency_p99_s"]), f"max {fmt_time(s['latency_max_s'])}",
                delta_color="off", delta_arrow="off")
    c[2].metric("Throughput (requests/s)", fmt_si(s["throughput_per_s"]))
    c[3].metric("Utilization", f"{s['utilization'] * 100:.1f}%", f"mean batch {s['mean_batch_size']:.1f}",
                delta_color="off", delta_arrow="off")
    c = st.columns(4)
    slo = s.get("slo_attainment")
    c[0].metric("SLO attainment", "n/a" if slo is None else f"{slo * 100:.1f}%")
    c[1].metric("Mean queue length", f"{s['mean_queue_length']:.2f}", f"max {s['max_queue_length']}",
                delta_color="off", delta_arrow="off")
    c[2].metric("Energy per request", f"{s['energy_per_request_j']:.3g} J")
    c[3].metric("Average power", f"{s['average_power_w']:.0f} W")
    if s.get("llm"):
        c = st.columns(4)
        c[0].metric("TTFT p50", fmt_time(s["ttft_p50_s"]))
        c[1].metric("TTFT p99", fmt_time(s["ttft_p99_s"]))
        c[2].metric("TPOT p50", fmt_time(s["tpot_p50_s"]))
        c[3].metric("Tokens/s", fmt_si(s["tokens_per_s"]))


def serving_view(r: Any) -> None:
    """Latency percentiles, throughput and utilisation; latency histogram and queue over time."""
    s = r.summary
    _serving_metrics(s)
    cc = st.columns(2)
    cc[0].plotly_chart(latency_figure(r.latencies_s, s.get("slo_ms")), key="srv_lat")
    cc[1].plotly_chart(queue_figure(r.queue_timeline), key="srv_queue")
    d = st.columns(2)
    d[0].download_button("Requests CSV", r.request_table.to_csv(index=False).encode(), "requests.csv", "text/csv",
                         key="dl_srv_csv")
    d[1].download_button("Serving JSON", r.to_json().encode(), "serving.json", "application/json", key="dl_srv_json")


def page_serve(sc: Scenario) -> None:
    """Arrival, batching and replica controls; the simulated request stream on the sidebar device."""
    st.title("Serving")
    knobs = _serve_controls(sc)
    st.caption(f"{sc.workload} on {knobs['replicas']} x {sc.device} · {sc.precision} · inference requests")
    with st.spinner("Simulating the request stream..."):
        try:
            r = _serve(sc.workload, sc.upload.digest if sc.upload else None, sc.upload, sc.device,
                       tuple(sorted(knobs.items())))
        except (sim.SimulatorError, UploadError) as exc:
            st.error(str(exc))
            return
        except Exception as exc:
            st.error(f"serve: {type(exc).__name__}: {exc}")
            return
    if hasattr(r, "summary") and "latency_p50_s" in getattr(r, "summary", {}):
        serving_view(r)
    else:
        show_any_result(r, "srv")
