"""Scale-out: the sidebar's workload on many devices of a system with a parallel layout
(``simulator.simulate(devices=, parallelism=)``), and how throughput grows with the data-parallel degree."""
from __future__ import annotations


import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import simulator as sim
from explorer.format import fmt_bytes, fmt_si, fmt_time
from explorer.state import TIME_LIMIT_S, Scenario, Upload, UploadError, hardware_table, upload_workload

CHECKPOINTING = ["none", "selective", "selective-mlp", "full"]


@st.cache_data(show_spinner=False, max_entries=128)
def _cluster(workload: str, upload_digest: str | None, _upload: Upload | None, hardware: str, mode: str,
             batch_size: int, seq_len: int | None, image_size: int | None, precision: str, optimizer: str,
             devices: int, layout: str, microbatches: int | None, checkpointing: str) -> sim.SimulationResult:
    wl = upload_workload(upload_digest, _upload) if _upload else workload
    return sim.simulate(wl, hardware, mode=mode, batch_size=batch_size, seq_len=seq_len, image_size=image_size,
                        precision=precision, optimizer=optimizer, devices=devices, parallelism=layout,
                        microbatches=microbatches, checkpointing=checkpointing if mode == "training" else "none",
                        time_limit_s=TIME_LIMIT_S)


def _systems(sc: Scenario) -> list[str]:
    names = [h["name"] for h in hardware_table() if h.get("kind") == "system"]
    return ([sc.device] if sc.device not in names else []) + names


def _layout_controls(devices: int) -> tuple[str, int, int, str | None]:
    c = st.columns(6)
    tp = int(c[0].number_input("Tensor parallel", 1, 1024, 1, key="so_tp"))
    pp = int(c[1].number_input("Pipeline stages", 1, 1024, 1, key="so_pp"))
    vp = int(c[2].number_input("Virtual stages", 1, 64, 1, key="so_vp", help="interleaved 1F1B chunks per rank"))
    zero = int(c[3].selectbox("ZeRO stage", [0, 1, 2, 3], index=1, key="so_zero"))
    sp = c[4].checkbox("Sequence parallel", value=False, key="so_sp")
    overlap = c[5].checkbox("Overlap TP comm", value=False, key="so_overlap")
    if devices % (tp * pp):
        return "", tp, pp, f"devices ({devices}) must be a multiple of tensor x pipeline ({tp} x {pp})"
    dp = devices // (tp * pp)
    layout = f"dp={dp},tp={tp},pp={pp},zero={zero}" + (f",vp={vp}" if vp > 1 else "")
    layout += (",sp=1" if sp else "") + (",tp_overlap=1" if overlap else "")
    return layout, dp, tp * pp, None


def _run(sc: Scenario, hardware: str, devices: int, layout: str, microbatches: int | None,
         checkpointing: str, batch: int) -> sim.SimulationResult:
    return _cluster(sc.workload, sc.upload.digest if sc.upload else None, sc.upload, hardware, sc.mode, batch,
                    sc.seq_len, sc.image_size, sc.precision, sc.optimizer, devices, layout, microbatches,
                    checkpointing)


def _headline(r: sim.SimulationResult) -> None:
    c = st.columns(5)
    c[0].metric("Step time", fmt_time(r.step_time_s))
    c[1].metric("Throughput", f"{fmt_si(r.throughput_samples_per_s)}/s", help="samples per second, all devices")
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


def _roles(r: sim.SimulationResult) -> pd.DataFrame:
    rows = []
    for d in r.per_device:
        rows.append({"role": d["role"], "devices": d["count"], "peak memory": fmt_bytes(d["peak_memory_bytes"]),
                     "fits": d["fits_in_memory"], "busy": fmt_time(d["busy_s"]), "idle": fmt_time(d["idle_s"]),
                     "link busy": fmt_time(d["communication_s"]),
                     "exposed comm": fmt_time(d["exposed_communication_s"])})
    return pd.DataFrame(rows)


def _scaling(sc: Scenario, hardware: str, dp: int, model_devices: int, layout: str, microbatches: int | None,
             checkpointing: str, per_replica: int) -> go.Figure | None:
    """Weak scaling: the same model copy and per-replica batch, data-parallel degree 1, 2, 4 ... dp."""
    degrees = sorted({d for d in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024) if d <= dp} | {dp})
    xs, ys, eff = [], [], []
    for d in degrees:
        parts = [f"dp={d}"] + [p for p in layout.split(",") if not p.startswith("dp=")]
        try:
            r = _run(sc, hardware, d * model_devices, ",".join(parts), microbatches, checkpointing, per_replica * d)
        except sim.SimulatorError:
            continue
        xs.append(d * model_devices)
        ys.append(r.throughput_samples_per_s)
        eff.append(r.scaling_efficiency)
    if len(xs) < 2:
        return None
    fig = go.Figure()
    fig.add_scatter(x=xs, y=ys, mode="lines+markers", name="throughput (samples/s)")
    fig.add_scatter(x=xs, y=[ys[0] * x / xs[0] for x in xs], mode="lines", name="linear from the first point",
                    line={"dash": "dot"})
    fig.update_layout(xaxis_title="devices", yaxis_title="samples / s", xaxis_type="log", height=360,
                      margin={"t": 30}, xaxis={"tickvals": xs, "ticktext": [str(x) for x in xs]})
    return fig


def page_scaleout(sc: Scenario) -> None:
    """Parallel layout of the sidebar's workload on a system, its per-device picture and a weak-scaling curve."""
    st.title("Scale-out")
    systems = _systems(sc)
    c = st.columns(4)
    hardware = c[0].selectbox("System or device", systems, key="so_system")
    spec = sim.load_hardware(hardware)
    full = spec.devices_per_node * (spec.max_nodes or 1) if getattr(spec, "kind", "") == "system" else 8
    devices = int(c[1].number_input("Devices", 1, 1_000_000, min(full, 8 * (spec.devices_per_node if
                                    getattr(spec, "kind", "") == "system" else 1)), key="so_devices"))
    micro = int(c[2].number_input("Micro-batches per replica (0 = default)", 0, 4096, 0, key="so_micro"))
    ckpt = c[3].selectbox("Activation checkpointing", CHECKPOINTING, key="so_ckpt", disabled=sc.mode != "training")
    layout, dp, model_devices, problem = _layout_controls(devices)
    if problem:
        st.error(problem)
        return
    st.caption(f"{sc.label} · global batch {sc.batch_size} on {devices} x {hardware} · {layout}")
    with st.spinner("Simulating the cluster..."):
        try:
            r = _run(sc, hardware, devices, layout, micro or None, ckpt, sc.batch_size)
        except (sim.SimulatorError, UploadError) as exc:
            st.error(str(exc))
            return
    _headline(r)
    st.subheader("Per device role")
    st.dataframe(_roles(r), hide_index=True)
    if dp > 1 and sc.batch_size % dp == 0:
        st.subheader("Weak scaling: more data-parallel replicas, same batch per replica")
        fig = _scaling(sc, hardware, dp, model_devices, layout, micro or None, ckpt, sc.batch_size // dp)
        if fig is not None:
            st.plotly_chart(fig, key="so_scaling")
