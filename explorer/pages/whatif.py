"""What-if: scale the device with sliders or edit its YAML, and compare with the unmodified device."""
from __future__ import annotations

from typing import Any

import streamlit as st

import simulator as sim
from explorer.calls import run
from explorer.charts import breakdown_figure, shares_figure
from explorer.format import fmt_bytes
from explorer.share import init
from explorer.state import Scenario, device_spec, is_system, spec_from_yaml, spec_yaml_text, unit_spec
from explorer.views import detail_tabs, downloads, headline, stem_of

UNIT_FIELDS = {"gpu": "sm_count", "tpu": "cores_per_chip", "cpu": "cores", "asic": "arrays", "fpga": "dsp_slices"}
FEW_UNITS = 8  # up to this many compute units, the slider counts units (a x0.6 of one unit is still one)


def _scaled(value: float, scale: float, integer: bool = False) -> float:
    v = value * scale
    return max(1, round(v)) if integer else v


def _system_overrides(hw: Any, s: dict[str, float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fabric in ("intra_node", "inter_node"):
        f = getattr(hw, fabric, None)
        if f is not None and s["link"] != 1:
            out[f"{fabric}.bandwidth_gbs"] = _scaled(f.bandwidth_gbs, s["link"])
    return out


def whatif_overrides(hw: Any, s: dict[str, float]) -> dict[str, Any]:
    """Dotted-path overrides for the slider scales ``s`` (1.0 = unchanged) on spec ``hw``.

    A system names its device rather than containing it, so only its fabrics scale here.
    """
    if is_system(hw):
        return _system_overrides(hw, s)
    out: dict[str, Any] = {}
    if s["clock"] != 1:
        out["compute.clock_ghz"] = _scaled(hw.compute.clock_ghz, s["clock"])
    unit = UNIT_FIELDS.get(hw.kind)
    if unit and "unit_count" in s:  # a device with few units: the count itself
        if int(s["unit_count"]) != getattr(hw.compute, unit):
            out[f"compute.{unit}"] = int(s["unit_count"])
    elif unit and s["units"] != 1:
        out[f"compute.{unit}"] = _scaled(getattr(hw.compute, unit), s["units"], integer=True)
    main = hw.main_memory
    if s["bandwidth"] != 1:
        out[f"memory.{main.name}.bandwidth_gbs"] = _scaled(main.bandwidth_gbs, s["bandwidth"])
    if s["capacity"] != 1:
        out[f"memory.{main.name}.capacity_bytes"] = _scaled(main.capacity_bytes, s["capacity"])
    if s["link"] != 1:
        for link in hw.links:
            out[f"links.{link.name}.bandwidth_gbs"] = _scaled(link.bandwidth_gbs, s["link"])
        if hw.host_link is not None:
            out["host_link.bandwidth_gbs"] = _scaled(hw.host_link.bandwidth_gbs, s["link"])
    return out


def _yaml_editor(device: str) -> str | None:
    """The spec editor; returns edited YAML when it is valid and differs from the catalogue, else None."""
    original = spec_yaml_text(device)
    st.subheader("Edit the spec")
    st.caption("Change any field of the device's YAML; the what-if above runs on the edited spec (sliders apply "
               "on top). Validated with the same schema as the catalogue.")
    key = f"yaml_{device}"
    st.session_state.setdefault(key, original)
    text = st.text_area("Device YAML", height=360, key=key)
    edited = None
    try:
        spec = spec_from_yaml(text)
        if text.strip() != original.strip():
            st.success(f"Valid spec: {spec.display_name}")
            edited = text
    except sim.InputError as exc:
        st.error(f"Invalid spec: {exc}")
    except Exception as exc:  # never let an edit crash the page
        st.error(f"Invalid spec: {type(exc).__name__}: {exc}")
    st.download_button("Download edited YAML", text.encode(), f"{device}-edited.yaml", "application/x-yaml",
                       key="dl_yaml")
    return edited


def _slider(where, label: str, key: str, lo: float, hi: float, default: float, step: float, **kw) -> float:
    init(key, default, lo=lo, hi=hi)
    return where.slider(label, lo, hi, step=step, key=key, **kw)


def _unit_slider(where, dev, system: bool, off: str | None) -> dict[str, float]:
    field = UNIT_FIELDS.get(dev.kind)
    count = getattr(dev.compute, field, 0) if field else 0
    name = (field or "units").replace("_", " ")
    if field and 0 < count <= FEW_UNITS:  # scaling one unit by x0.6 leaves one unit: count them instead
        return {"units": 1.0, "unit_count": _slider(
            where, f"Compute units ({name})", "s_unit_count", 1, 4 * count, count, 1, disabled=system,
            help=off or f"compute.{field}: {count} on this device")}
    return {"units": _slider(where, f"Compute units ({name}) ×", "s_units", 0.25, 4.0, 1.0, 0.05,
                             disabled=system or not field, help=off or f"compute.{field}: {count} on this device")}


def _sliders(hw: Any) -> tuple[dict[str, float], float | None]:
    system = is_system(hw)
    dev = unit_spec(hw)
    off = "a system names its device: choose the device itself to scale compute and memory" if system else None
    main = dev.main_memory
    c = st.columns(3)
    s = {"clock": _slider(c[0], "Compute clock ×", "s_clock", 0.25, 4.0, 1.0, 0.05, disabled=system,
                          help=off or f"compute.clock_ghz (now {dev.compute.clock_ghz} GHz)"),
         **_unit_slider(c[0], dev, system, off),
         "bandwidth": _slider(c[1], f"Memory bandwidth ({main.name}) ×", "s_bw", 0.25, 4.0, 1.0, 0.05,
                              disabled=system, help=off or f"now {main.bandwidth_gbs:.0f} GB/s"),
         "capacity": _slider(c[1], f"Memory capacity ({main.name}) ×", "s_cap", 0.25, 4.0, 1.0, 0.05,
                             disabled=system, help=off or f"now {fmt_bytes(main.capacity_bytes)}"),
         "link": _slider(c[2], "Interconnect bandwidth ×", "s_link", 0.25, 4.0, 1.0, 0.05,
                         help="intra- and inter-node fabrics" if system else "every link and the host link")}
    tdp = float(dev.power.tdp_w)
    lo = float(max(1, round(dev.power.idle_w * 1.05)))
    cap = _slider(c[2], "Power cap (W per device)", "s_cap_w", lo, tdp, tdp, float(max(1, round(tdp / 100))),
                  help="simulate(power_cap_w=...); at TDP there is no cap")
    return s, (cap if cap < tdp else None)


def _whatif_results(sc: Scenario, base_hw: Any, edited: str | None) -> None:
    hw_src = device_spec(sc.device, spec_yaml=edited) if edited else base_hw
    scales, cap = _sliders(hw_src)
    overrides = whatif_overrides(hw_src, scales)
    with st.spinner("Simulating the what-if..."):
        base = run(sc)
        new = run(sc, overrides=overrides, power_cap_w=cap, spec_yaml=edited)
    if not base.ok or not new.ok:
        st.error(base.error or new.error)
        return
    new_hw = device_spec(sc.device, overrides, edited)
    if overrides:
        st.caption("Overrides: " + ", ".join(f"`{k}` = {v:.4g}" for k, v in overrides.items()))
    headline(new.result, sc.device, sc.cost_basis, base=(base.result, sc.device), note=new.note,
             title=f"{sc.device} what-if")
    both = {f"{sc.device} (as is)": base.result, f"{sc.device} (what-if)": new.result}
    c = st.columns(2)
    c[0].plotly_chart(shares_figure(both), key="wi_shares")
    c[1].plotly_chart(breakdown_figure(both), key="wi_brk")
    detail_tabs(new.result, new_hw, key="whatif", power_cap_w=cap, gantt=both)
    downloads(new.result, stem_of(sc, sc.device) + "-whatif", key="whatif")


def page_whatif(sc: Scenario) -> None:
    """Sliders and the YAML editor; results above the editor, with deltas against the unmodified device."""
    st.title("What-if")
    st.caption(f"{sc.label} · on {sc.device}; deltas are against the unmodified device.")
    try:
        base_hw = device_spec(sc.device)
    except sim.SimulatorError as exc:
        st.error(str(exc))
        return
    results_box = st.container()
    editor_box = st.container()
    with editor_box:
        edited = _yaml_editor(sc.device)
    with results_box:
        _whatif_results(sc, base_hw, edited)
