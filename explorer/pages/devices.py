"""Devices: the catalogue with each device's peak, memory, power and price (and where the price comes from),
and custom devices, from a few numbers or an uploaded YAML spec, usable on every page."""
from __future__ import annotations

import pandas as pd
import streamlit as st

import simulator as sim
from explorer.calls import clean_error
from explorer.format import fmt_bytes, fmt_si, fmt_usd, kind_label
from explorer.share import CUSTOM, init
from explorer.state import COST_BASES, device_rows, device_spec, hardware_table, spec_from_yaml, unit_spec

PRECISION_FIELDS = ("fp32", "tf32", "bf16", "fp16", "fp8", "int8")


def _row(row: dict, basis: str) -> dict | None:
    try:
        hw = device_spec(row["name"])
        dev = unit_spec(hw)
        formats = {q.value for q in _precisions(dev)}
        rates = sim.peak_rates(dev, next((p for p in ("bf16", "fp16", "int8", "fp32") if p in formats), "bf16"))
        price = sim.hourly_price(hw, basis)
    except sim.SimulatorError:
        return None
    return {"device": kind_label(row), "peak (matrix)": fmt_si(rates["matrix_flops_per_s"], "FLOP/s"),
            "memory": fmt_bytes(dev.main_memory.capacity_bytes),
            "bandwidth": fmt_si(rates["memory_bandwidth_bps"], "B/s"), "TDP": sim.readable.watts(dev.power.tdp_w),
            "$ per device-hour": fmt_usd(price["usd_per_device_hour"]) if price else "n/a",
            "price basis": price["basis"] if price else "none listed",
            "price source": price["source"] if price else "(none published)"}


@st.cache_data(show_spinner=False)
def _catalogue_rows(basis: str) -> list[dict]:
    return [r for r in (_row(row, basis) for row in hardware_table()) if r]


def catalogue(basis: str) -> pd.DataFrame:
    """Every device (custom ones last) with its peak, memory, TDP and price on ``basis``."""
    customs = [r for r in (_row(row, basis) for row in device_rows() if row.get("custom")) if r]
    return pd.DataFrame(_catalogue_rows(basis) + customs)


def _precisions(dev) -> list:
    c = dev.compute
    for attr in ("tensor_flops_per_cycle_per_sm", "mxu_macs_per_pe_per_cycle", "macs_per_pe_per_cycle",
                 "macs_per_dsp_per_cycle", "matrix_flops_per_cycle_per_core"):
        rates = getattr(c, attr, None)
        if rates:
            return list(rates)
    return list(getattr(c, "simd_precisions", ()))


def _add_from_numbers() -> None:
    ss = st.session_state
    name = str(ss.get("cd_name", "")).strip()
    tflops = {p: float(ss[f"cd_{p}"]) for p in PRECISION_FIELDS if ss.get(f"cd_{p}", 0) > 0}
    numbers = {"matrix_tflops": tflops, "memory_bandwidth_gbs": float(ss["cd_bw"]), "memory_gib": float(ss["cd_mem"]),
               "tdp_w": float(ss["cd_tdp"]), "display_name": str(ss.get("cd_display") or name)}
    if ss.get("cd_link", 0) > 0:
        numbers["interconnect_gbs"] = float(ss["cd_link"])
    if ss.get("cd_price", 0) > 0:
        numbers["cloud_usd_per_hour"] = float(ss["cd_price"])
    if ss.get("cd_buy", 0) > 0:
        numbers["purchase_usd"] = float(ss["cd_buy"])
    try:
        if name in {r["name"] for r in hardware_table()}:
            raise sim.SpecError("custom device", "name", f"{name!r} is a catalogue device; choose another name")
        sim.custom_hardware(name, **numbers)
    except sim.SimulatorError as exc:
        ss["cd_message"] = ("error", clean_error(exc))
        return
    ss.setdefault(CUSTOM, {})[name] = {"how": "numbers", "numbers": numbers}
    ss["cd_message"] = ("success", f"Added {name}: choose it as the sidebar device or compare with it on any page.")


def _number_form() -> None:
    st.subheader("A device from a few numbers")
    st.caption("Everything not entered (caches, fitted efficiencies, per-op overhead, power model shape) comes from "
               "the NVIDIA H100 SXM spec; peaks are dense (no sparsity).")
    with st.form("custom_device", border=True):
        c = st.columns(3)
        init("cd_name", "my-accelerator")
        c[0].text_input("Name (lower case, digits, - _ .)", key="cd_name")
        init("cd_display", "My accelerator")
        c[1].text_input("Display name", key="cd_display")
        c = st.columns(len(PRECISION_FIELDS))
        for col, p in zip(c, PRECISION_FIELDS):
            init(f"cd_{p}", {"bf16": 1000.0, "fp16": 1000.0, "fp8": 2000.0, "int8": 2000.0}.get(p, 0.0), lo=0.0, hi=1e6)
            col.number_input(f"{p} TFLOPS", 0.0, 1e6, key=f"cd_{p}", help="dense peak; 0 = no such path")
        c = st.columns(6)
        for col, (key, label, default, hi) in zip(c, (
                ("cd_bw", "Memory GB/s", 4000.0, 1e6), ("cd_mem", "Memory GiB", 128.0, 1e6),
                ("cd_link", "Interconnect GB/s", 450.0, 1e6), ("cd_tdp", "TDP (W)", 800.0, 1e5),
                ("cd_price", "Cloud $/h", 3.0, 1e6), ("cd_buy", "Purchase $", 0.0, 1e9))):
            init(key, default, lo=0.0, hi=hi)
            col.number_input(label, 0.0, hi, key=key)
        st.form_submit_button("Add device", on_click=_add_from_numbers)
    msg = st.session_state.pop("cd_message", None)
    if msg:
        (st.success if msg[0] == "success" else st.error)(msg[1])


def _yaml_upload() -> None:
    st.subheader("A device from a YAML spec")
    f = st.file_uploader("Device YAML (the catalogue's schema: `accsim show nvidia-h100-sxm` shows one)",
                         type=["yaml", "yml"], key="cd_yaml")
    if f is None:
        return
    text = f.getvalue().decode("utf-8", errors="replace")
    try:
        hw = spec_from_yaml(text, f.name)
    except sim.SimulatorError as exc:
        st.error(clean_error(exc))
        return
    if hw.name in {r["name"] for r in hardware_table()}:
        st.error(f"{f.name}: name: {hw.name!r} is a catalogue device; rename it to use it beside the original")
        return
    customs = st.session_state.setdefault(CUSTOM, {})
    if customs.get(hw.name, {}).get("yaml") != text:
        customs[hw.name] = {"how": "yaml", "yaml": text}
        st.rerun()  # the new device appears in every chooser
    st.success(f"{hw.name} ({hw.display_name}) is available on every page.")


def _custom_list() -> None:
    customs = st.session_state.get(CUSTOM, {})
    if not customs:
        return
    st.subheader("Your custom devices")
    for name, entry in list(customs.items()):
        c = st.columns([4, 1])
        c[0].write(f"`{name}` · from {'numbers' if entry['how'] == 'numbers' else 'YAML'}")
        if c[1].button("Remove", key=f"cd_rm_{name}"):
            customs.pop(name)
            st.rerun()


def page_devices() -> None:
    """The catalogue and its prices; custom devices."""
    st.title("Devices")
    basis = st.session_state.get("cost_basis", "auto")
    st.caption(f"Prices on the sidebar's cost basis: {COST_BASES.get(basis, basis)}. Cloud: the on-demand rate per "
               "device-hour; owned: the purchase price over 3 years of continuous use, device only. Estimates are "
               "marked ESTIMATE in their source.")
    _custom_list()
    _number_form()
    _yaml_upload()
    st.subheader("Catalogue")
    st.dataframe(catalogue(basis), hide_index=True)
