"""The one-replica serving path: a server that nothing contends for, replayed without SimPy.

:func:`serve_one_replica` gives the :class:`~simulator.engine.serving.ServeTrace` that
:func:`~simulator.engine.serving.run_serving` gives, bit for bit, in one step per batch instead
of about four SimPy events per request; it declines (None) where SimPy's event order would decide (an
arrival on the very instant of a batch end or deadline), and :func:`serve_requests` then runs the
SimPy processes.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Callable

from ..deadline import Deadline
from .serving import POLICIES, BatchRecord, ServeRun, ServeTrace, run_serving

CHECK_EVERY_BATCHES = 1024  # how often the one-replica path looks at the clock


def arrival_instants(arrivals_s: Sequence[float]) -> list:
    """The clock readings at which :meth:`ServingSim.source` enqueues each request.

    The source sleeps ``t - now`` from its last wake, so a request arrives at ``now + (t - now)``,
    which floating point may round off ``t``; requests due by ``now`` join at ``now`` (the clock
    starts at the integer 0, as SimPy's does).

    Example:
        >>> arrival_instants([0.0, 0.5, 0.5, 1.25])
        [0, 0.5, 0.5, 1.25]
    """
    out = []
    now = 0
    for t in arrivals_s:
        if t > now:
            now = now + (t - now)
        out.append(now)
    return out


class LazyRows(Sequence):
    """A tuple of trace rows built on first use (its length known up front): a summary that never reads
    them does not pay for 100,000s of row objects. Compares, hashes and pickles as the tuple.

    Example:
        >>> rows = LazyRows(lambda: ((0.0, 1, 1), (0.5, 0, 1)), 2)
        >>> len(rows), rows[1], rows == ((0.0, 1, 1), (0.5, 0, 1))
        (2, (0.5, 0, 1), True)
    """

    __slots__ = ("_make", "_rows", "_len")

    def __init__(self, make: Callable[[], Sequence], length: int) -> None:
        self._make, self._rows, self._len = make, None, length

    @property
    def rows(self) -> tuple:
        """The rows as a tuple (built now if not yet)."""
        if self._rows is None:
            self._rows, self._make = tuple(self._make()), None
        return self._rows

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, k):
        return self.rows[k]

    def __iter__(self):
        return iter(self.rows)

    def __eq__(self, other) -> bool:
        if isinstance(other, LazyRows):
            other = other.rows
        return self.rows == other if isinstance(other, tuple) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.rows)

    def __repr__(self) -> str:
        return repr(self.rows)

    def __reduce__(self):
        return tuple, (self.rows,)


def serve_requests(spec: ServeRun, deadline: Deadline | None = None) -> ServeTrace:
    """:func:`~simulator.engine.serving.run_serving`'s trace: replayed where one replica serves without
    LLM callbacks and no tie arises (:func:`serve_one_replica`), else the SimPy processes.

    Raises:
        as :func:`~simulator.engine.serving.run_serving`.
    """
    fast = serve_one_replica(spec, deadline)
    return fast if fast is not None else run_serving(spec, deadline)


class _Tie(Exception):
    """Two things happen at the same instant on the one-replica path, where SimPy's event order decides."""


def serve_one_replica(spec: ServeRun, deadline: Deadline | None = None) -> ServeTrace | None:
    """One replica under ``none``, ``static`` or ``dynamic`` batching (or ``continuous`` without LLM
    callbacks), without SimPy: the trace :func:`run_serving`'s processes produce, bit for bit, or None.

    With one server nothing contends for it: the queue is the arrivals so far minus the requests taken,
    so the server's process is replayed arithmetically: each batch starts at the first instant the
    policy allows (an arrival, the end of the previous batch, or the oldest request's deadline, with
    the clock arithmetic of the SimPy timeouts: a wait of ``x - now`` lands at ``now + (x - now)``)
    and the queue samples are the state at the end of every instant something changed. Where an
    arrival falls on the very instant a batch ends or a deadline fires, SimPy's event order decides
    who sees whom; the replay does not model that order and returns None (run the SimPy processes).
    ``tests/unit/test_fast_paths.py`` compares the two on random runs.

    Example:
        >>> from simulator.engine.serving import BatchWork, run_serving
        >>> work = lambda ids: BatchWork(duration_s=0.01, energy_j=1.0, done_s=(0.01,) * len(ids),
        ...                              first_s=(0.01,) * len(ids))
        >>> run = ServeRun(arrivals_s=[0.0, 0.001, 0.002, 0.003], policy="dynamic", max_batch_size=2,
        ...                max_wait_s=0.005, replicas=1, batch_work=work)
        >>> serve_one_replica(run).finish_s == run_serving(run).finish_s
        True
    """
    if spec.replicas != 1 or spec.policy not in POLICIES or not spec.arrivals_s or \
            (spec.policy == "continuous" and spec.continuous is not None):
        return None
    try:
        return _replay_one_replica(spec, deadline)
    except _Tie:
        return None


class _Replay:
    """The server's state while it is replayed: clock, queue head, arrivals seen, and what it did."""

    def __init__(self, spec: ServeRun) -> None:
        self.raw = spec.arrivals_s
        self.a = arrival_instants(self.raw)
        self.n = len(self.a)
        self.now = 0  # SimPy's clock starts at the integer 0
        self.head = 0
        self.arrived = bisect_right(self.a, 0)
        self.latest_timer = 0  # the last instant any timeout fires at (SimPy's clock ends there)
        self.skipped: list[tuple[float, int, int]] = []  # (deadline, first, end) of arrivals that only set a timer
        self.starts: list = []  # per batch: start instant, size, end instant, dynamic energy
        self.sizes: list[int] = []
        self.stops: list[float] = []
        self.joules: list[float] = []
        self.firsts: list[float] = []  # per request: first-token and finish offsets from its batch's start
        self.dones: list[float] = []
        self.comp_t: list = []  # completion instants and how many requests leave at each
        self.comp_k: list[int] = []
        self.busy = self.energy = 0  # summed batch by batch, as summarise's sum() over the records does

    def dynamic_wait(self, due: float) -> bool:
        """One wake of a server holding fewer than a batch before the oldest's deadline ``due``: set the
        timer, then move the clock to whichever comes first (True: the timer)."""
        a, now, arrived = self.a, self.now, self.arrived
        timer = now + (due - now)
        if timer > self.latest_timer:
            self.latest_timer = timer
        nxt = a[arrived] if arrived < self.n else float("inf")
        if nxt == timer:
            raise _Tie
        if timer < nxt:
            self.now = timer
            return True
        # the arrivals before the cap and safely before the deadline each wake the server only to
        # set another timer: jump to the last of them (their timers are replayed at the end)
        stop = min(bisect_left(a, due - 1e-15 - 1e-9 * (1.0 + due), arrived), self.head + self.cap - 1)
        if stop - 1 > arrived:
            self.skipped.append((due, arrived, stop - 1))
            self.now = a[stop - 1]
            self.arrived = bisect_right(a, self.now, stop - 1)
            return True
        return False

    def next_batch(self) -> int:
        """The server's ``wait_for_batch`` from ``now``: the size of the batch it starts (0: all served)."""
        policy, cap, n, a = self.policy, self.cap, self.n, self.a
        while True:
            q = self.arrived - self.head
            if q == 0 and self.arrived == n:
                return 0
            if q > 0:
                if policy == "none":
                    return 1
                if self.take_any or q >= cap or (self.arrived == n and policy == "static"):
                    return q if q < cap else cap
                if policy == "dynamic":
                    due = self.raw[self.head] + self.wait
                    if self.now >= due - 1e-15:
                        return q if q < cap else cap
                    if self.dynamic_wait(due):
                        continue
            # wait for the next arrival instant (with every request that joins at it)
            self.now = a[self.arrived]
            self.arrived = bisect_right(a, self.now, self.arrived)

    def run_batch(self, k: int, work_of) -> None:
        """Start a batch of the ``k`` oldest requests at ``now``; the clock moves to its end."""
        t0, head = self.now, self.head
        work = work_of(list(range(head, head + k)))
        self.head = head + k
        dur = work.duration_s
        t1 = t0 + dur
        self.starts.append(t0)
        self.sizes.append(k)
        self.stops.append(t1)
        self.joules.append(work.energy_j)
        self.firsts.extend(work.first_s)
        ends = work.done_s
        self.dones.extend(ends)
        self.busy = self.busy + (t1 - t0)
        self.energy = self.energy + work.energy_j
        if ends[0] == ends[-1] == dur and len(set(ends)) == 1:
            self.now = t1
            self.comp_t.append(t1)
            self.comp_k.append(k)
        else:
            self.ragged(t0, dur, ends)
        # arrivals during the batch; one at the very instant it ends is a tie
        a, now = self.a, self.now
        self.arrived = arrived = bisect_right(a, now, self.arrived)
        if arrived and a[arrived - 1] == now:
            raise _Tie

    def ragged(self, t0: float, dur: float, ends: Sequence[float]) -> None:
        """Requests of the batch leave at their own times (one timeout per distinct time), then its end."""
        now = self.now
        for d in sorted(set(ends)):
            if t0 + d > now:
                now = now + (t0 + d - now)
                j = bisect_right(self.a, now, self.arrived)
                if j and self.a[j - 1] == now:
                    raise _Tie
            self.comp_t.append(now)
            self.comp_k.append(sum(1 for x in ends if x == d))
        if t0 + dur > now:
            now = now + (t0 + dur - now)
        self.now = now

    def end_s(self) -> float:
        """SimPy's clock after its last event: the last batch, arrival or timer nobody waited for."""
        a = self.a
        end = max(self.now, self.latest_timer, a[-1])
        for due, lo, hi in reversed(self.skipped):
            if due + 1e-9 * (1.0 + due) < end:
                break
            for x in a[lo:hi]:
                end = max(end, x + (due - x))
        return float(end)


def _replay_one_replica(spec: ServeRun, deadline: Deadline | None) -> ServeTrace:
    r = _Replay(spec)
    r.policy, r.cap, r.wait = spec.policy, spec.max_batch_size, spec.max_wait_s
    r.take_any = spec.policy == "continuous"
    work_of = spec.batch_work
    while True:
        k = r.next_batch()
        if not k:
            break
        r.run_batch(k, work_of)
        if deadline is not None and len(r.starts) % CHECK_EVERY_BATCHES == 0:
            deadline.check("serving the requests")
    return _trace(r)


def _trace(r: _Replay) -> ServeTrace:
    """The trace of a replayed run; queue samples are the state at the end of every instant an
    arrival, a batch start or a completion happened."""
    import numpy as np

    at = np.asarray(r.a, dtype=float)
    st = np.asarray(r.starts, dtype=float)
    ct = np.asarray(r.comp_t, dtype=float)
    times = np.unique(np.concatenate([at, st, ct]))
    taken = np.concatenate([[0], np.cumsum(r.sizes)])[np.searchsorted(st, times, "right")]
    left = np.concatenate([[0], np.cumsum(r.comp_k)])[np.searchsorted(ct, times, "right")]
    came = np.searchsorted(at, times, "right")
    waiting, present = came - taken, came - left
    starts, sizes, stops, joules = r.starts, r.sizes, r.stops, r.joules

    def queue_rows() -> list[tuple]:
        rows = list(zip(times.tolist(), waiting.tolist(), present.tolist()))
        if rows[0][0] == 0:
            rows[0] = (0,) + rows[0][1:]  # SimPy's clock is the integer 0 until the first timeout
        return rows

    def batch_rows() -> list[BatchRecord]:
        return [BatchRecord(0, t0, t1, k, e) for t0, t1, k, e in zip(starts, stops, sizes, joules)]

    table = np.empty((len(times), 3))
    table[:, 0], table[:, 1], table[:, 2] = times, waiting, present
    t0s = np.repeat(st, sizes)
    start = t0s.tolist()
    if starts[0] == 0:
        start[:sizes[0]] = [starts[0]] * sizes[0]
    first = t0s + np.asarray(r.firsts, dtype=float)
    finish = t0s + np.asarray(r.dones, dtype=float)
    arrival = np.asarray(r.raw, dtype=float)
    columns = dict(arrival=arrival, start=t0s, first=first, finish=finish, queue=table, busy_s=r.busy,
                   energy_j=r.energy, sizes=sizes)
    return ServeTrace(arrival_s=tuple(arrival.tolist()), start_s=tuple(start), first_token_s=tuple(first.tolist()),
                      finish_s=tuple(finish.tolist()), batches=LazyRows(batch_rows, len(starts)),
                      queue=LazyRows(queue_rows, len(times)), end_s=r.end_s(), columns=columns)
