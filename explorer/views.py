"""Result views shared by the pages: headline metrics with their bands, DOES NOT FIT, comparison rows and
tables with CSV export, chart tabs, downloads."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import streamlit as st

import simulator as sim
from explorer import report
from explorer.calls import price
from explorer.charts import breakdown_figure, gantt_figure, memory_figure, power_figure, roofline_figure, shares_figure
from explorer.format import (INFEASIBLE_COLOUR, band_help, bound_label, fmt_bytes, fmt_energy, fmt_si, fmt_usd, pct_delta, per_million, with_band)
from explorer.state import Scenario


def units_of(r: sim.SimulationResult) -> tuple[float, str]:
    """What a step produces and its unit: tokens for sequence models, else samples."""
    if r.tokens_per_s:
        return r.tokens_per_s * r.step_time_s, "tokens"
    return float(r.batch_size), "samples"


def cost_per_million(r: sim.SimulationResult, device: str, basis: str) -> tuple[float | None, dict[str, Any] | None]:
    """USD per million samples (tokens for sequence models) of ``r`` on ``device``, and the price used."""
    p = price(device, basis)
    units, _ = units_of(r)
    n = int(r.summary.get("devices") or 1)
    return (per_million(p["usd_per_device_hour"], n, r.step_time_s, units) if p else None), p


def price_help(p: dict[str, Any] | None, basis: str) -> str:
    if p is None:
        return ("No price on this basis: the spec lists none (the Sweep page ranks such devices by energy)."
                if basis == "auto" else f"No {basis} price in the spec; try another cost basis in the sidebar.")
    how = ("cloud on-demand rate" if p["basis"] == "cloud" else "purchase price over 3 years of continuous use "
           "(device only: no power, host or hosting)")
    return f"${p['usd_per_device_hour']:.3g} per device-hour, {how}. Source: {p['source']}"


def does_not_fit(r: Any, devices_hint: str = "") -> None:
    """A prominent DOES NOT FIT box: the shortfall and what dominates the memory."""
    short = r.peak_memory_bytes - r.memory_capacity_bytes
    dominant = getattr(r, "memory_dominant", "") or ""
    st.error(f"**DOES NOT FIT** on {r.hardware}: needs {fmt_bytes(r.peak_memory_bytes)} per device, has "
             f"{fmt_bytes(r.memory_capacity_bytes)} (short by {fmt_bytes(short)}"
             + (f"; largest term: {dominant.replace('_', ' ')}" if dominant else "") + "). "
             "Its times are what it would take with enough memory: do not plan on them." + devices_hint)


def _row1(r: sim.SimulationResult, b: sim.SimulationResult | None) -> list[tuple[str, str]]:
    kind = r.kind
    n = int(r.summary.get("devices") or 1)
    cols = st.columns(4)
    t = with_band(r.step_time_s, kind)
    cols[0].metric("Step time", t, pct_delta(r.step_time_s, b.step_time_s) if b else None, delta_color="inverse",
                   help=band_help(kind))
    units, unit = units_of(r)
    rate = units / r.step_time_s / n
    label = f"Throughput ({unit}/s{' per device' if n > 1 else ''})"
    tp = with_band(rate, kind, fmt_si)
    old = (units_of(b)[0] / b.step_time_s / int(b.summary.get("devices") or 1)) if b else None
    cols[1].metric(label, tp, pct_delta(rate, old) if b else None,
                   help=(f"All {n} devices: {fmt_si(rate * n)} {unit}/s. " if n > 1 else "") + band_help(kind))
    fit = "fits" if r.fits_in_memory else f"short by {fmt_bytes(r.memory_shortfall_bytes)}"
    cap = f"of {fmt_bytes(r.memory_capacity_bytes)} · {fit}"
    cols[2].metric("Peak memory" + (" per device" if n > 1 else ""), fmt_bytes(r.peak_memory_bytes),
                   pct_delta(r.peak_memory_bytes, b.peak_memory_bytes) if b else cap,
                   delta_color="inverse" if b else ("normal" if r.fits_in_memory else "inverse"),
                   delta_arrow="auto" if b else "off", help=f"Peak allocated vs main-memory capacity: {cap}")
    e_unit = r.energy_j / units
    energy = with_band(e_unit, kind, fmt_energy)
    cols[3].metric(f"Energy per {unit[:-1]}", energy,
                   pct_delta(e_unit, b.energy_j / units_of(b)[0]) if b else None, delta_color="inverse",
                   help=f"{fmt_energy(r.energy_j)} per step over {fmt_si(units)} {unit}. " + band_help(kind))
    return [("Step time", t), (label, tp), ("Peak memory", f"{fmt_bytes(r.peak_memory_bytes)} {cap}"),
            (f"Energy per {unit[:-1]}", energy)]


def _row2(r: sim.SimulationResult, device: str, basis: str, b: sim.SimulationResult | None,
          bdevice: str | None) -> list[tuple[str, str]]:
    n = int(r.summary.get("devices") or 1)
    cols = st.columns(4)
    per = r.average_power_w / n
    tdp = r.tdp_w / n
    cols[0].metric("Average power" + (" per device" if n > 1 else ""), f"{per:.0f} W",
                   pct_delta(per, b.average_power_w / int(b.summary.get("devices") or 1)) if b else f"of {tdp:.0f} W TDP",
                   delta_color="inverse" if b else "off", delta_arrow="auto" if b else "off",
                   help=f"Energy / step time{f'; all {n} devices {r.average_power_w:.0f} W' if n > 1 else ''}; "
                        f"TDP {tdp:.0f} W per device")
    cost, p = cost_per_million(r, device, basis)
    bcost = cost_per_million(b, bdevice or device, basis)[0] if b else None
    unit = units_of(r)[1]
    cols[1].metric(f"Cost per 1M {unit}", fmt_usd(cost), pct_delta(cost, bcost) if (cost and bcost) else None,
                   delta_color="inverse", help=price_help(p, basis))
    share = r.bottleneck_shares.get(r.bottleneck)
    cols[2].metric("Bottleneck", bound_label(r.bottleneck),
                   f"{share * 100:.0f}% of busy time" if share is not None else None, delta_color="off",
                   delta_arrow="off",
                   help=", ".join(f"{k} {v * 100:.0f}%" for k, v in r.bottleneck_shares.items() if v))
    achieved = r.total_flops / r.step_time_s / n if r.step_time_s else 0.0
    if b is None:
        cols[3].metric("Utilization", f"{r.utilization * 100:.1f}%",
                       help=f"achieved {fmt_si(achieved, 'FLOP/s')} per device / matrix peak at this precision")
        last = ("Utilization", f"{r.utilization * 100:.1f}%")
    else:  # against another peak a utilisation delta misleads: compare the FLOP/s each achieves
        old = b.total_flops / b.step_time_s / int(b.summary.get("devices") or 1) if b.step_time_s else None
        cols[3].metric("Achieved compute", fmt_si(achieved, "FLOP/s"), pct_delta(achieved, old),
                       help=f"FLOP/s per device; utilization {r.utilization * 100:.1f}% of its own peak "
                            f"(vs {b.utilization * 100:.1f}%): a faster device can do more at a lower share")
        last = ("Achieved compute", fmt_si(achieved, "FLOP/s"))
    return [(f"Cost per 1M {unit}", fmt_usd(cost)), ("Bottleneck", bound_label(r.bottleneck)), last]


def headline(r: sim.SimulationResult, device: str, basis: str, base: tuple[sim.SimulationResult, str] | None = None,
             note: str = "", title: str | None = None) -> None:
    """Headline numbers as st.metric (ranges: the validation band); with ``base``, deltas against it."""
    b, bdevice = base if base else (None, None)
    shown = _row1(r, b) + _row2(r, device, basis, b, bdevice)
    effective = getattr(r, "effective_precision", r.precision)
    if note:
        st.info(note + ".")
    elif effective != r.precision:
        st.info(f"{r.hardware} has no {r.precision} path: it ran in {effective} (effective precision).")
    if not r.fits_in_memory:
        does_not_fit(r)
    report.add_metrics(title or f"{r.hardware} ({effective})", shown)


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


def lazy_tabs(names: list[str], key: str) -> tuple[dict[str, Any], Callable[[str], bool]]:
    """Tabs whose content is drawn only when open (reruns stay fast with many charts)."""
    tabs = dict(zip(names, st.tabs(names, key=key, on_change="rerun")))
    return tabs, lambda name: getattr(tabs[name], "open", True) is not False


def detail_tabs(r: sim.SimulationResult, hw: Any, *, key: str, power_cap_w: float | None = None,
                gantt: dict[str, sim.SimulationResult] | None = None) -> None:
    """Lazy tabs of charts for one result: roofline, timeline, memory, power, breakdowns and the op table."""
    tabs, is_open = lazy_tabs(["Roofline", "Timeline", "Memory", "Power", "Breakdowns", "Ops"], f"tabs_{key}")
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
        tabs["Ops"].dataframe(readable_ops(r.ops), hide_index=True, height=320)


def readable_ops(ops: pd.DataFrame) -> pd.DataFrame:
    """The per-op table in display units (µs, MFLOP, MiB, mJ)."""
    out = ops[["name", "op_type", "phase", "device", "bound"]].copy()
    out.insert(4, "start (µs)", ops["start_s"] * 1e6)
    out.insert(5, "duration (µs)", ops["duration_s"] * 1e6)
    out["MFLOP"] = ops["flops"] / 1e6
    out["MiB moved"] = ops["bytes_moved"] / 2**20
    out["energy (mJ)"] = ops["energy_j"] * 1e3
    return out.round(3)


def stem_of(sc: Scenario, device: str) -> str:
    """A file-name stem naming the scenario on ``device``."""
    return re.sub(r"[^A-Za-z0-9_.\-]+", "-",
                  f"{sc.workload}-{device}-{sc.mode}-bs{sc.batch_size}-{sc.precision or 'native'}")


Column = tuple[str, str, "Callable[[Any], str] | None"]


def display_frame(df: pd.DataFrame, columns: list[Column]) -> pd.DataFrame:
    """``df``'s ``columns`` (raw name, shown name, formatter) in display units; missing values read n/a."""
    out = {}
    for raw, shown, fn in columns:
        if raw in df:
            out[shown] = [("n/a" if v is None or (isinstance(v, float) and v != v) else (fn(v) if fn else v))
                          for v in df[raw]]
    return pd.DataFrame(out)


def table(df: pd.DataFrame, name: str, *, key: str, columns: list[Column], infeasible: pd.Series | None = None,
          title: str | None = None) -> pd.DataFrame:
    """A comparison table in display units, rows that cannot run greyed out, a CSV download of the raw
    numbers (SI units in the column names) and a place in the HTML report. Returns the shown frame."""
    shown = display_frame(df, columns)
    styled: Any = shown
    if infeasible is not None and bool(infeasible.any()):
        grey = list(infeasible)
        styled = shown.style.apply(
            lambda row: [f"color: {INFEASIBLE_COLOUR}; font-style: italic" if grey[row.name] else ""] * len(row), axis=1)
    st.dataframe(styled, hide_index=True, key=f"tbl_{key}")
    st.download_button(f"{name} CSV", df.to_csv(index=False).encode(), f"{key}.csv", "text/csv", key=f"dl_tbl_{key}",
                       help="The table's raw numbers, SI units in the column names")
    report.add_table(title or name, shown, None if infeasible is None else list(infeasible))
    return shown


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
    with st.expander("All fields"):
        st.json(_jsonable(data))


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x if isinstance(x, (str, int, float, bool)) or x is None else str(x)

