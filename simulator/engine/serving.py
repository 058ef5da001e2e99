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
pure function of its inputs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import simpy

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
    """Per-request times (s), executed batches, and (time, waiting, in system) samples after every change."""

    arrival_s: tuple[float, ...]
    start_s: tuple[float, ...]
    first_token_s: tuple[float, ...]
    finish_s: tuple[float, ...]
    batches: tuple[BatchRecord, ...]
    queue: tuple[tuple[float, int, int], ...]
    end_s: float


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


def run_serving(spec: ServeRun) -> ServeTrace:
    """Simulate serving every request of ``spec``; returns a :class:`ServeTrace`.

    Raises:
        ValueError: unknown policy, or continuous batching of a request whose KV cache never fits.

    Example:
        >>> work = lambda ids: BatchWork(duration_s=0.01, energy_j=1.0, done_s=(0.01,) * len(ids),
        ...                              first_s=(0.01,) * len(ids))
        >>> run = ServeRun(arrivals_s=[0.0, 0.001, 0.002, 0.003], policy="dynamic", max_batch_size=2,
        ...                max_wait_s=0.005, replicas=1, batch_work=work)
        >>> t = run_serving(run)
        >>> [b.size for b in t.batches], [round(f, 3) for f in t.finish_s]
        ([2, 2], [0.011, 0.011, 0.021, 0.021])
    """
    if spec.policy not in POLICIES:
        raise ValueError(f"unknown batching policy {spec.policy!r}")
    env = simpy.Environment()
    n = len(spec.arrivals_s)
    st = _State(n=n)
    start = [0.0] * n
    first = [0.0] * n
    finish = [0.0] * n
    batches: list[BatchRecord] = []
    signal = [env.event()]  # replaced after each arrival; idle servers wait on it

    def notify() -> None:
        ev, signal[0] = signal[0], env.event()
        ev.succeed()

    def source():
        for i, t in enumerate(spec.arrivals_s):
            if t > env.now:
                yield env.timeout(t - env.now)
            st.waiting.append(i)
            st.arrived += 1
            st.sample(env.now)
            notify()

    def wait_for_batch():
        """Block until the policy lets a batch start; returns the request ids (empty: all served)."""
        cap = spec.max_batch_size
        while True:
            q = st.qlen
            no_more = st.arrived == n
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
                    yield env.any_of([signal[0], env.timeout(deadline - env.now)])
                    continue
            yield signal[0]

    def server(r: int):
        while True:
            ids = yield from wait_for_batch()
            if not ids:
                return
            t0 = env.now
            st.sample(t0)
            work = spec.batch_work(ids)
            for k, i in enumerate(ids):
                start[i] = t0
                first[i] = t0 + work.first_s[k]
                finish[i] = t0 + work.done_s[k]
            batches.append(BatchRecord(r, t0, t0 + work.duration_s, len(ids), work.energy_j))
            ends = work.done_s
            if ends[0] == ends[-1] == work.duration_s and len(set(ends)) == 1:
                yield env.timeout(work.duration_s)  # the common case: the whole batch leaves together
                st.done += len(ids)
                st.sample(env.now)
                continue
            for d in sorted(set(ends)):  # requests leave the system when their own output is done
                if t0 + d > env.now:
                    yield env.timeout(t0 + d - env.now)
                st.done += sum(1 for x in ends if x == d)
                st.sample(env.now)
            if t0 + work.duration_s > env.now:
                yield env.timeout(t0 + work.duration_s - env.now)

    def continuous_server(r: int):
        cw = spec.continuous
        running: list[int] = []
        produced: dict[int, int] = {}
        used = 0.0
        while True:
            if not running:
                ids = yield from wait_for_batch_peek()
                if not ids:
                    return
            new: list[int] = []
            tokens = 0
            while st.qlen and len(running) + len(new) < spec.max_batch_size:
                i = st.waiting[st.head]
                if cw.kv_bytes[i] > cw.kv_budget_bytes:
                    raise ValueError(f"request {i}: its KV cache ({cw.kv_bytes[i]:.3g} B) exceeds the "
                                     f"{cw.kv_budget_bytes:.3g} B left on the device")
                if used + cw.kv_bytes[i] > cw.kv_budget_bytes:
                    break
                if new and cw.max_prefill_tokens and tokens + cw.prompt_len[i] > cw.max_prefill_tokens:
                    break  # the rest waits for the next prefill iteration
                st.take(1)
                used += cw.kv_bytes[i]
                tokens += cw.prompt_len[i]
                new.append(i)
            if new:
                # in-flight batching: the running requests decode in the same pass as the prefill
                mixed = bool(running) and cw.mixed is not None
                t0 = env.now
                st.sample(t0)
                if mixed:
                    dur, joules = cw.mixed(new, [cw.prompt_len[i] + produced[i] - 1 for i in running])
                else:
                    dur, joules = cw.prefill(new)
                yield env.timeout(dur)
                batches.append(BatchRecord(r, t0, env.now, len(running) if mixed else len(new), joules,
                                           "mixed" if mixed else "prefill"))
                for i in running if mixed else ():
                    produced[i] += 1
                for i in new:
                    start[i], first[i] = t0, env.now
                    produced[i] = 1
                running.extend(new)
            else:
                t0 = env.now
                dur, joules = cw.decode([cw.prompt_len[i] + produced[i] - 1 for i in running])
                yield env.timeout(dur)
                batches.append(BatchRecord(r, t0, env.now, len(running), joules, "decode"))
                for i in running:
                    produced[i] += 1
            left = [i for i in running if produced[i] >= cw.output_len[i]]
            for i in left:
                finish[i] = env.now
                used -= cw.kv_bytes[i]
                st.done += 1
            if left:
                running = [i for i in running if produced[i] < cw.output_len[i]]
                st.sample(env.now)

    def wait_for_batch_peek():
        """Like ``wait_for_batch`` for an idle continuous server, but leaves the requests queued."""
        while True:
            if st.qlen:
                return [st.waiting[st.head]]
            if st.arrived == n:
                return []
            yield signal[0]

    env.process(source())
    for r in range(spec.replicas):
        env.process(continuous_server(r) if spec.continuous is not None and spec.policy == "continuous"
                    else server(r))
    env.run()
    return ServeTrace(arrival_s=tuple(float(t) for t in spec.arrivals_s), start_s=tuple(start),
                      first_token_s=tuple(first), finish_s=tuple(finish), batches=tuple(batches),
                      queue=tuple(st.samples), end_s=float(env.now))
