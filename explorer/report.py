"""Export: comparison tables as CSV, and a one-page HTML report of what the current page shows.

Pages add what they show (headline numbers, tables, notes) with :func:`add_metrics`, :func:`add_table`
and :func:`add_note` as they draw it; the sidebar's share box turns it into :func:`html_report` at the
end of the run. No Streamlit calls here except the per-run list in ``st.session_state``.
"""
from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Any

import pandas as pd
import streamlit as st

KEY = "_report_sections"


def start_run() -> None:
    st.session_state[KEY] = []


def _sections() -> list[dict[str, Any]]:
    return st.session_state.setdefault(KEY, [])


def add_metrics(title: str, metrics: list[tuple[str, str]]) -> None:
    """Headline numbers (label, formatted value) under ``title``."""
    _sections().append({"title": title, "metrics": list(metrics)})


def add_table(title: str, df: pd.DataFrame, grey: list[bool] | None = None) -> None:
    """A table (already in display units) under ``title``; ``grey`` rows (cannot run) are greyed."""
    _sections().append({"title": title, "table": df.copy(), "grey": grey})


def _table_html(df: pd.DataFrame, grey: list[bool] | None) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(str(c))}</th>" for c in df.columns)
    rows = []
    for i, row in enumerate(df.itertuples(index=False)):
        cls = " class='x'" if grey and i < len(grey) and grey[i] else ""
        rows.append(f"<tr{cls}>" + "".join(f"<td>{esc('n/a' if v is None else str(v))}</td>" for v in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def add_note(text: str) -> None:
    _sections().append({"note": text})


CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:18px 0 6px;border-bottom:1px solid #ddd}
.sub{color:#666;font-size:13px}.m{display:inline-block;margin:4px 18px 4px 0;vertical-align:top}
.m b{display:block;font-size:11px;color:#666;font-weight:normal}.m span{font-size:17px}
table{border-collapse:collapse;font-size:12px;margin:4px 0}td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.note{font-size:12px;color:#444;margin:6px 0}
tr.x td{color:#999;font-style:italic}
@media print{body{margin:8mm}}"""


def html_report(page: str, scenario: str, sections: list[dict[str, Any]] | None = None) -> str:
    """A self-contained one-page HTML report (no scripts, no external files) of ``sections``.

    Example:
        >>> t = pd.DataFrame({"device": ["H100", "FPGA"], "status": ["ok", "cannot train"]})
        >>> text = html_report("Simulate", "resnet50 · training", [{"title": "H100", "metrics": [("Step time", "48 ms")]},
        ...                                                         {"title": "All", "table": t, "grey": [False, True]}])
        >>> "<h2>H100</h2>" in text and "48 ms" in text and "<tr class='x'><td>FPGA</td>" in text and "<script" not in text
        True
    """
    sections = _sections() if sections is None else sections
    esc = html.escape
    out = ["<!doctype html><html><head><meta charset='utf-8'>", f"<title>accsim report: {esc(page)}</title>",
           f"<style>{CSS}</style></head><body>", f"<h1>accsim: {esc(page)}</h1>",
           f"<div class='sub'>{esc(scenario)} · {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC</div>"]
    for s in sections:
        if "note" in s:
            out.append(f"<p class='note'>{esc(s['note'])}</p>")
            continue
        out.append(f"<h2>{esc(s['title'])}</h2>")
        if "metrics" in s:
            out.append("".join(f"<div class='m'><b>{esc(k)}</b><span>{esc(v)}</span></div>" for k, v in s["metrics"]))
        if "table" in s:
            out.append(_table_html(s["table"], s.get("grey")))
    out.append("<p class='sub'>Simulated by accsim. Ranges after a number are the validation band of the device "
               "kind (80 % of the published rows it was fitted on fell within it). Greyed rows cannot run (the "
               "status says why) and are never ranked. Costs: the device's cloud "
               "on-demand rate, or its purchase price over 3 years of continuous use, as each spec's source "
               "states.</p></body></html>")
    return "\n".join(out)
