"""The staged fit of each device family's efficiency parameters (``python -m validation.calibrate``).

Memory and compute are fitted per family (:func:`fit_family`), the fixed time per kernel or per
request per runtime group (:mod:`validation.fit_overhead`), the energy scale per family
(:mod:`validation.fit_energy`), then each software stack's own times (:mod:`validation.fit_stacks`).
Which rows are evidence for which stage, and the bounds of each search, are the tables of
:mod:`validation.calibrate`.
"""
from __future__ import annotations

from simulator.errors import SimulatorError
from simulator.fit import golden, identified, robust_loss

from .stages import BOUNDS, GPU_FIXED, GPU_GRAPH_GAP_US, _stage_rows, family_stages, overhead_group, overhead_stage, per_query
from .fit_energy import fit_energy
from .fit_overhead import fit_kernel_floor, fit_overhead
from .fit_stacks import fit_stack_gaps, fit_stacks
from .mapping import map_rows
from .predict import Predictor
from .cases import Case
from .rows import read_calibration
from .splits import assign_splits


def _err(cases: list[Case], extra: dict, dispatch_us: float | None, predictor: Predictor) -> float:
    errs = []
    for c in cases:
        try:
            p = predictor(c, extra=extra, dispatch_us=dispatch_us)
        except SimulatorError:
            continue
        errs.append((p.value, c.row.value))
    return robust_loss(errs)


def fit_family(cases: list[Case], dispatch_us: float | None, predictor: Predictor,
               stages: tuple[str, ...] = ("memory", "compute", "op_overhead_us")) -> dict:
    """Staged fit of one family's parameters on ``cases``; ``fitted_to`` lists the row ids used."""
    params: dict[str, float] = {}
    used: dict[str, list[str]] = {}
    for stage in stages:
        rows = _stage_rows(cases, stage, predictor)
        if not rows:
            continue
        lo, hi = BOUNDS[stage]

        def f(x, stage=stage, rows=rows):
            return _err(rows, {**{f"efficiency.{k}": v for k, v in params.items()}, f"efficiency.{stage}": x},
                        dispatch_us, predictor)

        if not identified(f, lo, hi):
            continue  # every row off by more than the cap at any value: no evidence, the spec's value stays
        params[stage] = golden(f, lo, hi)
        used[stage] = sorted(c.row.id for c in rows)
    return {"params": params, "fitted_to": used}


def fit_cases(cases: list[Case], predictor: Predictor | None = None, *,
              families: set[str] | None = None) -> dict:
    """Fit every family with rows among ``cases`` (or only ``families``, with the families sharing
    their overhead), then each eager stack's dispatch time. Memory and compute are fitted per family;
    the per-kernel overhead per runtime group (:data:`OVERHEAD_FROM`)."""
    predictor = predictor or Predictor()
    groups = None if families is None else {overhead_group(f) for f in families}
    fams: dict[str, list[Case]] = {}
    for c in cases:
        if groups is None or overhead_group(c.family) in groups:
            fams.setdefault(c.family, []).append(c)
    out: dict = {"families": {}}
    for fam, cs in sorted(fams.items()):
        cs = [c for c in cs if c.task != "power"]
        out["families"][fam] = fit_family(cs, None, predictor, stages=family_stages(cs))
    params = {f: v["params"] for f, v in out["families"].items()}
    for root in sorted({overhead_group(f) for f in fams}):
        members = [f for f in fams if overhead_group(f) == root]
        stage = overhead_stage(root)
        rows = [c for f in members for c in _stage_rows([c for c in fams[f] if c.task != "power"],
                                                        stage, predictor)]
        if not rows:
            continue
        ids = sorted(c.row.id for c in rows)
        gpu = stage == "op_overhead_us" and all(c.kind == "gpu" for c in rows)
        # a GPU group with per-query rows fits the per-query time with the floor, the gap held
        # (validation.stages.GPU_FIXED)
        inner = GPU_FIXED if gpu and any(per_query(c.stack) for c in rows) else stage
        joint = fit_kernel_floor(rows, params, predictor, inner) if gpu else None
        x = (joint[0] if inner == stage else GPU_GRAPH_GAP_US) if joint else fit_overhead(rows, params, predictor, stage)
        for f in members:
            out["families"][f]["params"][stage] = x
            out["families"][f]["fitted_to"][stage] = ids if inner == stage else \
                ["held at a CUDA-graph replay's gap (validation.stages.GPU_GRAPH_GAP_US)"]
            if joint:
                out["families"][f]["params"]["min_kernel_cycles"] = joint[1]
                out["families"][f]["fitted_to"]["min_kernel_cycles"] = ids
                if inner != stage:
                    out["families"][f]["params"][inner] = joint[0]
                    out["families"][f]["fitted_to"][inner] = ids
    for fam, cs in sorted(fams.items()):
        energy = fit_energy(cs, out["families"][fam]["params"], predictor)
        if energy:
            out["families"][fam]["energy"] = energy
    out["stacks"] = fit_stacks(cases, out["families"], predictor)
    out["stack_gaps"] = fit_stack_gaps([c for c in cases if groups is None or overhead_group(c.family) in groups],
                                       out["families"], predictor)
    return out


def fit_all(split: str = "all", predictor: Predictor | None = None, families: set[str] | None = None) -> dict:
    """Fit on every expressible calibration row (``split="all"``, what the specs ship) or on the
    fixed split's fit rows only (``split="fit"``); ``families`` restricts the fit to those."""
    items = map_rows(read_calibration())
    splits = assign_splits(items)
    cases = [c for c in items if isinstance(c, Case) and (split == "all" or splits[c.row.id] == split)]
    out = fit_cases(cases, predictor, families=families)
    out["split"] = "every expressible row of validation/data/*.csv" if split == "all" else \
        f"{split} rows of validation.splits.assign_splits"
    return out

