"""The one-replica serving path (no SimPy where one server drains one queue) gives exactly the trace
the SimPy processes give: every per-request time, batch, queue sample and the end of the run, bit for
bit (compared by ``repr``, so an integer 0 stays an integer 0), on random arrivals, policies and batch
costs, including grids of times where arrivals fall on batch ends and deadlines (those runs go to
SimPy)."""
from __future__ import annotations

import pickle
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulator as sim
from simulator.engine.serving import BatchWork, ServeRun, run_serving
from simulator.engine.serving_replay import LazyRows, arrival_instants, serve_one_replica, serve_requests

FIELDS = ("arrival_s", "start_s", "first_token_s", "finish_s", "batches", "queue", "end_s")


def _spec(seed: int) -> ServeRun:
    rng = random.Random(seed)
    n = rng.randint(1, 200)
    kind = rng.choice(["poisson", "constant", "duplicates", "late-start", "grid"])
    rate = rng.uniform(10, 2000)
    t, arr = (rng.uniform(0, 0.01) if kind == "late-start" else 0.0), []
    for i in range(n):
        if kind == "grid":
            arr.append(rng.randint(0, 3 * n) * 0.25)
        elif kind == "constant":
            arr.append(i / rate)
        else:
            arr.append(t)
            t += 0.0 if kind == "duplicates" and rng.random() < 0.3 else rng.expovariate(rate)
    arr.sort()
    base, per = rng.uniform(1e-4, 0.01), rng.uniform(0, 0.005)
    if kind == "grid":
        base, per = rng.choice([0.25, 0.5, 1.0]), rng.choice([0.0, 0.25])
    ragged = rng.random() < 0.3  # requests of a batch finish at different times (padded LLM batches)

    def work(ids):
        b = len(ids)
        d = base + per * b
        if ragged:
            done = tuple(d * (0.5 + 0.25 * (i * 7 % 3)) for i in ids)
            return BatchWork(duration_s=max(max(done), d), energy_j=b * 0.1, done_s=done,
                             first_s=tuple(x / 3 for x in done))
        return BatchWork(duration_s=d, energy_j=b * 0.1, done_s=(d,) * b, first_s=(d / 2,) * b)

    return ServeRun(arrivals_s=arr, policy=rng.choice(["none", "static", "dynamic", "continuous"]),
                    max_batch_size=rng.choice([1, 2, 4, 8, 32]),
                    max_wait_s=rng.choice([0.0, 0.001, 0.005, 0.02, 0.25, 0.5]), replicas=1, batch_work=work)


def _same(a, b) -> None:
    for f in FIELDS:
        assert repr(getattr(a, f)) == repr(getattr(b, f)), f


def test_the_one_replica_path_is_the_simpy_run_on_random_runs():
    replayed = 0
    for seed in range(400):
        spec = _spec(seed)
        fast, ref = serve_one_replica(spec), run_serving(spec)
        _same(serve_requests(spec), ref)
        if fast is not None:
            _same(fast, ref)
            replayed += 1
    assert replayed > 250  # ties (which go to SimPy) are the exception


@settings(max_examples=60, deadline=None)
@given(gaps=st.lists(st.sampled_from([0.0, 1e-300, 1e-9, 0.001, 0.002, 0.005, 0.0123]), min_size=1, max_size=40),
       policy=st.sampled_from(["none", "static", "dynamic", "continuous"]), cap=st.integers(1, 6),
       wait=st.sampled_from([0.0, 0.001, 0.004, 0.005]), dur=st.sampled_from([1e-6, 0.001, 0.003, 0.0071]))
def test_the_one_replica_path_on_arrival_patterns(gaps, policy, cap, wait, dur):
    arr, t = [], 0.0
    for g in gaps:
        t += g
        arr.append(t)
    spec = ServeRun(arrivals_s=arr, policy=policy, max_batch_size=cap, max_wait_s=wait, replicas=1,
                    batch_work=lambda ids: BatchWork(dur, 1.0, (dur,) * len(ids), (dur,) * len(ids)))
    fast = serve_one_replica(spec)
    if fast is not None:
        _same(fast, run_serving(spec))


def test_several_replicas_and_llm_continuous_batching_keep_simpy():
    spec = _spec(3)
    assert serve_one_replica(ServeRun(**{**spec.__dict__, "replicas": 2})) is None


def test_serve_results_are_those_of_the_simpy_engine(monkeypatch):
    import simulator.engine.serving_replay as engine

    kw = dict(requests=400, rate_per_s=300, slo_ms=20.0)
    fast = sim.serve("mlp", "nvidia-t4", **kw)
    monkeypatch.setattr(engine, "serve_one_replica", lambda spec, deadline=None: None)
    ref = sim.serve("mlp", "nvidia-t4", **kw)
    assert repr(fast.summary) == repr(ref.summary)
    for table in ("request_table", "queue_timeline", "batches", "power_timeline"):
        assert getattr(fast, table).equals(getattr(ref, table)), table


def test_arrival_instants_and_lazy_rows():
    assert arrival_instants([0.0, 0.0, 0.1]) == [0, 0, 0.1]
    rows = LazyRows(lambda: [(1, 2)], 1)
    assert len(rows) == 1 and rows == ((1, 2),) and ((1, 2),) == rows and list(rows) == [(1, 2)]
    assert pickle.loads(pickle.dumps(rows)) == ((1, 2),) and hash(rows) == hash(((1, 2),))
    with pytest.raises(IndexError):
        rows[3]
