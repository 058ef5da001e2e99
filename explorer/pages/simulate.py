"""Simulate / compare (the default page): the sidebar scenario on its device and on comparison devices,
or two scenarios (A: the sidebar's, B: another precision, batch or stack) on the same device.

Devices are compared per device: every device runs the same batch per device (a system's step is that
times its devices), and throughput, memory, power and cost are per device, so an 8-GPU node is not
"faster" for splitting the batch eight ways. Only configurations that fit are ranked.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from explorer import report
from explorer.calls import Outcome, devices_of, run
from explorer.charts import breakdown_figure, compare_bars, shares_figure
from explorer.format import bound_label, fmt_bytes, fmt_energy, fmt_si, fmt_time, fmt_usd, short_name
from explorer.share import init
from explorer.state import (COMPARE_PREFERENCE, NATIVE, PRECISIONS, STACKS, Scenario, device_labels, device_rows,
                            device_spec)
from explorer.views import Column, cost_per_million, detail_tabs, downloads, headline, stem_of, table, units_of

MODES = ["Devices", "Scenario A vs B"]


def default_compare(names: list[str], baseline: str) -> list[str]:
    """The default comparison devices: the first two of ``COMPARE_PREFERENCE`` bundled, else any other one."""
    picks = [n for n in COMPARE_PREFERENCE if n in names and n != baseline][:2]
    return picks or [n for n in names if n != baseline][:1]


def compare_picker(baseline: str) -> list[str]:
    """One full-width chooser (``KIND · Name`` chips, never truncated); ``baseline`` then the devices chosen."""
    labels = device_labels()
    names = [n for n in labels if n != baseline]
    init("compare", default_compare(names, baseline), names)
    chosen = st.multiselect("Compare with", names, key="compare", format_func=lambda n: labels.get(n, n),
                            help="Any device, system or custom device (Devices page), grouped by kind in the labels")
    return [baseline] + [c for c in chosen if c != baseline]


def compare_row(device: str, o: Outcome, n: int, per_device_batch: int, basis: str) -> dict[str, Any]:
    """One row of the comparison table: raw numbers in SI units, per device."""
    row: dict[str, Any] = {"device": short_name(next((r for r in device_rows() if r["name"] == device), {"display_name": device})),
                           "name": device, "devices": n, "batch_per_device": per_device_batch}
    if not o.ok:
        return {**row, "fits": False, "status": o.error}
    r = o.result
    units, unit = units_of(r)
    cost, p = cost_per_million(r, device, basis)
    return {**row, "kind": r.kind, "precision": getattr(r, "effective_precision", r.precision),
            "step_time_s": r.step_time_s, f"{unit}_per_s_per_device": units / r.step_time_s / n,
            "peak_memory_bytes_per_device": r.peak_memory_bytes, "capacity_bytes": r.memory_capacity_bytes,
            "fits": bool(r.fits_in_memory), f"energy_j_per_{unit[:-1]}": r.energy_j / units,
            "power_w_per_device": r.average_power_w / n, f"usd_per_million_{unit}": cost,
            "price_basis": p["basis"] if p else None, "bottleneck": r.bottleneck, "utilization": r.utilization,
            "status": "ok" if r.fits_in_memory else f"does not fit: short by {fmt_bytes(r.memory_shortfall_bytes)}"
                      + (f" ({o.note})" if o.note else ""),
            "throughput": units / r.step_time_s / n, "cost": cost}


def _columns(unit: str) -> list[Column]:
    u = unit[:-1]
    return [("device", "device", None), ("devices", "devices", None), ("batch_per_device", "batch / device", None),
            ("precision", "precision", None), ("step_time_s", "step time", fmt_time),
            (f"{unit}_per_s_per_device", f"{unit}/s per device", fmt_si),
            ("peak_memory_bytes_per_device", "peak memory / device", fmt_bytes),
            ("capacity_bytes", "capacity", fmt_bytes), (f"energy_j_per_{u}", f"energy / {u}", fmt_energy),
            ("power_w_per_device", "power / device", lambda w: f"{w:.0f} W"),
            (f"usd_per_million_{unit}", f"$ per 1M {unit}", fmt_usd), ("price_basis", "price", None),
            ("bottleneck", "bottleneck", bound_label), ("utilization", "utilization", lambda u_: f"{u_ * 100:.1f}%"),
            ("status", "status", None)]


def ranking(df: pd.DataFrame, unit: str) -> None:
    """The best feasible configurations: most throughput per device and lowest cost per unit."""
    ok = df[df["fits"] & df.get("throughput", pd.Series(dtype=float)).notna()] if "throughput" in df else df.iloc[:0]
    c = st.columns(3)
    c[0].metric("Configurations that fit", f"{len(ok)} of {len(df)}",
                help="Only these are ranked; the rest are greyed in the table with the reason")
    if not len(ok):
        st.error("Nothing here fits in memory: no configuration is recommended. Try a smaller batch, fewer "
                 "bytes per value, or devices with more memory (a system spreads the model only with a "
                 "parallel layout: Scale-out page).")
        return
    best = ok.loc[ok["throughput"].idxmax()]
    c[1].metric(f"Most {unit}/s per device", fmt_si(best["throughput"]), best["device"], delta_color="off",
                delta_arrow="off")
    priced = ok[ok["cost"].notna()]
    if len(priced):
        cheap = priced.loc[priced["cost"].idxmin()]
        c[2].metric(f"Lowest $ per 1M {unit}", fmt_usd(cheap["cost"]), cheap["device"], delta_color="off",
                    delta_arrow="off")
    report.add_metrics("Ranking (configurations that fit)",
                       [(f"Most {unit}/s per device", f"{fmt_si(best['throughput'])} ({best['device']})")]
                       + ([(f"Lowest $ per 1M {unit}", f"{fmt_usd(cheap['cost'])} ({cheap['device']})")]
                          if len(priced) else []))


def _devices(sc: Scenario) -> None:
    devices = compare_picker(sc.device)
    n0 = devices_of(sc.device)
    per = max(1, sc.batch_size // n0)
    how = (f"{sc.batch_size} on {n0} devices = {per} per device" if n0 > 1 else f"{per}")
    st.caption(f"Compared per device: every device runs the sidebar batch per device ({how}); a system's step "
               f"is that times its devices. Throughput, memory, power and cost are per device.")
    outcomes: dict[str, tuple[Outcome, int]] = {sc.device: (run(sc, sc.device, batch_size=per * n0), n0)}
    main = outcomes[sc.device][0]
    st.subheader(device_spec(sc.device).display_name)
    if main.ok:  # drawn before the other devices run: the headline paints first
        headline(main.result, sc.device, sc.cost_basis, note=main.note)
    else:
        st.error(f"{sc.device} cannot run this: {main.error}")
    with st.spinner(f"Simulating on {len(devices) - 1} more device(s)..."):
        for d in devices[1:]:
            n = devices_of(d)
            outcomes[d] = (run(sc, d, batch_size=per * n), n)
    for d, (o, _) in outcomes.items():
        if d != sc.device and not o.ok:
            st.warning(f"{d} cannot run this: {o.error}")
        elif d != sc.device and o.note:
            st.info(o.note + ".")
    if len(devices) > 1:
        _comparison(sc, outcomes, per)
    ok = {d: o.result for d, (o, _) in outcomes.items() if o.ok}
    if ok:
        st.subheader("Details")
        names = list(ok)
        init("focus", names[0], names)
        focus = st.selectbox("Charts for", names, key="focus") if len(ok) > 1 else names[0]
        detail_tabs(ok[focus], device_spec(focus), key="sim", gantt=ok)
        downloads(ok[focus], stem_of(sc, focus), key="sim")


def _comparison(sc: Scenario, outcomes: dict[str, tuple[Outcome, int]], per: int) -> None:
    st.subheader("Side by side, per device")
    rows = [compare_row(d, o, n, per, sc.cost_basis) for d, (o, n) in outcomes.items()]
    df = pd.DataFrame(rows)
    unit = next((units_of(o.result)[1] for o, _ in outcomes.values() if o.ok), "samples")
    ranking(df, unit)
    table(df.drop(columns=["throughput", "cost"], errors="ignore"), "Comparison", key="compare",
          columns=_columns(unit), infeasible=~df["fits"], title="Side by side, per device")
    ok = df[df.get("step_time_s", pd.Series(dtype=float)).notna()] if "step_time_s" in df else df.iloc[:0]
    if len(ok):
        c = st.columns(2)
        c[0].plotly_chart(compare_bars(ok, "device", f"{unit}_per_s_per_device", f"{unit}/s per device"),
                          key="cmp_bars")  # per device: a system is not "faster" for having more devices
        res = {d: o.result for d, (o, _) in outcomes.items() if o.ok}
        c[1].plotly_chart(breakdown_figure(res), key="cmp_brk")
        st.plotly_chart(shares_figure(res), key="cmp_shares")


def _b_controls(sc: Scenario) -> dict[str, Any]:
    st.caption("A is the sidebar scenario; B changes any of these on the same device.")
    c = st.columns(3)
    init("b_precision", sc.precision or NATIVE, PRECISIONS)
    prec = c[0].selectbox("B precision", PRECISIONS, key="b_precision")
    init("b_batch", sc.batch_size, lo=1, hi=65536)
    batch = int(c[1].number_input("B batch size", 1, 65536, step=1, key="b_batch"))
    labels = list(STACKS)
    init("b_stack", next(k for k, v in STACKS.items() if v == sc.stack), labels)
    stack = STACKS[c[2].selectbox("B software stack", labels, key="b_stack")]
    return {"precision": None if prec == NATIVE else prec, "batch_size": batch, "stack": stack}


def _a_vs_b(sc: Scenario) -> None:
    b_args = _b_controls(sc)
    a, b = run(sc), run(sc, **b_args)
    b_label = f"B: {b_args['precision'] or 'native'}, batch {b_args['batch_size']}, {b_args['stack']}"
    if not a.ok or not b.ok:
        for tag, o in (("A", a), ("B", b)):
            if not o.ok:
                st.error(f"{tag} cannot run on {sc.device}: {o.error}")
    if b.ok:
        st.subheader(b_label + (" vs A" if a.ok else ""))
        headline(b.result, sc.device, sc.cost_basis, base=(a.result, sc.device) if a.ok else None, note=b.note,
                 title=b_label)
    ok = {tag: o for tag, o in (("A (sidebar)", a), (b_label, b)) if o.ok}
    if len(ok) == 2:
        n = devices_of(sc.device)
        rows = []
        for tag, o in ok.items():
            row = compare_row(sc.device, o, n, o.result.batch_size // n, sc.cost_basis)
            rows.append({**row, "device": tag})
        df = pd.DataFrame(rows)
        unit = units_of(a.result)[1]
        table(df.drop(columns=["throughput", "cost"], errors="ignore"), "A vs B", key="ab",
              columns=_columns(unit), infeasible=~df["fits"], title="Scenario A vs B")
        detail_tabs(b.result, device_spec(sc.device), key="ab", gantt={"A": a.result, "B": b.result})


def page_simulate(sc: Scenario) -> None:
    """Device against device (per device) or scenario A against B on the sidebar device."""
    st.title("Simulate and compare")
    st.caption(sc.label)
    init("cmp_mode", MODES[0], MODES)
    mode = st.radio("Compare", MODES, key="cmp_mode", horizontal=True)
    if mode == MODES[0]:
        _devices(sc)
    else:
        _a_vs_b(sc)
