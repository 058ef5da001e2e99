"""The pipeline schedule's own idle time: the bubble a cluster step would have with its compute alone.

A simulated step idles for three reasons: the pipeline schedule (a stage waits for its neighbour's
micro-batch even when every transfer is free: (p-1)/(m+p-1) of a 1F1B step with p equal stages and
m micro-batches), communication that the device waits on, and the rest (waits propagated from a
neighbour's communication, unequal stages or optimizer steps, the tail). This module computes the
first by replaying each rank's task order (:func:`~simulator.engine.cluster.rank_tasks`) with the
plan's compute durations and no communication: plain list scheduling, no SimPy.
"""
from __future__ import annotations

from ..parallel.plan import ClusterPlan
from .cluster import rank_tasks

__all__ = ["schedule_idle_s"]


def schedule_idle_s(plan: ClusterPlan, training: bool) -> list[float]:
    """Per pipeline rank, the seconds it idles in the forward/backward schedule with free communication.

    A forward of chunk ``x`` waits for the same micro-batch's forward of chunk ``x - 1``; a backward
    of chunk ``x`` for the backward of chunk ``x + 1``; each rank runs its tasks in its schedule's
    order. A rank's idle time is the schedule's makespan minus its own compute (optimizer excluded).

    Example:
        >>> from simulator.parallel.layout import Parallelism
        >>> from simulator.parallel.plan import Segment, StagePlan
        >>> st = [StagePlan(stage=i, forward=(Segment(duration_s=1.0),), backward=(Segment(duration_s=2.0),),
        ...                 optimizer=(), static_bytes={}, activation_bytes_per_microbatch=0.0,
        ...                 boundary_bytes=0.0, params=0.0) for i in range(4)]
        >>> plan = ClusterPlan(stages=tuple(st), parallelism=Parallelism(pipeline=4), microbatches=8,
        ...                    microbatch_size=1)
        >>> schedule_idle_s(plan, True)    # (p - 1) x (forward + backward) on every rank
        [9.0, 9.0, 9.0, 9.0]
    """
    p = plan.parallelism
    chunks = p.chunks
    dur = {}
    for x, st in enumerate(plan.stages):
        dur["F", x] = sum(s.duration_s for s in st.forward if s.collective is None)
        dur["B", x] = sum(s.duration_s for s in st.backward if s.collective is None)
    order = [rank_tasks(plan, r, training) for r in range(p.pipeline)]
    nxt = [0] * p.pipeline
    free = [0.0] * p.pipeline
    busy = [0.0] * p.pipeline
    done: dict[tuple[str, int, int], float] = {}
    left = sum(len(o) for o in order)
    while left:
        moved = False
        for r in range(p.pipeline):
            while nxt[r] < len(order[r]):
                kind, k, x = order[r][nxt[r]]
                dep = ("F", k, x - 1) if kind == "F" and x > 0 else (
                    ("B", k, x + 1) if kind == "B" and x < chunks - 1 else None)
                if dep is not None and dep not in done:
                    break
                start = max(free[r], done[dep]) if dep is not None else free[r]
                free[r] = done[kind, k, x] = start + dur[kind, x]
                busy[r] += dur[kind, x]
                nxt[r] += 1
                left -= 1
                moved = True
        if not moved:  # cannot happen for the engine's schedules; guards against a hang
            raise RuntimeError("pipeline schedule deadlocks")
    makespan = max(free, default=0.0)
    return [makespan - b for b in busy]
