"""The host input pipeline in SimPy: decode workers, a bounded prefetch queue, the host link, the device.

``workers`` host processes each build whole batches (PyTorch DataLoader style: one worker decodes all
samples of a batch, ``decode_s`` per batch) and put them into a queue of ``prefetch`` batches; a worker
blocks while the queue is full. A copier moves the oldest ready batch over the host link
(``transfer_s``; one copy at a time) into a one-batch staging buffer on the device, overlapping with
compute. The device runs ``steps`` steps of ``step_s`` each, each starting once its batch is staged.
:class:`PipelineSim` holds the environment and the two queues, its processes are methods;
:func:`run_pipeline` is the entry point.
"""
from __future__ import annotations

from dataclasses import dataclass

import simpy


@dataclass(frozen=True)
class PipelineRun:
    """Inputs (times in s): per-batch decode time on one worker, link transfer time, device step time.

    ``workers`` decode processes, ``prefetch`` batches the host queue holds, ``steps`` device steps.
    See :func:`run_pipeline` for an example.
    """

    workers: int
    prefetch: int
    decode_s: float
    transfer_s: float
    step_s: float
    steps: int


@dataclass(frozen=True)
class PipelineTrace:
    """Start and end of every device step and the device's total wait for data (s).

    ``link_busy_s``: time the host link spent copying (s); ``end_s``: end of the last step (s).
    """

    step_start_s: tuple[float, ...]
    step_end_s: tuple[float, ...]
    wait_s: float
    link_busy_s: float
    end_s: float


class PipelineSim:
    """The host input pipeline of ``spec`` as SimPy processes: decode workers, a copier, the device.

    Start one :meth:`worker` per decode worker, the :meth:`copier` and the :meth:`device` as
    processes, run ``env``, then read :meth:`trace`; :func:`run_pipeline` does exactly that.

    Example:
        >>> env = simpy.Environment()
        >>> sim = PipelineSim(env, PipelineRun(workers=1, prefetch=1, decode_s=0.03, transfer_s=0.002,
        ...                                    step_s=0.01, steps=1))
        >>> for proc in (sim.worker(), sim.copier(), sim.device()):
        ...     _ = env.process(proc)
        >>> env.run()
        >>> round(sim.trace().wait_s, 3)    # one batch: decode, then copy, before the step can start
        0.032
    """

    def __init__(self, env: simpy.Environment, spec: PipelineRun) -> None:
        self.env = env
        self.spec = spec
        self.host_q = simpy.Store(env, capacity=spec.prefetch)
        self.staged = simpy.Store(env, capacity=1)
        self.claimed = 0  # batches a worker has started decoding
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.wait_s = 0.0
        self.link_busy_s = 0.0

    def worker(self):
        """Process: one decode worker; claims the next batch, decodes it, blocks while the queue is full."""
        while self.claimed < self.spec.steps:
            self.claimed += 1
            yield self.env.timeout(self.spec.decode_s)
            yield self.host_q.put(1)

    def copier(self):
        """Process: copy the oldest ready batch over the host link into the device's staging buffer."""
        env = self.env
        for _ in range(self.spec.steps):
            yield self.host_q.get()
            t0 = env.now
            yield env.timeout(self.spec.transfer_s)
            self.link_busy_s += env.now - t0
            yield self.staged.put(1)

    def device(self):
        """Process: each step waits for its staged batch, then computes for ``step_s``."""
        env = self.env
        for _ in range(self.spec.steps):
            t0 = env.now
            yield self.staged.get()
            self.wait_s += env.now - t0
            self.starts.append(env.now)
            yield env.timeout(self.spec.step_s)
            self.ends.append(env.now)

    def trace(self) -> PipelineTrace:
        """The :class:`PipelineTrace` so far (every step once ``env`` has run out of events)."""
        return PipelineTrace(step_start_s=tuple(self.starts), step_end_s=tuple(self.ends), wait_s=self.wait_s,
                             link_busy_s=self.link_busy_s, end_s=float(self.env.now))


def run_pipeline(spec: PipelineRun) -> PipelineTrace:
    """Simulate ``spec.steps`` device steps fed by the host; deterministic (FIFO stores, insertion order).

    Raises nothing for a valid :class:`PipelineRun` (the caller validates workers and prefetch).

    Example:
        >>> slow = run_pipeline(PipelineRun(workers=2, prefetch=2, decode_s=0.03, transfer_s=0.002,
        ...                                 step_s=0.01, steps=10))
        >>> fast = run_pipeline(PipelineRun(workers=4, prefetch=4, decode_s=0.03, transfer_s=0.002,
        ...                                 step_s=0.01, steps=10))
        >>> round(slow.wait_s, 3), round(fast.wait_s, 3)     # more decode workers, less starving
        (0.072, 0.032)
    """
    env = simpy.Environment()
    sim = PipelineSim(env, spec)
    for _ in range(spec.workers):
        env.process(sim.worker())
    env.process(sim.copier())
    env.process(sim.device())
    env.run()
    return sim.trace()
