"""Periodic real-time jobs on one device in SimPy: non-preemptive EDF or FIFO.

Each frame is a job released at its arrival with an absolute deadline. When the device is free it picks,
among released jobs, the earliest deadline (``edf``) or the earliest release (``fifo``); ties go to the
lower stream index, then the lower job index. A started job runs to completion (inference kernels are
not preempted); late jobs still run (no frame dropping).
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Sequence

import simpy

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


def run_periodic(jobs: Sequence[Job], *, scheduler: str) -> JobTimes:
    """Play ``jobs`` (sorted by release) on one non-preemptive device.

    Raises:
        ValueError: unknown scheduler.

    Example:
        >>> jobs = [Job(0.0, 0.010, 0, 0.004), Job(0.0, 0.005, 1, 0.003)]   # both released at t = 0
        >>> run_periodic(jobs, scheduler="edf").start_s      # the tighter deadline goes first
        (0.003, 0)
        >>> run_periodic(jobs, scheduler="fifo").start_s     # same release: lower stream first
        (0, 0.004)
    """
    if scheduler not in SCHEDULERS:
        raise ValueError(f"unknown scheduler {scheduler!r}")
    env = simpy.Environment()
    ready: list[tuple] = []
    start = [0.0] * len(jobs)
    finish = [0.0] * len(jobs)
    signal = [env.event()]
    released = [0]

    def source():
        for i, j in enumerate(jobs):
            if j.release_s > env.now:
                yield env.timeout(j.release_s - env.now)
            key = j.deadline_s if scheduler == "edf" else j.release_s
            heapq.heappush(ready, (key, j.stream, i))
            released[0] += 1
            ev, signal[0] = signal[0], env.event()
            ev.succeed()

    def device():
        while True:
            if not ready:
                if released[0] == len(jobs):
                    return
                yield signal[0]
                continue
            _, _, i = heapq.heappop(ready)
            start[i] = env.now
            yield env.timeout(jobs[i].service_s)
            finish[i] = env.now

    env.process(source())
    env.process(device())
    env.run()
    return JobTimes(start_s=tuple(start), finish_s=tuple(finish), end_s=float(env.now))
