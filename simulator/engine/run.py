"""Run one device's op graph in SimPy: each op a process that starts when its inputs are ready.

:class:`DeviceSim` holds the environment and the device's resources: one compute stream (a SimPy
resource of capacity 1, or one per op for a spatial design) and, when weights stream from the host,
a host link (another resource) that prefetches weights ahead of the compute; the two overlap.
Outputs are allocated when an op starts and freed when their last consumer finishes; a consumer that
reads only part of an output (a dropout's backward, its mask) keeps only that part once the others are done.
:func:`run_device` is the entry point.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING

from ..cost.base import OpCost
from ..deadline import Deadline
from ..errors import ScenarioError
from ..trace import Records, Trace, TraceEvent
from ..workload.graph import ComputeGraph
from ..workload.saved import PART
from .memory import MemoryLedger

if TYPE_CHECKING:
    import simpy

# SimPy is imported where a run needs it (where something contends): a single device with
# nothing contending, and the start of the CLI, never load it


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


CHECK_EVERY_EVENTS = 1024  # how often the event loop looks at the clock (a perf_counter call is ~50 ns)
# Trace events one run may record (op runs and transfers over all passes and simulated devices):
# ~600 B each, so 1.2 GB at most; a SimPy event takes ~40 us, so ~80 s of simulation.
MAX_TRACE_EVENTS = 2_000_000
# Each op run of a spatial design is a SimPy process from the start (~1.4 kB with its events and trace
# entry), so a layer-pipelined pass per sample is bounded lower: samples x ops.
MAX_SPATIAL_OP_RUNS = 500_000
LAUNCH_CHUNK = 64  # spatial passes launched per engine step


def run_until_done(env: simpy.Environment, deadline: Deadline | None, events: list | None = None,
                   phase: str = "running the event simulation") -> None:
    """``env.run()``, looking every :data:`CHECK_EVERY_EVENTS` events at the wall clock (``deadline``)
    and at the number of recorded ``events`` (at most :data:`MAX_TRACE_EVENTS`).

    Raises:
        SimulationTimeout: ``deadline`` passed.
        ScenarioError: more than :data:`MAX_TRACE_EVENTS` events recorded.

    Example:
        >>> import simpy
        >>> env = simpy.Environment()
        >>> _ = env.process((env.timeout(1.0) for _ in range(1)))
        >>> run_until_done(env, Deadline.after(60.0)); env.now
        1.0
    """
    steps = 0
    step, peek = env.step, env.peek
    while peek() != float("inf"):
        step()
        steps += 1
        if steps % CHECK_EVERY_EVENTS == 0:
            if deadline is not None:
                deadline.check(phase)
            if events is not None and len(events) > MAX_TRACE_EVENTS:
                raise ScenarioError(f"the run records more than {MAX_TRACE_EVENTS:,} events (ops x passes x "
                                    "micro-batches x simulated devices), the limit of one call; make it smaller "
                                    "(fewer accumulation steps, micro-batches or samples, or keep symmetry)")


@dataclass(frozen=True)
class DeviceRun:
    """What the engine needs for one device: graph, per-op costs, tensor sizes, resident bytes.

    ``spatial``: every op has its own hardware (a layer-pipelined FPGA), and the ``repeat`` passes
    (one per sample) flow through concurrently instead of one after another.
    ``startup_s``: time before the first op (e.g. loading an FPGA bitstream). ``dispatch_s``: an
    eager host issues each op that long after the previous one; an op waits to be issued, except the
    ops in ``host_free``, which other host threads issue at the start of each pass.
    ``held_bytes``: the part of an op's output that its partial readers (graph edges marked
    :data:`~simulator.workload.saved.PART`) keep once its other consumers are done; an op absent
    from it keeps its whole output for them (a caller that does not size the part never frees a
    tensor a backward op still reads).
    Units: ``out_bytes``, ``scratch_bytes``, ``held_bytes`` and ``static_bytes`` in B, ``startup_s`` and ``dispatch_s`` in s; ``repeat``
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
    host_free: frozenset[str] = field(default_factory=frozenset)
    held_bytes: dict[str, float] = field(default_factory=dict)


@dataclass
class _Pass:
    """One pass of ``names`` through the graph, with ``tag`` appended to its event names.

    ``done``: each op's completion; ``remaining``: consumers in the pass still to finish per op (its
    output is freed at zero); ``ready``: weights loaded (with a weight stream); ``issued``: the
    eager host issued the op (with a dispatch time); ``full_left``: per op with partial readers, its
    other consumers still to finish (the rest of its output is freed at zero, its ``split``).
    """

    names: list[str]
    tag: str
    done: dict[str, simpy.Event]
    remaining: dict[str, int]
    ready: dict[str, simpy.Event] | None
    issued: dict[str, simpy.Event] | None
    full_left: dict[str, int] = field(default_factory=dict)
    split: set[str] = field(default_factory=set)


class DeviceSim:
    """One device's op graph as SimPy processes: compute stream(s), host link, memory ledger, events.

    Start :meth:`step` as a process, run ``env``, then read :meth:`trace`. :func:`run_device` does
    exactly that; this class exists so each process is a method over shared, named state.

    Example:
        >>> from simulator.cost.base import Numerics
        >>> from simulator.cost.dispatch import op_cost
        >>> from simulator.spec.loader import load_hardware
        >>> from simulator.units import Precision
        >>> from simulator.workload.loader import load_workload
        >>> g = load_workload("mlp").build(batch_size=8)
        >>> hw = load_hardware("nvidia-h100-sxm")
        >>> costs = {n: op_cost(g.op(n), hw, Numerics(Precision.BF16, Precision.BF16)) for n in g.order}
        >>> import simpy
        >>> env = simpy.Environment()
        >>> sim = DeviceSim(env, DeviceRun(device="h100:0", graph=g, costs=costs, out_bytes={n: 0.0 for n in g.order},
        ...                                scratch_bytes={n: 0.0 for n in g.order}, static_bytes=0.0, repeat=2))
        >>> _ = env.process(sim.step()); env.run()
        >>> [e.name for e in sim.trace().events][:2] == [g.order[0] + "#0", g.order[1] + "#0"]
        True
    """

    def __init__(self, env: simpy.Environment, spec: DeviceRun) -> None:
        import simpy

        self.env = env
        self.spec = spec
        self.compute = simpy.Resource(env, capacity=1)
        # a spatial design gives every op its own hardware, so only passes of the same op queue
        self.per_op = {n: simpy.Resource(env, capacity=1) for n in spec.graph.order} if spec.spatial else None
        self.ledger = MemoryLedger(spec.device, static_bytes=spec.static_bytes)
        self.link = simpy.Resource(env, capacity=1) if spec.weight_stream else None
        self.events: list[TraceEvent] = []
        self.repeated = [n for n in spec.graph.order if n not in spec.once_at_end]
        self.final = [n for n in spec.graph.order if n in spec.once_at_end]

    def step(self):
        """Process: the whole run (startup, the ``repeat`` passes, then the ``once_at_end`` ops)."""
        spec, env = self.spec, self.env
        prev = None
        if spec.startup_s > 0:
            yield env.timeout(spec.startup_s)
            self.events.append(TraceEvent(name="startup", op_type="reconfigure", phase="setup", device=spec.device,
                                          track="compute", start_s=0.0, end_s=env.now, bound="overhead"))
        if spec.spatial:
            passes = []
            for r in range(spec.repeat):
                passes.append(self.launch(self.repeated, None, self._tag(r)))
                if r % LAUNCH_CHUNK == LAUNCH_CHUNK - 1:
                    yield env.timeout(0)  # same instant, FIFO order kept; lets the loop look at the clock
            prev = env.all_of([x for x in passes if x is not None])
            yield prev
        for r in range(0 if spec.spatial else (spec.repeat if self.repeated else 0)):
            prev = self.launch(self.repeated, prev, self._tag(r))
            yield prev
        if self.final:
            yield self.launch(self.final, prev, "")

    def _tag(self, r: int) -> str:
        return f"#{r}" if self.spec.repeat > 1 else ""

    def launch(self, names: list[str], after: simpy.Event | None, tag: str) -> simpy.Event | None:
        """Start one pass of ``names``; ops without a predecessor in it wait for ``after``.

        Returns the event of the whole pass being done (None for no ops).
        """
        env, g, spec = self.env, self.spec.graph, self.spec
        members = set(names)
        p = _Pass(names=names, tag=tag, done={n: env.event() for n in names},
                  remaining={n: sum(1 for s in g.successors(n) if s in members) for n in names},
                  ready={n: env.event() for n in names} if spec.weight_stream else None,
                  issued={n: env.event() for n in names} if spec.dispatch_s > 0 else None,
                  full_left=_full_readers(g, members))
        if p.ready is not None:
            env.process(self.stream(p))
        if p.issued is not None:
            env.process(self.host(p))
        for n in names:
            waits = [p.done[q] for q in g.predecessors(n) if q in members]
            if after is not None and not waits:
                waits = [after]
            env.process(self.op(n, p, waits))
        return env.all_of(list(p.done.values())) if p.done else None

    def op(self, name: str, p: _Pass, waits: list[simpy.Event]):
        """Process: op ``name`` of pass ``p`` runs once issued, ``waits`` done and its weights loaded."""
        env, spec = self.env, self.spec
        if p.issued is not None:
            yield p.issued[name]
        if waits:
            yield env.all_of(waits)
        if p.ready is not None:
            yield p.ready[name]
        cost = spec.costs[name]
        unit = self.per_op[name] if self.per_op is not None else self.compute
        with unit.request() as req:
            yield req
            start = env.now
            self.ledger.alloc(start, spec.out_bytes[name] + spec.scratch_bytes[name])
            yield env.timeout(cost.duration_s)
            self.ledger.free(env.now, spec.scratch_bytes[name])
        op = spec.graph.op(name)
        self.events.append(TraceEvent(name=name + p.tag, op_type=op.kind.value, phase=op.phase.value,
                                      device=spec.device, track="compute", start_s=start, end_s=env.now,
                                      flops=cost.flops, bytes_moved=cost.bytes_moved, bound=cost.bound.value,
                                      energy_j=cost.dynamic_energy_j, compute_cycles=cost.compute_cycles,
                                      throttled_s=cost.throttled_s))
        self._free_outputs(name, p)
        p.done[name].succeed()

    def _free_outputs(self, name: str, p: _Pass) -> None:
        """Free the outputs ``name`` was the last consumer of in ``p``, and its own if nothing in ``p`` reads it
        (of an output with partial readers: all but their part when the others are done, that part at the end)."""
        spec, partial = self.spec, partial_readers(self.spec.graph)
        for q in spec.graph.predecessors(name):
            if q in p.remaining:
                p.remaining[q] -= 1
                if p.remaining[q] == 0:
                    self.ledger.free(self.env.now, spec.held_bytes.get(q, spec.out_bytes[q]) if q in p.split else spec.out_bytes[q])
                elif q in p.full_left and name not in partial[q]:
                    p.full_left[q] -= 1
                    if p.full_left[q] == 0:
                        self._free_unheld(q, p)
        if p.remaining.get(name) == 0:
            self.ledger.free(self.env.now, spec.out_bytes[name])
        elif p.full_left.get(name) == 0:
            self._free_unheld(name, p)

    def _free_unheld(self, q: str, p: _Pass) -> None:
        p.split.add(q)
        self.ledger.free(self.env.now, self.spec.out_bytes[q] - self.spec.held_bytes.get(q, self.spec.out_bytes[q]))

    def stream(self, p: _Pass):
        """Process: load each op's streamed weights over the host link, at most ``prefetch_ops`` ahead."""
        env, ws = self.env, self.spec.weight_stream
        for i, name in enumerate(p.names):
            nbytes = ws.bytes_by_op.get(name, 0.0)
            if i >= ws.prefetch_ops:
                yield p.done[p.names[i - ws.prefetch_ops]]  # bounded on-chip staging buffer
            if nbytes > 0:
                with self.link.request() as req:
                    yield req
                    start = env.now
                    yield env.timeout(ws.latency_s + nbytes / ws.bandwidth_bps)
                self.events.append(TraceEvent(name=f"load {name}{p.tag}", op_type="transfer", phase="weights",
                                              device=self.spec.device, track="host_link", start_s=start,
                                              end_s=env.now, bytes_moved=nbytes, bound="host",
                                              energy_j=nbytes * ws.energy_j_per_byte))
            p.ready[name].succeed()

    def host(self, p: _Pass):
        """Process: an eager framework's host issues the ops one after another, in program order."""
        free = self.spec.host_free
        for name in p.names:
            if name in free:
                p.issued[name].succeed()
        for name in p.names:
            if name not in free:
                yield self.env.timeout(self.spec.dispatch_s)
                p.issued[name].succeed()

    def trace(self) -> Trace:
        """The :class:`Trace` so far (the whole run once ``env`` has run out of events).

        Events are ordered by (start, end, track, name), ties by the order they happened in.
        """
        events = sorted(self.events, key=lambda e: (e.start_s, e.end_s, e.track, e.name))
        return Trace(events=tuple(events), memory=tuple(self.ledger.samples), end_s=float(self.env.now),
                     peak_bytes=self.ledger.peak, meta={"peak_time_s": self.ledger.peak_time_s})


def run_device(spec: DeviceRun) -> Trace:
    """Simulate ``spec`` and return its :class:`Trace` (deterministic: FIFO resources, insertion order).

    Raises:
        SimulationTimeout: ``spec.deadline`` passed while events were still being processed.
        ScenarioError: more op runs (ops x passes) than :data:`MAX_TRACE_EVENTS` (:data:`MAX_SPATIAL_OP_RUNS`
            for a spatial design).

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
    once = sum(1 for n in spec.graph.order if n in spec.once_at_end)
    runs = (len(spec.graph.order) - once) * spec.repeat + once
    limit = MAX_SPATIAL_OP_RUNS if spec.spatial else MAX_TRACE_EVENTS
    if runs > limit:  # known before any event: refuse now rather than fill memory first
        what = "samples (one pass each, layer-pipelined)" if spec.spatial else "passes (gradient accumulation)"
        raise ScenarioError(f"{spec.repeat:,} {what} x {len(spec.graph.order) - once:,} ops = {runs:,} op runs, above "
                            f"the limit of {limit:,} for one call; make the batch or the accumulation smaller")
    if spec.weight_stream is None and not spec.dispatch_s > 0 and not spec.spatial:
        return ChainRun(spec).trace()
    import simpy

    env = simpy.Environment()
    sim = DeviceSim(env, spec)
    env.process(sim.step())
    run_until_done(env, spec.deadline, sim.events)
    return sim.trace()


class ChainRun:
    """A device where nothing contends, played without SimPy: one step of a running sum per op.

    One compute stream, no host link, no eager host: an op starts when the stream frees, and the
    stream takes the ops in the order they became ready (their last input done; ops made ready by
    the same op in graph order), which is exactly the FIFO order in which :class:`DeviceSim`'s
    processes queue on its stream resource. So the times, the memory ledger (the same allocations
    and frees at the same times, in the same order) and the events are the same as there, float
    for float, at a fraction of the cost (no generator, event or resource objects per op).

    Example:
        >>> from simulator.cost.base import Numerics
        >>> from simulator.cost.dispatch import op_cost
        >>> from simulator.spec.loader import load_hardware
        >>> from simulator.units import Precision
        >>> from simulator.workload.loader import load_workload
        >>> g = load_workload("resnet18").build(batch_size=2)
        >>> hw = load_hardware("nvidia-l4")
        >>> spec = DeviceRun(device="l4:0", graph=g, costs={n: op_cost(g.op(n), hw, Numerics(Precision.FP16,
        ...                  Precision.FP16)) for n in g.order}, out_bytes={n: g.op(n).output_elems * 2.0 for n in g.order},
        ...                  scratch_bytes={n: 0.0 for n in g.order}, static_bytes=1e6, repeat=2)
        >>> import simpy
        >>> env = simpy.Environment(); sim = DeviceSim(env, spec); _ = env.process(sim.step()); env.run()
        >>> ChainRun(spec).trace() == sim.trace()
        True
    """

    def __init__(self, spec: DeviceRun) -> None:
        self.spec = spec
        self.ledger = MemoryLedger(spec.device, static_bytes=spec.static_bytes)
        self.events: list[tuple] = []  # TraceEvent fields, built into events only when read
        self.now = 0  # SimPy's clock starts at the integer 0: the first op's start and sample keep it
        self.tie = False  # two events may share a start time: sort as the SimPy run does
        self.steps = 0
        repeated, final = pass_orders(spec.graph, spec.once_at_end)
        if spec.startup_s > 0:
            self.now = 0 + spec.startup_s
            self.events.append(("startup", "reconfigure", "setup", spec.device, "compute", 0.0, self.now, 0.0, 0.0,
                                "overhead", 0.0, None, 0.0))
        rows = _event_rows(spec.graph, spec.costs)
        for r in range(spec.repeat if repeated else 0):
            self.run_pass(repeated, rows, f"#{r}" if spec.repeat > 1 else "")
        if final:
            self.run_pass(final, rows, "")

    def run_pass(self, schedule: list[tuple[str, tuple[str, ...]]], rows: dict[str, tuple], tag: str) -> None:
        """One pass in its ready order (:func:`pass_orders`): each op right after the one before."""
        spec, ledger, events = self.spec, self.ledger, self.events
        out_bytes, scratch_bytes, held_bytes = spec.out_bytes, spec.scratch_bytes, spec.held_bytes
        device, deadline, now = spec.device, spec.deadline, self.now
        # the ledger's alloc / free / _sample, inlined (two of each per op): same arithmetic, same samples
        times, sizes = ledger._times, ledger._bytes
        current, peak, peak_t = ledger.current, ledger.peak, ledger.peak_time_s
        steps = self.steps
        for name, frees in schedule:
            (duration, flops, nbytes, bound, energy, cycles, throttled), (op_type, phase) = rows[name]
            start = now
            scratch = scratch_bytes[name]
            grow = out_bytes[name] + scratch
            if grow > 0:
                current += grow
                if current > peak:
                    peak, peak_t = current, start
                if times[-1] == start:
                    times[-1], sizes[-1] = start, current
                else:
                    times.append(start)
                    sizes.append(current)
            now = start + duration
            if now <= start:
                self.tie = True
            if scratch > 0:
                current -= scratch
                if times[-1] == now:
                    times[-1], sizes[-1] = now, current
                else:
                    times.append(now)
                    sizes.append(current)
            for q in frees:
                if q.__class__ is tuple:  # (op, held): the part partial readers keep, or (op, False) the rest
                    q, held = q
                    shrink = held_bytes.get(q, out_bytes[q]) if held else out_bytes[q] - held_bytes.get(q, out_bytes[q])
                else:
                    shrink = out_bytes[q]
                if shrink > 0:
                    current -= shrink
                    if times[-1] == now:
                        times[-1], sizes[-1] = now, current
                    else:
                        times.append(now)
                        sizes.append(current)
            events.append((name + tag, op_type, phase, device, "compute", start, now, flops, nbytes, bound, energy,
                           cycles, throttled))
            steps += 1
            if deadline is not None and steps % CHECK_EVERY_EVENTS == 0:
                deadline.check("running the event simulation")
        ledger.current, ledger.peak, ledger.peak_time_s = current, peak, peak_t
        self.steps = steps
        self.now = now

    def trace(self) -> Trace:
        """The run's :class:`Trace`, as :meth:`DeviceSim.trace` orders it."""
        events = self.events
        if self.tie:  # (start, end, track, name), as DeviceSim sorts its events
            events = sorted(events, key=itemgetter(5, 6, 4, 0))
        return Trace(events=Records(TraceEvent, events), memory=self.ledger.records(), end_s=float(self.now),
                     peak_bytes=self.ledger.peak, meta={"peak_time_s": self.ledger.peak_time_s})


def pass_orders(graph: ComputeGraph, once_at_end: frozenset[str]) -> tuple[list, list]:
    """The order a single stream runs a pass in, and what each op frees: ``[(op, outputs freed when
    it ends)]`` for the repeated pass and for the ``once_at_end`` ops.

    An op is ready when its last input in the pass is done; the stream takes ready ops first come,
    first served, and the ops one op makes ready in graph order (the order :class:`DeviceSim`'s
    processes queue in). Durations do not change this order, so it is computed once per graph
    (kept in ``graph.memo``). An output is freed when its last consumer in the pass ends, or right
    away when nothing in the pass reads it. An output with partial readers (:func:`partial_readers`)
    is freed in two parts, ``(op, False)`` (all but their part) when its other consumers are done and
    ``(op, True)`` (their part) when the last one ends, unless both fall on the same op.

    Example:
        >>> from simulator.workload.graph import GraphBuilder
        >>> b = GraphBuilder("g", batch=1)
        >>> x = b.input((1, 4))
        >>> _ = b.add_tensors("add", b.linear("left", x, 4), b.act("right", b.linear("up", x, 4)))
        >>> repeated, _ = pass_orders(b.build(), frozenset())
        >>> repeated    # "up" made ready at the start, "right" only once "up" ends
        [('left', ()), ('up', ()), ('right', ('up',)), ('add', ('left', 'right', 'add'))]
    """
    key = ("pass_orders", once_at_end)
    found = graph.memo.get(key)
    if found is None:
        order = graph.order
        found = graph.memo[key] = (_ready_order(graph, [n for n in order if n not in once_at_end]),
                                   _ready_order(graph, [n for n in order if n in once_at_end]))
    return found


def _ready_order(graph: ComputeGraph, names: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    preds, succs = (d.__getitem__ for d in graph.adjacency)
    members = set(names)
    if len(members) == len(graph):  # the whole graph: every neighbour is in the pass
        need = {n: len(preds(n)) for n in names}
        remaining = {n: len(succs(n)) for n in names}
    else:
        need = {n: sum(1 for q in preds(n) if q in members) for n in names}
        remaining = {n: sum(1 for x in succs(n) if x in members) for n in names}
    partial = partial_readers(graph)
    full_left = _full_readers(graph, members)
    split: set[str] = set()
    ready = deque(n for n in names if not need[n])
    pop, push = ready.popleft, ready.append
    out = []
    while ready:
        name = pop()
        frees: list = []
        for q in preds(name):
            left = remaining.get(q)
            if left is not None:
                remaining[q] = left - 1
                if left == 1:
                    frees.append((q, True) if q in split else q)
                elif q in full_left and name not in partial[q]:
                    full_left[q] -= 1
                    if full_left[q] == 0:
                        split.add(q)
                        frees.append((q, False))
        if remaining[name] == 0:
            frees.append(name)
        elif full_left.get(name) == 0:
            split.add(name)
            frees.append((name, False))
        out.append((name, tuple(frees)))
        for x in succs(name):
            left = need.get(x)
            if left is not None:
                need[x] = left - 1
                if left == 1:
                    push(x)
    return out


def partial_readers(graph: ComputeGraph) -> dict[str, frozenset[str]]:
    """Per op, its consumers that read only part of its output (edges marked
    :data:`~simulator.workload.saved.PART`: a dropout's backward reads its mask), kept in ``graph.memo``.

    Example:
        >>> from simulator.workload.loader import load_workload
        >>> from simulator.workload.training import build_training_graph
        >>> g = build_training_graph(load_workload("bert-base").build(batch_size=1, seq_len=8)).graph
        >>> partial_readers(g)["h0.attn.out.dropout"]
        frozenset({'h0.attn.out.dropout.grad'})
    """
    found = graph.memo.get("partial_readers")
    if found is None:
        acc: dict[str, set[str]] = {}
        for u, v, data in graph.digraph.edges(data=True):
            if data.get(PART):
                acc.setdefault(u, set()).add(v)
        found = graph.memo["partial_readers"] = {u: frozenset(v) for u, v in acc.items()}
    return found


def _full_readers(graph: ComputeGraph, members: set[str]) -> dict[str, int]:
    """Per op in ``members`` with partial readers, its consumers in ``members`` that read all of it."""
    return {q: sum(1 for x in graph.successors(q) if x in members and x not in readers)
            for q, readers in partial_readers(graph).items() if q in members}


def _event_rows(graph: ComputeGraph, costs: dict[str, OpCost]) -> dict[str, tuple]:
    """Per op: ((duration, FLOPs, bytes, bound, energy, cycles, throttled), (op type, phase)), the
    fields of its trace event; the cost part once per distinct cost object (ops of one class share
    it), the op part once per graph. Kept in ``graph.memo`` for the last few cost tables."""
    memo = graph.memo.setdefault("event_rows", {})
    hit = memo.get(id(costs))
    if hit is not None and hit[0] is costs:
        return hit[1]
    kinds = graph.memo.get("event_kinds")
    if kinds is None:
        kinds = graph.memo["event_kinds"] = {n: (op.kind._value_, op.phase._value_) for n, op in graph.op_map.items()}
    per_cost: dict[int, tuple] = {}
    rows = {}
    for name, c in costs.items():
        fields = per_cost.get(id(c))
        if fields is None:
            fields = per_cost[id(c)] = (c.duration_s, c.flops, c.bytes_moved, c.bound.value, c.dynamic_energy_j,
                                        c.compute_cycles, c.throttled_s)
        rows[name] = (fields, kinds[name])
    if len(memo) >= 4:
        memo.pop(next(iter(memo), None), None)
    memo[id(costs)] = (costs, rows)
    return rows
