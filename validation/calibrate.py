"""Fit the efficiency parameters of each device family on the *fit* split only.

Usage::

    python -m validation.calibrate                 # fit, print the proposed efficiency blocks
    python -m validation.calibrate --apply         # also write them into hardware_specs/*.yaml

Staged, so every parameter is pinned by the evidence that is about it:

1. ``memory``: the achievable fraction of main-memory bandwidth, from bandwidth rows (BabelStream,
   bandwidthTest, reduction kernels);
2. ``compute``: the achievable fraction of matrix peak, from "max achievable" GEMM rows (MAMF)
   together with the family's large-batch model rows (inference, training, LLM generation): the
   GEMM rows alone would credit every kernel with MAMF-level efficiency;
3. ``op_overhead_us``: per-kernel launch / dispatch time, from batch-1 latency rows;
4. the framework dispatch time of eager stacks (one number for all GPUs), from eager batch-1 rows.

Each 1-D fit minimises the mean of min(0.5, |ln(predicted / measured)|) (a capped, outlier-robust
loss) by golden-section search in log space.
Test rows are never read here.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

from simulator.errors import SimulatorError
from simulator.spec.loader import SPEC_ROOT, catalogue

from . import predict as P
from .harness import kinds, map_rows
from .rows import MEASUREMENTS, Case, assign_splits, family_of, read_rows

OUT = Path(__file__).resolve().parent / "calibration.json"
# robust loss: a row off by more than a factor exp(0.5) = 1.65 counts as an outlier (a stack effect
# the model does not have), capped so it cannot drag a family's parameters
ROBUST_CAP = 0.5
BOUNDS = {"memory": (0.4, 1.0), "compute": (0.2, 1.0), "op_overhead_us": (0.5, 80.0), "dispatch_us": (1.0, 200.0)}


def _err(cases: list[Case], extra: dict, dispatch_us: float) -> float:
    errs = []
    for c in cases:
        try:
            p = P.predict(c, extra=extra, dispatch_us=dispatch_us)
        except SimulatorError:
            continue
        errs.append(min(ROBUST_CAP, abs(math.log(p.value / c.row.value))))
    return sum(errs) / len(errs) if errs else float("inf")


def golden(f, lo: float, hi: float, iters: int = 16) -> float:
    """Minimiser of ``f`` on [lo, hi], searched in log space (parameters are scale-like)."""
    a, b = math.log(lo), math.log(hi)
    g = (math.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(math.exp(c)), f(math.exp(d))
    for _ in range(iters):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(math.exp(d))
    return round(math.exp((a + b) / 2), 3)


def _stage_rows(cases: list[Case], stage: str) -> list[Case]:
    if stage == "memory":
        return [c for c in cases if c.category == "stream"]
    if stage == "compute":
        mamf = [c for c in cases if c.category == "gemm" and "max achievable" in c.row.workload.lower()]
        big = [c for c in cases if c.category in ("inference", "training", "llm")]
        # edge devices only publish batch-1 latency: there it is the evidence for compute
        return (mamf + big) or [c for c in cases if c.category == "latency"]
    if stage == "op_overhead_us":
        big = [c for c in cases if c.category in ("gemm", "inference", "training", "llm")]
        return [c for c in cases if c.category == "latency" and not c.eager] if big else []
    return []


def fit_family(cases: list[Case], dispatch_us: float) -> dict:
    """Staged fit of one family's parameters on its fit cases; ``fitted_to`` lists the row ids used."""
    params: dict[str, float] = {}
    used: dict[str, list[str]] = {}
    for stage in ("memory", "compute", "op_overhead_us"):
        rows = _stage_rows(cases, stage)
        if not rows:
            continue
        lo, hi = BOUNDS[stage]

        def f(x, stage=stage, rows=rows):
            return _err(rows, {**{f"efficiency.{k}": v for k, v in params.items()}, f"efficiency.{stage}": x},
                        dispatch_us)

        params[stage] = golden(f, lo, hi)
        used[stage] = sorted(c.row.id for c in rows)
    return {"params": params, "fitted_to": used}


def fit_all() -> dict:
    """Fit every family with fit rows, then the eager-framework dispatch time."""
    items = map_rows(read_rows(MEASUREMENTS))
    splits = assign_splits(items)
    fit = [c for c in items if isinstance(c, Case) and splits[c.row.id] == "fit"]
    fams: dict[str, list[Case]] = {}
    for c in fit:
        fams.setdefault(c.family, []).append(c)
    out: dict = {"families": {}, "split": "fit rows of validation.rows.assign_splits"}
    for fam, cs in sorted(fams.items()):
        out["families"][fam] = fit_family([c for c in cs if c.task != "power"], P.FRAMEWORK_DISPATCH_US)
    eager = [c for c in fit if c.eager and c.category == "latency"]
    if eager:
        def f(x):
            errs = []
            for c in eager:
                fam = out["families"].get(c.family, {}).get("params", {})
                p = P.predict(c, extra={f"efficiency.{k}": v for k, v in fam.items()}, dispatch_us=x)
                errs.append(abs(math.log(p.value / c.row.value)))
            return sum(errs) / len(errs)

        out["framework_dispatch_us"] = {"value": golden(f, *BOUNDS["dispatch_us"]),
                                        "fitted_to": sorted(c.row.id for c in eager)}
    return out


def efficiency_block(params: dict, fitted_to: dict, family: str) -> str:
    """YAML text of an ``efficiency:`` block."""
    ids = "; ".join(f"{k} <- {', '.join(v)}" for k, v in fitted_to.items())
    lines = ["efficiency:"]
    for key in ("compute", "vector", "memory", "op_overhead_us"):
        if key in params:
            lines.append(f"  {key}: {params[key]}")
    lines.append(f'  fitted_to: "validation.calibrate, family {family}, fit split of ../shared/calibration/'
                 f'measurements.csv: {ids}"')
    return "\n".join(lines) + "\n"


def apply_block(path: Path, block: str) -> None:
    """Replace (or append) the top-level ``efficiency:`` block of one YAML file (nothing else changes)."""
    text = path.read_text(encoding="utf-8")
    m = re.search(r"^efficiency:\n(?:[ \t]+.*\n?)*", text, re.M)
    if m:
        text = text[: m.start()] + block + text[m.end():]
    else:
        text = text.rstrip("\n") + "\n" + block
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m validation.calibrate", description=__doc__.splitlines()[0])
    ap.add_argument("--apply", action="store_true", help="write efficiency blocks into hardware_specs/")
    args = ap.parse_args(argv)
    res = fit_all()
    OUT.write_text(json.dumps(res, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    kd = kinds()
    for name, path in sorted(catalogue().items()):
        fam = family_of(name, kd[name])
        if fam not in res["families"] or not res["families"][fam]["params"]:
            continue
        from simulator.spec.loader import load_hardware

        current = load_hardware(name).efficiency
        params = {"compute": current.compute, "vector": current.vector, "memory": current.memory,
                  "op_overhead_us": current.op_overhead_us, **res["families"][fam]["params"]}
        block = efficiency_block(params, res["families"][fam]["fitted_to"], fam)
        print(f"# {path.relative_to(SPEC_ROOT.parent)}\n{block}")
        if args.apply:
            apply_block(path, block)
    print(json.dumps(res.get("framework_dispatch_us", {}), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
