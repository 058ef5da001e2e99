"""Inference serving in SimPy: requests arrive, wait in one FIFO queue, and ``replicas`` servers batch them.

The engine knows nothing about models: it asks callbacks for the time and dynamic energy of each batch
(the callers get them from the cost models through ``simulate``). Policies:

* ``none``: one request per batch, served as soon as a server is free;
* ``static``: a server waits for ``max_batch_size`` waiting requests (the remainder goes when no more
  requests will arrive);
* ``dynamic``: a batch starts when ``max_batch_size`` requests wait or the oldest has waited
  ``max_wait_s`` (Triton / TF-Serving style);
* ``continuous`` (iteration-level, Orca / vLLM style, needs :class:`ContinuousWork`): between decode
  iterations waiting requests are admitted FIFO while the running batch has room and their KV cache fits;
  admitted requests get one prefill iteration, then every running request advances one token per decode
  iteration and leaves when its output is complete. Without LLM callbacks it is ``dynamic`` with no wait.

Ties are broken by request index and replica index (FIFO resources and insertion order), so a run is a
pure function of its inputs. :class:`ServingSim` holds the environment, the queue and the per-request
times, its processes are methods; :func:`run_serving` is the entry point.

With one replica and no LLM callbacks, nothing contends for the server, and
:func:`simulator.engine.serving_replay.serve_requests` replays its process arithmetically (one step per batch instead of about four SimPy events per
request), giving the same trace bit for bit; where an arrival falls on the very instant of a batch end
or deadline (so SimPy's event order would decide) it declines and these SimPy processes run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Callable

import simpy

from ..deadline import Deadline
from .run import run_until_done

POLICIES = ("none", "static", "dynamic", "continuous")


@dataclass(frozen=True)
class BatchWork:
    """What serving one batch costs: duration (s), dynamic energy (J), and per-request offsets from its start.

    ``done_s[i]``: when the i-th request of the batch completes; ``first_s[i]``: its first output token
    (equal to ``done_s`` for non-generative models).

    Example:
        >>> BatchWork(duration_s=0.01, energy_j=2.5, done_s=(0.01, 0.01), first_s=(0.01, 0.01)).energy_j
        2.5
    """

    duration_s: float
    energy_j: float
    done_s: tuple[float, ...]
    first_s: tuple[float, ...]


@dataclass(frozen=True)
class ContinuousWork:
    """Callbacks for iteration-level batching of LLM requests.

    ``prefill(ids) -> (s, J)`` for newly admitted requests; ``decode(contexts) -> (s, J)`` for one decode
    iteration of sequences with those context lengths (tokens); ``prompt_len``/``output_len``/``kv_bytes``
    per request; ``kv_budget_bytes``: device memory left for KV caches; ``max_prefill_tokens``: prompt
    tokens one prefill iteration takes at most (at least one request is always admitted; None: no cap);
    ``mixed(new ids, running contexts) -> (s, J)``: one iteration that prefills the new requests and
    decodes the running ones together (in-flight batching); None runs them as separate iterations.
    """

    prefill: Callable[[Sequence[int]], tuple[float, float]]
    decode: Callable[[Sequence[int]], tuple[float, float]]
    prompt_len: Sequence[int]
    output_len: Sequence[int]
    kv_bytes: Sequence[float]
    kv_budget_bytes: float
    max_prefill_tokens: int | None = None
    mixed: Callable[[Sequence[int], Sequence[int]], tuple[float, float]] | None = None


@dataclass(frozen=True)
class ServeRun:
    """Inputs of one serving simulation (times in s).

    ``policy`` is one of :data:`POLICIES`; ``batch_work(request ids)`` returns the :class:`BatchWork`
    of a batch; ``continuous`` is required for ``policy="continuous"``. See :func:`run_serving`.
    """

    arrivals_s: Sequence[float]
    policy: str
    max_batch_size: int
    max_wait_s: float
    replicas: int
    batch_work: Callable[[Sequence[int]], BatchWork]
    continuous: ContinuousWork | None = None


@dataclass(frozen=True)
class BatchRecord:
    """One executed batch (or iteration): replica, start/end (s), size, dynamic energy (J), phase."""

    replica: int
    start_s: float
    end_s: float
    size: int
    energy_j: float
    phase: str = "batch"


@dataclass(frozen=True)
class ServeTrace:
    """Per-request times (s), executed batches, and (time, waiting, in system) samples after every change.

    ``columns``: the same figures as numpy arrays when the engine has them at hand (the one-replica
    path): ``arrival``, ``start``, ``first``, ``finish`` per request, ``queue`` (samples x 3),
    ``busy_s`` and ``energy_j`` (the batches' durations and energies summed in order), ``sizes``;
    :func:`simulator.serving.stats.summarise` uses them instead of converting the tuples.
    """

    arrival_s: tuple[float, ...]
    start_s: tuple[float, ...]
    first_token_s: tuple[float, ...]
    finish_s: tuple[float, ...]
    batches: tuple[BatchRecord, ...]
    queue: tuple[tuple[float, int, int], ...]
    end_s: float
    columns: dict | None = field(default=None, repr=False, compare=False)


@dataclass
class _State:
    n: int
    waiting: list[int] = field(default_factory=list)
    head: int = 0  # index of the first still-waiting entry of ``waiting``
    arrived: int = 0
    done: int = 0
    samples: list[tuple[float, int, int]] = field(default_factory=list)

    @property
    def qlen(self) -> int:
        return len(self.waiting) - self.head

    def take(self, k: int) -> list[int]:
        out = self.waiting[self.head:self.head + k]
        self.head += len(out)
        return out

    def sample(self, t: float) -> None:
        row = (t, self.qlen, self.arrived - self.done)
        if self.samples and self.samples[-1][0] == t:
            self.samples[-1] = row
        else:
            self.samples.append(row)


@dataclass
class _Running:
    """A continuous-batching replica's running batch: request ids, tokens each has produced, KV bytes held."""

    ids: list[int] = field(default_factory=list)
    produced: dict[int, int] = field(default_factory=dict)
    kv_used: float = 0.0


class ServingSim:
    """Serving ``spec`` as SimPy processes: an arrival source and ``spec.replicas`` servers on one queue.

    Start :meth:`source` and :meth:`replica` for each replica index as processes, run ``env``, then read
    :meth:`trace`; :func:`run_serving` does exactly that.

    Raises:
        ValueError: ``spec.policy`` is not one of :data:`POLICIES`.

    Example:
        >>> work = lambda ids: BatchWork(duration_s=0.5, energy_j=1.0, done_s=(0.5,) * len(ids),
        ...                              first_s=(0.5,) * len(ids))
        >>> env = simpy.Environment()
        >>> sim = ServingSim(env, ServeRun(arrivals_s=[0.0, 0.1], policy="none", max_batch_size=1,
        ...                                max_wait_s=0.0, replicas=1, batch_work=work))
        >>> _ = env.process(sim.source()); _ = env.process(sim.replica(0)); env.run()
        >>> sim.trace().finish_s            # the second request waits for the first
        (0.5, 1.0)
    """

    def __init__(self, env: simpy.Environment, spec: ServeRun) -> None:
        if spec.policy not in POLICIES:
            raise ValueError(f"unknown batching policy {spec.policy!r}")
        self.env = env
        self.spec = spec
        self.n = len(spec.arrivals_s)
        self.state = _State(n=self.n)
        self.start = [0.0] * self.n
        self.first = [0.0] * self.n
        self.finish = [0.0] * self.n
        self.batches: list[BatchRecord] = []
        self.signal = env.event()  # replaced after each arrival; idle servers wait on it

    def notify(self) -> None:
        """Wake every server waiting for an arrival."""
        ev, self.signal = self.signal, self.env.event()
        ev.succeed()

    def source(self):
        """Process: requests join the queue at their arrival times."""
        env, st = self.env, self.state
        for i, t in enumerate(self.spec.arrivals_s):
            if t > env.now:
                yield env.timeout(t - env.now)
            st.waiting.append(i)
            st.arrived += 1
            st.sample(env.now)
            self.notify()

    def replica(self, r: int):
        """Process: server ``r`` under the run's policy (iteration-level for continuous LLM batching)."""
        if self.spec.continuous is not None and self.spec.policy == "continuous":
            return self.continuous_server(r)
        return self.server(r)

    def wait_for_batch(self):
        """Block until the policy lets a batch start; returns the request ids (empty: all served)."""
        spec, st, env = self.spec, self.state, self.env
        cap = spec.max_batch_size
        while True:
            q = st.qlen
            no_more = st.arrived == self.n
            if q == 0 and no_more:
                return []
            if q > 0:
                if spec.policy in ("none",):
                    return st.take(1)
                if spec.policy == "continuous" or q >= cap or (no_more and spec.policy == "static"):
                    return st.take(cap)
                if spec.policy == "dynamic":
                    deadline = spec.arrivals_s[st.waiting[st.head]] + spec.max_wait_s
                    if env.now >= deadline - 1e-15:
                        return st.take(cap)
                    yield env.any_of([self.signal, env.timeout(deadline - env.now)])
                    continue
            yield self.signal

    def wait_for_batch_peek(self):
        """Like :meth:`wait_for_batch` for an idle continuous server, but leaves the requests queued."""
        st = self.state
        while True:
            if st.qlen:
                return [st.waiting[st.head]]
            if st.arrived == self.n:
                return []
            yield self.signal

    def server(self, r: int):
        """Process: replica ``r`` serves whole batches; each request leaves when its own output is done."""
        env, st = self.env, self.state
        while True:
            ids = yield from self.wait_for_batch()
            if not ids:
                return
            t0 = env.now
            st.sample(t0)
            work = self.spec.batch_work(ids)
            for k, i in enumerate(ids):
                self.start[i] = t0
                self.first[i] = t0 + work.first_s[k]
                self.finish[i] = t0 + work.done_s[k]
            self.batches.append(BatchRecord(r, t0, t0 + work.duration_s, len(ids), work.energy_j))
            ends = work.done_s
            if ends[0] == ends[-1] == work.duration_s and len(set(ends)) == 1:
                yield env.timeout(work.duration_s)  # the common case: the whole batch leaves together
                st.done += len(ids)
                st.sample(env.now)
                continue
            for d in sorted(set(ends)):
                if t0 + d > env.now:
                    yield env.timeout(t0 + d - env.now)
                st.done += sum(1 for x in ends if x == d)
                st.sample(env.now)
            if t0 + work.duration_s > env.now:
                yield env.timeout(t0 + work.duration_s - env.now)

    def continuous_server(self, r: int):
        """Process: replica ``r`` runs prefill / mixed / decode iterations, admitting requests in between."""
        run = _Running()
        while True:
            if not run.ids:
                ids = yield from self.wait_for_batch_peek()
                if not ids:
                    return
            new = self._admit(run)
            if new:
                yield from self._prefill(r, run, new)
            else:
                yield from self._decode(r, run)
            self._retire(run)

    def _admit(self, run: _Running) -> list[int]:
        """Take waiting requests FIFO while the batch has room, their KV cache fits and the prefill cap allows."""
        cw, st = self.spec.continuous, self.state
        new: list[int] = []
        tokens = 0
        while st.qlen and len(run.ids) + len(new) < self.spec.max_batch_size:
            i = st.waiting[st.head]
            if cw.kv_bytes[i] > cw.kv_budget_bytes:
                raise ValueError(f"request {i}: its KV cache ({cw.kv_bytes[i]:.3g} B) exceeds the "
                                 f"{cw.kv_budget_bytes:.3g} B left on the device")
            if run.kv_used + cw.kv_bytes[i] > cw.kv_budget_bytes:
                break
            if new and cw.max_prefill_tokens and tokens + cw.prompt_len[i] > cw.max_prefill_tokens:
                break  # the rest waits for the next prefill iteration
            st.take(1)
            run.kv_used += cw.kv_bytes[i]
            tokens += cw.prompt_len[i]
            new.append(i)
        return new

    def _contexts(self, run: _Running) -> list[int]:
        """Context length (tokens) of each running request's next decode step."""
        cw = self.spec.continuous
        return [cw.prompt_len[i] + run.produced[i] - 1 for i in run.ids]

    def _prefill(self, r: int, run: _Running, new: list[int]):
        """Process body: one prefill iteration of ``new`` (mixed with a decode step of ``run`` if supported)."""
        env, cw = self.env, self.spec.continuous
        # in-flight batching: the running requests decode in the same pass as the prefill
        mixed = bool(run.ids) and cw.mixed is not None
        t0 = env.now
        self.state.sample(t0)
        if mixed:
            dur, joules = cw.mixed(new, self._contexts(run))
        else:
            dur, joules = cw.prefill(new)
        yield env.timeout(dur)
        self.batches.append(BatchRecord(r, t0, env.now, len(run.ids) if mixed else len(new), joules,
                                        "mixed" if mixed else "prefill"))
        for i in run.ids if mixed else ():
            run.produced[i] += 1
        for i in new:
            self.start[i], self.first[i] = t0, env.now
            run.produced[i] = 1
        run.ids.extend(new)

    def _decode(self, r: int, run: _Running):
        """Process body: one decode iteration; every running request produces one token."""
        env = self.env
        t0 = env.now
        dur, joules = self.spec.continuous.decode(self._contexts(run))
        yield env.timeout(dur)
        self.batches.append(BatchRecord(r, t0, env.now, len(run.ids), joules, "decode"))
        for i in run.ids:
            run.produced[i] += 1

    def _retire(self, run: _Running) -> None:
        """Requests whose output is complete leave, releasing their KV cache."""
        cw, st, now = self.spec.continuous, self.state, self.env.now
        left = [i for i in run.ids if run.produced[i] >= cw.output_len[i]]
        for i in left:
            self.finish[i] = now
            run.kv_used -= cw.kv_bytes[i]
            st.done += 1
        if left:
            run.ids = [i for i in run.ids if run.produced[i] < cw.output_len[i]]
            st.sample(now)

    def trace(self) -> ServeTrace:
        """The :class:`ServeTrace` so far (every request served once ``env`` has run out of events)."""
        return ServeTrace(arrival_s=tuple(float(t) for t in self.spec.arrivals_s), start_s=tuple(self.start),
                          first_token_s=tuple(self.first), finish_s=tuple(self.finish),
                          batches=tuple(self.batches), queue=tuple(self.state.samples), end_s=float(self.env.now))


def run_serving(spec: ServeRun, deadline: Deadline | None = None) -> ServeTrace:
    """Simulate serving every request of ``spec``; returns a :class:`ServeTrace`.

    Raises:
        ValueError: unknown policy, or continuous batching of a request whose KV cache never fits.
        SimulationTimeout: ``deadline`` passed.

    Example:
        >>> work = lambda ids: BatchWork(duration_s=0.01, energy_j=1.0, done_s=(0.01,) * len(ids),
        ...                              first_s=(0.01,) * len(ids))
        >>> run = ServeRun(arrivals_s=[0.0, 0.001, 0.002, 0.003], policy="dynamic", max_batch_size=2,
        ...                max_wait_s=0.005, replicas=1, batch_work=work)
        >>> t = run_serving(run)
        >>> [b.size for b in t.batches], [round(f, 3) for f in t.finish_s]
        ([2, 2], [0.011, 0.011, 0.021, 0.021])
    """
    env = simpy.Environment()
    sim = ServingSim(env, spec)
    env.process(sim.source())
    for r in range(spec.replicas):
        env.process(sim.replica(r))
    run_until_done(env, deadline, phase="serving the requests")
    return sim.trace()
