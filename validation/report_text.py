"""Markdown rendering of a validation :class:`~validation.harness.Report`."""
from __future__ import annotations

import math

from .stats import BAND_QUANTILE, MIN_BAND_ROWS, coverage

INTRO = """\
Predictions of `accsim` scored against the published measurements in
`../shared/calibration/measurements.csv` (each row's source and trust tag are there).

* **Split** (fixed, documented in `validation.rows.assign_splits`): rows are grouped into strata by
  (device kind, category: gemm, stream, latency, inference, training, llm, power); within a stratum,
  in id order, rows alternate *fit*, *test*, *fit*, ... Efficiency parameters are fitted on fit rows
  only (`python -m validation.calibrate`); test rows are never used for fitting. Stratified rather
  than id parity, because the ids come in vendor pairs and parity puts whole categories (every
  batch-1 latency row) on one side.
* **Error** = (predicted - measured) / measured. **Median |err|** is the median of its absolute
  value; **geo-mean |err|** = exp(mean |ln(pred/meas)|) - 1.
* **Band**: prediction x/÷ exp(q), q = {q:.0f}th percentile of |ln(pred/meas)| over the fit rows of
  the same device kind (pooled over kinds when a kind has fewer than {n} fit rows). Coverage is
  reported on the test split.
* Data-parallel rows within one node (n_devices <= 8) are simulated as n independent devices:
  gradient all-reduce is not modelled until the scale-out feature lands, so those rows lean high.
"""


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def render_markdown(rep, *, command: str) -> str:
    lines = ["# Validation report", "", f"Produced by `{command}` (also `make validate`).", "",
             INTRO.format(q=100 * BAND_QUANTILE, n=MIN_BAND_ROWS), "## Summary", "",
             "| device kind | split | rows | median abs err % | geo-mean abs err % |", "|---|---|---:|---:|---:|"]
    summ = rep.summary
    for (kind, split), s in sorted(summ.items(), key=lambda kv: (kv[0][0] == "overall", kv[0][0], kv[0][1])):
        lines.append(f"| {kind} | {split} | {s['n']} | {_fmt(s['median_pct'])} | {_fmt(s['geomean_pct'])} |")
    cov = coverage(rep.scored, rep.bands)
    lines += ["", "### Uncertainty bands (test-split coverage)", "",
              "| device kind | band (x/÷) | test rows inside band |", "|---|---:|---:|"]
    for k, (inside, total) in cov.items():
        q = rep.bands.get(k, rep.bands.get("_pooled", float("nan"))) if k != "overall" else float("nan")
        band = f"{math.exp(q):.2f}" if math.isfinite(q) else "per kind"
        lines.append(f"| {k} | {band} | {inside}/{total} |")
    lines += ["", "## Predicted rows", "",
              "| id | split | device | workload | metric | measured | predicted | band | error % | bound |",
              "|---|---|---|---|---|---:|---:|---|---:|---|"]
    for r in sorted(rep.scored, key=lambda r: r.id):
        q = rep.bands.get(r.kind, rep.bands.get("_pooled", 0.0))
        lo, hi = r.predicted * math.exp(-q), r.predicted * math.exp(q)
        lines.append(f"| {r.id} | {r.split} | {r.hardware} | {r.workload[:48]} | {r.metric} | {_fmt(r.measured)} | "
                     f"{_fmt(r.predicted)} | {_fmt(lo)}-{_fmt(hi)} | {100 * r.error:+.1f} | {r.bottleneck} |")
    assumed = [(rid, c.assumptions) for rid, c in sorted(rep.cases.items()) if c.assumptions]
    if assumed:
        lines += ["", "### Assumptions per row", ""]
        lines += [f"* **{rid}**: " + "; ".join(a) for rid, a in assumed]
    lines += ["", "## Rows not expressible yet", "", "| id | split | device | workload | metric | reason |",
              "|---|---|---|---|---|---|"]
    for u in sorted(rep.refused, key=lambda u: u.row.id):
        r = u.row
        lines.append(f"| {r.id} | {rep.splits.get(r.id, '-')} | {r.device[:40]} | {r.workload[:48]} | {r.metric} | {u.reason} |")
    lines.append("")
    return "\n".join(lines)
