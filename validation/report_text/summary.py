"""REPORT.md's summary: the issue's goal and whether it is met, the error table per device kind and
view, and the uncertainty band per kind."""
from __future__ import annotations

import math

from ..stats import MIN_BAND_ROWS
from .tables import fmt

GOAL = {"overall": 10.0, "per_kind": 15.0, "p90": 35.0, "min_rows": 10}
VIEW_TITLES = {"cv": "leave-one-source-out (headline)", "test": "fixed split, test rows", "in-sample": "in-sample"}


def summary_lines(rep) -> list[str]:
    summ = rep.summary
    cv = summ.get(("overall", "cv"), {})
    kinds = sorted({k for (k, v) in summ if k != "overall" and v == "cv"})
    per_kind = {k: summ[(k, "cv")] for k in kinds}
    short = [k for k, v in per_kind.items() if v["n"] < GOAL["min_rows"]]
    worst = max((v["median_pct"] for v in per_kind.values()), default=float("nan"))
    met = (cv.get("median_pct", 99) <= GOAL["overall"] and worst <= GOAL["per_kind"]
           and cv.get("p90_pct", 999) <= GOAL["p90"] and not short)
    status = (f"**Goal** (issue): leave-one-source-out median |err| <= {GOAL['overall']:.0f} % overall and <= "
              f"{GOAL['per_kind']:.0f} % for each device kind with >= {GOAL['min_rows']} rows, p90 <= "
              f"{GOAL['p90']:.0f} %. Now: {fmt(cv.get('median_pct', float('nan')))} % overall, p90 "
              f"{fmt(cv.get('p90_pct', float('nan')))} %, worst kind {fmt(worst)} %"
              + (f", kinds under {GOAL['min_rows']} rows: {', '.join(short)}" if short else "")
              + f": {'met' if met else '**not met**'}.")
    lines = [status, "", "| device kind | view | rows | median abs err % | p90 abs err % | geo-mean abs err % |",
             "|---|---|---:|---:|---:|---:|"]
    for (kind, view), v in sorted(summ.items(), key=lambda kv: (kv[0][0] == "overall", kv[0][0],
                                                               list(VIEW_TITLES).index(kv[0][1]))):
        lines.append(f"| {kind} | {VIEW_TITLES[view]} | {v['n']} | {fmt(v['median_pct'])} | "
                     f"{fmt(v['p90_pct'])} | {fmt(v['geomean_pct'])} |")
    lines += ["", "### Uncertainty bands (from the leave-one-source-out errors)", "",
              "| device kind | band (x/÷) | rows behind it |", "|---|---:|---:|"]
    for k in kinds:
        q = rep.bands.get(k, rep.bands.get("_pooled", float("nan")))
        pooled = per_kind[k]["n"] < MIN_BAND_ROWS
        lines.append(f"| {k} | {math.exp(q):.2f}{' (pooled)' if pooled else ''} | {per_kind[k]['n']} |")
    return lines
