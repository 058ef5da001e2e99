"""Serving under load: queueing laws (Little, M/D/1, D/D/1), batching policies, LLM serving, trace files, CLI."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import simulator as sim
from simulator.engine.serving import BatchWork, ContinuousWork, ServeRun, run_serving
from simulator.errors import InputError

HW, WL = "nvidia-t4", "mlp"


@pytest.fixture(scope="module")
def service_s() -> float:
    return sim.simulate(WL, HW, batch_size=1).step_time_s


@pytest.fixture(scope="module")
def md1(service_s):
    """A long M/D/1 run at rho = 0.5: Poisson arrivals, deterministic service, one server, no batching."""
    return sim.serve(WL, HW, arrival="poisson", rate_per_s=0.5 / service_s, requests=30_000, batching="none", seed=0)


def test_md1_mean_wait_matches_pollaczek_khinchine(md1, service_s):
    rho = 0.5
    mu = 1.0 / service_s
    expected = rho / (2 * mu * (1 - rho))  # M/D/1: W_q = rho / (2 mu (1 - rho))
    assert md1.waiting_mean_s == pytest.approx(expected, rel=0.05)
    assert md1.utilization == pytest.approx(rho, rel=0.02)
    assert md1.latency_mean_s == pytest.approx(expected + service_s, rel=0.03)


def test_littles_law_on_a_long_run(md1):
    # L from the sampled queue timeline, lambda x W from the per-request latencies
    tl = md1.queue_timeline
    dt = np.diff(np.append(tl.time_s.to_numpy(), md1.duration_s))
    L = float(np.dot(dt, tl.in_system.to_numpy())) / md1.duration_s
    assert L == pytest.approx(md1.mean_requests_in_system, rel=1e-9)
    assert L == pytest.approx(md1.throughput_per_s * md1.latency_mean_s, rel=0.01)


def test_littles_law_with_dynamic_batching_and_replicas(service_s):
    r = sim.serve(WL, HW, rate_per_s=3 / service_s, requests=5000, batching="dynamic", max_batch_size=8,
                  max_wait_ms=service_s * 2e3, replicas=2, seed=3)
    assert r.mean_requests_in_system == pytest.approx(r.throughput_per_s * r.latency_mean_s, rel=0.01)
    assert r.mean_queue_length == pytest.approx(r.throughput_per_s * r.waiting_mean_s, rel=0.01)
    assert 1 < r.mean_batch_size <= 8


def test_dd1_no_waiting_below_capacity(service_s):
    r = sim.serve(WL, HW, arrival="constant", rate_per_s=0.9 / service_s, requests=500, batching="none")
    assert r.waiting_mean_s == 0.0 and r.mean_queue_length == 0.0
    assert np.allclose(r.latencies_s, service_s, rtol=1e-12)
    assert r.utilization == pytest.approx(0.9, rel=0.01)


def test_dd1_above_capacity_queue_grows(service_s):
    r = sim.serve(WL, HW, arrival="constant", rate_per_s=2 / service_s, requests=400, batching="none")
    lat = r.latencies_s
    assert np.all(np.diff(lat) > 0)  # each request waits longer than the one before
    assert lat[-1] == pytest.approx(service_s * 400 - 399 * service_s / 2, rel=1e-9)


def test_same_seed_same_latencies_other_seed_differs(service_s):
    kw = dict(rate_per_s=0.7 / service_s, requests=500, batching="dynamic", max_batch_size=4, max_wait_ms=0.01)
    a, b = sim.serve(WL, HW, seed=5, **kw), sim.serve(WL, HW, seed=5, **kw)
    c = sim.serve(WL, HW, seed=6, **kw)
    assert np.array_equal(a.latencies_s, b.latencies_s) and a.to_json() == b.to_json()
    assert not np.array_equal(a.latencies_s, c.latencies_s)


def test_static_batches_are_full(service_s):
    r = sim.serve(WL, HW, arrival="constant", rate_per_s=1 / service_s, requests=100, batching="static",
                  max_batch_size=8)
    sizes = r.batches["size"].tolist()
    assert sizes == [8] * 12 + [4]  # the remainder goes once no more requests will come


def test_dynamic_batching_waits_at_most_max_wait(service_s):
    # arrivals far apart: every batch is one request that waited exactly max_wait
    r = sim.serve(WL, HW, arrival="constant", rate_per_s=10.0, requests=20, batching="dynamic", max_wait_ms=2.0)
    assert set(r.batches["size"]) == {1}
    assert np.allclose(r.latencies_s, 2e-3 + service_s)
    # a burst fills a batch at once: no waiting for the timer
    r = sim.serve(WL, HW, arrival="constant", rate_per_s=1e9, requests=32, batching="dynamic", max_batch_size=32,
                  max_wait_ms=100.0)
    assert r.batches["size"].tolist() == [32] and r.latency_max_s < 1e-3


def test_energy_counts_idle_and_batches(service_s):
    r = sim.serve(WL, HW, arrival="constant", rate_per_s=100, requests=10, batching="none")
    one = sim.simulate(WL, HW, batch_size=1)
    idle = sim.load_hardware(HW).power.idle_w
    assert r.energy_j == pytest.approx(idle * r.duration_s + 10 * (one.energy_j - idle * one.step_time_s))
    assert r.energy_per_request_j == pytest.approx(r.energy_j / 10)
    df = r.power_timeline
    assert ((df.end_s - df.time_s) * df.power_w).sum() == pytest.approx(r.energy_j, rel=1e-9)
    assert df.power_w.min() == idle


def test_continuous_batching_respects_kv_budget():
    # synthetic LLM: every request needs 1 unit of KV cache, the device has 2.5 units
    n = 12
    cw = ContinuousWork(prefill=lambda ids: (1.0, 0.0), decode=lambda ctx: (0.1, 0.0), prompt_len=[4] * n,
                        output_len=[5] * n, kv_bytes=[1.0] * n, kv_budget_bytes=2.5)
    spec = ServeRun(arrivals_s=[0.0] * n, policy="continuous", max_batch_size=8, max_wait_s=0.0, replicas=1,
                    batch_work=lambda ids: BatchWork(0, 0, (), ()), continuous=cw)
    tr = run_serving(spec)
    assert max(b.size for b in tr.batches) == 2
    assert all(f > s for f, s in zip(tr.finish_s, tr.first_token_s))
    # a request decodes output_len - 1 steps after its prefill
    assert tr.finish_s[0] - tr.first_token_s[0] == pytest.approx(4 * 0.1)


def test_llm_continuous_serving_reports_ttft_and_tpot():
    r = sim.serve("gpt2", HW, rate_per_s=20, requests=40, batching="continuous", max_batch_size=8,
                  prompt_len={"dist": "uniform", "low": 16, "high": 64}, output_len=8, seed=1)
    assert 0 < r.ttft_p50_s <= r.ttft_p99_s <= r.latency_p99_s
    assert r.tpot_p50_s > 0 and r.tokens == 40 * 8
    assert r.energy_per_token_j == pytest.approx(r.energy_j / 320)
    df = r.request_table
    assert (df.first_token_s <= df.finish_s).all() and list(df.output_len.unique()) == [8]
    s = sim.serve("gpt2", HW, rate_per_s=20, requests=40, batching="static", max_batch_size=4,
                  prompt_len=32, output_len=8, seed=1)
    assert s.latency_mean_s > 0 and s.ttft_mean_s < s.latency_mean_s


def test_bad_arguments_are_input_errors():
    with pytest.raises(InputError, match="batching"):
        sim.serve(WL, HW, batching="greedy")
    with pytest.raises(InputError, match="rate_per_s"):
        sim.serve(WL, HW, rate_per_s=0)
    with pytest.raises(InputError, match="trace_file"):
        sim.serve(WL, HW, arrival="trace")
    with pytest.raises(InputError, match="not a decoder LLM"):
        sim.serve(WL, HW, prompt_len=10)
    with pytest.raises(InputError, match="prompt_len"):
        sim.serve("gpt2", HW, prompt_len={"dist": "normal"}, requests=2)


def test_trace_files(tmp_path):
    good = tmp_path / "t.csv"
    good.write_text("arrival_ms\n0\n1\n1\n5\n")
    r = sim.serve(WL, HW, arrival="trace", trace_file=good, batching="none")
    assert r.request_table.arrival_s.tolist() == [0.0, 1e-3, 1e-3, 5e-3]
    plain = tmp_path / "t.txt"
    plain.write_text("0.0\n0.5\n")
    assert sim.serve(WL, HW, arrival="trace", trace_file=plain).requests == 2
    for text, msg in (("arrival_s\n0\n2\n1\n", "line 4: arrival times must be non-decreasing"),
                      ("when\n1\n", "arrival_s"), ("arrival_s\nabc\n", "line 2: arrival_s: not a number"),
                      ("", "no arrivals")):
        bad = tmp_path / "bad.csv"
        bad.write_text(text)
        with pytest.raises(InputError, match=msg):
            sim.serve(WL, HW, arrival="trace", trace_file=bad)
    with pytest.raises(InputError, match="cannot read"):
        sim.serve(WL, HW, arrival="trace", trace_file=tmp_path / "missing.csv")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *args], capture_output=True, text=True, timeout=300)


def test_cli_serve_json_and_bad_trace(tmp_path):
    r = cli("serve", "--hardware", HW, "--workload", WL, "--arrival", "poisson", "--rate-per-s", "500",
            "--requests", "300", "--batching", "dynamic", "--max-batch-size", "32", "--max-wait-ms", "5",
            "--slo-ms", "50", "--seed", "1", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert {"latency_p50_s", "latency_p99_s", "throughput_per_s", "mean_requests_in_system", "utilization",
            "slo_attainment", "energy_per_request_j"} <= set(d)
    bad = tmp_path / "bad.csv"
    bad.write_text("arrival_s\n1\n0\n")
    r = cli("serve", "--hardware", HW, "--workload", WL, "--trace-file", str(bad))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "non-decreasing" in r.stderr


def test_bursty_arrivals_wait_longer_than_poisson_and_constant(service_s):
    kw = dict(rate_per_s=0.6 / service_s, requests=4000, batching="none", seed=4)
    const, pois, burst = (sim.serve(WL, HW, arrival=a, **kw) for a in ("constant", "poisson", "bursty"))
    assert const.waiting_mean_s == 0.0 < pois.waiting_mean_s < burst.waiting_mean_s
    assert pois.latency_p99_s < burst.latency_p99_s
    for r in (pois, burst):  # same mean rate within sampling error
        assert r.requests / r.request_table.arrival_s.iloc[-1] == pytest.approx(0.6 / service_s, rel=0.1)


def test_model_that_never_fits_is_infeasible():
    with pytest.raises(sim.InfeasibleError, match="even at batch 1"):
        sim.serve("llama2-70b", HW, requests=4, output_len=2, prompt_len=8)


def test_a_replica_can_span_several_devices_with_tensor_parallelism():
    kw = dict(precision="fp16", arrival="constant", rate_per_s=4, requests=24, batching="continuous",
              max_batch_size=8, prompt_len=256, output_len=16, seed=0)
    one = sim.serve("llama2-7b", "nvidia-a100-sxm-80gb", **kw)
    two = sim.serve("llama2-7b", "nvidia-a100-sxm-80gb", devices=2, parallelism="tp=2", **kw)
    assert two.hardware == "nvidia-a100-sxm-80gb-x2"
    assert two.tpot_p50_s < one.tpot_p50_s  # decode weight reads split over two HBMs
    idle = sim.load_hardware("nvidia-a100-sxm-80gb").power.idle_w
    assert two.energy_j >= 2 * idle * two.trace.end_s  # both devices idle-draw for the whole run
    with pytest.raises(sim.ScenarioError, match="replicas="):
        sim.serve("llama2-7b", "nvidia-a100-sxm-80gb", devices=2, parallelism="dp=2", **kw)


def test_kv_budget_of_a_tensor_parallel_replica_is_its_devices_together():
    from simulator.run.placement import placement
    from simulator.serving.costs import ServiceModel
    from simulator.workload.loader import load_workload

    wl = load_workload("llama2-7b")
    hw = sim.load_hardware("nvidia-a100-sxm-80gb")
    one = ServiceModel(wl=wl, hw=hw, precision="fp16", max_batch_size=8)
    where = placement(hw, devices=2, parallelism="tp=2")
    two = ServiceModel(wl=wl, hw=hw, precision="fp16", max_batch_size=8, where=where)
    # each device holds half the weights and half the KV heads: more than twice the budget
    assert two.kv_budget_bytes() > 2 * one.kv_budget_bytes()
    assert where.kv_share(wl) == 0.5


def test_a_prefill_iteration_takes_at_most_max_prefill_tokens():
    kw = dict(precision="fp16", arrival="constant", rate_per_s=1e6, requests=40, batching="continuous",
              max_batch_size=64, prompt_len=100, output_len=4, seed=0)
    from collections import Counter

    def admitted_together(r) -> list[int]:  # requests prefilled in the same iteration share their first token
        return sorted(Counter(r.trace.first_token_s).values())

    capped = sim.serve("gpt2", "nvidia-h100-sxm", max_prefill_tokens=1000, **kw)
    assert max(admitted_together(capped)) == 10 and sum(admitted_together(capped)) == 40  # 1000 / 100 tokens
    free = sim.serve("gpt2", "nvidia-h100-sxm", max_prefill_tokens=None, **kw)
    assert max(admitted_together(free)) > 30  # every request that has arrived
    with pytest.raises(InputError, match="max_prefill_tokens"):
        sim.serve("gpt2", "nvidia-h100-sxm", max_prefill_tokens=0, **kw)


def test_in_flight_batching_decodes_while_it_prefills():
    """A mixed iteration costs the prefill plus what the decode adds beyond streaming the weights
    once, never more than the two run one after the other."""
    from simulator.run.placement import placement
    from simulator.serving.costs import ServiceModel
    from simulator.workload.loader import load_workload

    hw = sim.load_hardware("nvidia-h100-sxm")
    m = ServiceModel(wl=load_workload("llama2-7b"), hw=hw, precision="fp16", max_batch_size=64,
                     where=placement(hw))
    t_p, _ = m.prefill([512] * 8, padded=False)
    t_d, _ = m.decode([600] * 32)
    t_m, _ = m.mixed([512] * 8, [600] * 32)
    assert t_m == pytest.approx(t_p + max(0.0, t_d - m.weight_stream_s()))
    assert max(t_p, t_d) <= t_m <= t_p + t_d
    weights = 6.74e9 * 2 / (hw.main_memory.bandwidth_gbs * 1e9 * hw.efficiency.memory)
    assert m.weight_stream_s() == pytest.approx(weights, rel=0.01)
