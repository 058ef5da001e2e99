"""Result views shared by the pages: headline metrics, downloads, chart tabs and a fallback for unknown results."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

import simulator as sim
from explorer.charts import breakdown_figure, gantt_figure, memory_figure, power_figure, roofline_figure, shares_figure
from explorer.format import BOUND_SHORT, cost_per_step, fmt_bytes, fmt_si, fmt_time, fmt_usd, pct_delta, throughput_text
from explorer.state import Scenario


def _headline_row1(r: sim.SimulationResult, b: sim.SimulationResult | None) -> None:
    tp_label, tp = throughput_text(r)
    row1 = st.columns(4)
    band = r.step_time_band_s
    row1[0].metric("Step time", fmt_time(r.step_time_s), pct_delta(r.step_time_s, b.step_time_s) if b else None,
                   delta_color="inverse",
                   help=(f"Validation band {fmt_time(band[0])} - {fmt_time(band[1])}: 80 % of the calibration rows "
                         f"for {r.kind} devices were within this factor (validation/REPORT.md)") if band else None)
    tp_new = r.tokens_per_s or r.throughput_samples_per_s
    tp_old = (b.tokens_per_s or b.throughput_samples_per_s) if b else None
    row1[1].metric(tp_label, tp, pct_delta(tp_new, tp_old) if b else None)
    fit = "fits" if r.fits_in_memory else f"short by {fmt_bytes(r.memory_shortfall_bytes)}"
    cap = f"of {fmt_bytes(r.memory_capacity_bytes)} · {fit}"
    row1[2].metric("Peak memory", fmt_bytes(r.peak_memory_bytes),
                   pct_delta(r.peak_memory_bytes, b.peak_memory_bytes) if b else cap,
                   delta_color="inverse" if b else ("normal" if r.fits_in_memory else "inverse"),
                   delta_arrow="auto" if b else "off", help=f"Peak allocated vs main-memory capacity: {cap}")
    row1[3].metric("Energy per step", f"{r.energy_j:.3g} J", pct_delta(r.energy_j, b.energy_j) if b else None,
                   delta_color="inverse")


def _headline_row2(r: sim.SimulationResult, hw: Any, b: sim.SimulationResult | None, bhw: Any) -> None:
    cost = cost_per_step(r, hw)
    row2 = st.columns(4)
    row2[0].metric("Average power", f"{r.average_power_w:.0f} W",
                   pct_delta(r.average_power_w, b.average_power_w) if b else f"of {r.tdp_w:.0f} W TDP",
                   delta_color="inverse" if b else "off", delta_arrow="auto" if b else "off",
                   help=f"Energy / step time; TDP {r.tdp_w:.0f} W")
    bcost = cost_per_step(b, bhw) if b else None
    row2[1].metric("Cloud cost per step", fmt_usd(cost), pct_delta(cost, bcost) if (cost and bcost) else None,
                   delta_color="inverse", help="price.cloud_usd_per_hour x step time (n/a: the spec has no price)")
    share = r.bottleneck_shares.get(r.bottleneck)
    row2[2].metric("Bottleneck", BOUND_SHORT.get(r.bottleneck, r.bottleneck.replace("_", " ")),
                   f"{share * 100:.0f}% of busy time" if share is not None else None, delta_color="off",
                   delta_arrow="off",
                   help=", ".join(f"{k} {v * 100:.0f}%" for k, v in r.bottleneck_shares.items() if v))
    row2[3].metric("Utilization", f"{r.utilization * 100:.1f}%",
                   f"{(r.utilization - b.utilization) * 100:+.1f} pts" if b else None,
                   help="achieved FLOP/s / matrix peak at this precision")


def headline(r: sim.SimulationResult, hw: Any, base: tuple[sim.SimulationResult, Any] | None = None,
             key: str = "") -> None:
    """Headline numbers as st.metric; with ``base``, deltas against it."""
    b, bhw = base if base else (None, None)
    _headline_row1(r, b)
    _headline_row2(r, hw, b, bhw)
    effective = getattr(r, "effective_precision", r.precision)
    if effective != r.precision:
        st.info(f"{r.hardware} has no {r.precision} path: it ran in {effective} (effective precision).")
    if not r.fits_in_memory:
        st.warning(f"Does not fit: needs {fmt_bytes(r.peak_memory_bytes)}, has {fmt_bytes(r.memory_capacity_bytes)} "
                   f"(dominated by {r.memory_dominant.replace('_', ' ')}).")


def downloads(r: sim.SimulationResult, stem: str, key: str) -> None:
    """Download buttons: the per-op CSV, the result JSON and a Chrome trace."""
    cols = st.columns(3)
    cols[0].download_button("Ops CSV", r.ops.to_csv(index=False).encode(), f"{stem}-ops.csv", "text/csv",
                            key=f"dl_csv_{key}")
    cols[1].download_button("Result JSON", r.to_json().encode(), f"{stem}.json", "application/json",
                            key=f"dl_json_{key}")
    with tempfile.TemporaryDirectory(prefix="accsim-trace-") as tmp:
        trace = Path(r.to_chrome_trace(Path(tmp) / f"{stem}-trace.json")).read_bytes()
    cols[2].download_button("Chrome trace", trace, f"{stem}-trace.json", "application/json", key=f"dl_trace_{key}",
                            help="Open in ui.perfetto.dev or chrome://tracing")


def detail_tabs(r: sim.SimulationResult, hw: Any, *, key: str, power_cap_w: float | None = None,
                gantt: dict[str, sim.SimulationResult] | None = None) -> None:
    """Lazy tabs of charts for one result: roofline, timeline, memory, power, breakdowns and the op table."""
    names = ["Roofline", "Timeline", "Memory", "Power", "Breakdowns", "Ops"]
    # lazy tabs: only the open one is computed (keeps reruns fast with many devices)
    tabs = dict(zip(names, st.tabs(names, key=f"tabs_{key}", on_change="rerun")))

    def is_open(name: str) -> bool:
        return getattr(tabs[name], "open", True) is not False

    if is_open("Roofline"):
        tabs["Roofline"].plotly_chart(roofline_figure(r, hw), key=f"roof_{key}")
    if is_open("Timeline"):
        tabs["Timeline"].plotly_chart(gantt_figure(gantt or {r.hardware: r}), key=f"gantt_{key}")
    if is_open("Memory"):
        tabs["Memory"].plotly_chart(memory_figure(r), key=f"mem_{key}")
    if is_open("Power"):
        tabs["Power"].plotly_chart(power_figure(r, hw, power_cap_w), key=f"pow_{key}")
    if is_open("Breakdowns"):
        c = tabs["Breakdowns"].columns(2)
        c[0].plotly_chart(shares_figure({r.hardware: r}), key=f"shares_{key}")
        c[1].plotly_chart(breakdown_figure({r.hardware: r}), key=f"brk_{key}")
    if is_open("Ops"):
        tabs["Ops"].dataframe(r.ops, hide_index=True, height=320)


def stem_of(sc: Scenario, device: str) -> str:
    """A file-name stem naming the scenario on ``device``."""
    return re.sub(r"[^A-Za-z0-9_.\-]+", "-", f"{sc.workload}-{device}-{sc.mode}-bs{sc.batch_size}-{sc.precision}")


def show_any_result(obj: Any, key: str) -> None:
    """Show an unknown result object: DataFrame as a table, numbers as metrics, the rest as JSON."""
    if isinstance(obj, pd.DataFrame):
        st.dataframe(obj, hide_index=True)
        return
    data = obj.to_dict() if hasattr(obj, "to_dict") else (obj if isinstance(obj, dict) else None)
    if data is None:
        st.write(obj)
        return
    nums = [(k, v) for k, v in data.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    cols = st.columns(4)
    for i, (k, v) in enumerate(nums[:8]):
        cols[i % 4].metric(k.replace("_", " "), fmt_si(float(v)) if abs(v) >= 1e3 else f"{v:.4g}")
    df = getattr(obj, "ops", None) if not isinstance(obj, dict) else None
    if isinstance(df, pd.DataFrame) and len(df):
        st.dataframe(df, hide_index=True, height=240)
    with st.expander("All fields"):
        st.json(_jsonable(data))


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x if isinstance(x, (str, int, float, bool)) or x is None else str(x)
