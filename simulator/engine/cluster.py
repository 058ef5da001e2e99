"""Many devices in SimPy: pipeline stages, micro-batch schedules, collectives on contended links.

Every simulated device has a compute stream and two link resources (``intra`` for the node's fabric,
``inter`` for the network). A collective is a barrier of its group's simulated members followed by
its phases, each holding the links of every member for its duration, so collectives that share a
link queue behind each other. With ``symmetric=True`` only one device per pipeline stage is
simulated: its tensor- and data-parallel peers do identical work at identical times, so their
collectives are played by the representative alone with the full group size in the cost formula.
:class:`ClusterSim` holds the environment and those resources, its processes are methods;
:func:`run_cluster` is the entry point.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING

from ..cost.collectives import Collective, LinkModel, collective_time_s
from ..deadline import Deadline
from ..errors import ScenarioError
from ..parallel.plan import ClusterPlan, Segment
from ..trace import MemorySample, Records, TraceEvent
from .memory import MemoryLedger
from .run import MAX_TRACE_EVENTS, run_until_done

if TYPE_CHECKING:
    import simpy

# SimPy is imported where a run needs it (where something contends): a single device with
# nothing contending, and the start of the CLI, never load it


@dataclass(frozen=True)
class GroupShape:
    """How a communication group lies on the fabric: ``intra`` members per node x ``nodes`` nodes.

    Example:
        >>> GroupShape(intra=8, nodes=16).size
        128
    """

    intra: int
    nodes: int

    @property
    def size(self) -> int:
        """Members of the group: ``intra * nodes``."""
        return self.intra * self.nodes


@dataclass(frozen=True)
class Fabrics:
    """The two link levels and how each group and the pipeline's hops map onto them.

    Energies in J per byte; ``groups`` maps "tp", "dp", "ep" to a :class:`GroupShape`. Built by
    :func:`simulator.run.placement.fabrics_for`; see :func:`run_cluster` for an example.
    ``compute_share``: the device's ``efficiency.collective_compute_share``, the share of an overlapped
    or asynchronous collective's link time it also takes from the device's compute stream.
    """

    intra: LinkModel
    inter: LinkModel | None
    intra_energy_j_per_byte: float
    inter_energy_j_per_byte: float
    groups: dict[str, GroupShape]
    pipeline_link: str  # "intra" or "inter"
    compute_share: float = 0.0


@dataclass
class DeviceStats:
    """What one simulated device did: busy, blocked-on-communication, link-busy and waiting time (s),
    end (s), dynamic energy (J) and its memory ledger (set by :class:`ClusterSim`)."""

    name: str
    stage: int
    busy_s: float = 0.0
    comm_blocking_s: float = 0.0
    link_busy_s: float = 0.0
    wait_s: float = 0.0
    end_s: float = 0.0
    energy_dynamic_j: float = 0.0
    ledger: MemoryLedger | None = None


@dataclass(frozen=True)
class ClusterTrace:
    """The outcome of a cluster run: events and memory samples of the simulated devices, end (s), stats."""

    events: tuple[TraceEvent, ...]
    memory: tuple[MemorySample, ...]
    end_s: float
    stats: tuple[DeviceStats, ...] = field(default_factory=tuple)


# Devices simulated one by one (symmetric=False): each is a SimPy process with its own resources,
# memory ledger and arrival events (a few kB before any event runs).
MAX_SIMULATED_DEVICES = 16_384

# NCCL splits a hierarchical collective into many chunks, so its intra- and inter-node phases
# overlap; the pipeline-fill cost is one chunk's worth of the shorter side.
CHUNKS = 8


def phases(kind: Collective, nbytes: float, shape: GroupShape, fab: Fabrics) -> list[tuple[tuple[str, ...], float]]:
    """(links held, seconds) phases of a collective on the two-level fabric.

    Within one node (or one network level) a collective is one phase on that link. Across nodes it
    is hierarchical (reduce-scatter in the node, the operation across nodes on 1/g of the data,
    all-gather in the node), pipelined over chunks: both links are held for
    ``max(intra, inter) + min(intra, inter) / CHUNKS``. ``nbytes`` per rank in B. Raises nothing.

    Example:
        >>> link = LinkModel(bandwidth_bps=1e11, latency_s=0.0)
        >>> fab = Fabrics(intra=link, inter=link, intra_energy_j_per_byte=0.0, inter_energy_j_per_byte=0.0,
        ...               groups={}, pipeline_link="intra")
        >>> phases(Collective.ALL_REDUCE, 1e9, GroupShape(4, 1), fab)     # ring: 2 (n-1)/n S / B
        [(('intra',), 0.015)]
        >>> [links for links, _ in phases(Collective.ALL_REDUCE, 1e9, GroupShape(4, 2), fab)]
        [('intra', 'inter')]
    """
    r, q = shape.intra, shape.nodes
    if shape.size <= 1 or nbytes <= 0:
        return []
    if q == 1 or fab.inter is None:
        return [(("intra",), collective_time_s(kind, n=r * q, nbytes=nbytes, link=fab.intra))]
    if r == 1:
        return [(("inter",), collective_time_s(kind, n=q, nbytes=nbytes, link=fab.inter))]
    if kind == Collective.ALL_TO_ALL:
        n = r * q
        intra = collective_time_s(kind, n=r, nbytes=nbytes * r / n, link=fab.intra)
        inter = (q - 1) * fab.inter.latency_s + (n - r) / n * nbytes / fab.inter.bandwidth_bps
    else:
        rs = collective_time_s(Collective.REDUCE_SCATTER, n=r, nbytes=nbytes, link=fab.intra)
        ag = collective_time_s(Collective.ALL_GATHER, n=r, nbytes=nbytes, link=fab.intra)
        inter = collective_time_s(kind, n=q, nbytes=nbytes / r, link=fab.inter)
        intra = {Collective.ALL_REDUCE: rs + ag, Collective.REDUCE_SCATTER: rs, Collective.ALL_GATHER: ag}.get(kind, rs)
    return [(("intra", "inter"), max(intra, inter) + min(intra, inter) / CHUNKS)]


def schedule(stage: int, stages: int, microbatches: int, kind: str) -> list[tuple[str, int]]:
    """The order a stage runs forward (F) and backward (B) micro-batches: 1F1B or GPipe.

    Example:
        >>> schedule(0, 2, 3, "1f1b")
        [('F', 0), ('F', 1), ('B', 0), ('F', 2), ('B', 1), ('B', 2)]
    """
    if kind == "gpipe":
        return [("F", k) for k in range(microbatches)] + [("B", k) for k in range(microbatches)]
    warm = min(stages - stage - 1, microbatches)
    out = [("F", k) for k in range(warm)]
    f, b = warm, 0
    while f < microbatches:
        out.append(("F", f))
        f += 1
        out.append(("B", b))
        b += 1
    out += [("B", k) for k in range(b, microbatches)]
    return out


def interleaved_schedule(stage: int, stages: int, chunks_per_stage: int, microbatches: int,
                         training: bool = True) -> list[tuple[str, int, int]]:
    """Megatron's interleaved 1F1B order for pipeline rank ``stage``: ``(F|B, micro-batch, chunk)``.

    Chunk ``c * stages + stage`` is the rank's ``c``-th model chunk. Virtual micro-batch ``i`` runs
    micro-batch ``(i // (stages * v)) * stages + i % stages`` on the rank's chunk ``(i // stages) % v``
    (reversed for backward); warm-up is ``2 (stages - stage - 1) + (v - 1) stages`` forwards, all of
    them when ``microbatches == stages`` (megatron/core/pipeline_parallel/schedules.py). With ``v = 1``
    this is :func:`schedule`'s 1F1B. ``microbatches`` must be a multiple of ``stages`` when ``v > 1``
    (checked by the caller).

    Example:
        >>> interleaved_schedule(0, 2, 2, 2)[:4]    # rank 0 of 2, chunks 0 and 2
        [('F', 0, 0), ('F', 1, 0), ('F', 0, 2), ('F', 1, 2)]
    """
    v, p = chunks_per_stage, stages
    total = microbatches * v

    def chunk(i: int, forward: bool) -> int:
        c = (i % (p * v)) // p
        return (c if forward else v - 1 - c) * p + stage

    def micro(i: int) -> int:
        return (i // (p * v)) * p + i % p

    if not training:
        return [("F", micro(i), chunk(i, True)) for i in range(total)]
    if v == 1:
        return [(kind, k, stage) for kind, k in schedule(stage, stages, microbatches, "1f1b")]
    warm = total if microbatches == p else min(total, 2 * (p - stage - 1) + (v - 1) * p)
    out = [("F", micro(i), chunk(i, True)) for i in range(warm)]
    for i in range(total - warm):
        out.append(("F", micro(warm + i), chunk(warm + i, True)))
        out.append(("B", micro(i), chunk(i, False)))
    out += [("B", micro(i), chunk(i, False)) for i in range(total - warm, total)]
    return out


class _Grant:
    """A link held without a SimPy request event (see :func:`_take_all`)."""

    __slots__ = ()


def _take_all(resources: list[simpy.Resource]) -> list | None:
    """Hold every resource at once when all are free and nothing queues for them, without request
    events; None (holding nothing) otherwise, and the caller requests them as usual.

    A request granted on the spot leaves SimPy's resource exactly as this does (the holder in its
    users); its event would only wake the requester, which here goes on at once. Releasing with
    :func:`_give_back` keeps SimPy's first-come, first-served hand-over.

    Example:
        >>> import simpy
        >>> env = simpy.Environment(); link = simpy.Resource(env, 1)
        >>> held = _take_all([link]); len(link.users), _take_all([link])
        (1, None)
        >>> _give_back(link, held[0]); len(link.users)
        0
    """
    for r in resources:
        if len(r.users) >= r.capacity or r.put_queue:
            return None
    grants = []
    for r in resources:
        grant = _Grant()
        r.users.append(grant)
        if len(r.users) > r.capacity:  # the same resource twice in the list: undo, request as usual
            for x, g in zip(resources, grants + [grant]):
                x.users.remove(g)
            return None
        grants.append(grant)
    return grants


def _give_back(resource: simpy.Resource, grant) -> None:
    """Release ``grant``: through SimPy when someone queues (it hands the resource over), else at once."""
    if isinstance(grant, _Grant) and not resource.put_queue:
        resource.users.remove(grant)
    else:
        resource.release(grant)


def rank_tasks(plan: ClusterPlan, stage: int, training: bool) -> list[tuple[str, int, int]]:
    """Pipeline rank ``stage``'s (F|B, micro-batch, chunk) order for ``plan``: its schedule (1F1B,
    GPipe or interleaved), forwards only for inference.

    Example:
        >>> from simulator.parallel.layout import Parallelism
        >>> plan = ClusterPlan(stages=(), parallelism=Parallelism(pipeline=2), microbatches=2, microbatch_size=1)
        >>> rank_tasks(plan, 1, True)
        [('F', 0, 1), ('B', 0, 1), ('F', 1, 1), ('B', 1, 1)]
    """
    p = plan.parallelism
    if p.virtual_stages > 1 or not training:
        return interleaved_schedule(stage, p.pipeline, p.virtual_stages, plan.microbatches, training)
    return [(kind, k, stage) for kind, k in schedule(stage, p.pipeline, plan.microbatches, p.schedule)]


Coord = tuple[int, int, int]  # (data-parallel rank, tensor-parallel rank, pipeline stage)


class ClusterSim:
    """One step of a cluster plan as SimPy processes over per-device compute and link resources.

    Simulated devices are ``coords``: one per pipeline stage when ``symmetric``, else every
    (data, tensor, stage) coordinate. Start :meth:`device` for each coordinate as a process, run
    ``env``, then read :meth:`trace`; :func:`run_cluster` does exactly that.

    Example:
        >>> from simulator.parallel.layout import Parallelism
        >>> from simulator.parallel.plan import StagePlan
        >>> fab = Fabrics(intra=LinkModel(bandwidth_bps=1e11, latency_s=0.0), inter=None,
        ...               intra_energy_j_per_byte=0.0, inter_energy_j_per_byte=0.0,
        ...               groups={"tp": GroupShape(1, 1), "dp": GroupShape(2, 1), "ep": GroupShape(1, 1)},
        ...               pipeline_link="intra")
        >>> stage = StagePlan(stage=0, forward=(Segment(duration_s=0.002, label="fc"),), backward=(),
        ...                   optimizer=(), static_bytes={}, activation_bytes_per_microbatch=0.0,
        ...                   boundary_bytes=0.0, params=0.0)
        >>> plan = ClusterPlan(stages=(stage,), parallelism=Parallelism(data=2), microbatches=2, microbatch_size=1)
        >>> import simpy
        >>> env = simpy.Environment()
        >>> sim = ClusterSim(env, plan, fab, device_name="gpu", training=False, symmetric=False)
        >>> for c in sim.coords:
        ...     _ = env.process(sim.device(c))
        >>> env.run()
        >>> [(e.device, e.name, e.end_s) for e in sim.trace().events][:2]
        [('gpu[dp0,tp0,pp0]', 'F0 fc', 0.002), ('gpu[dp1,tp0,pp0]', 'F0 fc', 0.002)]
    """

    # A device's compute stream is used by its own process only, one segment after another: a
    # segment starts the moment the one before it ends, so no request event stands for it; a
    # transfer whose links are all free takes them without request events (:func:`_take_all`).
    # True restores SimPy's requests and waits: the reference the tests compare the traces with.
    stream_requests = False

    def __init__(self, env: simpy.Environment, plan: ClusterPlan, fab: Fabrics, *, device_name: str,
                 training: bool, symmetric: bool = True) -> None:
        import simpy

        p = plan.parallelism
        self.env, self.plan, self.fab, self.training = env, plan, fab, training
        self.coords: list[Coord] = [(0, 0, s) for s in range(p.pipeline)] if symmetric else \
            [(d, t, s) for s in range(p.pipeline) for d in range(p.data * p.context) for t in range(p.tensor)]
        self.names = {c: f"{device_name}[dp{c[0]},tp{c[1]},pp{c[2]}]" for c in self.coords}
        self.compute = {c: simpy.Resource(env, 1) for c in self.coords}
        self.links = {c: {"intra": simpy.Resource(env, 1), "inter": simpy.Resource(env, 1)} for c in self.coords}
        self.stats = {c: DeviceStats(name=self.names[c], stage=c[2],
                                     ledger=MemoryLedger(self.names[c], static_bytes=self._static_bytes(c[2])))
                      for c in self.coords}
        self.events: list[tuple] = []  # TraceEvent fields, built into events only when read
        self._barrier: dict[tuple, list] = {}  # (group, members, task) -> [arrived, all arrived]
        self._groups: dict[str, dict[tuple, tuple[Coord, ...]]] = {}  # group -> key -> members, on first use
        self._labels: dict[tuple, str] = {}
        self._member_of: dict[tuple, tuple[Coord, ...]] = {}  # (device, group) -> its group's members
        self._phases: dict[int, tuple] = {}  # id(segment) -> (segment, its phases on the fabric)
        # arrival of micro-batch k's activations (F) or gradients (B) at model chunk x
        self.arrive = {c: {(kind, k, x): env.event() for kind in "FB" for k in range(plan.microbatches)
                           for x in self._chunks_of(c[2])} for c in self.coords}

    def _chunks_of(self, stage: int) -> range:
        """The model chunks pipeline rank ``stage`` holds (more than one when interleaved)."""
        p = self.plan.parallelism
        return range(stage, p.chunks, p.pipeline)

    def _static_bytes(self, stage: int) -> float:
        return sum(sum(self.plan.stages[x].static_bytes.values()) for x in self._chunks_of(stage))

    def _group_key(self, c: Coord, group: str) -> tuple:
        """What ``c`` shares with the other members of its ``group``."""
        d, t, s = c
        if group == "tp":
            return d, s
        sg = self.plan.parallelism.shard_group
        if group == "cp":  # context parallelism: consecutive ranks of the data axis share a sample
            return t, s, d // self.plan.parallelism.context
        if group == "zero":  # hybrid sharding: the shard group of consecutive data ranks
            return t, s, d // sg
        if group == "replica":  # the same shard in every replica
            return t, s, d % sg
        return t, s  # dp and ep groups

    def members(self, c: Coord, group: str) -> tuple[Coord, ...]:
        """The simulated members of ``c``'s ``group`` ("tp", "dp", "ep", "cp", "zero" or "replica"), sorted;
        the data axis holds data x context ranks, context fastest.

        Every group of a kind is listed once, on first use (one pass over the devices, not one per
        collective: a collective's cost stays independent of the cluster's size)."""
        groups = self._groups.get(group)
        if groups is None:
            lists: dict[tuple, list[Coord]] = {}
            for x in self.coords:
                lists.setdefault(self._group_key(x, group), []).append(x)
            groups = self._groups[group] = {k: tuple(sorted(v)) for k, v in lists.items()}
        return groups[self._group_key(c, group)]

    def collective(self, c: Coord, seg: Segment, tag: tuple, phase: str) -> simpy.Event:
        """``c`` joins the collective ``seg``; returns its completion, started once every member joined."""
        group_members = self._member_of.get((c, seg.group))
        if group_members is None:
            group_members = self._member_of[c, seg.group] = self.members(c, seg.group)
        key = (id(group_members), tag)  # member tuples are kept for the run: their identity names the group
        entry = self._barrier.get(key)
        if entry is None:
            entry = self._barrier[key] = [0, self.env.event()]
        entry[0] += 1
        if entry[0] == len(group_members):
            self.env.process(self.transfer(group_members, seg, phase, entry[1]))
        return entry[1]

    def transfer(self, group_members: tuple[Coord, ...], seg: Segment, phase: str, done: simpy.Event):
        """Process: the phases of collective ``seg``, each holding its links on every member; then ``done``."""
        env, fab = self.env, self.fab
        for held, secs in self._phase_plan(seg)[1]:
            resources = [self.links[m][link] for m in group_members for link in held]
            grants = None if self.stream_requests else _take_all(resources)
            if grants is None:  # some link is busy: request every one, wait for them all
                grants = [r.request() for r in resources]
                yield env.all_of(grants)
            start = env.now
            yield env.timeout(secs)
            for r, grant in zip(resources, grants):
                _give_back(r, grant)
            for m in group_members:
                self.stats[m].link_busy_s += secs
                for link in held:
                    e_per_b = fab.intra_energy_j_per_byte if link == "intra" else fab.inter_energy_j_per_byte
                    self.events.append((seg.label or seg.collective.value, seg.collective.value, phase,
                                        self.names[m], link, start, env.now, 0.0, seg.nbytes / len(held),
                                        "interconnect", seg.nbytes / len(held) * e_per_b, None, 0.0))
        done.succeed()

    def _phase_plan(self, seg: Segment) -> tuple:
        """(segment, its phases on the fabric): the same for every group of the collective, built once."""
        plan = self._phases.get(id(seg))
        if plan is None:
            shape = self.fab.groups.get(seg.group, GroupShape(1, 1))
            plan = self._phases[id(seg)] = (seg, phases(seg.collective, seg.nbytes, shape, self.fab))
        return plan

    def _collective_stall(self, c: Coord, seg: Segment, phase: str):
        """Process body: the share of an overlapped collective's link time that holds ``c``'s compute
        stream (``Fabrics.compute_share``; nothing when it is 0)."""
        share = self.fab.compute_share
        if share <= 0.0:
            return
        env, stats = self.env, self.stats[c]
        secs = share * sum(s for _, s in self._phase_plan(seg)[1])
        start = env.now
        yield env.timeout(secs)
        stats.busy_s += secs
        self.events.append((f"{seg.label or seg.collective.value} (on compute)", "compute", phase, self.names[c],
                            "compute", start, env.now, 0.0, 0.0, "interconnect", 0.0, None, 0.0))

    def run_segments(self, c: Coord, segs, task: tuple, phase: str, pending: list):
        """Process body: ``c`` runs ``segs`` of ``task`` (kind, micro-batch, chunk) in order.

        Compute holds the device's stream; blocking collectives are awaited in place, overlapped ones
        at the end of the pass, asynchronous ones are appended to ``pending`` for the caller.
        """
        env, stats = self.env, self.stats[c]
        in_pass: list = []
        for i, seg in enumerate(segs):
            if seg.collective is None:
                if self.stream_requests:  # the reference engine: the stream as a resource (only c uses it)
                    with self.compute[c].request() as req:
                        yield req
                start = env.now
                yield env.timeout(seg.duration_s)
                stats.busy_s += seg.duration_s
                stats.energy_dynamic_j += seg.energy_j
                label = (task[0], task[1], seg.label)
                name = self._labels.get(label)
                if name is None:  # one string per (pass, micro-batch, segment), shared by every device
                    name = self._labels[label] = f"{task[0]}{task[1]} {seg.label}"
                self.events.append((name, "compute", phase, self.names[c], "compute", start, env.now, seg.flops,
                                    seg.bytes_moved, seg.bound, seg.energy_j, None, seg.throttled_s))
                continue
            if seg.async_ and task[1] != self.plan.microbatches - 1:
                # gradients accumulate over the micro-batches: one sync per step, in the last backward
                continue
            done = self.collective(c, seg, (task, i), phase)
            if seg.async_ or seg.overlap:
                (pending if seg.async_ else in_pass).append(done)
                yield from self._collective_stall(c, seg, phase)
            else:
                t0 = env.now
                yield done
                stats.comm_blocking_s += env.now - t0
        if in_pass:
            t0 = env.now
            yield env.all_of(in_pass)
            stats.comm_blocking_s += env.now - t0

    def send(self, c: Coord, k: int, kind: str, nbytes: float, x: int):
        """Process: ``c`` sends micro-batch ``k``'s activations (F) or gradients (B) on from chunk ``x``."""
        env, fab = self.env, self.fab
        d, t, _ = c
        to = x + 1 if kind == "F" else x - 1  # the neighbouring model chunk, on the next / previous rank
        dst = (d, t, to % self.plan.parallelism.pipeline)
        link = self.links[c][fab.pipeline_link]
        model = fab.intra if fab.pipeline_link == "intra" or fab.inter is None else fab.inter
        grants = None if self.stream_requests else _take_all([link])
        if grants is None:
            grants = [link.request()]
            yield grants[0]
        start = env.now
        yield env.timeout(collective_time_s(Collective.P2P, n=2, nbytes=nbytes, link=model))
        _give_back(link, grants[0])
        self.stats[c].link_busy_s += env.now - start
        self.events.append((f"send {kind}{k}", "p2p", "pipeline", self.names[c], fab.pipeline_link, start, env.now,
                            0.0, nbytes, "interconnect", 0.0, None, 0.0))
        self.arrive[dst][(kind, k, to)].succeed()

    def tasks(self, stage: int) -> list[tuple[str, int, int]]:
        """Pipeline rank ``stage``'s (F|B, micro-batch, chunk) order for this plan."""
        return rank_tasks(self.plan, stage, self.training)

    def device(self, c: Coord):
        """Process: device ``c``'s whole step: its micro-batch tasks, the gradient syncs, the optimizer."""
        env, plan, stats = self.env, self.plan, self.stats[c]
        chunks = plan.parallelism.chunks
        pending: list = []
        for kind, k, x in self.tasks(c[2]):
            st = plan.stages[x]
            wait_on = None
            if kind == "F" and x > 0:
                wait_on = self.arrive[c][("F", k, x)]
            elif kind == "B" and x < chunks - 1:
                wait_on = self.arrive[c][("B", k, x)]
            if wait_on is not None:
                t0 = env.now
                yield wait_on
                stats.wait_s += env.now - t0
            segs = st.forward if kind == "F" else st.backward
            yield from self.run_segments(c, segs, (kind, k, x), "forward" if kind == "F" else "backward", pending)
            if kind == "F" and self.training:
                stats.ledger.alloc(env.now, st.activation_bytes_per_microbatch)
            if kind == "B":
                stats.ledger.free(env.now, st.activation_bytes_per_microbatch)
            if kind == "F" and x < chunks - 1:
                env.process(self.send(c, k, "F", st.boundary_bytes, x))
            if kind == "B" and x > 0:
                env.process(self.send(c, k, "B", plan.stages[x - 1].boundary_bytes, x))
        if pending:
            t0 = env.now
            yield env.all_of(pending)
            stats.comm_blocking_s += env.now - t0
        if self.training:
            for x in self._chunks_of(c[2]):
                yield from self.run_segments(c, plan.stages[x].optimizer, ("O", 0, x), "optimizer", [])
        stats.end_s = env.now

    def trace(self) -> ClusterTrace:
        """The :class:`ClusterTrace` so far (the whole step once ``env`` has run out of events).

        Events are ordered by (start, end, device, track, name), ties by the order they happened in.
        """
        # (start, end, device, track, name)
        events = sorted(self.events, key=itemgetter(5, 6, 3, 4, 0))
        memory = tuple(m for c in self.coords for m in self.stats[c].ledger.samples)
        return ClusterTrace(events=Records(TraceEvent, events), memory=memory, end_s=float(self.env.now),
                            stats=tuple(self.stats[c] for c in self.coords))


def min_events(plan: ClusterPlan, *, training: bool, symmetric: bool) -> int:
    """Compute segments the step runs over all simulated devices: a lower bound of its trace events.

    Example:
        >>> from simulator.parallel.layout import Parallelism
        >>> from simulator.parallel.plan import StagePlan
        >>> stage = StagePlan(stage=0, forward=(Segment(duration_s=0.002, label="fc"),), backward=(),
        ...                   optimizer=(), static_bytes={}, activation_bytes_per_microbatch=0.0,
        ...                   boundary_bytes=0.0, params=0.0)
        >>> plan = ClusterPlan(stages=(stage,), parallelism=Parallelism(data=8), microbatches=3, microbatch_size=1)
        >>> min_events(plan, training=False, symmetric=True), min_events(plan, training=False, symmetric=False)
        (3, 24)
    """
    p = plan.parallelism
    per_rank = 1 if symmetric else p.data * p.tensor
    segs = 0
    for st in plan.stages:
        segs += sum(1 for g in st.forward if g.collective is None)
        if training:
            segs += sum(1 for g in st.backward if g.collective is None)
    return per_rank * plan.microbatches * segs


def run_cluster(plan: ClusterPlan, fab: Fabrics, *, device_name: str, training: bool,
                symmetric: bool = True, deadline: Deadline | None = None) -> ClusterTrace:
    """Simulate one step of ``plan``; returns events, memory samples and per-device stats.

    Raises:
        ScenarioError: the step would record more than :data:`~simulator.engine.run.MAX_TRACE_EVENTS`
            events (checked before anything is built, from :func:`min_events`, and while running), or
            more than :data:`MAX_SIMULATED_DEVICES` devices without symmetry.
        SimulationTimeout: ``deadline`` passed.

    Example:
        >>> from simulator.parallel.layout import Parallelism
        >>> from simulator.parallel.plan import StagePlan
        >>> link = LinkModel(bandwidth_bps=1e11, latency_s=0.0)
        >>> fab = Fabrics(intra=link, inter=None, intra_energy_j_per_byte=0.0, inter_energy_j_per_byte=0.0,
        ...               groups={"tp": GroupShape(1, 1), "dp": GroupShape(4, 1), "ep": GroupShape(1, 1)},
        ...               pipeline_link="intra")
        >>> stage = StagePlan(stage=0, forward=(Segment(collective=Collective.ALL_REDUCE, group="dp", nbytes=1e9),),
        ...                   backward=(), optimizer=(), static_bytes={}, activation_bytes_per_microbatch=0.0,
        ...                   boundary_bytes=0.0, params=0.0)
        >>> plan = ClusterPlan(stages=(stage,), parallelism=Parallelism(data=4), microbatches=1, microbatch_size=1)
        >>> round(run_cluster(plan, fab, device_name="gpu", training=False).end_s, 6)
        0.015
    """
    import simpy

    p = plan.parallelism
    if not symmetric and p.devices > MAX_SIMULATED_DEVICES:
        raise ScenarioError(f"symmetric: simulating every one of {p.devices:,} devices is above the limit of "
                            f"{MAX_SIMULATED_DEVICES:,}; keep symmetry (one simulated device per pipeline stage)")
    least = min_events(plan, training=training, symmetric=symmetric)
    if least > MAX_TRACE_EVENTS:
        raise ScenarioError(f"the step runs at least {least:,} compute segments (simulated devices x micro-batches "
                            f"x segments), above the limit of {MAX_TRACE_EVENTS:,} events of one call; use fewer "
                            "micro-batches, keep symmetry (one simulated device per stage) or fewer devices")
    env = simpy.Environment()
    sim = ClusterSim(env, plan, fab, device_name=device_name, training=training, symmetric=symmetric)
    for c in sim.coords:
        env.process(sim.device(c))
    run_until_done(env, deadline, sim.events)
    return sim.trace()
