"""Sweep: every combination of devices, batch sizes and precisions (``simulator.sweep``), when the API has it."""
from __future__ import annotations

import re
from typing import Any

import pandas as pd
import streamlit as st

import simulator as sim
from explorer.charts import sweep_figure
from explorer.format import fmt_time, fmt_usd, kind_label
from explorer.pages.simulate import default_compare
from explorer.state import PRECISIONS, TIME_LIMIT_S, Scenario, hardware_table
from explorer.views import show_any_result


@st.cache_data(show_spinner=False, max_entries=64)
def _sweep(workload: str, space: tuple[tuple[str, tuple[Any, ...]], ...], mode: str) -> pd.DataFrame:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as ex:  # threads: no process-pool start-up for a small grid
        return sim.sweep(workload, {k: list(v) for k, v in space}, mode=mode, executor=ex, progress=False,
                         time_limit_s=TIME_LIMIT_S)


def _sweep_controls(sc: Scenario) -> tuple[tuple[str, tuple[Any, ...]], ...] | None:
    """The devices, batch sizes and precisions to sweep as a hashable space; None (with a message) if unusable."""
    names = [h["name"] for h in hardware_table()]
    labels = {h["name"]: kind_label(h) for h in hardware_table()}
    c = st.columns(3)
    devices = c[0].multiselect("Devices", names, default=[sc.device] + default_compare(names, sc.device)[:1],
                               format_func=lambda n: labels.get(n, n), key="sw_devices")
    text = c[1].text_input("Batch sizes", f"{max(1, sc.batch_size // 2)}, {sc.batch_size}",
                           key="sw_batches")
    precisions = c[2].multiselect("Precisions", PRECISIONS, default=[sc.precision], key="sw_prec")
    st.caption(f"{sc.workload} · {sc.mode}; every combination is simulated.")
    try:
        batches = sorted({int(x) for x in re.split(r"[,\s]+", text.strip()) if x})
        if not batches or min(batches) < 1:
            raise ValueError
    except ValueError:
        st.error("Batch sizes: a comma-separated list of positive integers")
        return None
    if not devices or not precisions:
        st.info("Pick at least one device and one precision.")
        return None
    space = (("hardware", tuple(devices)), ("batch_size", tuple(batches)), ("precision", tuple(precisions)))
    if sc.seq_len:
        space += (("seq_len", (sc.seq_len,)),)
    return space


def _sweep_summary(df: pd.DataFrame) -> None:
    okd = df[df["status"] == "ok"] if "status" in df.columns else df
    c = st.columns(3)
    c[0].metric("Points", f"{len(df)}", f"{len(df) - len(okd)} not ok" if len(okd) < len(df) else None,
                delta_color="off", delta_arrow="off")
    if len(okd) and "step_time_s" in okd.columns:
        best = okd.loc[okd["step_time_s"].idxmin()]
        c[1].metric("Fastest", fmt_time(float(best["step_time_s"])),
                    f"{best['hardware']} · batch {best.get('batch_size')}",
                    delta_color="off", delta_arrow="off")
        if "cost_usd" in okd.columns and okd["cost_usd"].notna().any():
            cheap = okd.loc[okd["cost_usd"].idxmin()]
            c[2].metric("Cheapest step", fmt_usd(float(cheap["cost_usd"])),
                        f"{cheap['hardware']} · batch {cheap.get('batch_size')}",
                        delta_color="off", delta_arrow="off")
        st.plotly_chart(sweep_figure(df), key="sw_fig")


def page_sweep(sc: Scenario) -> None:
    """Sweep the sidebar workload over the chosen grid; fastest and cheapest points, a Pareto chart, the table."""
    st.title("Sweep")
    if sc.upload is not None:
        st.info("Sweeps run on model-zoo workloads; pick one in the sidebar.")
        return
    space = _sweep_controls(sc)
    if space is None:
        return
    points = 1
    for _, values in space:
        points *= len(values)
    with st.spinner(f"Sweeping {points} points..."):
        try:
            df = _sweep(sc.workload, space, sc.mode)
        except Exception as exc:  # a bad space is reported, the page stays
            st.error(f"sweep: {exc}")
            return
    if not isinstance(df, pd.DataFrame):
        show_any_result(df, "sweep")
        return
    _sweep_summary(df)
    st.dataframe(df, hide_index=True)
    st.download_button("Sweep CSV", df.to_csv(index=False).encode(), "sweep.csv", "text/csv", key="dl_sweep")
