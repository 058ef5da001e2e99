"""Plotly figures of the explorer: roofline, timeline, memory, power, breakdowns, decode, serving, sweeps.

Pure functions from results to ``go.Figure``; no Streamlit calls.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd
import plotly.graph_objects as go

import simulator as sim
from explorer.format import BOUND_COLOURS, GIB, fmt_bytes
from explorer.state import is_system, unit_spec


def layout(fig: go.Figure, title: str, **kw: Any) -> go.Figure:
    """Give ``fig`` its title and the explorer's tight margins."""
    fig.update_layout(title=title, margin=dict(l=10, r=10, t=40, b=10), **kw)
    return fig


def roofline_figure(r: sim.SimulationResult, hw: Any) -> go.Figure:
    """Every op at (arithmetic intensity, achieved FLOP/s) under min(peak, AI x bandwidth) of one device."""
    hw = unit_spec(hw)
    p = sim.Precision(r.precision)
    rates = sim.peak_rates(hw, p.value)
    bw = rates["memory_bandwidth_bps"]
    matrix, vector = rates["matrix_flops_per_s"], rates["vector_flops_per_s"]
    ops = r.ops
    ops = ops[(ops.flops > 0) & (ops.bytes_moved > 0) & (ops.duration_s > 0)].copy()
    ops["ai"] = ops.flops / ops.bytes_moved  # FLOP/B
    ops["achieved"] = ops.flops / ops.duration_s  # FLOP/s
    fig = go.Figure()
    lo = max(1e-3, float(ops.ai.min()) / 3) if len(ops) else 0.01
    hi = max(float(ops.ai.max()) * 3 if len(ops) else 1e4, 2 * max(matrix, vector) / bw)
    xs = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    for peak, name, dash in ((matrix, "matrix roof", "solid"), (vector, "vector roof", "dot")):
        if peak > 0:
            fig.add_trace(go.Scatter(x=xs, y=[min(peak, x * bw) for x in xs], mode="lines", name=name,
                                     line=dict(color="black", dash=dash)))
    for bound, grp in ops.groupby("bound"):
        fig.add_trace(go.Scatter(x=grp.ai.to_numpy(), y=grp.achieved.to_numpy(), mode="markers", name=str(bound),
                                 marker=dict(color=BOUND_COLOURS.get(str(bound)), size=7, opacity=0.75),
                                 text=(grp.name + " (" + grp.op_type + ")").tolist(),
                                 hovertemplate="%{text}<br>AI %{x:.3g} FLOP/B<br>%{y:.3g} FLOP/s<extra></extra>"))
    fig.update_xaxes(type="log", title="arithmetic intensity (FLOP/byte)")
    fig.update_yaxes(type="log", title="achieved FLOP/s")
    return layout(fig, f"Roofline: {hw.display_name} ({r.precision}, {bw / 1e9:.0f} GB/s)")


def gantt_figure(results: dict[str, sim.SimulationResult], max_events: int = 4000) -> go.Figure:
    """Ops on a timeline, one row per device and track, coloured by what bounds them."""
    rows = []
    for label, r in results.items():
        for e in r.events[:max_events]:
            rows.append({"row": f"{label} · {e.track}", "start": e.start_s * 1e3, "dur": e.duration_s * 1e3,
                         "bound": e.bound or e.track, "name": e.name, "type": e.op_type})
    df = pd.DataFrame(rows, columns=["row", "start", "dur", "bound", "name", "type"])
    fig = go.Figure()
    for bound, grp in df.groupby("bound"):
        fig.add_trace(go.Bar(y=grp.row.tolist(), x=grp.dur.to_numpy(), base=grp.start.to_numpy(), orientation="h",
                             name=str(bound), marker_color=BOUND_COLOURS.get(str(bound)), text=grp.name.tolist(),
                             textposition="none",
                             hovertemplate="%{text}<br>start %{base:.4f} ms<br>%{x:.4f} ms<extra></extra>"))
    fig.update_layout(barmode="overlay", height=160 + 40 * max(1, df.row.nunique()))
    fig.update_xaxes(title="time (ms)")
    return layout(fig, "Timeline of ops per device and track")


def memory_figure(r: sim.SimulationResult) -> go.Figure:
    """Allocated bytes over the step against the main-memory capacity."""
    t = [m.time_s * 1e3 for m in r.memory_timeline] + [r.step_time_s * 1e3]
    b = [m.bytes / GIB for m in r.memory_timeline]
    b = b + b[-1:] if b else [0.0]
    fig = go.Figure(go.Scatter(x=t, y=b, mode="lines", line_shape="hv", fill="tozeroy", name="allocated"))
    fig.add_hline(y=r.memory_capacity_bytes / GIB, line=dict(color="red", dash="dash"),
                  annotation_text=f"capacity {fmt_bytes(r.memory_capacity_bytes)}")
    fig.update_xaxes(title="time (ms)")
    fig.update_yaxes(title="GiB")
    return layout(fig, f"Memory over time (peak {fmt_bytes(r.peak_memory_bytes)})")


def power_series(r: sim.SimulationResult, idle_w: float) -> tuple[list[float], list[float]]:
    """Step-wise power (W) over time (s): idle + energy / duration while an op runs, idle between ops."""
    xs, ys, t = [], [], 0.0
    for e in sorted((e for e in r.events if e.track == "compute" and e.duration_s > 0), key=lambda e: e.start_s):
        if e.start_s > t:
            xs += [t, e.start_s]
            ys += [idle_w, idle_w]
        w = idle_w + e.energy_j / e.duration_s
        xs += [e.start_s, e.end_s]
        ys += [w, w]
        t = max(t, e.end_s)
    if t < r.step_time_s:
        xs += [t, r.step_time_s]
        ys += [idle_w, idle_w]
    return xs, ys


def power_figure(r: sim.SimulationResult, hw: Any, power_cap_w: float | None = None) -> go.Figure:
    """Power over the step against TDP (and the cap); for a system, of its first device."""
    system = is_system(hw)
    hw = unit_spec(hw)
    if system:  # one device of the system: its ops and its own idle power and TDP
        first = next((e.device for e in r.events if e.track == "compute"), None)
        r = replace(r, trace=replace(r.trace, events=tuple(e for e in r.events if e.device == first)))
    xs, ys = power_series(r, hw.power.idle_w)
    fig = go.Figure(go.Scatter(x=[x * 1e3 for x in xs], y=ys, mode="lines", name="power"))
    fig.add_hline(y=hw.power.tdp_w, line=dict(color="red", dash="dash"), annotation_text=f"TDP {hw.power.tdp_w:.0f} W")
    if power_cap_w:
        fig.add_hline(y=power_cap_w, line=dict(color="orange", dash="dot"), annotation_text=f"cap {power_cap_w:.0f} W")
    fig.update_xaxes(title="time (ms)")
    fig.update_yaxes(title="W", rangemode="tozero")
    title = "Power over time of one device" if system else f"Power over time (average {r.average_power_w:.0f} W)"
    return layout(fig, title)


def shares_figure(results: dict[str, sim.SimulationResult]) -> go.Figure:
    """Stacked share of busy time per bottleneck, one bar per result."""
    fig = go.Figure()
    keys = sorted({k for r in results.values() for k, v in r.bottleneck_shares.items() if v > 0})
    for k in keys:
        fig.add_trace(go.Bar(x=list(results), y=[r.bottleneck_shares.get(k, 0) * 100 for r in results.values()],
                             name=k, marker_color=BOUND_COLOURS.get(k)))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title="% of busy time")
    return layout(fig, "Bottleneck breakdown")


def breakdown_figure(results: dict[str, sim.SimulationResult]) -> go.Figure:
    """Stacked memory at peak by category, one bar per result, with its capacity marked."""
    fig = go.Figure()
    keys = sorted({k for r in results.values() for k in r.memory_breakdown})
    for k in keys:
        fig.add_trace(go.Bar(x=list(results), y=[r.memory_breakdown.get(k, 0) / GIB for r in results.values()], name=k))
    caps = [r.memory_capacity_bytes / GIB for r in results.values()]
    fig.add_trace(go.Scatter(x=list(results), y=caps, mode="markers", name="capacity",
                             marker=dict(symbol="line-ew-open", size=40, color="red", line=dict(width=3))))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title="GiB")
    return layout(fig, "Memory breakdown at peak vs capacity")


def compare_bars(df: pd.DataFrame) -> go.Figure:
    """Step time per device of a comparison table, coloured by bottleneck."""
    fig = go.Figure(go.Bar(x=df["device"], y=df["step time (ms)"],
                           marker_color=[BOUND_COLOURS.get(b, "#888") for b in df["bottleneck"]],
                           text=df["bottleneck"], hovertemplate="%{x}<br>%{y:.3f} ms<br>%{text}<extra></extra>"))
    fig.update_yaxes(title="step time (ms)")
    return layout(fig, "Step time (colour: bottleneck)")


def op_kinds_figure(kinds: pd.DataFrame) -> go.Figure:
    """Op count per kind of a ``describe()`` table with columns ``op kind`` and ``count``."""
    return layout(go.Figure(go.Bar(x=kinds["op kind"], y=kinds["count"])), "Ops by kind")


def decode_figures(samples: Any, capacity_bytes: float) -> tuple[go.Figure, go.Figure]:
    """Decode step time and peak memory against the tokens in the KV cache."""
    xs = [d.past_len for d in samples]
    fig = go.Figure(go.Scatter(x=xs, y=[d.result.step_time_s * 1e3 for d in samples], mode="lines+markers",
                               name="decode step"))
    fig.update_xaxes(title="tokens in the KV cache")
    fig.update_yaxes(title="ms per decode step", rangemode="tozero")
    mem = go.Figure(go.Scatter(x=xs, y=[d.result.peak_memory_bytes / GIB for d in samples], mode="lines+markers",
                               name="peak memory"))
    mem.add_hline(y=capacity_bytes / GIB, line=dict(color="red", dash="dash"), annotation_text="capacity")
    mem.update_xaxes(title="tokens in the KV cache")
    mem.update_yaxes(title="GiB", rangemode="tozero")
    return (layout(fig, "Decode step time as the cache grows"), layout(mem, "Peak memory as the cache grows"))


def latency_figure(latencies_s: Any, slo_ms: float | None) -> go.Figure:
    """Histogram of request latencies (ms) with the SLO marked."""
    lat = go.Figure(go.Histogram(x=[x * 1e3 for x in latencies_s], nbinsx=60, name="latency"))
    if slo_ms:
        lat.add_vline(x=slo_ms, line=dict(color="red", dash="dash"), annotation_text="SLO")
    lat.update_xaxes(title="latency (ms)")
    lat.update_yaxes(title="requests")
    return layout(lat, "Latency distribution")


def queue_figure(q: pd.DataFrame) -> go.Figure:
    """Requests waiting and in the system over time, from a serving queue timeline."""
    qf = go.Figure([go.Scatter(x=q.time_s.to_numpy(), y=q.queue_length.to_numpy(), mode="lines", line_shape="hv",
                               name="waiting"),
                    go.Scatter(x=q.time_s.to_numpy(), y=q.in_system.to_numpy(), mode="lines", line_shape="hv",
                               name="in system")])
    qf.update_xaxes(title="time (s)")
    qf.update_yaxes(title="requests", rangemode="tozero")
    return layout(qf, "Queue over time")


def sweep_figure(df: pd.DataFrame) -> go.Figure:
    """Step time against cost per step, one colour per device: the lower left is the Pareto front."""
    ok = df[df["status"] == "ok"] if "status" in df.columns else df
    y = "cost_usd" if "cost_usd" in ok.columns and ok["cost_usd"].notna().any() else "energy_j"
    fig = go.Figure()
    for hw, g in ok.groupby("hardware"):
        blank = [""] * len(g)
        text = [f"batch {b} · {p}" for b, p in zip(g.get("batch_size", blank), g.get("precision", blank))]
        fig.add_trace(go.Scatter(x=g["step_time_s"] * 1e3, y=g[y], mode="markers", name=str(hw), text=text,
                                 marker=dict(size=10),
                                 hovertemplate="%{text}<br>%{x:.3f} ms<br>%{y:.3g}<extra></extra>"))
    fig.update_xaxes(title="step time (ms)", type="log")
    ytitle = "cost per step (USD)" if y == "cost_usd" else "energy per step (J)"
    fig.update_yaxes(title=ytitle, type="log")
    return layout(fig, "Design space: step time vs " + ytitle.split(" (")[0] + " (lower left is better)")


def accuracy_figure(df: pd.DataFrame, factor: float | None) -> go.Figure:
    """Predicted / measured per validation row (log scale), by split, with the kind's band as lines.

    ``df`` has ``id``, ``split``, ``hardware``, ``workload``, ``measured``, ``predicted``, ``ratio``.
    """
    fig = go.Figure()
    for split, g in df.groupby("split", sort=True):
        fig.add_trace(go.Scatter(x=g["id"], y=g["ratio"], mode="markers", name=str(split),
                                 text=g["hardware"] + "<br>" + g["workload"],
                                 hovertemplate="%{x}: predicted / measured %{y:.2f}<br>%{text}<extra></extra>"))
    fig.add_hline(y=1.0, line_dash="dot")
    if factor:
        for y in (factor, 1.0 / factor):
            fig.add_hline(y=y, line_dash="dash", line_color="#888")
    fig.update_yaxes(type="log", title="predicted / measured")
    fig.update_xaxes(title="row", showticklabels=False)
    return layout(fig, "Predicted / measured per published row (dashed: the kind's band)")
