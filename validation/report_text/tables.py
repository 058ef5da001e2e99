"""REPORT.md's per-row tables: every predicted row (in-sample and out-of-fold error), the multi-device
rows, each row's assumptions, and the rows not expressible yet with their reasons."""
from __future__ import annotations

import math


def fmt(x: float) -> str:
    """A value as the report prints it: thousands grouped, one decimal from 10, three significant digits below."""
    if not math.isfinite(x):
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def row_tables(rep) -> list[str]:
    """The per-row sections of the report, from its ``Report`` (validation.harness)."""
    lines = ["", "## Predicted rows", "",
             "In-sample prediction (shipped parameters) and its error; *cv error*: the row predicted out of "
             "fold (parameters fitted without its source document).", "",
             "| id | split | device | workload | metric | measured | predicted | error % | cv error % | bound |",
             "|---|---|---|---|---|---:|---:|---:|---:|---|"]
    for r in sorted(rep.scored, key=lambda r: r.id):
        f = rep.cv.get(r.id)
        cv = f"{100 * (f.value / r.measured - 1):+.1f}" if f is not None and f.value else "-"
        lines.append(f"| {r.id} | {r.split} | {r.hardware} | {r.workload[:48]} | {r.metric} | {fmt(r.measured)} | "
                     f"{fmt(r.predicted)} | {100 * r.error:+.1f} | {cv} | {r.bottleneck} |")
    multi = [r for r in sorted(rep.scored, key=lambda r: r.id) if rep.cases[r.id].devices > 1]
    if multi:
        lines += ["", "### Multi-device rows", "",
                  "| id | split | devices | system | layout | metric | measured | predicted | error % |",
                  "|---|---|---:|---|---|---|---:|---:|---:|"]
        for r in multi:
            c = rep.cases[r.id]
            lines.append(f"| {r.id} | {r.split} | {c.devices} | {c.system} | {c.parallelism or c.collective[0]} | "
                         f"{r.metric} | {fmt(r.measured)} | {fmt(r.predicted)} | {100 * r.error:+.1f} |")
    assumed = [(rid, c.assumptions) for rid, c in sorted(rep.cases.items()) if c.assumptions]
    if assumed:
        lines += ["", "### Assumptions per row", ""]
        lines += [f"* **{rid}**: " + "; ".join(a) for rid, a in assumed]
    by_reason: dict[str, int] = {}
    for u in rep.refused:
        key = u.reason.split(":")[0] if u.reason.startswith(("no spec", "workload")) else u.reason
        key = "no spec for the device" if key.startswith("no spec") else key
        key = "workload not in the zoo" if key.startswith("workload") else key
        by_reason[key] = by_reason.get(key, 0) + 1
    lines += ["", "## Rows not expressible yet", "",
              f"{len(rep.refused)} of {len(rep.refused) + len(rep.scored)} rows; by reason:", ""]
    lines += [f"* {n} x {reason}" for reason, n in sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))]
    lines += ["", "| id | split | device | workload | metric | reason |",
              "|---|---|---|---|---|---|"]
    for u in sorted(rep.refused, key=lambda u: u.row.id):
        r = u.row
        lines.append(f"| {r.id} | {rep.splits.get(r.id, '-')} | {r.device[:40]} | {r.workload[:48]} | {r.metric} | {u.reason} |")
    lines.append("")
    return lines
