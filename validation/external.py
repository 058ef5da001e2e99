"""Out-of-sample check: published measurements that are not in validation/data/ (never fitted).

Usage::

    python -m validation.external                          # print the table and the summaries
    python -m validation.external --write validation/EXTERNAL.md   (also `make validate-external`)

``validation/external_measurements.csv`` has the columns of measurements.csv, every row with its
source (repository, commit, file, table). Its rows are never read by ``validation.calibrate``: they
score the calibrated simulator the way a user's own published numbers would. Rows that duplicate a
measurements.csv row (same table cell) are left out of the file.

Each prediction is checked against the band every result of its device kind carries
(:mod:`simulator.uncertainty`, recorded by ``make validate`` from the fit split), so the coverage
printed here is an out-of-sample check of those bands.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from . import harness as H
from simulator import uncertainty

from .crossval import source_key
from .rows import read_rows
from .stats import Scored, summary

EXTERNAL = Path(__file__).resolve().parent / "external_measurements.csv"
COMMAND = "python -m validation.external --write validation/EXTERNAL.md"


def run(path: Path = EXTERNAL) -> tuple[H.Report, dict[str, str]]:
    """Score the external rows; returns (report, source document per row id)."""
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        sources = {r["id"]: source_key(r["source"]) for r in csv.DictReader(fh)}
    return H.run(read_rows(path)), sources


def _inside(s: Scored) -> bool:
    """Inside the band every result of its kind carries (recorded by ``make validate``)."""
    f = uncertainty.factor(s.kind)
    return f is not None and abs(s.log_error) <= math.log(f) + 1e-12


def render(rep: H.Report, sources: dict[str, str], *, command: str = COMMAND) -> str:
    """The report as Markdown."""
    lines = ["# Out-of-sample check: published measurements outside the calibration tables (validation/data/), never fitted", "",
             f"Produced by `{command}` (also `make validate-external`).", "",
             "Rows of `validation/external_measurements.csv` (each with its source), never used to fit any parameter:",
             "the simulator as calibrated on validation/data/ (every expressible row), scored on numbers it has not seen.",
             "Error, median and geo-mean as in `validation/REPORT.md`; *band*: the main report's per-kind band.", "",
             "| source (repository, file) / device kind | rows | median abs err % | geo-mean abs err % | inside band |", "|---|---:|---:|---:|---:|"]
    groups: dict[str, list[Scored]] = {}
    for s in rep.scored:
        groups.setdefault(sources.get(s.id, "?"), []).append(s)
    kinds = {f"**{k}** (all tables)": [s for s in rep.scored if s.kind == k] for k in sorted({s.kind for s in rep.scored})}
    for name, rows in list(groups.items()) + list(kinds.items()) + [("**all**", rep.scored)]:
        sm = summary(rows)
        inside = sum(_inside(s) for s in rows)
        lines.append(f"| {name} | {sm['n']} | {sm['median_pct']:.1f} | {sm['geomean_pct']:.1f} | {inside}/{len(rows)} |")
    lines += ["", "| id | device | workload | shape | metric | measured | predicted | error % | bound |",
              "|---|---|---|---|---|---:|---:|---:|---|"]
    for s in rep.scored:
        c = rep.cases[s.id]
        lines.append(f"| {s.id} | {s.hardware} x{c.row.n_devices or 1} | {s.workload} | {c.row.shape} | {s.metric} | "
                     f"{s.measured:,.4g} | {s.predicted:,.4g} | {100 * s.error:+.1f} | {s.bottleneck} |")
    if rep.refused:
        lines += ["", "Not expressible:", ""] + [f"* {u.row.id}: {u.reason}" for u in rep.refused]
    lines += ["", "Assumptions per row are those of the main harness (`validation/mapping.py`, "
              "`validation/cluster_rows.py`); rows with a stated request count use it."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m validation.external", description=__doc__.splitlines()[0])
    ap.add_argument("--write", type=Path, help="write the Markdown report here")
    args = ap.parse_args(argv)
    rep, sources = run()
    text = render(rep, sources)
    print(text)
    if args.write:
        args.write.write_text(text, encoding="utf-8")
        print(f"wrote {args.write}", file=sys.stderr)
        uncertainty.write_external(uncertainty.BANDS, [vars(s) for s in rep.scored])
        print(f"wrote the external rows into {uncertainty.BANDS}", file=sys.stderr)
    return 0 if rep.scored and all(math.isfinite(s.predicted) for s in rep.scored) else 1


if __name__ == "__main__":
    sys.exit(main())
