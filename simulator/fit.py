"""One-parameter robust fits: the search and loss behind every fitted efficiency in the library
(``validation/calibrate.py``) and behind :func:`simulator.calibrate` on a user's own runs.

The loss is the mean of min(cap, |ln(predicted / measured)|)^2: least squares in log space (a factor
2 too fast weighs like a factor 2 too slow), capped so that one run the model cannot explain (a
stack effect it does not have) cannot drag a parameter. The search is a coarse grid in log space
(the capped loss has flat stretches a bracketing search alone would wander into) refined by
golden-section search between the grid neighbours of the best point.
"""
from __future__ import annotations

import math
from typing import Callable, Iterable

# a run off by more than a factor exp(0.5) = 1.65 counts as an outlier
ROBUST_CAP = 0.5
# search range of each fitted efficiency parameter (fractions of peak; microseconds per op, or per
# request for request_overhead_us)
BOUNDS = {"memory": (0.4, 1.0), "compute": (0.2, 1.0), "vector": (0.05, 1.0), "op_overhead_us": (0.5, 80.0),
          "dispatch_us": (1.0, 200.0), "request_overhead_us": (1.0, 5000.0),
          "collective_compute_share": (0.01, 1.0)}


def robust_loss(pairs: Iterable[tuple[float, float]], cap: float = ROBUST_CAP) -> float:
    """Mean of min(cap, |ln(predicted / measured)|)^2 over (predicted, measured) pairs; inf if none.

    Example:
        >>> round(robust_loss([(110.0, 100.0), (100.0, 100.0)]), 5)   # ln 1.1 = 0.0953
        0.00454
        >>> robust_loss([(1e6, 1.0)])                                   # capped at 0.5^2
        0.25
    """
    errs = [min(cap, abs(math.log(p / m))) ** 2 for p, m in pairs]
    return sum(errs) / len(errs) if errs else float("inf")


def golden(f: Callable[[float], float], lo: float, hi: float, iters: int = 14, grid: int = 13) -> float:
    """Minimiser of ``f`` on [lo, hi] in log space, rounded to 3 decimals (see the module docstring).

    Example:
        >>> golden(lambda x: (math.log(x) - math.log(0.7)) ** 2, 0.2, 1.0)
        0.7
    """
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


def identified(f: Callable[[float], float], lo: float, hi: float, grid: int = 13, cap: float = ROBUST_CAP) -> bool:
    """Whether the capped loss ``f`` says anything about its parameter on [lo, hi]: False when it
    sits at ``cap ** 2`` on the whole grid of :func:`golden`, i.e. every run is off by more than the
    cap whatever the value (the model misses them for another reason). :func:`golden` would then
    return its tie-break, the lower bound, as if the runs asked for it.

    Example:
        >>> identified(lambda x: (math.log(x) - math.log(0.7)) ** 2, 0.2, 1.0)
        True
        >>> identified(lambda x: 0.5 ** 2, 0.2, 1.0)
        False
    """
    la, lb = math.log(lo), math.log(hi)
    return any(f(math.exp(la + (lb - la) * i / (grid - 1))) < cap ** 2 for i in range(grid))
