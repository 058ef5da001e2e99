"""Run one device's op graph in SimPy: each op a process that starts when its inputs are ready.

The device has one compute stream (a SimPy resource of capacity 1) and, when weights stream from
the host, a host link (another resource) that prefetches weights ahead of the compute; the two
overlap. Outputs are allocated when an op starts and freed when their last consumer finishes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import simpy

from ..cost.base import OpCost
from ..errors import SimulationTimeout
from ..trace import Trace, TraceEvent
from ..workload.graph import ComputeGraph
from .memory import MemoryLedger


@dataclass(frozen=True)
class WeightStream:
    """Weights streamed over a host link: bytes per op, link bandwidth (B/s), latency (s), prefetch depth.

    ``energy_j_per_byte`` (J/B) is charged to each transfer; ``prefetch_ops`` transfers run ahead.

    Example:
        >>> WeightStream(bytes_by_op={"fc1": 4e6}, bandwidth_bps=4e8, latency_s=1e-4, energy_j_per_byte=1e-11).prefetch_ops
        2
    """

    bytes_by_op: dict[str, float]
    bandwidth_bps: float
    latency_s: float
    energy_j_per_byte: float
    prefetch_ops: int = 2


@dataclass(frozen=True)
class Deadline:
    """A wall-clock limit on a run: ``at`` is a :func:`time.perf_counter` value, ``limit_s`` the limit as given.

    Example:
        >>> Deadline.after(60.0).expired()
        False
    """

    at: float
    limit_s: float

    @classmethod
    def after(cls, limit_s: float) -> "Deadline":
        """The deadline ``limit_s`` seconds (wall clock) from now."""
        return cls(at=time.perf_counter() + limit_s, limit_s=limit_s)

    def expired(self) -> bool:
        """True once the wall clock is past ``at``."""
        return time.perf_counter() > self.at

    def check(self, phase: str) -> None:
        """Raise :class:`SimulationTimeout` naming ``phase`` if the deadline has passed.

        Raises:
            SimulationTimeout: the deadline has passed.

        Example:
            >>> Deadline(at=0.0, limit_s=0.5).check("building the graph")
            Traceback (most recent call last):
            ...
            simulator.errors.SimulationTimeout: time_limit_s: the simulation took longer than the limit of 0.5 s (stopped while building the graph)
        """
        if self.expired():
            raise SimulationTimeout(self.limit_s, phase)


CHECK_EVERY_EVENTS = 1024  # how often the event loop looks at the clock (a perf_counter call is ~50 ns)


def _run_until_done(env: simpy.Environment, deadline: Deadline | None) -> None:
    """``env.run()``, looking at the wall clock every :data:`CHECK_EVERY_EVENTS` events when there is a deadline."""
    if deadline is None:
        env.run()
        return
    steps = 0
    while env.peek() != float("inf"):
        env.step()
        steps += 1
        if steps % CHECK_EVERY_EVENTS == 0:
            deadline.check("running the event simulation")


@dataclass(frozen=True)
class DeviceRun:
    """What the engine needs for one device: graph, per-op costs, tensor sizes, resident bytes.

    ``spatial``: every op has its own hardware (a layer-pipelined FPGA), and the ``repeat`` passes
    (one per sample) flow through concurrently instead of one after another.
    ``startup_s``: time before the first op (e.g. loading an FPGA bitstream). ``dispatch_s``: an
    eager host issues each op that long after the previous one; an op waits to be issued.
    Units: ``out_bytes``, ``scratch_bytes`` and ``static_bytes`` in B, ``startup_s`` and ``dispatch_s`` in s; ``repeat``
    passes of the graph (gradient accumulation), ops in ``once_at_end`` (optimizer) run once after them.
    See :func:`run_device` for an example.
    """

    device: str
    graph: ComputeGraph
    costs: dict[str, OpCost]
    out_bytes: dict[str, float]
    scratch_bytes: dict[str, float]
    static_bytes: float
    repeat: int = 1
    once_at_end: frozenset[str] = field(default_factory=frozenset)
    weight_stream: WeightStream | None = None
    spatial: bool = False
    startup_s: float = 0.0
    deadline: Deadline | None = None
    dispatch_s: float = 0.0


def run_device(spec: DeviceRun) -> Trace:
    """Simulate ``spec`` and return its :class:`Trace` (deterministic: FIFO resources, insertion order).

    Raises:
        SimulationTimeout: ``spec.deadline`` passed while events were still being processed.

    Example:
        >>> from simulator.cost.base import Numerics
        >>> from simulator.cost.dispatch import op_cost
        >>> from simulator.spec.loader import load_hardware
        >>> from simulator.units import Precision
        >>> from simulator.workload.loader import load_workload
        >>> g = load_workload("mlp").build(batch_size=64)          # a chain of ops
        >>> hw = load_hardware("nvidia-h100-sxm")
        >>> costs = {n: op_cost(g.op(n), hw, Numerics(Precision.BF16, Precision.BF16)) for n in g.order}
        >>> t = run_device(DeviceRun(device="h100:0", graph=g, costs=costs,
        ...                          out_bytes={n: g.op(n).output_elems * 2 for n in g.order},
        ...                          scratch_bytes={n: 0.0 for n in g.order}, static_bytes=1e6))
        >>> abs(t.end_s - sum(c.duration_s for c in costs.values())) < 1e-12   # one stream: durations add
        True
        >>> t.peak_bytes > 1e6
        True
    """
    env = simpy.Environment()
    compute = simpy.Resource(env, capacity=1)
    per_op = {n: simpy.Resource(env, capacity=1) for n in spec.graph.order} if spec.spatial else None
    ledger = MemoryLedger(spec.device, static_bytes=spec.static_bytes)
    events: list[TraceEvent] = []
    g = spec.graph
    order = g.order
    repeated = [n for n in order if n not in spec.once_at_end]
    final = [n for n in order if n in spec.once_at_end]
    link = simpy.Resource(env, capacity=1) if spec.weight_stream else None

    def op_proc(name: str, waits: list[simpy.Event], done: dict[str, simpy.Event],
                remaining: dict[str, int], weights_ready: simpy.Event | None, tag: str,
                issued: simpy.Event | None = None):
        if issued is not None:
            yield issued
        if waits:
            yield env.all_of(waits)
        if weights_ready is not None:
            yield weights_ready
        cost = spec.costs[name]
        unit = per_op[name] if per_op is not None else compute
        with unit.request() as req:
            yield req
            start = env.now
            ledger.alloc(start, spec.out_bytes[name] + spec.scratch_bytes[name])
            yield env.timeout(cost.duration_s)
            ledger.free(env.now, spec.scratch_bytes[name])
        op = g.op(name)
        events.append(TraceEvent(name=name + tag, op_type=op.kind.value, phase=op.phase.value, device=spec.device,
                                 track="compute", start_s=start, end_s=env.now, flops=cost.flops,
                                 bytes_moved=cost.bytes_moved, bound=cost.bound.value,
                                 energy_j=cost.dynamic_energy_j, compute_cycles=cost.compute_cycles,
                                 throttled_s=cost.throttled_s))
        for p in g.predecessors(name):
            if p in remaining:
                remaining[p] -= 1
                if remaining[p] == 0:
                    ledger.free(env.now, spec.out_bytes[p])
        if remaining.get(name) == 0:
            ledger.free(env.now, spec.out_bytes[name])
        done[name].succeed()

    def stream_proc(names: list[str], ready: dict[str, simpy.Event], consumed: dict[str, simpy.Event], tag: str):
        ws = spec.weight_stream
        for i, name in enumerate(names):
            nbytes = ws.bytes_by_op.get(name, 0.0)
            if i >= ws.prefetch_ops:
                yield consumed[names[i - ws.prefetch_ops]]  # bounded on-chip staging buffer
            if nbytes > 0:
                with link.request() as req:
                    yield req
                    start = env.now
                    yield env.timeout(ws.latency_s + nbytes / ws.bandwidth_bps)
                events.append(TraceEvent(name=f"load {name}{tag}", op_type="transfer", phase="weights",
                                         device=spec.device, track="host_link", start_s=start, end_s=env.now,
                                         bytes_moved=nbytes, bound="host", energy_j=nbytes * ws.energy_j_per_byte))
            ready[name].succeed()

    def host_proc(names: list[str], issued: dict[str, simpy.Event]):
        # an eager framework's host issues the ops one after another, in program order
        for name in names:
            yield env.timeout(spec.dispatch_s)
            issued[name].succeed()

    def launch(names: list[str], after: simpy.Event | None, tag: str) -> simpy.Event:
        done = {n: env.event() for n in names}
        members = set(names)
        remaining = {n: sum(1 for s in g.successors(n) if s in members) for n in names}
        ready = None
        if spec.weight_stream:
            ready = {n: env.event() for n in names}
            env.process(stream_proc(names, ready, done, tag))
        issued = None
        if spec.dispatch_s > 0:
            issued = {n: env.event() for n in names}
            env.process(host_proc(names, issued))
        for n in names:
            waits = [done[p] for p in g.predecessors(n) if p in members]
            if after is not None and not waits:
                waits = [after]
            env.process(op_proc(n, waits, done, remaining, ready[n] if ready else None, tag,
                                issued[n] if issued else None))
        return env.all_of(list(done.values())) if done else None

    def driver():
        prev = None
        if spec.startup_s > 0:
            yield env.timeout(spec.startup_s)
            events.append(TraceEvent(name="startup", op_type="reconfigure", phase="setup", device=spec.device,
                                     track="compute", start_s=0.0, end_s=env.now, bound="overhead"))
        if spec.spatial:
            passes = [launch(repeated, None, f"#{r}" if spec.repeat > 1 else "") for r in range(spec.repeat)]
            prev = env.all_of([x for x in passes if x is not None])
            yield prev
        for r in range(0 if spec.spatial else (spec.repeat if repeated else 0)):
            tag = f"#{r}" if spec.repeat > 1 else ""
            prev = launch(repeated, prev, tag)
            yield prev
        if final:
            yield launch(final, prev, "")

    env.process(driver())
    _run_until_done(env, spec.deadline)
    events.sort(key=lambda e: (e.start_s, e.end_s, e.track, e.name))
    return Trace(events=tuple(events), memory=tuple(ledger.samples), end_s=float(env.now), peak_bytes=ledger.peak,
                 meta={"peak_time_s": ledger.peak_time_s})
