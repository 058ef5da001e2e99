"""Scale-out: the sidebar's workload on many devices of a system with a parallel layout
(``simulator.simulate(devices=, parallelism=)``), and how efficiency holds as the data-parallel degree grows."""
from __future__ import annotations

import pandas as pd
import streamlit as st

import simulator as sim
from explorer import report
from explorer.calls import cluster
from explorer.charts import scaling_figure
from explorer.format import fmt_bytes, fmt_si, fmt_time, with_band
from explorer.share import init
from explorer.state import Scenario, device_rows, device_spec, is_system
from explorer.views import does_not_fit, lazy_tabs

CHECKPOINTING = ["none", "selective", "selective-mlp", "full"]


def _systems(sc: Scenario) -> list[str]:
    names = [r["name"] for r in device_rows() if r["kind"] == "system"]
    return ([sc.device] if sc.device not in names else []) + names


def _layout_controls(devices: int) -> tuple[str, int, int, str | None]:
    c = st.columns(6)
    for key, default, lo, hi in (("so_tp", 1, 1, 1024), ("so_pp", 1, 1, 1024), ("so_vp", 1, 1, 64)):
        init(key, default, lo=lo, hi=hi)
    tp = int(c[0].number_input("Tensor parallel", 1, 1024, key="so_tp"))
    pp = int(c[1].number_input("Pipeline stages", 1, 1024, key="so_pp"))
    vp = int(c[2].number_input("Virtual stages", 1, 64, key="so_vp", help="interleaved 1F1B chunks per rank"))
    init("so_zero", 1, [0, 1, 2, 3])
    zero = int(c[3].selectbox("ZeRO stage", [0, 1, 2, 3], key="so_zero"))
    init("so_sp", False)
    sp = c[4].checkbox("Sequence parallel", key="so_sp")
    init("so_overlap", False)
    overlap = c[5].checkbox("Overlap TP comm", key="so_overlap")
    if devices % (tp * pp):
        return "", tp, pp, f"devices ({devices}) must be a multiple of tensor x pipeline ({tp} x {pp})"
    dp = devices // (tp * pp)
    layout = f"dp={dp},tp={tp},pp={pp},zero={zero}" + (f",vp={vp}" if vp > 1 else "")
    layout += (",sp=1" if sp else "") + (",tp_overlap=1" if overlap else "")
    return layout, dp, tp * pp, None


def _headline(r: sim.SimulationResult) -> None:
    n = int(r.summary.get("devices") or 1)
    c = st.columns(5)
    c[0].metric("Step time", with_band(r.step_time_s, r.kind))
    c[1].metric("Throughput", f"{fmt_si(r.throughput_samples_per_s)} samples/s",
                f"{fmt_si(r.throughput_samples_per_s / n)} per device", delta_color="off", delta_arrow="off",
                help="samples per second, all devices")
    c[2].metric("Scaling efficiency", f"{r.scaling_efficiency:.0%}", help="ideal step (one device's time per "
                "sample, no communication) over this step")
    c[3].metric("Pipeline bubble", f"{r.pipeline_bubble_fraction:.1%}",
                f"other idle {r.other_idle_fraction:.1%}", delta_color="off", delta_arrow="off",
                help="the schedule's own idle time with free communication ((p-1)/(m+p-1) for 1F1B); other idle: "
                     "waits on a neighbour's communication, unequal stages, the tail")
    c[4].metric("Exposed communication", fmt_time(r.communication_time_s),
                f"{r.exposed_communication_fraction:.1%} of the step (mean device)", delta_color="off",
                delta_arrow="off")
    fit = "fits" if r.fits_in_memory else "does NOT fit"
    c = st.columns(3)
    c[0].metric("Peak memory per device", fmt_bytes(r.peak_memory_bytes), f"of {fmt_bytes(r.memory_capacity_bytes)} "
                f"· {fit}", delta_color="normal" if r.fits_in_memory else "inverse", delta_arrow="off")
    c[1].metric("Utilization", f"{r.utilization:.0%}", help="hardware FLOPs over peak, all devices")
    c[2].metric("Bottleneck", str(r.bottleneck).replace("_", " "))
    report.add_metrics(f"{r.hardware}: {n} devices", [
        ("Step time", with_band(r.step_time_s, r.kind)), ("Throughput", f"{fmt_si(r.throughput_samples_per_s)}/s"),
        ("Scaling efficiency", f"{r.scaling_efficiency:.0%}"), ("Peak memory per device", fmt_bytes(r.peak_memory_bytes))])
    if not r.fits_in_memory:
        does_not_fit(r, " Try more tensor or pipeline parallelism, ZeRO 3 or activation checkpointing.")


def _roles(r: sim.SimulationResult) -> pd.DataFrame:
    rows = []
    for d in r.per_device:
        rows.append({"role": d["role"], "devices": d["count"], "peak memory": fmt_bytes(d["peak_memory_bytes"]),
                     "fits": d["fits_in_memory"], "busy": fmt_time(d["busy_s"]), "idle": fmt_time(d["idle_s"]),
                     "link busy": fmt_time(d["communication_s"]),
                     "exposed comm": fmt_time(d["exposed_communication_s"])})
    return pd.DataFrame(rows)


def _scaling(sc: Scenario, hardware: str, dp: int, model_devices: int, layout: str, microbatches: int | None,
             checkpointing: str, per_replica: int) -> None:
    """Weak scaling: the same model copy and per-replica batch, data-parallel degree 1, 2, 4 ... dp."""
    degrees = sorted({d for d in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024) if d <= dp} | {dp})
    xs, eff = [], []
    bar = st.progress(0.0, text="Weak scaling: simulating each data-parallel degree...")
    for i, d in enumerate(degrees):
        parts = [f"dp={d}"] + [p for p in layout.split(",") if not p.startswith("dp=")]
        o = cluster(sc, hardware, devices=d * model_devices, layout=",".join(parts), microbatches=microbatches,
                    checkpointing=checkpointing, batch_size=per_replica * d)
        bar.progress((i + 1) / len(degrees), text=f"Weak scaling: {d * model_devices} devices done")
        if o.ok:
            xs.append(d * model_devices)
            eff.append(o.result.scaling_efficiency)
    bar.empty()
    if len(xs) >= 2:
        st.plotly_chart(scaling_figure(xs, eff), key="so_scaling")


def page_scaleout(sc: Scenario) -> None:
    """Parallel layout of the sidebar's workload on a system, its per-device picture and a weak-scaling curve."""
    st.title("Scale-out")
    systems = _systems(sc)
    c = st.columns(4)
    init("so_system", systems[0], systems)
    hardware = c[0].selectbox("System or device", systems, key="so_system")
    try:
        spec = device_spec(hardware)
    except sim.SimulatorError as exc:
        st.error(str(exc))
        return
    system = is_system(spec)
    full = spec.devices_per_node * (spec.max_nodes or 1) if system else 8
    init("so_devices", min(full, 8 * (spec.devices_per_node if system else 1)), lo=1, hi=1_000_000)
    devices = int(c[1].number_input("Devices", 1, 1_000_000, key="so_devices"))
    init("so_micro", 0, lo=0, hi=4096)
    micro = int(c[2].number_input("Micro-batches per replica (0 = default)", 0, 4096, key="so_micro"))
    init("so_ckpt", CHECKPOINTING[0], CHECKPOINTING)
    ckpt = c[3].selectbox("Activation checkpointing", CHECKPOINTING, key="so_ckpt", disabled=sc.mode != "training")
    layout, dp, model_devices, problem = _layout_controls(devices)
    if problem:
        st.error(problem)
        return
    st.caption(f"{sc.label} · global batch {sc.batch_size} on {devices} x {hardware} · {layout}")
    with st.status(f"Simulating {devices} devices...", expanded=False) as status:
        o = cluster(sc, hardware, devices=devices, layout=layout, microbatches=micro or None, checkpointing=ckpt,
                    batch_size=sc.batch_size)
        status.update(label=f"Simulated {devices} devices", state="complete" if o.ok else "error")
    if not o.ok:
        st.error(o.error)
        return
    if o.note:
        st.info(o.note + ".")
    r = o.result
    _headline(r)
    # the weak-scaling curve re-simulates the cluster at every data-parallel degree (seconds on 1,024 GPUs):
    # drawn only when its tab is open
    tabs, is_open = lazy_tabs(["Per device role", "Weak scaling"], "so_tabs")
    if is_open("Per device role"):
        tabs["Per device role"].dataframe(_roles(r), hide_index=True)
    if is_open("Weak scaling"):
        with tabs["Weak scaling"]:
            if dp > 1 and sc.batch_size % dp == 0:
                st.caption("More data-parallel replicas, the same batch per replica: how much of linear scaling holds.")
                _scaling(sc, hardware, dp, model_devices, layout, micro or None, ckpt, sc.batch_size // dp)
            else:
                st.info("Weak scaling needs more than one data-parallel replica and a batch they split evenly.")
