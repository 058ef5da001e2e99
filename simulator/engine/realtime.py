"""Periodic real-time jobs on one device in SimPy: non-preemptive EDF or FIFO.

Each frame is a job released at its arrival with an absolute deadline. When the device is free it picks,
among released jobs, the earliest deadline (``edf``) or the earliest release (``fifo``); ties go to the
lower stream index, then the lower job index. A started job runs to completion (inference kernels are
not preempted); late jobs still run (no frame dropping). :class:`PeriodicSim` holds the environment and the ready
queue, its two processes are methods; :func:`run_periodic` is the entry point.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Sequence

import simpy

from ..deadline import Deadline
from .run import run_until_done

SCHEDULERS = ("edf", "fifo")


@dataclass(frozen=True)
class Job:
    """One frame: release and absolute deadline (s), its stream, and its service time (s).

    Example:
        >>> Job(release_s=0.0, deadline_s=1 / 30, stream=0, service_s=0.004).stream
        0
    """

    release_s: float
    deadline_s: float
    stream: int
    service_s: float


@dataclass(frozen=True)
class JobTimes:
    """When each job (same order as the input) started and finished, in s; ``end_s`` the last finish."""

    start_s: tuple[float, ...]
    finish_s: tuple[float, ...]
    end_s: float


class PeriodicSim:
    """``jobs`` (sorted by release) on one non-preemptive device: a release process and the device.

    Start :meth:`source` and :meth:`device` as processes, run ``env``, then read :meth:`times`;
    :func:`run_periodic` does exactly that.

    Raises:
        ValueError: ``scheduler`` is not one of :data:`SCHEDULERS`.

    Example:
        >>> env = simpy.Environment()
        >>> sim = PeriodicSim(env, [Job(0.0, 0.1, 0, 0.03), Job(0.01, 0.1, 0, 0.03)], scheduler="fifo")
        >>> _ = env.process(sim.source()); _ = env.process(sim.device()); env.run()
        >>> sim.times().start_s           # the second frame waits for the first to finish
        (0, 0.03)
    """

    def __init__(self, env: simpy.Environment, jobs: Sequence[Job], *, scheduler: str) -> None:
        if scheduler not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {scheduler!r}")
        self.env = env
        self.jobs = jobs
        self.scheduler = scheduler
        self.ready: list[tuple[float, int, int]] = []  # heap of (priority key, stream, job index)
        self.start = [0.0] * len(jobs)
        self.finish = [0.0] * len(jobs)
        self.released = 0
        self.signal = env.event()  # replaced after each release; an idle device waits on it

    def source(self):
        """Process: release each job at its release time into the ready queue."""
        env = self.env
        for i, j in enumerate(self.jobs):
            if j.release_s > env.now:
                yield env.timeout(j.release_s - env.now)
            key = j.deadline_s if self.scheduler == "edf" else j.release_s
            heapq.heappush(self.ready, (key, j.stream, i))
            self.released += 1
            ev, self.signal = self.signal, env.event()
            ev.succeed()

    def device(self):
        """Process: run the highest-priority released job to completion, until every job has run."""
        env = self.env
        while True:
            if not self.ready:
                if self.released == len(self.jobs):
                    return
                yield self.signal
                continue
            _, _, i = heapq.heappop(self.ready)
            self.start[i] = env.now
            yield env.timeout(self.jobs[i].service_s)
            self.finish[i] = env.now

    def times(self) -> JobTimes:
        """Each job's start and finish so far (all of them once ``env`` has run out of events)."""
        return JobTimes(start_s=tuple(self.start), finish_s=tuple(self.finish), end_s=float(self.env.now))


def run_periodic(jobs: Sequence[Job], *, scheduler: str, deadline: Deadline | None = None) -> JobTimes:
    """Play ``jobs`` (sorted by release) on one non-preemptive device.

    Raises:
        ValueError: unknown scheduler.
        SimulationTimeout: ``deadline`` passed.

    Example:
        >>> jobs = [Job(0.0, 0.010, 0, 0.004), Job(0.0, 0.005, 1, 0.003)]   # both released at t = 0
        >>> run_periodic(jobs, scheduler="edf").start_s      # the tighter deadline goes first
        (0.003, 0)
        >>> run_periodic(jobs, scheduler="fifo").start_s     # same release: lower stream first
        (0, 0.004)
    """
    env = simpy.Environment()
    sim = PeriodicSim(env, jobs, scheduler=scheduler)
    env.process(sim.source())
    env.process(sim.device())
    run_until_done(env, deadline, phase="playing the frames")
    return sim.times()
