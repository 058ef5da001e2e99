"""Fit the efficiency parameters of each device family on the *fit* split only.

Usage::

    python -m validation.calibrate                 # fit, print the proposed efficiency blocks
    python -m validation.calibrate --apply         # also write them into hardware_specs/*.yaml

Staged, so every parameter is pinned by the evidence that is about it:

1. ``memory``: the achievable fraction of main-memory bandwidth, from bandwidth rows (BabelStream,
   bandwidthTest, reduction kernels);
2. ``compute``: the achievable fraction of matrix peak, from "max achievable" GEMM rows (MAMF)
   together with the family's large-batch model rows (inference, training, LLM generation,
   multi-node training): the GEMM rows alone would credit every kernel with MAMF-level efficiency;
3. ``op_overhead_us``: per-kernel launch / dispatch time, from batch-1 latency rows;
4. the framework dispatch time of eager stacks (one number for all GPUs), from eager batch-1 rows.

Each 1-D fit minimises the mean of min(0.5, |ln(predicted / measured)|)^2 (least squares in log
space, capped so an outlier row cannot drag a family) by a grid then golden-section search in log
space.
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
from .rows import Case, assign_splits, family_of, read_calibration

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
        errs.append(min(ROBUST_CAP, abs(math.log(p.value / c.row.value))) ** 2)
    return sum(errs) / len(errs) if errs else float("inf")


def golden(f, lo: float, hi: float, iters: int = 14, grid: int = 13) -> float:
    """Minimiser of ``f`` on [lo, hi] in log space: a coarse grid (the capped loss has flat
    stretches a bracketing search alone would wander into), then golden-section search between the
    grid neighbours of the best point."""
    la, lb = math.log(lo), math.log(hi)
    xs = [la + (lb - la) * i / (grid - 1) for i in range(grid)]
    vals = [f(math.exp(x)) for x in xs]
    i = min(range(grid), key=lambda j: (vals[j], j))
    a, b = xs[max(0, i - 1)], xs[min(grid - 1, i + 1)]
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
    best = (a + b) / 2
    return round(math.exp(best if f(math.exp(best)) <= vals[i] else xs[i]), 3)


def _cpu_decode(c: Case) -> bool:
    """A batch-1 LLM decode on a CPU: it streams the weights from DRAM, so it is bandwidth evidence."""
    return c.kind == "cpu" and c.task == "generate" and c.batch == 1


def _stage_rows(cases: list[Case], stage: str) -> list[Case]:
    if stage == "memory":
        # CPU families publish no bandwidth benchmarks: their batch-1 decode rows are the evidence
        return [c for c in cases if c.category == "stream"] or [c for c in cases if _cpu_decode(c)]
    if stage == "compute":
        mamf = [c for c in cases if c.gemm_sweep]
        big = [c for c in cases if c.category in ("inference", "training", "llm", "scaleout") and not _cpu_decode(c)]
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
        if c.category != "power" and not c.gemm_sweep:
            continue
        if any("proxied" in a for a in c.assumptions):
            continue  # a fleet mean over an unknown workload mix cannot pin energy per FLOP
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


# Kernel-launch overhead is a driver / runtime property: a family without its own batch-1 rows
# takes it from the family named here (same vendor stack).
# A CPU's per-op cost is the OpenMP runtime's fork/join (simulator.cost.cpu.fork_join_s): EPYC rows take
# the Xeon family's.
OVERHEAD_FROM = {"nvidia-inference": "nvidia-datacenter", "aws-trainium": "aws-neuron", "amd-epyc": "intel-xeon"}


def fit_all() -> dict:
    """Fit every family with fit rows, then the eager-framework dispatch time."""
    items = map_rows(read_calibration())
    splits = assign_splits(items)
    fit = [c for c in items if isinstance(c, Case) and splits[c.row.id] == "fit"]
    fams: dict[str, list[Case]] = {}
    for c in fit:
        fams.setdefault(c.family, []).append(c)
    out: dict = {"families": {}, "split": "fit rows of validation.rows.assign_splits"}
    for fam, cs in sorted(fams.items(), key=lambda kv: (kv[0] in OVERHEAD_FROM, kv[0])):
        out["families"][fam] = fit_family([c for c in cs if c.task != "power"], P.FRAMEWORK_DISPATCH_US)
        donor = out["families"].get(OVERHEAD_FROM.get(fam, ""), {})
        if "op_overhead_us" not in out["families"][fam]["params"] and "op_overhead_us" in donor.get("params", {}):
            out["families"][fam]["params"]["op_overhead_us"] = donor["params"]["op_overhead_us"]
            out["families"][fam]["fitted_to"]["op_overhead_us"] = donor["fitted_to"]["op_overhead_us"]
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


# share of the headroom the arithmetic may take at matrix peak (the rest: memory traffic, links)
PEAK_POWER_SHARE = 0.95


def energy_cap(name: str, scale: float) -> tuple[float, float]:
    """(scale to apply, peak-power ratio at the fitted scale) for ``name``.

    The hardware library's convention is that running the matrix peak at any precision needs at
    most the power headroom (TDP - idle - active); PEAK_POWER_SHARE of it is left to the arithmetic. The fitted scale is applied up to that bound; the ratio
    says how far the fit wanted to go beyond it (> 1: the device would throttle at peak).
    """
    from simulator.cost.peaks import matrix_flops_per_s
    from simulator.spec.loader import load_hardware

    hw = load_hardware(name)
    headroom = hw.power.tdp_w - hw.power.idle_w - hw.power.active_w
    ratio = max((e * scale * 1e-12 * matrix_flops_per_s(hw, prec) / headroom
                 for prec, e in hw.power.energy_pj_per_flop.items()), default=0.0)
    applied = scale if ratio <= PEAK_POWER_SHARE else scale * PEAK_POWER_SHARE / ratio
    return round(applied, 3), round(ratio, 2)


def apply_energy(path: Path, scale: float, fitted_to: list[str], *, fitted: float | None = None) -> None:
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
    capped = f" (fit wanted x {fitted}; capped so peak-rate dynamic power stays within TDP - idle - active)" \
        if fitted and fitted != scale else ""
    note = (f"; energy_pj_per_flop = previous estimate x {scale}, validation.calibrate on {', '.join(fitted_to)}: "
            f"max-achievable GEMM at the power limit / measured power{capped}")
    if src:
        text = text[: src.end(1)] + note + '"' + text[src.end():]
    path.write_text(text, encoding="utf-8")


# GPU tile fill (efficiency.tile_fill_k) is not refitted by this module: it was chosen on a grid
TILE_FILL_NOTE = ("; tile_fill_k 256: the best of 128/256/384 on the nvidia-datacenter fit split (GPU fit median "
                  "9.6/6.7/8.6 %), shared by every GPU family")


def efficiency_block(params: dict, fitted_to: dict, family: str) -> str:
    """YAML text of an ``efficiency:`` block."""
    ids = "; ".join(f"{k} <- {', '.join(v)}" for k, v in fitted_to.items())
    lines = ["efficiency:"]
    for key in ("compute", "vector", "memory", "op_overhead_us", "tile_fill_k"):
        if key in params:
            lines.append(f"  {key}: {params[key]}")
    tile = TILE_FILL_NOTE if "tile_fill_k" in params else ""
    lines.append(f'  fitted_to: "validation.calibrate, family {family}, fit split of validation/data/'
                 f'*.csv: {ids}{tile}"')
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
        if fam not in res["families"]:
            continue
        from simulator.spec.loader import load_hardware

        if res["families"][fam]["params"]:
            current = load_hardware(name).efficiency
            params = {**current.model_dump(exclude={"fitted_to"}), **res["families"][fam]["params"]}
            block = efficiency_block(params, res["families"][fam]["fitted_to"], fam)
            print(f"# {path.relative_to(SPEC_ROOT.parent)}\n{block}")
            if args.apply:
                apply_block(path, block)
        energy = res["families"][fam].get("energy")
        if energy:
            applied, ratio = energy_cap(name, energy["scale"])
            print(f"# energy fitted x{energy['scale']} ({', '.join(energy['fitted_to'])}); peak power / headroom "
                  f"at that scale = {ratio}; applied x{applied}")
            # a scale within 2 % of 1 is the cap itself re-rounded (two-decimal pJ values), not new evidence
            if args.apply and not args.efficiency_only and abs(applied - 1.0) >= 0.02:
                apply_energy(path, applied, energy["fitted_to"], fitted=energy["scale"])
    print(json.dumps(res.get("framework_dispatch_us", {}), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
