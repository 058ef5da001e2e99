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
from dataclasses import dataclass, field, replace
from pathlib import Path

from simulator.errors import SimulatorError

from .crossval import Fold, Folds, fixed_split, leave_one_source_out
from .mapping import kinds, map_rows  # noqa: F401 - kinds is part of the harness's API
from .predict import Predictor
from .cases import Case, Unexpressible
from .rows import Row, read_calibration
from .splits import assign_splits
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
    cv: dict[str, Fold] = field(default_factory=dict)          # leave-one-source-out, per row id
    fixed: dict[str, Fold] = field(default_factory=dict)       # test rows, fitted on fit rows only

    def held_out(self, folds: dict[str, Fold], split: str) -> list[Scored]:
        """The scored rows with their out-of-fold predictions (rows a fold could not predict left out)."""
        return [replace(s, predicted=folds[s.id].value, split=split) for s in self.scored
                if s.id in folds and folds[s.id].value]

    @property
    def summary(self) -> dict:
        """Summary per (kind, view): ``cv`` (leave-one-source-out, the headline), ``test`` (fixed
        split, fitted on fit rows only) and ``in-sample`` (the shipped parameters, fitted on every row)."""
        return table(self.held_out(self.cv, "cv") + self.held_out(self.fixed, "test")
                     + [replace(s, split="in-sample") for s in self.scored])


def score(case: Case, split: str, predictor: Predictor, **kwargs) -> Scored:
    """Predict one case and pair it with its measurement.

    Raises:
        SimulatorError: the simulator refuses the scenario.
    """
    p = predictor(case, **kwargs)
    if not (math.isfinite(p.value) and p.value > 0):
        raise SimulatorError(f"non-finite or non-positive prediction {p.value}")
    r = case.row
    return Scored(id=r.id, device=r.device, hardware=case.hardware, kind=case.kind, family=case.family,
                  workload=r.workload, metric=r.metric, split=split, category=case.category,
                  measured=r.value, predicted=p.value, bottleneck=p.bottleneck)


def _trial_overrides(case: Case, trial: dict | None) -> dict:
    params = (trial or {}).get("families", {}).get(case.family, {}).get("params", {})
    return {f"efficiency.{k}": v for k, v in params.items()}


def run(rows: list[Row] | None = None, *, ids: set[str] | None = None, trial: dict | None = None,
        crossval: bool = False) -> Report:
    """Map, predict and score ``rows`` (every calibration row by default; ``ids`` selects a subset).

    ``trial``: calibration results (validation/calibration.json) applied as what-if overrides, to
    score a fit before it is written into the specs. ``crossval``: also predict every row out of
    fold, leave-one-source-out, and the test rows from a fit on the fit rows (:mod:`validation.crossval`).
    """
    rows = read_calibration() if rows is None else rows
    items = map_rows(rows)
    splits = assign_splits(items)  # from every row, so a subset run keeps each row's split
    rep = Report(splits=splits)
    predictor = Predictor()
    for item in items:
        if ids and item.row.id not in ids:
            continue
        if isinstance(item, Unexpressible):
            rep.refused.append(item)
            continue
        try:
            rep.scored.append(score(item, splits[item.row.id], predictor, extra=_trial_overrides(item, trial)))
            rep.cases[item.row.id] = item
        except SimulatorError as exc:
            rep.refused.append(Unexpressible(row=item.row, reason=f"simulator refused: {exc}", kind=item.kind))
    if crossval:
        folds = Folds(list(rep.cases.values()), predictor)
        rep.cv = leave_one_source_out(list(rep.cases.values()), folds)
        rep.fixed = fixed_split(list(rep.cases.values()), splits, folds)
    rep.bands = bands(rep.held_out(rep.cv, "cv") if rep.cv else rep.scored)
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
    rep = run(ids=ids, trial=trial, crossval=ids is None and trial is None)
    text = render(rep)
    print(text)
    if args.write:
        args.write.write_text(text, encoding="utf-8")
        print(f"wrote {args.write}", file=sys.stderr)
        if ids is None and trial is None:  # the bands every simulation result carries (simulator.uncertainty)
            from simulator import uncertainty

            from .stats import BAND_QUANTILE, coverage

            uncertainty.write(uncertainty.BANDS, q=rep.bands, coverage=coverage(rep.held_out(rep.fixed, "test"), rep.bands),
                              quantile=BAND_QUANTILE, source="leave-one-source-out errors of validation/data/*.csv "
                              f"({COMMAND}; validation/REPORT.md)",
                              rows=[vars(s) for s in rep.held_out(rep.cv, "cv")])
            print(f"wrote {uncertainty.BANDS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
