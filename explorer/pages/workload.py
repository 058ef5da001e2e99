"""Workload: size, FLOPs and op mix of the sidebar workload at its shape, and the model zoo."""
from __future__ import annotations

import pandas as pd
import streamlit as st

import simulator as sim
from explorer.calls import run
from explorer.charts import op_kinds_figure
from explorer.format import fmt_bytes, fmt_si
from explorer.state import Scenario, UploadError, workload_of, workload_table


def page_workload(sc: Scenario) -> None:
    """``simulator.describe`` of the workload as metrics, an op-kind chart and JSON; then the zoo table."""
    st.title("Workload")
    st.caption(sc.label)
    precision = sc.precision
    if precision is None:  # native: the format the sidebar device runs in
        o = run(sc)
        precision = (getattr(o.result, "effective_precision", "") or o.result.precision) if o.ok else "bf16"
    try:
        d = sim.describe(workload_of(sc), batch_size=sc.batch_size, seq_len=sc.seq_len, image_size=sc.image_size,
                         precision=precision)
    except (sim.SimulatorError, UploadError) as exc:
        st.error(str(exc))
        return
    c = st.columns(3)
    c[0].metric("Parameters", fmt_si(d["parameters"]))
    c[1].metric("Forward FLOPs (batch)", fmt_si(d["forward_flops"], "FLOP"))
    c[2].metric("Forward FLOPs per sample", fmt_si(d["forward_flops"] / max(1, d["batch_size"] or 1), "FLOP"))
    c = st.columns(3)
    c[0].metric(f"Weights ({d['precision']})", fmt_bytes(d["weight_bytes"]))
    c[1].metric("Activations (forward)", fmt_bytes(d["activation_bytes"]))
    c[2].metric("Ops", f"{d['op_count']:,}")
    kinds = pd.DataFrame(sorted(d["op_kinds"].items(), key=lambda kv: -kv[1]), columns=["op kind", "count"])
    st.plotly_chart(op_kinds_figure(kinds), key="wl_kinds")
    with st.expander("describe() output"):
        st.json(d)
    st.subheader("Model zoo")
    st.dataframe(pd.DataFrame(workload_table()), hide_index=True)
