"""Sweep: every combination of devices, batch sizes per device and precisions, ranked by throughput per device
and cost per sample (per token for sequence models) among the points that fit.

Points that cannot run (out of memory, no path for the format) are never recommended: they are greyed in
the table and the chart with the reason. Devices without a price are ranked by energy per sample on the
chart's second panel, so none disappears. Each point is one cached simulation (the Simulate page's), so
points already seen there cost nothing.
"""
from __future__ import annotations

import re
from typing import Any

import pandas as pd
import streamlit as st

from explorer import report
from explorer.calls import devices_of, run
from explorer.charts import sweep_figure
from explorer.format import bound_label, fmt_bytes, fmt_energy, fmt_si, fmt_time, fmt_usd
from explorer.pages.simulate import default_compare
from explorer.share import init
from explorer.state import NATIVE, PRECISIONS, Scenario, device_labels
from explorer.views import Column, cost_per_million, table, units_of

MAX_POINTS = 200
AUTO = "_sw_batches_auto"  # the default the batch list last had


def _batches_default(sc: Scenario) -> str:
    return f"{max(1, sc.batch_size // 4)}, {max(1, sc.batch_size // 2)}, {sc.batch_size}"


def _controls(sc: Scenario) -> tuple[list[str], list[int], list[str | None]] | None:
    labels = device_labels()
    names = list(labels)
    init("sw_devices", [sc.device] + default_compare(names, sc.device)[:1], names)
    devices = st.multiselect("Devices", names, key="sw_devices", format_func=lambda n: labels.get(n, n))
    c = st.columns(2)
    # the default follows the sidebar batch: an untouched list follows it, a list typed for another workload
    # is dropped when the workload changes (state._reset_shape)
    default = _batches_default(sc)
    if st.session_state.get("sw_batches") == st.session_state.get(AUTO) != default:
        st.session_state["sw_batches"] = default
    st.session_state[AUTO] = default
    init("sw_batches", default)
    text = c[0].text_input("Batch sizes per device", key="sw_batches",
                           help="comma-separated; a system runs each times its devices")
    init("sw_prec", [sc.precision or NATIVE], PRECISIONS)
    precisions = c[1].multiselect("Precisions", PRECISIONS, key="sw_prec")
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
    if len(devices) * len(batches) * len(precisions) > MAX_POINTS:
        st.error(f"{len(devices) * len(batches) * len(precisions)} points: at most {MAX_POINTS} per sweep here "
                 "(the `accsim sweep` CLI runs any size, in parallel)")
        return None
    return devices, batches, [None if p == NATIVE else p for p in precisions]


def _point(sc: Scenario, device: str, batch: int, precision: str | None) -> dict[str, Any]:
    n = devices_of(device)
    o = run(sc, device, batch_size=batch * n, precision=precision)
    label = device_labels().get(device, device)
    row: dict[str, Any] = {"device": label, "name": device, "devices": n, "batch_per_device": batch,
                           "precision_asked": precision or NATIVE}
    if not o.ok:
        return {**row, "feasible": False, "reason": o.error}
    r = o.result
    units, unit = units_of(r)
    cost, p = cost_per_million(r, device, sc.cost_basis)
    fits = bool(r.fits_in_memory)
    reason = "" if fits else (f"does not fit: needs {fmt_bytes(r.peak_memory_bytes)} per device of "
                              f"{fmt_bytes(r.memory_capacity_bytes)}")
    return {**row, "precision": getattr(r, "effective_precision", r.precision), "unit": unit,
            "step_time_s": r.step_time_s, "throughput_per_device": units / r.step_time_s / n,
            "usd_per_million": cost, "price_basis": p["basis"] if p else None, "energy_j_per_unit": r.energy_j / units,
            "peak_memory_bytes": r.peak_memory_bytes, "capacity_bytes": r.memory_capacity_bytes,
            "bottleneck": r.bottleneck, "feasible": fits, "reason": reason or (o.note or "")}


def sweep_points(sc: Scenario, devices: list[str], batches: list[int], precisions: list[str | None]) -> pd.DataFrame:
    todo = [(d, b, p) for d in devices for b in batches for p in precisions]
    bar = st.progress(0.0, text=f"Sweeping {len(todo)} points...")
    rows = []
    for i, (d, b, p) in enumerate(todo):
        rows.append(_point(sc, d, b, p))
        bar.progress((i + 1) / len(todo), text=f"Sweeping: {i + 1} of {len(todo)} points")
    bar.empty()
    return pd.DataFrame(rows)


def _summary(df: pd.DataFrame, unit: str) -> None:
    ok = df[df["feasible"]]
    c = st.columns(3)
    c[0].metric("Points that fit", f"{len(ok)} of {len(df)}",
                f"{len(df) - len(ok)} cannot run (greyed)" if len(ok) < len(df) else None, delta_color="off",
                delta_arrow="off")
    if not len(ok):
        st.error("No point fits: nothing is recommended. Smaller batches, another precision, or devices with more "
                 "memory (or a parallel layout on the Scale-out page).")
        return
    best = ok.loc[ok["throughput_per_device"].idxmax()]
    c[1].metric(f"Most {unit}/s per device", fmt_si(best["throughput_per_device"]),
                f"{best['device']} · batch {best['batch_per_device']} · {best['precision']}", delta_color="off",
                delta_arrow="off")
    priced = ok[ok["usd_per_million"].notna()]
    if len(priced):
        cheap = priced.loc[priced["usd_per_million"].idxmin()]
        c[2].metric(f"Lowest $ per 1M {unit}", fmt_usd(cheap["usd_per_million"]),
                    f"{cheap['device']} · batch {cheap['batch_per_device']} · {cheap['precision']}",
                    delta_color="off", delta_arrow="off")
    else:
        c[2].metric(f"Lowest $ per 1M {unit}", "n/a", "no priced device fits", delta_color="off", delta_arrow="off")
    report.add_metrics("Best points that fit", [
        (f"Most {unit}/s per device", f"{fmt_si(best['throughput_per_device'])} ({best['device']}, batch "
                                      f"{best['batch_per_device']})")]
        + ([(f"Lowest $ per 1M {unit}", f"{fmt_usd(cheap['usd_per_million'])} ({cheap['device']}, batch "
                                        f"{cheap['batch_per_device']})")] if len(priced) else []))


def _columns(unit: str) -> list[Column]:
    return [("device", "device", None), ("batch_per_device", "batch / device", None), ("precision", "ran in", None),
            ("step_time_s", "step time", fmt_time), ("throughput_per_device", f"{unit}/s per device", fmt_si),
            ("usd_per_million", f"$ per 1M {unit}", fmt_usd), ("price_basis", "price", None),
            ("energy_j_per_unit", f"energy / {unit[:-1]}", fmt_energy),
            ("peak_memory_bytes", "memory / device", fmt_bytes), ("bottleneck", "bottleneck", bound_label),
            ("reason", "why not / note", None)]


def page_sweep(sc: Scenario) -> None:
    """Sweep the sidebar workload over the chosen grid; the best feasible points, a chart, the table."""
    st.title("Sweep")
    st.caption(f"{sc.label}; every combination is simulated at the same batch per device. Only points that fit are "
               "ranked.")
    chosen = _controls(sc)
    if chosen is None:
        return
    df = sweep_points(sc, *chosen)
    unit = next((u for u in df.get("unit", pd.Series(dtype=str)).dropna()), "samples")
    _summary(df, unit)
    df = df.sort_values(["feasible", "throughput_per_device"], ascending=[False, False], na_position="last",
                        kind="stable").reset_index(drop=True)
    ran = df[df.get("throughput_per_device", pd.Series(dtype=float)).notna()] if "throughput_per_device" in df else df.iloc[:0]
    if len(ran):
        chart = pd.DataFrame({"device": ran["device"],
                              "point": [f"{d} · batch {b} · {p}" for d, b, p in
                                        zip(ran["device"], ran["batch_per_device"], ran["precision"])],
                              "throughput": ran["throughput_per_device"], "cost": ran["usd_per_million"],
                              "energy": ran["energy_j_per_unit"], "feasible": ran["feasible"],
                              "reason": ran["reason"].fillna("")})
        st.plotly_chart(sweep_figure(chart, unit), key="sw_fig")
    table(df.drop(columns=["unit"], errors="ignore"), "Sweep", key="sweep", columns=_columns(unit),
          infeasible=~df["feasible"], title="Sweep (best first; greyed: cannot run)")
