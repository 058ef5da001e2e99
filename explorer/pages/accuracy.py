"""Accuracy: how close the simulator came to published measurements, per device kind, and the band
every result carries (``sim.validation_rows``: calibration fit/test rows and never-fitted external rows)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

import simulator as sim
from explorer.charts import accuracy_figure
from explorer.share import init


def accuracy_table(rows: list[dict]) -> pd.DataFrame:
    """Validation rows with ``ratio`` (predicted / measured) and ``error %``.

    Example:
        >>> accuracy_table([{"id": "M1", "split": "test", "kind": "gpu", "hardware": "h", "workload": "w",
        ...                  "metric": "tflops", "measured": 100.0, "predicted": 110.0}])["error %"].tolist()
        [10.0]
    """
    df = pd.DataFrame(rows)
    df["ratio"] = df["predicted"] / df["measured"]
    df["error %"] = (100 * (df["ratio"] - 1)).round(1)
    df["predicted"] = df["predicted"].map(lambda v: float(f"{v:.4g}"))  # the measurement's own precision, about
    return df


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """Median and geometric-mean |error| per (kind, split), as validation/REPORT.md defines them."""
    out = []
    for (kind, split), g in df.groupby(["kind", "split"], sort=True):
        sm = sim.error_summary(g["ratio"].tolist())
        out.append({"kind": kind, "split": split, "rows": sm["n"], "median |err| %": round(sm["median_pct"], 1),
                    "geo-mean |err| %": round(sm["geomean_pct"], 1)})
    return pd.DataFrame(out)


def page_accuracy() -> None:
    st.title("Accuracy")
    st.caption("Every result carries its device kind's band (x/÷ the 80th percentile of the kind's cv errors). "
               "cv: rows of validation/data/, each predicted with parameters fitted without its source document "
               "(validation/REPORT.md); external: published rows outside it, never fitted (validation/EXTERNAL.md).")
    rows = sim.validation_rows()
    if not rows:
        st.info("No validation results on record: run `make validate` (and `make validate-external`).")
        return
    df = accuracy_table(rows)
    st.dataframe(summary_table(df), hide_index=True)
    kinds = sorted(df["kind"].unique())
    init("acc_kind", "gpu" if "gpu" in kinds else kinds[0], kinds)
    kind = st.selectbox("Device kind", kinds, key="acc_kind")
    part = df[df["kind"] == kind]
    band = sim.validation_band(kind)
    f = band["factor"] if band else None
    pooled = bool(band) and not band["measured"]
    if f:
        st.metric(f"Band for {kind} results", f"x/÷ {f:.2f}" + (" (pooled)" if pooled else ""),
                  help=("Too few fitted rows of this kind for a band of its own: this is the factor pooled over "
                        "every kind's rows" if pooled
                        else f"80 % of the {kind} rows, each predicted without its source document, fell within it"))
        if pooled:
            st.info(f"{kind} has too few fitted rows for a band of its own: its results carry the band pooled over "
                    "every kind.")
    st.plotly_chart(accuracy_figure(part, f, pooled), key="acc_fig")
    st.dataframe(part.drop(columns=["ratio"]).sort_values("error %", key=abs, ascending=False), hide_index=True)
