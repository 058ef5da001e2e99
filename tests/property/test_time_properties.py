"""Laws of time: queues get no shorter with more load or slower servers; power caps never speed a step up."""
from __future__ import annotations

import functools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import simulator as sim
from simulator.engine.serving import BatchWork, ServeRun, run_serving

HW, WL = "nvidia-t4", "mlp"


@functools.lru_cache(maxsize=None)
def _service_s() -> float:
    return sim.simulate(WL, HW, batch_size=1).step_time_s


@given(lo=st.floats(0.2, 1.5), factor=st.floats(1.0, 3.0), replicas=st.integers(1, 3), seed=st.integers(0, 50))
def test_higher_arrival_rate_never_lowers_p99(lo, factor, replicas, seed):
    # common random numbers: the same seed draws the same pattern, the rate only compresses it
    s = _service_s()
    kw = dict(arrival="poisson", requests=300, batching="none", replicas=replicas, seed=seed)
    slow = sim.serve(WL, HW, rate_per_s=lo / s, **kw)
    fast = sim.serve(WL, HW, rate_per_s=lo * factor / s, **kw)
    assert fast.latency_p99_s >= slow.latency_p99_s - 1e-15
    assert np.all(fast.latencies_s >= slow.latencies_s - 1e-15)  # FIFO: pathwise, not only p99


def _play(arrivals, service_s, replicas):
    def work(ids):
        return BatchWork(service_s, 0.0, (service_s,) * len(ids), (service_s,) * len(ids))
    tr = run_serving(ServeRun(arrivals_s=arrivals, policy="none", max_batch_size=1, max_wait_s=0.0,
                              replicas=replicas, batch_work=work))
    return np.asarray(tr.finish_s) - np.asarray(arrivals)


@given(seed=st.integers(0, 10_000), speedup=st.floats(1.0, 4.0), load=st.floats(0.3, 1.5), replicas=st.integers(1, 3))
def test_faster_device_never_raises_p99(seed, speedup, load, replicas):
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.standard_exponential(400)).tolist()
    slow = _play(arrivals, load * replicas, replicas)
    fast = _play(arrivals, load * replicas / speedup, replicas)
    assert np.percentile(fast, 99) <= np.percentile(slow, 99) + 1e-12
    assert np.all(fast <= slow + 1e-12)


def test_faster_catalogue_device_never_raises_p99():
    kw = dict(arrival="poisson", rate_per_s=20_000, requests=2000, batching="none", seed=2)
    t4, h100 = sim.serve(WL, "nvidia-t4", **kw), sim.serve(WL, "nvidia-h100-sxm", **kw)
    assert sim.simulate(WL, "nvidia-h100-sxm", batch_size=1).step_time_s < _service_s()
    assert h100.latency_p99_s <= t4.latency_p99_s


@given(a=st.floats(11.0, 70.0), b=st.floats(11.0, 70.0), batch=st.sampled_from([64, 1024, 4096]))
def test_tighter_power_cap_never_shortens_a_step(a, b, batch):
    lo, hi = sorted((a, b))
    tight = sim.simulate(WL, HW, batch_size=batch, power_cap_w=lo)
    loose = sim.simulate(WL, HW, batch_size=batch, power_cap_w=hi)
    assert tight.step_time_s >= loose.step_time_s * (1 - 1e-12)
    assert tight.throttled_fraction >= loose.throttled_fraction - 1e-12
    assert tight.average_power_w <= lo * (1 + 1e-9)  # every op stretched to fit under the cap


@given(seed=st.integers(0, 2**31), batching=st.sampled_from(["none", "static", "dynamic", "continuous"]),
       arrival=st.sampled_from(["poisson", "bursty"]), replicas=st.integers(1, 2))
def test_same_seed_same_latencies(seed, batching, arrival, replicas):
    kw = dict(arrival=arrival, rate_per_s=1.5 / _service_s(), requests=120, batching=batching, max_batch_size=4,
              max_wait_ms=_service_s() * 1e3, replicas=replicas, seed=seed)
    a, b = sim.serve(WL, HW, **kw), sim.serve(WL, HW, **kw)
    assert np.array_equal(a.latencies_s, b.latencies_s) and a.to_json() == b.to_json()
    assert np.all(a.latencies_s > 0)
