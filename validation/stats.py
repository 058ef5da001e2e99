"""Error statistics and uncertainty bands.

Definitions (stated in the report):
- error % = (predicted - measured) / measured x 100, signed;
- median absolute error = median of |error %|;
- geometric-mean absolute error = exp(mean |ln(predicted / measured)|) - 1, in %: the typical
  factor by which a prediction is off, symmetric for over- and under-prediction;
- band: predicted x/÷ exp(q), q = the 80th percentile of |ln(predicted / measured)| over the fit rows
  of the same device kind (pooled over all kinds when a kind has fewer than MIN_BAND_ROWS fit rows).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.uncertainty import MIN_BAND_ROWS  # one rule for the writer (here) and the reader

BAND_QUANTILE = 0.8


@dataclass(frozen=True)
class Scored:
    """One predicted row: ids, group keys, measured and predicted values."""

    id: str
    device: str
    hardware: str
    kind: str
    family: str
    workload: str
    metric: str
    split: str
    category: str
    measured: float
    predicted: float
    bottleneck: str

    @property
    def error(self) -> float:
        return (self.predicted - self.measured) / self.measured

    @property
    def log_error(self) -> float:
        return math.log(self.predicted / self.measured)


def quantile(xs: list[float], q: float) -> float:
    """Linear-interpolated quantile (numpy's default method)."""
    s = sorted(xs)
    if not s:
        return float("nan")
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def summary(rows: list[Scored]) -> dict[str, float]:
    """n, median |error| %, geometric-mean |error| % of a group."""
    from simulator.uncertainty import error_summary

    return error_summary([r.predicted / r.measured for r in rows])


VIEWS = ("cv", "test", "in-sample", "fit")


def table(rows: list[Scored]) -> dict[tuple[str, str], dict[str, float]]:
    """Summary per (kind or 'overall', split), for every split present (in :data:`VIEWS` order)."""
    out = {}
    kinds = sorted({r.kind for r in rows})
    for split in [v for v in VIEWS if any(r.split == v for r in rows)]:
        part = [r for r in rows if r.split == split]
        for k in kinds:
            out[(k, split)] = summary([r for r in part if r.kind == k])
        out[("overall", split)] = summary(part)
    return out


def bands(rows: list[Scored]) -> dict[str, float]:
    """Half-width q (in ln units) of the band per device kind, from ``rows`` (the out-of-fold
    predictions when cross-validation ran; the fixed split's fit rows otherwise)."""
    fit = [r for r in rows if r.split in ("cv", "fit")]
    pooled = quantile([abs(r.log_error) for r in fit], BAND_QUANTILE) if fit else 0.5
    out = {"_pooled": pooled}
    for k in sorted({r.kind for r in rows}):
        errs = [abs(r.log_error) for r in fit if r.kind == k]
        out[k] = quantile(errs, BAND_QUANTILE) if len(errs) >= MIN_BAND_ROWS else pooled
    return out


def coverage(rows: list[Scored], q: dict[str, float], split: str = "test") -> dict[str, tuple[int, int]]:
    """(inside band, total) per kind and overall on ``split``."""
    out: dict[str, tuple[int, int]] = {}
    part = [r for r in rows if r.split == split]
    for k in sorted({r.kind for r in part}) + ["overall"]:
        sel = part if k == "overall" else [r for r in part if r.kind == k]
        inside = sum(1 for r in sel if abs(r.log_error) <= q.get(r.kind, q["_pooled"]) + 1e-12)
        out[k] = (inside, len(sel))
    return out
