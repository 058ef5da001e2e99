"""How far a prediction may be from the real device: the validation's error band, per device kind.

``uncertainty.json`` (next to this module) is written by ``make validate``
(``python -m validation.harness --write ...``): for each device kind, the factor ``f`` such that
80 % of the calibration rows the efficiency parameters were fitted on lie within predicted x/÷ f,
and how often held-out rows landed inside. A result's band is ``(value / f, value * f)``. Kinds
without enough fitted rows (CPUs have none) take the factor pooled over all kinds. Without the
file (a fresh checkout before ``make validate``) no band is claimed.
"""
from __future__ import annotations

import functools
import json
import math
from pathlib import Path

BANDS = Path(__file__).resolve().with_name("uncertainty.json")
# a kind needs this many fitted rows for a band of its own; with fewer it takes the pooled factor
# (validation/stats.py writes the factors by this rule)
MIN_BAND_ROWS = 3
FITTED_SPLITS = ("cv", "fit")


@functools.lru_cache(maxsize=1)
def _table() -> dict:
    try:
        data = json.loads(BANDS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    factors = data.get("factor", {})
    numbers = list(factors.values()) + [data.get("pooled", 1.0)] if isinstance(factors, dict) else [None]
    ok = all(isinstance(v, (int, float)) and math.isfinite(v) and v >= 1.0 for v in numbers)
    keys = set(ROW_KEYS)
    ok = ok and all(isinstance(data.get(part, []), list)
                    and all(isinstance(r, dict) and keys <= set(r) for r in data.get(part, []))
                    for part in ("rows", "external_rows"))
    return data if ok else {}


def factor(kind: str) -> float | None:
    """The x/÷ band factor for a device kind, or None when no validation band is on record.

    Example:
        >>> f = factor("gpu")
        >>> f is None or f >= 1.0
        True
    """
    t = _table()
    if not t:
        return None
    return t["factor"].get(kind, t.get("pooled"))


def measured(kind: str) -> bool:
    """True when the band of ``kind`` comes from its own validation rows, False when it is the factor
    pooled over every kind (a kind with fewer than :data:`MIN_BAND_ROWS` fitted rows: the validation
    writes the pooled factor under the kind's name then, so the name alone does not tell).

    Example:
        >>> measured("no-such-kind")
        False
    """
    t = _table()
    if kind not in t.get("factor", {}):
        return False
    fitted = [r.get("kind") for r in t.get("rows", []) if r.get("split") in FITTED_SPLITS]
    return not fitted or fitted.count(kind) >= MIN_BAND_ROWS  # a file without its rows: trust the name


def band(value: float, kind: str) -> tuple[float, float] | None:
    """(low, high) for ``value`` predicted on a device of ``kind``, or None without a band.

    Example:
        >>> lo_hi = band(2.0, "gpu")
        >>> lo_hi is None or lo_hi[0] <= 2.0 <= lo_hi[1]
        True
    """
    f = factor(kind)
    if f is None or not math.isfinite(value):
        return None
    return value / f, value * f


def error_summary(ratios: list[float]) -> dict[str, float]:
    """n, median |error| %, 90th-percentile |error| % and geometric-mean |error| % of predicted /
    measured ratios (the definitions of validation/REPORT.md: median and 90th percentile, linearly
    interpolated, of |ratio - 1|; exp(mean |ln ratio|) - 1).

    Example:
        >>> s = error_summary([1.1, 0.8, 1.0])
        >>> s["n"], round(s["median_pct"], 1), round(s["p90_pct"], 1), round(s["geomean_pct"], 1)
        (3, 10.0, 18.0, 11.2)
    """
    if not ratios:
        return {"n": 0, "median_pct": float("nan"), "p90_pct": float("nan"), "geomean_pct": float("nan")}
    errs = sorted(abs(r - 1.0) for r in ratios)

    def pct(q: float) -> float:
        pos = q * (len(errs) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(errs) - 1)
        return errs[lo] + (errs[hi] - errs[lo]) * (pos - lo)

    geo = math.exp(sum(abs(math.log(r)) for r in ratios) / len(ratios)) - 1.0
    return {"n": len(ratios), "median_pct": 100 * pct(0.5), "p90_pct": 100 * pct(0.9), "geomean_pct": 100 * geo}


ROW_KEYS = ("id", "split", "kind", "hardware", "workload", "metric", "measured", "predicted")


def write(path: Path, *, q: dict[str, float], coverage: dict[str, tuple[int, int]], quantile: float,
          source: str, rows: list[dict] | None = None) -> None:
    """Record the band factors ``exp(q)`` (``q`` in ln units per kind, ``_pooled`` for the rest) and
    the scored calibration rows; rows scored by the out-of-sample check (:func:`write_external`) are kept."""
    old = _read(path)
    data = {"quantile": quantile, "fitted_on": source,
            "factor": {k: round(math.exp(v), 4) for k, v in sorted(q.items()) if not k.startswith("_")},
            "pooled": round(math.exp(q.get("_pooled", 0.0)), 4),
            "test_coverage": {k: {"inside": a, "rows": b} for k, (a, b) in sorted(coverage.items())},
            "rows": [_row(r) for r in rows or []], "external_rows": old.get("external_rows", [])}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    _table.cache_clear()


def write_external(path: Path, rows: list[dict]) -> None:
    """Record the rows of the out-of-sample check (``python -m validation.external --write``)."""
    data = _read(path)
    data["external_rows"] = [_row({**r, "split": "external"}) for r in rows]
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    _table.cache_clear()


def rows() -> list[dict]:
    """Every scored validation row on record: ``split`` is fit, test (validation/data/) or
    external (published rows never fitted); values in the row's own ``metric``.

    Example:
        >>> all(r["measured"] > 0 and r["predicted"] > 0 for r in rows())
        True
    """
    t = _table()
    return [dict(r) for r in t.get("rows", []) + t.get("external_rows", [])]


def _row(r: dict) -> dict:
    return {k: (round(float(r[k]), 6) if k in ("measured", "predicted") else str(r[k])) for k in ROW_KEYS}


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
