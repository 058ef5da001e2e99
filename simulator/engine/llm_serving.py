"""Iteration-level LLM serving in SimPy: a token budget per iteration, chunked prefill, a paged KV cache
with preemption, and prefix caching, as vLLM, SGLang and TensorRT-LLM schedule.

Each replica repeats one *iteration* (one forward pass) after another. An iteration is planned the way
vLLM's V1 scheduler plans a step:

1. **Running requests first**, in admission order: a decoding request needs one token; a request still
   in its prompt needs the rest of it. With ``chunked_prefill`` each takes what is left of the
   ``token_budget`` (a prompt is then split over several iterations); without, a prompt is only ever
   scheduled whole. Every token needs a KV slot: a request holds ``ceil(tokens / block_tokens)``
   blocks and takes a new one when it crosses a block boundary.
2. **Out of blocks**: cached prefixes nobody uses are evicted (least recently used first); then the
   most recently admitted running request is *preempted*: ``recompute`` frees its blocks and puts it
   back at the front of the queue (its prompt and the tokens it produced are prefilled again later);
   ``swap`` copies its blocks to host memory over the host link (the copy time is added to the
   iteration) and brings them back before anything new is admitted. A request that is itself the last
   one is preempted instead of a victim.
3. **Admission**, only when nothing was preempted in this iteration: swapped-out requests, then
   preempted ones, then the shared FIFO queue, while the budget lasts, fewer than ``max_num_seqs``
   run, and the blocks for the scheduled tokens fit above the ``watermark_blocks`` reserve.
   ``reserve_full`` (TensorRT-LLM's GUARANTEED_NO_EVICT) instead reserves the blocks of the whole
   prompt and output at admission, so nothing is ever preempted.
4. **Prefix caching**: a request in prefix group ``g`` reuses the group's cached prefix (whole blocks
   only, and never the prompt's last token, as vLLM): those tokens need no prefill and their blocks
   are shared. When a request has computed its group's prefix, those blocks become the group's cache
   entry (they stay after it leaves, until evicted).

The iteration's time and dynamic energy come from one callback, ``iteration(IterationWork)``, given the
decoding sequences and their cached lengths and the prefill chunks with their lengths and the tokens
already cached before them. A request's first token comes at the end of the iteration that completes
its prompt; every later iteration it is scheduled in adds one token. Ties are broken by request index
and replica index, so a run is a pure function of its inputs.
"""
from __future__ import annotations

from collections import OrderedDict, deque

import numpy as np
import simpy

from ..deadline import Deadline
from .llm_types import IterationWork, PagedRun, PagedTrace
from .run import run_until_done
from .serving import BatchRecord, _State

__all__ = ["IterationWork", "PagedRun", "PagedTrace", "PagedServingSim", "run_paged"]

_NO_BUDGET = 1 << 62


class _Replica:
    """One model copy's scheduler state: running requests in admission order, free blocks, queues of
    its own preempted requests, and its prefix cache (group -> [tokens, references])."""

    def __init__(self, index: int, blocks: int, host_blocks: int) -> None:
        self.index = index
        self.free = blocks
        self.host_free = host_blocks
        self.running: list[int] = []
        self.requeued: deque[int] = deque()
        self.swapped: deque[int] = deque()
        self.cache: OrderedDict[int, list[int]] = OrderedDict()


class PagedServingSim:
    """The paged scheduler as SimPy processes: an arrival source and one process per replica.

    Raises:
        ValueError: a request whose prompt and output alone need more blocks than a replica has, a
            prompt longer than the budget without chunked prefill, or an unknown preemption mode.

    Example:
        >>> cost = lambda w: (0.01 + 1e-5 * w.tokens, 0.0)            # 10 ms per pass + 10 us per token
        >>> run = PagedRun(arrivals_s=[0.0], prompt_len=[100], output_len=[3], iteration=cost, kv_blocks=64)
        >>> t = run_paged(run)
        >>> round(t.first_token_s[0], 5), round(t.finish_s[0], 5)    # 11 ms prefill, two 10.01 ms decodes
        (0.011, 0.03102)
    """

    def __init__(self, env: simpy.Environment, spec: PagedRun) -> None:
        self.env, self.spec = env, spec
        n = len(spec.arrivals_s)
        self.n = n
        self.prompt = np.asarray(spec.prompt_len, dtype=np.int64)
        self.out = np.asarray(spec.output_len, dtype=np.int64)
        self.group = (np.asarray(spec.prefix_id, dtype=np.int64) if spec.prefix_id is not None
                      else np.full(n, -1, dtype=np.int64))
        plen = np.asarray(spec.prefix_len, dtype=np.int64) if spec.prefix_len is not None else np.zeros(n, np.int64)
        self.prefix_blocks = plen // spec.block_tokens  # whole blocks of each request's shared prefix
        self._check()
        self.kv = np.zeros(n, dtype=np.int64)  # tokens whose K/V are in the cache
        self.need = self.prompt.copy()  # tokens that must be cached before the next output token
        self.produced = np.zeros(n, dtype=np.int64)
        if spec.prefilled:  # the first token came with the prompt's KV cache
            self.produced += 1
            self.need += 1
        self.blocks = np.zeros(n, dtype=np.int64)  # blocks the request owns (not shared prefix blocks)
        self.hit = np.zeros(n, dtype=np.int64)  # shared prefix tokens it references (a multiple of a block)
        self.host = np.zeros(n, dtype=np.int64)  # blocks swapped out to host memory
        self.credit = np.zeros(n)  # speculative decoding: expected tokens accumulated so far
        self.state = _State(n=n)
        self.start = [0.0] * n
        self.first = [0.0] * n
        self.finish = [0.0] * n
        self.admitted = np.zeros(n, dtype=bool)
        self.batches: list[BatchRecord] = []
        self.preemptions: list[tuple] = []
        self.kv_samples: list[tuple] = []
        self.hit_tokens = 0
        self.query_tokens = 0
        self.replicas = [_Replica(r, spec.kv_blocks, spec.swap_blocks) for r in range(spec.replicas)]
        self.signal = env.event()
        self.late = {metric: 0 for metric, _, _ in spec.stop_when_late}
        self.stopped = ""

    def _check(self) -> None:
        s = self.spec
        if s.preemption not in ("recompute", "swap"):
            raise ValueError(f"preemption: unknown {s.preemption!r}; choose recompute or swap")
        total = self.prompt + self.out
        worst = int(np.argmax(total)) if self.n else 0
        if self.n and -(-int(total[worst]) // s.block_tokens) > s.kv_blocks:
            raise ValueError(f"request {worst}: its {int(total[worst])} tokens need "
                             f"{-(-int(total[worst]) // s.block_tokens)} KV blocks of {s.block_tokens} tokens; "
                             f"a replica has {s.kv_blocks}")
        if not s.chunked_prefill and s.token_budget is not None and self.n and int(total.max()) > s.token_budget:
            raise ValueError(f"max_num_batched_tokens ({s.token_budget}) is below the longest request "
                             f"({int(total.max())} tokens, which a recomputed request prefills at once); "
                             "enable chunked_prefill or raise the budget")

    # -- processes -------------------------------------------------------------------------------
    def notify(self) -> None:
        """Wake every replica waiting for an arrival."""
        ev, self.signal = self.signal, self.env.event()
        ev.succeed()

    def source(self):
        """Process: requests join the shared queue at their arrival times."""
        env, st = self.env, self.state
        for i, t in enumerate(self.spec.arrivals_s):
            if t > env.now:
                yield env.timeout(t - env.now)
            if self.stopped:
                return
            st.waiting.append(i)
            st.arrived += 1
            st.sample(env.now)
            self.notify()

    def replica(self, r: int):
        """Process: replica ``r`` plans and runs iterations until every request has left."""
        rep, st = self.replicas[r], self.state
        while not self.stopped:
            if not rep.running and not rep.requeued and not rep.swapped:
                if st.qlen == 0:
                    if st.arrived == self.n:
                        return
                    yield self.signal
                    continue
            ids, sched, extra_s, preempted = self._plan(rep)
            if not len(ids):
                if preempted:
                    continue
                raise ValueError(f"replica {r} cannot schedule anything (a request larger than its KV cache?)")
            t0 = self.env.now
            st.sample(t0)
            work = self._work(ids, sched)
            dur, joules = self.spec.iteration(work)
            yield self.env.timeout(dur + extra_s)
            phase = "mixed" if work.decode and work.chunks else ("decode" if work.decode else "prefill")
            self.batches.append(BatchRecord(r, t0, self.env.now, len(ids), joules, phase))
            self._advance(rep, ids, sched, decode_only=not work.chunks)
            self.kv_samples.append((self.env.now, r, self.spec.kv_blocks - rep.free))

    # -- planning --------------------------------------------------------------------------------
    def _plan(self, rep: _Replica) -> tuple[np.ndarray, np.ndarray, float, bool]:
        """(request ids, tokens each, swap seconds, whether anything was preempted) of the next iteration."""
        budget = self.spec.token_budget or _NO_BUDGET
        extra, preempted = 0.0, False
        ids = np.asarray(rep.running, dtype=np.int64)
        sched = np.zeros(0, dtype=np.int64)
        if len(ids):
            tok = self.need[ids] - self.kv[ids]
            if self.spec.tokens_per_decode != 1.0:
                tok = self._speculative_tokens(ids, tok)
            sched = self._fit_budget(tok, budget)
            want = self._new_blocks(ids, sched)
            total = int(want.sum())
            if total > rep.free:
                self._evict(rep, total)
            if total > rep.free:
                ids, sched, extra = self._plan_with_preemption(rep, budget)
                preempted = True
            elif total:
                rep.free -= total
                self.blocks[ids] += want
        if not preempted:
            new_ids, new_sched, swap_s = self._admit(rep, budget - int(sched.sum()))
            extra += swap_s
            if new_ids:
                ids = np.concatenate([ids, np.asarray(new_ids, dtype=np.int64)])
                sched = np.concatenate([sched, np.asarray(new_sched, dtype=np.int64)])
        if int(sched.min(initial=1)) > 0:
            return ids, sched, extra, preempted
        keep = sched > 0
        return ids[keep], sched[keep], extra, preempted

    def _speculative_tokens(self, ids: np.ndarray, tok: np.ndarray) -> np.ndarray:
        """Decoding requests keep the tokens this step accepts: floor(credit + E) - floor(credit), at
        most what their output still lacks."""
        dec = (tok == 1) & (self.produced[ids] > 0)
        c = self.credit[ids]
        m = np.floor(c + self.spec.tokens_per_decode) - np.floor(c)
        m = np.minimum(m.astype(np.int64), self.out[ids] - self.produced[ids])
        return np.where(dec, np.maximum(m, 1), tok)

    def _fit_budget(self, tok: np.ndarray, budget: int) -> np.ndarray:
        """Tokens each running request gets, in order, from ``budget`` (whole prompts only unless chunked)."""
        if int(tok.sum()) <= budget:
            return tok
        total = np.cumsum(tok)
        if self.spec.chunked_prefill:
            return np.clip(budget - (total - tok), 0, tok)
        return np.where(total <= budget, tok, 0)

    def _new_blocks(self, ids: np.ndarray, sched: np.ndarray) -> np.ndarray:
        """Blocks each request must add to hold its scheduled tokens (none when reserved at admission)."""
        if self.spec.reserve_full:
            return np.zeros(len(ids), dtype=np.int64)
        b = self.spec.block_tokens
        want = -(-(self.kv[ids] + sched) // b) - self.blocks[ids]
        if self.spec.prefix_caching:
            want -= self.hit[ids] // b
        return np.maximum(want, 0, out=want)

    def _plan_with_preemption(self, rep: _Replica, budget: int) -> tuple[np.ndarray, np.ndarray, float]:
        """vLLM's loop when blocks run out: schedule in order, preempting from the back until each fits."""
        order = list(rep.running)
        ids, sched, extra = [], [], 0.0
        i = 0
        while i < len(order):
            rid = order[i]
            n_tok = int(self.need[rid] - self.kv[rid])
            if self.spec.chunked_prefill:
                n_tok = min(n_tok, budget)
            elif n_tok > budget:
                n_tok = 0
            want = int(self._new_blocks(np.asarray([rid]), np.asarray([n_tok]))[0]) if n_tok else 0
            while want > rep.free and not self._evict(rep, want):
                victim = order.pop()
                extra += self._preempt(rep, victim)
                if victim == rid:
                    break
            else:
                rep.free -= want
                self.blocks[rid] += want
                ids.append(rid)
                sched.append(n_tok)
                budget -= n_tok
                i += 1
        return np.asarray(ids, dtype=np.int64), np.asarray(sched, dtype=np.int64), extra

    def _evict(self, rep: _Replica, want: int) -> bool:
        """Drop unused cached prefixes, least recently used first, until ``want`` blocks are free."""
        b = self.spec.block_tokens
        for g in [g for g, (_, refs) in rep.cache.items() if refs == 0]:
            if rep.free >= want:
                break
            rep.free += rep.cache.pop(g)[0] // b
        return rep.free >= want

    def _preempt(self, rep: _Replica, rid: int) -> float:
        """Preempt ``rid`` (swap if asked and the host has room, else recompute); returns copy seconds."""
        b = self.spec.block_tokens
        rep.running.remove(rid)
        self._release_prefix(rep, rid)
        total = -(-int(self.kv[rid]) // b)
        swap = self.spec.preemption == "swap" and total <= rep.host_free
        rep.free += int(self.blocks[rid])
        self.blocks[rid] = 0
        self.preemptions.append((self.env.now, rep.index, rid, "swap" if swap else "recompute", int(self.kv[rid])))
        if swap:
            rep.host_free -= total
            self.host[rid] = total
            rep.swapped.append(rid)
            return total * self.spec.swap_s_per_block
        self.kv[rid] = 0
        rep.requeued.appendleft(rid)
        return 0.0

    def _release_prefix(self, rep: _Replica, rid: int) -> None:
        if self.hit[rid]:
            rep.cache[int(self.group[rid])][1] -= 1
            self.hit[rid] = 0

    # -- admission -------------------------------------------------------------------------------
    def _next_waiting(self, rep: _Replica) -> tuple[int, str] | None:
        if rep.swapped:
            return rep.swapped[0], "swapped"
        if rep.requeued:
            return rep.requeued[0], "requeued"
        st = self.state
        return (st.waiting[st.head], "queue") if st.qlen else None

    def _admit(self, rep: _Replica, budget: int) -> tuple[list[int], list[int], float]:
        """Admit waiting requests while the budget, ``max_num_seqs`` and the free blocks allow."""
        ids, sched, extra = [], [], 0.0
        while budget > 0 and len(rep.running) < self.spec.max_num_seqs:
            nxt = self._next_waiting(rep)
            if nxt is None:
                break
            rid, where = nxt
            got = self._swap_in(rep, rid, budget) if where == "swapped" else self._admit_one(rep, rid, where, budget)
            if got is None:
                break
            n_tok, copy_s = got
            rep.running.append(rid)
            ids.append(rid)
            sched.append(n_tok)
            budget -= n_tok
            extra += copy_s
        return ids, sched, extra

    def _swap_in(self, rep: _Replica, rid: int, budget: int) -> tuple[int, float] | None:
        """Bring a swapped-out request back (its blocks plus any its next tokens need), or None."""
        s = self.spec
        n_tok = min(int(self.need[rid] - self.kv[rid]), budget)
        held = int(self.host[rid])
        grow = max(0, -(-(int(self.kv[rid]) + n_tok) // s.block_tokens) - held)
        if held + grow > rep.free - s.watermark_blocks and not self._evict(rep, held + grow + s.watermark_blocks):
            return None
        rep.swapped.popleft()
        rep.free -= held + grow
        rep.host_free += held
        self.blocks[rid], self.host[rid] = held + grow, 0
        return n_tok, held * s.swap_s_per_block

    def _admit_one(self, rep: _Replica, rid: int, where: str, budget: int) -> tuple[int, float] | None:
        """Admit a new or recomputing request: prefix lookup, its first chunk's blocks; or None."""
        s = self.spec
        owned = 0
        if s.prefilled and not self.admitted[rid]:
            hit, owned = 0, int(self.prompt[rid])  # its prompt's KV arrives with it
        else:
            hit = self._lookup(rep, rid)
        n_tok = int(self.need[rid]) - hit - owned
        if not s.chunked_prefill and n_tok > budget:
            self._release_prefix(rep, rid)
            return None
        n_tok = min(n_tok, budget)
        want = self._admission_blocks(rid, hit, n_tok + owned)
        if want > rep.free - s.watermark_blocks and not self._evict(rep, want + s.watermark_blocks):
            self._release_prefix(rep, rid)
            return None
        rep.free -= want
        self.blocks[rid] = want
        self.kv[rid] = hit + owned
        self.hit_tokens += hit
        self.query_tokens += int(self.need[rid])
        if where == "requeued":
            rep.requeued.popleft()
        else:
            self.state.take(1)
        if not self.admitted[rid]:
            self.admitted[rid] = True
            self.start[rid] = self.env.now
        return n_tok, 0.0

    def _admission_blocks(self, rid: int, hit: int, n_tok: int) -> int:
        b = self.spec.block_tokens
        tokens = int(self.prompt[rid] + self.out[rid]) if self.spec.reserve_full else hit + n_tok
        return -(-tokens // b) - hit // b

    def _lookup(self, rep: _Replica, rid: int) -> int:
        """Cached prefix tokens ``rid`` can reuse (referencing its group's entry), 0 without caching."""
        g = int(self.group[rid])
        if not self.spec.prefix_caching or g < 0 or g not in rep.cache:
            return 0
        b = self.spec.block_tokens
        entry = rep.cache[g]
        hit = min(entry[0], int(self.prefix_blocks[rid]) * b, (int(self.need[rid]) - 1) // b * b)
        if hit > 0:
            entry[1] += 1
            rep.cache.move_to_end(g)
            self.hit[rid] = hit
        return max(hit, 0)

    # -- after an iteration ----------------------------------------------------------------------
    def _work(self, ids: np.ndarray, sched: np.ndarray) -> IterationWork:
        past = self.kv[ids]
        if int(sched.max()) == 1 and int(self.produced[ids].min()) > 0:  # the common case: decodes only
            return IterationWork(decode=len(ids), decode_past=int(past.sum()), chunks=0, chunk_tokens=0, chunk_past=0)
        dec = (self.produced[ids] > 0) & (self.need[ids] - past == 1)
        if self.spec.tokens_per_decode == 1.0:
            dec &= sched == 1
        return IterationWork(decode=int(dec.sum()), decode_past=int(past[dec].sum()), chunks=int((~dec).sum()),
                             chunk_tokens=int(sched[~dec].sum()), chunk_past=int(past[~dec].sum()))

    def _advance(self, rep: _Replica, ids: np.ndarray, sched: np.ndarray, decode_only: bool = False) -> None:
        """Tokens computed: first tokens, outputs, finished requests leave and free their blocks."""
        now, st = self.env.now, self.state
        if self.spec.tokens_per_decode != 1.0:
            dec = ids[(self.produced[ids] > 0) & (self.need[ids] - self.kv[ids] == 1)]
            self.credit[dec] += self.spec.tokens_per_decode
        kv = self.kv[ids] + sched
        self.kv[ids] = kv
        if self.spec.prefix_caching and not decode_only:  # a prefix is completed by a prefill chunk only
            self._register_prefixes(rep, ids)
        need = self.need[ids]
        reached = kv >= need
        emitted = ids[reached]
        gain = (kv - need + 1)[reached]  # 1, or the accepted tokens of a speculative step
        self.produced[emitted] += gain
        for i in emitted[self.produced[emitted] == gain].tolist():
            self.first[i] = now
        done = emitted[self.produced[emitted] >= self.out[emitted]]
        self.need[emitted] += gain
        if len(done):
            for i in done.tolist():
                self.finish[i] = now
                rep.running.remove(i)
                self._release_prefix(rep, i)
            rep.free += int(self.blocks[done].sum())
            self.blocks[done] = 0
            st.done += len(done)
            st.sample(now)
        if self.late:
            self._count_late(emitted, done)

    def _count_late(self, emitted: np.ndarray, done: np.ndarray) -> None:
        """Count requests past a ``stop_when_late`` limit; stop the run once a count is exceeded."""
        arrival = self.spec.arrivals_s
        for metric, limit, most in self.spec.stop_when_late:
            if metric == "ttft":
                late = sum(1 for i in emitted.tolist() if self.produced[i] == 1 and self.first[i] - arrival[i] > limit)
            else:
                late = sum(1 for i in done.tolist() if self.out[i] > 1
                           and (self.finish[i] - self.first[i]) / (self.out[i] - 1) > limit)
            self.late[metric] += late
            if self.late[metric] > most:
                self.stopped = f"more than {most} requests past the {metric} limit of {limit:g} s"
                self.notify()

    def _register_prefixes(self, rep: _Replica, ids: np.ndarray) -> None:
        """Requests that have just computed their group's prefix hand its blocks to the group's entry."""
        b = self.spec.block_tokens
        pb = self.prefix_blocks[ids] * b
        cand = ids[(pb > self.hit[ids]) & (self.kv[ids] >= pb) & (self.group[ids] >= 0)]
        for i in cand.tolist():
            g, tokens = int(self.group[i]), int(self.prefix_blocks[i]) * b
            entry = rep.cache.get(g)
            if entry is not None and (entry[0] >= tokens or self.hit[i] != entry[0]):
                continue  # cached already, or this request computed its prefix beside the entry
            moved = (tokens - int(self.hit[i])) // b
            self.blocks[i] -= moved
            if entry is None:
                rep.cache[g] = entry = [0, 1]
            entry[0] = tokens
            rep.cache.move_to_end(g)
            self.hit[i] = tokens

    def trace(self) -> PagedTrace:
        """The :class:`PagedTrace` so far (complete once ``env`` has run out of events)."""
        return PagedTrace(arrival_s=tuple(float(t) for t in self.spec.arrivals_s), start_s=tuple(self.start),
                          first_token_s=tuple(self.first), finish_s=tuple(self.finish), batches=tuple(self.batches),
                          queue=tuple(self.state.samples), end_s=float(self.env.now),
                          preemptions=tuple(self.preemptions), kv_samples=tuple(self.kv_samples),
                          kv_blocks=self.spec.kv_blocks, prefix_hit_tokens=self.hit_tokens,
                          prefix_query_tokens=self.query_tokens, stopped=self.stopped)


def run_paged(spec: PagedRun, deadline: Deadline | None = None) -> PagedTrace:
    """Simulate every request of ``spec`` under the paged scheduler; returns a :class:`PagedTrace`.

    Raises:
        ValueError: see :class:`PagedServingSim`.
        SimulationTimeout: ``deadline`` passed.

    Example:
        >>> cost = lambda w: (0.02, 0.0)                          # every pass 20 ms
        >>> run = PagedRun(arrivals_s=[0.0, 0.0], prompt_len=[16, 16], output_len=[2, 2], iteration=cost,
        ...                kv_blocks=8, block_tokens=16)
        >>> run_paged(run).finish_s                              # both prefilled together, then one decode
        (0.04, 0.04)
    """
    env = simpy.Environment()
    sim = PagedServingSim(env, spec)
    env.process(sim.source())
    for r in range(spec.replicas):
        env.process(sim.replica(r))
    run_until_done(env, deadline, phase="serving the requests")
    return sim.trace()
