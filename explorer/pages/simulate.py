"""Simulate / compare (the default page): the sidebar scenario on its device and on comparison devices."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

import simulator as sim
from explorer.charts import breakdown_figure, compare_bars, shares_figure
from explorer.format import GIB, cost_per_step, fmt_bytes, fmt_time, fmt_usd, pct_delta
from explorer.state import COMPARE_PREFERENCE, KINDS, Scenario, device_spec, hardware_table, run
from explorer.views import detail_tabs, downloads, headline, stem_of


def default_compare(names: list[str], baseline: str) -> list[str]:
    """The default comparison devices: the first two of ``COMPARE_PREFERENCE`` bundled, else any other one."""
    picks = [n for n in COMPARE_PREFERENCE if n in names and n != baseline][:2]
    return picks or [n for n in names if n != baseline][:1]


def compare_pickers(baseline: str) -> list[str]:
    """One multiselect per device kind; returns ``baseline`` followed by the chosen devices."""
    rows = hardware_table()
    names = [h["name"] for h in rows]
    labels = {h["name"]: h["display_name"] for h in rows}
    defaults = default_compare(names, baseline)
    present = [k for k in KINDS if any(h["kind"] == k for h in rows)]
    chosen: list[str] = []
    with st.expander("Compare with (grouped by kind)", expanded=True):
        cols = st.columns(len(present) or 1)
        for col, kind in zip(cols, present):
            opts = [h["name"] for h in rows if h["kind"] == kind]
            chosen += col.multiselect(kind.upper(), opts, default=[d for d in defaults if d in opts],
                                      format_func=lambda n: labels.get(n, n), key=f"compare_{kind}")
        missing = [k.upper() for k in KINDS if k not in present]
        if missing:
            st.caption(f"No bundled {', '.join(missing)} specs yet.")
    return [baseline] + [c for c in chosen if c != baseline]


def compare_row(r: sim.SimulationResult, hw: Any, base: sim.SimulationResult) -> dict[str, Any]:
    """One row of the side-by-side table: ``r`` on ``hw`` with its speed-up over ``base``."""
    cost = cost_per_step(r, hw)
    return {"device": r.hardware, "kind": r.kind, "step time (ms)": r.step_time_s * 1e3,
            "speed-up vs baseline": base.step_time_s / r.step_time_s if r.step_time_s else None,
            "throughput (samples/s)": r.throughput_samples_per_s, "tokens/s": r.tokens_per_s,
            "peak memory (GiB)": r.peak_memory_bytes / GIB, "capacity (GiB)": r.memory_capacity_bytes / GIB,
            "fits": r.fits_in_memory, "energy (J)": r.energy_j, "average power (W)": r.average_power_w,
            "TDP (W)": r.tdp_w, "cost per step (USD)": cost,
            "cost per 1M samples (USD)": cost / r.batch_size * 1e6 if cost is not None else None,
            "bottleneck": r.bottleneck, "utilization (%)": r.utilization * 100}


def _simulate_all(sc: Scenario, devices: list[str]) -> dict[str, sim.SimulationResult]:
    """Run the scenario on every device; failures are shown with st.error and left out."""
    results: dict[str, sim.SimulationResult] = {}
    errors: dict[str, str] = {}
    with st.spinner(f"Simulating on {len(devices)} device(s)..."):
        for d in devices:
            r, err = run(sc, d)
            if r is None:
                errors[d] = err
            else:
                results[d] = r
    for d, err in errors.items():
        st.error(f"{d}: {err}")
    return results


def _side_by_side(sc: Scenario, results: dict[str, sim.SimulationResult], base: sim.SimulationResult) -> None:
    st.subheader("Side by side")
    cols = st.columns(min(4, len(results)))
    for i, (d, r) in enumerate(results.items()):
        dhw = device_spec(d)
        with cols[i % len(cols)]:
            st.metric(f"{dhw.display_name}", fmt_time(r.step_time_s),
                      None if d == sc.device else pct_delta(r.step_time_s, base.step_time_s), delta_color="inverse",
                      help="Step time, delta vs the sidebar device")
            st.caption(f"{r.bottleneck.replace('_', ' ')} · {fmt_bytes(r.peak_memory_bytes)} "
                       f"{'fits' if r.fits_in_memory else 'does NOT fit'} · {fmt_usd(cost_per_step(r, dhw))}/step")
    df = pd.DataFrame([compare_row(r, device_spec(d), base) for d, r in results.items()])
    st.dataframe(df.dropna(axis=1, how="all"), hide_index=True)
    c = st.columns(2)
    c[0].plotly_chart(compare_bars(df), key="cmp_bars")
    c[1].plotly_chart(breakdown_figure(results), key="cmp_brk")
    st.plotly_chart(shares_figure(results), key="cmp_shares")


def page_simulate(sc: Scenario) -> None:
    """Headline of the sidebar device, the comparison devices side by side, then charts for one of them."""
    st.title("Simulate and compare")
    st.caption(sc.label)
    devices = compare_pickers(sc.device)
    results = _simulate_all(sc, devices)
    if sc.device not in results:
        return
    base = results[sc.device]
    hw = device_spec(sc.device)
    st.subheader(hw.display_name)
    headline(base, hw, key="main")
    if len(results) > 1:
        _side_by_side(sc, results, base)
    st.subheader("Details")
    focus = st.selectbox("Charts for", list(results), key="focus") if len(results) > 1 else sc.device
    detail_tabs(results[focus], device_spec(focus), key="sim", gantt=results)
    downloads(results[focus], stem_of(sc, focus), key="sim")
