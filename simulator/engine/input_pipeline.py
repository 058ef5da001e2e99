"""The host input pipeline in SimPy: decode workers, a bounded prefetch queue, the host link, the device.

``workers`` host processes each build whole batches (PyTorch DataLoader style: one worker decodes all
samples of a batch, ``decode_s`` per batch) and put them into a queue of ``prefetch`` batches; a worker
blocks while the queue is full. A copier moves the oldest ready batch over the host link
(``transfer_s``; one copy at a time) into a one-batch staging buffer on the device, overlapping with
compute. The device runs ``steps`` steps of ``step_s`` each, each starting once its batch is staged.
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
    host_q = simpy.Store(env, capacity=spec.prefetch)
    staged = simpy.Store(env, capacity=1)
    claimed = [0]
    starts: list[float] = []
    ends: list[float] = []
    wait = [0.0]
    link_busy = [0.0]

    def worker():
        while claimed[0] < spec.steps:
            claimed[0] += 1
            yield env.timeout(spec.decode_s)
            yield host_q.put(1)

    def copier():
        for _ in range(spec.steps):
            yield host_q.get()
            t0 = env.now
            yield env.timeout(spec.transfer_s)
            link_busy[0] += env.now - t0
            yield staged.put(1)

    def device():
        for _ in range(spec.steps):
            t0 = env.now
            yield staged.get()
            wait[0] += env.now - t0
            starts.append(env.now)
            yield env.timeout(spec.step_s)
            ends.append(env.now)

    for _ in range(spec.workers):
        env.process(worker())
    env.process(copier())
    env.process(device())
    env.run()
    return PipelineTrace(step_start_s=tuple(starts), step_end_s=tuple(ends), wait_s=wait[0],
                         link_busy_s=link_busy[0], end_s=float(env.now))
