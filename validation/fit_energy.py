"""The scale of a family's energy per FLOP, fitted on its power rows and max-achievable GEMMs."""
from __future__ import annotations

import math

from .predict import Predictor
from .cases import Case

POWER_LIMITED = 0.97  # a max-achievable GEMM runs at (just under) the device's power limit


def _energy_overrides(case: Case, scale: float, params: dict) -> dict:
    from simulator.spec.loader import load_hardware

    hw = load_hardware(case.hardware)
    extra = {f"efficiency.{k}": v for k, v in params.items()}
    extra["power.energy_pj_per_flop"] = {k.value: v * scale for k, v in hw.power.energy_pj_per_flop.items()}
    return extra


def fit_energy(cases: list[Case], params: dict, predictor: Predictor) -> dict | None:
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
            p = predictor(c, extra=_energy_overrides(c, scale, params))
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

