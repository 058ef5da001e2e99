"""Plotly figures of the explorer: roofline, timeline, memory, power, breakdowns, decode, serving, sweeps.

Pure functions from results to ``go.Figure``; no Streamlit calls.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

import simulator as sim
from explorer.format import BOUND_COLOURS, GIB, INFEASIBLE_COLOUR, fmt_bytes
from explorer.state import is_system, unit_spec


PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#FF9DA6", "#9D755D", "#EECA3B")


def layout(fig: go.Figure, title: str, **kw: Any) -> go.Figure:
    """Give ``fig`` its title and the explorer's tight margins (more room on top for subplot titles)."""
    top = 80 if fig.layout.annotations else 40
    fig.update_layout(title=title, margin=dict(l=10, r=10, t=top, b=10), **kw)
    return fig


def roofline_figure(r: sim.SimulationResult, hw: Any) -> go.Figure:
    """Every op at (arithmetic intensity, achieved FLOP/s) under min(peak, AI x bandwidth) of one device."""
    hw = unit_spec(hw)
    p = sim.Precision(getattr(r, "effective_precision", "") or r.precision)
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
    return layout(fig, f"Roofline: {hw.display_name} ({p.value}, {bw / 1e9:.0f} GB/s)")


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


def compare_bars(df: pd.DataFrame, x: str, y: str, title: str, ytitle: str | None = None) -> go.Figure:
    """One bar per row of a comparison table (``y`` against ``x``), coloured by bottleneck, rows that
    cannot run greyed."""
    colours = [INFEASIBLE_COLOUR if not ok else BOUND_COLOURS.get(b, "#888")
               for b, ok in zip(df["bottleneck"], df.get("fits", [True] * len(df)))]
    fig = go.Figure(go.Bar(x=df[x], y=df[y], marker_color=colours, text=df["bottleneck"],
                           hovertemplate="%{x}<br>%{y:.3s}<br>%{text}<extra></extra>"))
    fig.update_yaxes(title=ytitle or title)
    return layout(fig, title + " (colour: bottleneck; grey: does not fit)")


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


def sweep_figure(df: pd.DataFrame, unit: str) -> go.Figure:
    """Throughput per device against cost per million ``unit`` (left) and energy per ``unit`` (right).

    ``df``: ``device``, ``point`` (hover text), ``throughput`` (per device), ``cost`` (USD per 1M, NaN when
    unpriced), ``energy`` (J per unit), ``feasible``, ``reason``. Devices without a price appear on the
    energy panel only, so none is dropped; points that cannot run are grey crosses with their reason.
    """
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=(f"Cost per 1M {unit} (priced devices)", f"Energy per {unit[:-1]} (every device)"))
    ok, bad = df[df["feasible"]], df[~df["feasible"]]
    for i, (dev, g) in enumerate(ok.groupby("device", sort=False)):
        colour = PALETTE[i % len(PALETTE)]
        priced = g[g["cost"].notna()]
        if len(priced):
            fig.add_trace(go.Scatter(x=priced["throughput"], y=priced["cost"], mode="markers", name=str(dev),
                                     legendgroup=str(dev), marker=dict(size=10, color=colour), text=priced["point"],
                                     hovertemplate="%{text}<br>%{x:.3s}/s per device<br>$%{y:.3g}<extra></extra>"),
                          row=1, col=1)
        fig.add_trace(go.Scatter(x=g["throughput"], y=g["energy"], mode="markers", name=str(dev), legendgroup=str(dev),
                                 showlegend=not len(priced), marker=dict(size=10, color=colour), text=g["point"],
                                 hovertemplate="%{text}<br>%{x:.3s}/s per device<br>%{y:.3s} J<extra></extra>"),
                      row=1, col=2)
    if len(bad):
        text = (bad["point"] + "<br>" + bad["reason"]).tolist()
        for col, y in ((1, "cost"), (2, "energy")):
            part = bad[bad[y].notna()]
            if len(part):
                fig.add_trace(go.Scatter(x=part["throughput"], y=part[y], mode="markers", name="cannot run (greyed)",
                                         legendgroup="bad", showlegend=col == 1 or not bad["cost"].notna().any(),
                                         marker=dict(size=9, color=INFEASIBLE_COLOUR, symbol="x-thin-open",
                                                     line=dict(width=2, color=INFEASIBLE_COLOUR)),
                                         text=[t for t, keep in zip(text, bad[y].notna()) if keep],
                                         hovertemplate="%{text}<extra></extra>"), row=1, col=col)
    for col in (1, 2):
        fig.update_xaxes(title=f"{unit}/s per device", type="log", row=1, col=col)
    fig.update_yaxes(title=f"USD per 1M {unit}", type="log", row=1, col=1)
    fig.update_yaxes(title=f"J per {unit[:-1]}", type="log", row=1, col=2)
    fig.update_layout(height=420)
    return layout(fig, "Design space: lower right is better (more per device, less per unit)")


def scaling_figure(xs: list[int], efficiency: list[float]) -> go.Figure:
    """Weak-scaling efficiency (%) against devices: flat at 100 % is linear scaling."""
    fig = go.Figure(go.Scatter(x=xs, y=[e * 100 for e in efficiency], mode="lines+markers", name="efficiency",
                               hovertemplate="%{x} devices<br>%{y:.1f} %<extra></extra>"))
    fig.add_hline(y=100, line_dash="dot", annotation_text="linear scaling")
    fig.update_layout(xaxis_title="devices", yaxis_title="scaling efficiency (%)", xaxis_type="log", height=340,
                      xaxis={"tickvals": xs, "ticktext": [str(x) for x in xs]}, yaxis={"range": [0, 105]})
    return layout(fig, "Weak scaling: efficiency (ideal step / this step)")


def tradeoff_figure(points: pd.DataFrame) -> go.Figure:
    """TTFT and TPOT (ms) against tokens/s per device over a batch sweep, one line per device.

    ``points``: ``device``, ``batch``, ``tokens_per_s``, ``ttft_s``, ``tpot_s``, ``fits``.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Time to first token", "Time per output token"))
    for i, (dev, g) in enumerate(points.groupby("device", sort=False)):
        colour = PALETTE[i % len(PALETTE)]
        for col, y in ((1, "ttft_s"), (2, "tpot_s")):
            fig.add_trace(go.Scatter(x=g["tokens_per_s"].tolist(), y=(g[y] * 1e3).tolist(), mode="lines+markers+text",
                                     name=str(dev),
                                     legendgroup=str(dev), showlegend=col == 1, text=[f"b{b}" for b in g["batch"]],
                                     textposition="top center",
                                     line=dict(color=colour),
                                     marker=dict(symbol=["circle" if f else "x" for f in g["fits"]], size=9,
                                                 color=colour),
                                     hovertemplate="batch %{text}<br>%{x:.3s} tokens/s<br>%{y:.3g} ms<extra></extra>"),
                          row=1, col=col)
    for col in (1, 2):
        fig.update_xaxes(title="tokens/s per device", type="log", row=1, col=col)
        fig.update_yaxes(title="ms", type="log", row=1, col=col)
    fig.update_layout(height=400)
    return layout(fig, "Latency vs throughput as the batch grows (x: does not fit)")


PHASE_COLOURS = {"GEMM": "#4C78A8", "attention": "#F58518", "other ops": "#72B7B2", "communication": "#E45756",
                 "overhead": "#B279A2"}


def phase_figure(breakdown: dict[str, dict[str, float]]) -> go.Figure:
    """Time (ms) of each phase split into GEMM, attention, other ops, communication and overhead, one panel
    per phase (a prefill and a decode step differ by orders of magnitude)."""
    phases = list(breakdown)
    fig = make_subplots(rows=1, cols=len(phases), subplot_titles=phases)
    for col, phase in enumerate(phases, start=1):
        for cat, colour in PHASE_COLOURS.items():
            fig.add_trace(go.Bar(x=[cat], y=[breakdown[phase].get(cat, 0.0) * 1e3], name=cat, legendgroup=cat,
                                 showlegend=False, marker_color=colour,
                                 hovertemplate=f"{phase}<br>{cat} %{{y:.3g}} ms<extra></extra>"), row=1, col=col)
        fig.update_yaxes(title="ms", row=1, col=col)
    fig.update_layout(height=340, bargap=0.3)
    return layout(fig, "Where the time goes: the prefill and one mean decode step")


def accuracy_figure(df: pd.DataFrame, factor: float | None, pooled: bool = False) -> go.Figure:
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
    ticks = [0.1, 0.2, 0.5, 1, 2, 5, 10]
    fig.update_yaxes(type="log", title="predicted / measured", tickvals=ticks, ticktext=[f"{t:g}x" for t in ticks],
                     tickfont=dict(size=13), gridcolor="#e5e5e5")
    fig.update_xaxes(title="row", showticklabels=False)
    band = "the pooled band (too few rows of this kind)" if pooled else "the kind's band"
    return layout(fig, f"Predicted / measured per published row (dashed: {band})")
