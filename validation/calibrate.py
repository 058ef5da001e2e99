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


POWER_LIMITED = 0.97  # a max-achievable GEMM runs at (just under) the device's power limit


def _energy_overrides(case: Case, scale: float, params: dict) -> dict:
    from simulator.spec.loader import load_hardware

    hw = load_hardware(case.hardware)
    extra = {f"efficiency.{k}": v for k, v in params.items()}
    extra["power.energy_pj_per_flop"] = {k.value: v * scale for k, v in hw.power.energy_pj_per_flop.items()}
    return extra


def fit_energy(cases: list[Case], params: dict) -> dict | None:
    """Scale of a family's ``power.energy_pj_per_flop`` (all precisions together, keeping the spec's
    ratios) so that measured power rows are met and a max-achievable GEMM draws the power limit.

    Power rows (category ``power``): the predicted watts match the measurement. MAMF rows: the
    GEMM's predicted power reaches POWER_LIMITED x TDP (GPUs hold their clocks at the power limit
    in such runs). Each row gives a scale by bisection; the family takes their median.
    """
    from simulator.spec.loader import load_hardware

    scales, used = [], []
    for c in cases:
        mamf = c.category == "gemm" and "max achievable" in c.row.workload.lower()
        if c.category != "power" and not mamf:
            continue
        hw = load_hardware(c.hardware, dict(c.overrides) or None)
        target = c.row.value if c.category == "power" else POWER_LIMITED * hw.power.tdp_w

        def watts(scale, c=c):
            p = P.predict(c, extra=_energy_overrides(c, scale, params))
            return p.value if c.category == "power" else p.power_w

        lo, hi = 0.05, 20.0
        if not (watts(lo) <= target <= watts(hi)):
            continue
        for _ in range(30):
            mid = math.sqrt(lo * hi)
            lo, hi = (mid, hi) if watts(mid) < target else (lo, mid)
        scales.append(math.sqrt(lo * hi))
        used.append(c.row.id)
    if not scales:
        return None
    scales.sort()
    return {"scale": round(scales[len(scales) // 2], 3), "fitted_to": used}


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
        energy = fit_energy(cs, out["families"][fam]["params"])
        if energy:
            out["families"][fam]["energy"] = energy
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


# An energy scale is applied only if, after it, running the matrix peak at the main precision needs
# at most this many times the power headroom (TDP - idle): a device may throttle at peak (H100 FP8
# does), but a fit that implies far more (a weak proxy row) is reported and not applied.
MAX_PEAK_POWER_RATIO = 2.0


def energy_plausible(name: str, scale: float) -> tuple[bool, float]:
    """(apply?, peak power / headroom) for scaling ``name``'s energy per FLOP by ``scale``."""
    from simulator.cost.peaks import matrix_flops_per_s
    from simulator.spec.loader import load_hardware
    from simulator.spec.models import lookup
    from simulator.units import Precision

    hw = load_hardware(name)
    ratios = []
    for prec in (Precision.BF16, Precision.FP16, Precision.INT16, Precision.INT8):
        e = lookup(hw.power.energy_pj_per_flop, prec)
        rate = matrix_flops_per_s(hw, prec)
        if e and rate:
            ratios.append(e * scale * 1e-12 * rate / (hw.power.tdp_w - hw.power.idle_w))
            break
    ratio = ratios[0] if ratios else float("inf")
    return ratio <= MAX_PEAK_POWER_RATIO, round(ratio, 2)


def apply_energy(path: Path, scale: float, fitted_to: list[str]) -> None:
    """Scale the flow mapping on the ``energy_pj_per_flop:`` line and note the fit in power.source."""
    text = path.read_text(encoding="utf-8")
    m = re.search(r"^(\s*energy_pj_per_flop:\s*)\{([^}]*)\}", text, re.M)
    if not m:
        return
    items = []
    for part in m.group(2).split(","):
        k, v = part.split(":")
        items.append(f"{k.strip()}: {round(float(v) * scale, 3)}")
    text = text[: m.start()] + m.group(1) + "{" + ", ".join(items) + "}" + text[m.end():]
    src = re.compile(r'^(  source: ".*)"\s*$', re.M).search(text, m.start())
    note = (f"; energy_pj_per_flop = estimate x {scale} fitted by validation.calibrate on "
            f"{', '.join(fitted_to)} (max-achievable GEMM at the power limit / measured power)")
    if src:
        text = text[: src.end(1)] + note + '"' + text[src.end():]
    path.write_text(text, encoding="utf-8")


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
    ap.add_argument("--efficiency-only", action="store_true", help="with --apply: leave power blocks alone")
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
        energy = res["families"][fam].get("energy")
        if energy:
            ok, ratio = energy_plausible(name, energy["scale"])
            print(f"# energy x{energy['scale']} ({', '.join(energy['fitted_to'])}): peak power / headroom = {ratio}"
                  f" -> {'applied' if ok and args.apply else 'proposed' if ok else 'REJECTED (implausible)'}")
            if ok and args.apply and not args.efficiency_only:
                apply_energy(path, energy["scale"], energy["fitted_to"])
    print(json.dumps(res.get("framework_dispatch_us", {}), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
