"""Score simulator predictions against the published measurements in validation/data/.

Usage::

    python -m validation.harness                       # print the table and the summaries
    python -m validation.harness --write validation/REPORT.md
    python -m validation.harness --rows M001,M027      # a subset

Every row is either predicted or listed with the reason it cannot be expressed yet.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from simulator.errors import SimulatorError
from simulator.spec.loader import catalogue, load_hardware

from .mapping import map_row
from .predict import predict
from .rows import Case, Row, Unexpressible, assign_splits, read_calibration
from .stats import Scored, bands, table

COMMAND = "python -m validation.harness --write validation/REPORT.md"


@dataclass
class Report:
    """Everything the harness computed: scored rows, refused rows, the cases, band widths."""

    scored: list[Scored] = field(default_factory=list)
    refused: list[Unexpressible] = field(default_factory=list)
    cases: dict[str, Case] = field(default_factory=dict)
    bands: dict[str, float] = field(default_factory=dict)
    splits: dict[str, str] = field(default_factory=dict)

    @property
    def summary(self) -> dict:
        return table(self.scored)


def kinds() -> dict[str, str]:
    return {name: load_hardware(name).kind for name in catalogue()}


def map_rows(rows: list[Row]) -> list[Case | Unexpressible]:
    """Map each row (see :func:`validation.mapping.map_row`)."""
    cat, kd = catalogue(), kinds()
    return [map_row(r, cat, kd) for r in rows]


def score(case: Case, split: str, **kwargs) -> Scored:
    """Predict one case and pair it with its measurement.

    Raises:
        SimulatorError: the simulator refuses the scenario.
    """
    p = predict(case, **kwargs)
    if not (math.isfinite(p.value) and p.value > 0):
        raise SimulatorError(f"non-finite or non-positive prediction {p.value}")
    r = case.row
    return Scored(id=r.id, device=r.device, hardware=case.hardware, kind=case.kind, family=case.family,
                  workload=r.workload, metric=r.metric, split=split, category=case.category,
                  measured=r.value, predicted=p.value, bottleneck=p.bottleneck)


def _trial_overrides(case: Case, trial: dict | None) -> dict:
    params = (trial or {}).get("families", {}).get(case.family, {}).get("params", {})
    return {f"efficiency.{k}": v for k, v in params.items()}


def run(rows: list[Row] | None = None, *, ids: set[str] | None = None, trial: dict | None = None) -> Report:
    """Map, predict and score ``rows`` (every calibration row by default; ``ids`` selects a subset).

    ``trial``: calibration results (validation/calibration.json) applied as what-if overrides, to
    score a fit before it is written into the specs.
    """
    rows = read_calibration() if rows is None else rows
    items = map_rows(rows)
    splits = assign_splits(items)  # from every row, so a subset run keeps each row's split
    rep = Report(splits=splits)
    for item in items:
        if ids and item.row.id not in ids:
            continue
        if isinstance(item, Unexpressible):
            rep.refused.append(item)
            continue
        try:
            rep.scored.append(score(item, splits[item.row.id], extra=_trial_overrides(item, trial)))
            rep.cases[item.row.id] = item
        except SimulatorError as exc:
            rep.refused.append(Unexpressible(row=item.row, reason=f"simulator refused: {exc}", kind=item.kind))
    rep.bands = bands(rep.scored)
    return rep


def render(rep: Report, *, command: str = COMMAND) -> str:
    """The report as Markdown."""
    from .report_text import render_markdown

    return render_markdown(rep, command=command)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m validation.harness", description=__doc__.splitlines()[0])
    ap.add_argument("--write", type=Path, help="write the Markdown report here")
    ap.add_argument("--rows", help="comma-separated row ids (default: all)")
    ap.add_argument("--trial", type=Path, help="apply a calibration JSON as overrides (before writing specs)")
    args = ap.parse_args(argv)
    ids = set(args.rows.split(",")) if args.rows else None
    trial = json.loads(args.trial.read_text()) if args.trial else None
    rep = run(ids=ids, trial=trial)
    text = render(rep)
    print(text)
    if args.write:
        args.write.write_text(text, encoding="utf-8")
        print(f"wrote {args.write}", file=sys.stderr)
        if ids is None and trial is None:  # the bands every simulation result carries (simulator.uncertainty)
            from simulator import uncertainty

            from .stats import BAND_QUANTILE, coverage

            uncertainty.write(uncertainty.BANDS, q=rep.bands, coverage=coverage(rep.scored, rep.bands),
                              quantile=BAND_QUANTILE, source="fit split of validation/data/*.csv "
                              f"({COMMAND}; validation/REPORT.md)", rows=[vars(s) for s in rep.scored])
            print(f"wrote {uncertainty.BANDS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
