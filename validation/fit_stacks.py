"""A software stack's own fitted times: an eager stack's host dispatch per op, a stream-launching
stack's gap between kernels (:data:`validation.stages.STREAM_STACKS`)."""
from __future__ import annotations

import functools

from simulator.errors import SimulatorError
from simulator.fit import golden, identified, robust_loss

from .stages import BOUNDS, STREAM_STACKS
from .predict import STACK_GAP, Predictor
from .cases import Case


def fit_stack_gaps(cases: list[Case], families: dict, predictor: Predictor) -> dict:
    """``kernel_overhead_us`` of each :data:`STREAM_STACKS` stack with rows among ``cases``, fitted on all
    of them with their families' fits applied; a stack whose rows identify nothing is left out."""
    out = {}
    for stack in STREAM_STACKS:
        rows = [c for c in cases if c.stack == stack and c.task != "power"]

        def f(x: float, rows=rows) -> float:
            pairs = []
            for c in rows:
                extra = {f"efficiency.{k}": v for k, v in families.get(c.family, {}).get("params", {}).items()}
                try:
                    pairs.append((predictor(c, extra={**extra, STACK_GAP: x}).value, c.row.value))
                except SimulatorError:
                    continue
            return robust_loss(pairs)

        if rows and identified(f, *BOUNDS["kernel_overhead_us"]):
            out[stack] = {"kernel_overhead_us": golden(f, *BOUNDS["kernel_overhead_us"]),
                          "fitted_to": sorted(c.row.id for c in rows)}
    return out


GENERIC_EAGER = "eager"


def fit_stacks(cases: list[Case], families: dict, predictor: Predictor) -> dict:
    """``host_dispatch_us`` of each eager stack with batch-1 latency rows, the families' fits applied, and
    of the generic ``eager`` stack over all of those rows together; a stack whose rows identify nothing
    (every one beyond the robust cap at every host time) is left out, keeping its shipped value rather
    than the search's tie-break (as :func:`fit_stack_gaps`; crossval's ``fit_dispatch`` likewise)."""
    by_stack: dict[str, list[Case]] = {}
    for c in cases:
        if c.eager and c.category == "latency":
            by_stack.setdefault(c.stack, []).append(c)
    # the generic `eager` stack (what a user picks for an unnamed eager framework) is no framework of its
    # own: its host time is the one fit over every named eager stack's latency rows
    if by_stack and GENERIC_EAGER not in by_stack:
        by_stack[GENERIC_EAGER] = [c for rows in by_stack.values() for c in rows]
    out = {}
    for stack, rows in sorted(by_stack.items()):
        # the loss every other fit minimises (squared |log error|, capped): one row far off (a host the
        # model lacks) cannot drag the host time the way a plain mean |log error| lets it
        @functools.lru_cache(maxsize=None)  # identified() probes golden's own grid: each point runs once
        def f(x, rows=tuple(rows)):
            pairs = []
            for c in rows:
                fam = families.get(c.family, {}).get("params", {})
                p = predictor(c, extra={f"efficiency.{k}": v for k, v in fam.items()}, dispatch_us=x)
                pairs.append((p.value, c.row.value))
            return robust_loss(pairs)

        if identified(f, *BOUNDS["dispatch_us"]):
            out[stack] = {"host_dispatch_us": golden(f, *BOUNDS["dispatch_us"]),
                          "fitted_to": sorted(c.row.id for c in rows)}
    return out

