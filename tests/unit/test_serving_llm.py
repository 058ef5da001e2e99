"""LLM serving through engine schedulers, request traces and mixes, SLO metrics, and the deployment
planner against a brute-force search of the same small space through serve()."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import simulator as sim
from simulator.bundled import data_root
from simulator.errors import InputError, ScenarioError
from simulator.serving.stats import hourly_price, parse_slo, slo_figures

QWEN = str(data_root("hf_configs") / "qwen2.5-0.5b.json")


@pytest.fixture(scope="module")
def chat():
    return sim.request_mix("chat", rate_per_s=4, duration_s=15, seed=0)


def test_request_csv_round_trip_and_errors(tmp_path):
    t = sim.request_mix("rag", rate_per_s=2, duration_s=5, seed=3)
    p = tmp_path / "r.csv"
    p.write_text(t.to_csv())
    back = sim.load_requests(p)
    for col in ("arrival_s", "prompt_len", "output_len", "prefix_id", "prefix_len"):
        assert np.array_equal(getattr(back, col), getattr(t, col))
    for text, words in (("arrival_s,prompt_len\n0,1\n", r"missing column\(s\) output_len"),
                        ("arrival_s,prompt_len,output_len\n0,10,x\n", "line 2: output_len: not a number"),
                        ("arrival_s,prompt_len,output_len\n1,10,2\n0,10,2\n", "line 3: arrival_s: must be non-decreasing"),
                        ("arrival_s,prompt_len,output_len,prefix_id\n0,10,2,1\n", "prefix_id and prefix_len go together"),
                        ("arrival_s,prompt_len,output_len,prefix_id,prefix_len\n0,10,2,1,11\n", "prefix_len: must be in")):
        p.write_text(text)
        with pytest.raises(InputError, match=words):
            sim.load_requests(p)


def test_request_mixes_are_deterministic_and_sourced():
    a = sim.request_mix("code", rate_per_s=10, duration_s=30, seed=7)
    b = sim.request_mix("code", rate_per_s=10, duration_s=30, seed=7)
    assert a.to_csv() == b.to_csv() and len(a) == 300
    assert sim.request_mix("code", rate_per_s=10, duration_s=30, seed=8).to_csv() != a.to_csv()
    offline = sim.request_mix("batch-offline", rate_per_s=100, duration_s=1)
    assert len(offline) == 100 and offline.duration_s == 0
    # the median of a lognormal is exp(mu): the chat mix's prompt median is Splitwise's 1,020 tokens
    big = sim.request_mix("chat", rate_per_s=100, duration_s=100, seed=1)
    assert np.median(big.prompt_len) == pytest.approx(1020, rel=0.05)
    with pytest.raises(ScenarioError, match="unknown 'chatt'"):
        sim.request_mix("chatt", rate_per_s=1, duration_s=1)
    for name in ("chat", "code", "rag", "batch-offline"):
        text = (data_root("request_mixes") / f"{name}.yaml").read_text()
        assert text.count("source:") >= 3


def test_slo_parsing_and_per_request_attainment_by_hand():
    assert parse_slo({"e2e_p90": 2}) == {"latency_p90_s": 2.0}
    with pytest.raises(ScenarioError, match="ttft_p98"):
        parse_slo("ttft_p98=1")
    # 4 requests over 2 s: TTFT 0.1, 0.2, 0.6, 0.1; TPOT 0.01, 0.05, 0.01, none (one output token)
    values = {"ttft": np.array([0.1, 0.2, 0.6, 0.1]), "tpot": np.array([0.01, 0.05, 0.01, np.nan]),
              "latency": np.array([1.0, 1.0, 1.0, 0.1])}
    f = slo_figures({"ttft_p50_s": 0.5, "tpot_p50_s": 0.02}, values, 2.0)
    assert f["slo_attainment"] == 0.5 and f["goodput_per_s"] == 1.0  # requests 0 and 3 meet both
    assert f["slo_met"] is True  # p50 TTFT 0.15 <= 0.5, p50 TPOT 0.01 <= 0.02
    assert f["slo_achieved"] == {"ttft_p50_s": pytest.approx(0.15), "tpot_p50_s": pytest.approx(0.01)}


def test_price_basis():
    assert hourly_price(sim.load_hardware("nvidia-h100-sxm")) == (2.99, "cloud")
    usd, basis = hourly_price(sim.load_hardware("nvidia-rtx-4090"))
    assert basis == "owned" and usd == pytest.approx(1599 / (3 * 8760))
    assert hourly_price(sim.load_hardware("arm-neoverse-v2-grace")) == (None, "no price")


def test_serve_with_a_scheduler_reports_slo_cost_and_kv(chat):
    r = sim.serve(QWEN, "nvidia-l4", requests=chat, scheduler="vllm", slo={"ttft_p99_s": 2.0, "tpot_p99_s": 0.1})
    s = r.summary
    assert s["scheduler"] == "vllm" and s["kv_block_tokens"] == 16 and s["requests"] == len(chat)
    assert s["tokens"] == chat.output_tokens
    # dollars per million output tokens: $0.71/h x the run's hours over its output tokens
    assert s["usd_per_million_tokens"] == pytest.approx(0.71 * s["duration_s"] / 3600 / s["tokens"] * 1e6)
    assert 0 < s["prefix_hit_rate"] < 1 and s["preemption_count"] == len(r.preemptions) == 0
    kv = r.kv_utilization_timeline
    assert list(kv.columns) == ["time_s", "replica", "blocks_used", "utilization"]
    assert kv["utilization"].max() == pytest.approx(s["kv_utilization_max"]) and kv["utilization"].max() <= 1
    table = r.request_table
    assert np.allclose(table["ttft_s"], table["first_token_s"] - table["arrival_s"])
    assert s["ttft_p99_s"] == pytest.approx(np.percentile(table["ttft_s"], 99))
    assert "scheduler vllm" in r.table() and "SLO" in r.table()


def test_less_kv_memory_preempts_and_swap_needs_a_host_link(chat):
    # 16 requests at once of 1,000 + 300 tokens (82 blocks of 16 each); the KV blocks a replica has are
    # affine in memory_utilization: solve for room for about 5 of them
    burst = sim.RequestTrace.build([0.0] * 16, [1000] * 16, [300] * 16)
    blocks = [sim.serve(QWEN, "nvidia-l4", requests=burst.head(1), scheduler="vllm",
                        scheduler_overrides={"memory_utilization": u}).kv_blocks for u in (0.2, 0.3)]
    u = 0.2 + 0.1 * (5 * 82 - blocks[0]) / (blocks[1] - blocks[0])
    r = sim.serve(QWEN, "nvidia-l4", requests=burst, scheduler="vllm", scheduler_overrides={"memory_utilization": u})
    assert 5 * 82 - 2 <= r.kv_blocks <= 5 * 82 + 2
    assert r.preemption_count > 0 and set(r.preemptions["mode"]) == {"recompute"}
    swapped = sim.serve(QWEN, "nvidia-l4", requests=burst, scheduler="vllm", preemption="swap",
                        scheduler_overrides={"memory_utilization": u, "swap_space_gib": 4})
    assert "swap" in set(swapped.preemptions["mode"])
    from simulator.serving.costs import ServiceModel
    from simulator.serving.paged import kv_layout
    from simulator.serving.policy import load_scheduler

    no_link = sim.load_hardware("nvidia-l4").model_copy(update={"host_link": None})
    model = ServiceModel(wl=sim.load_workload(QWEN), hw=no_link, precision="bf16", max_batch_size=8)
    with pytest.raises(ScenarioError, match="nvidia-l4 has none"):
        kv_layout(model, load_scheduler("vllm", {"preemption": "swap"}))


def test_scheduler_settings_need_a_scheduler_and_llm(chat):
    with pytest.raises(ScenarioError, match="chunked_prefill: a scheduler setting"):
        sim.serve(QWEN, "nvidia-l4", requests=chat, chunked_prefill=False)
    with pytest.raises(ScenarioError, match="not a decoder LLM"):
        sim.serve("resnet50", "nvidia-l4", scheduler="vllm", requests=10)
    with pytest.raises(ScenarioError, match="either slo"):
        sim.serve(QWEN, "nvidia-l4", requests=chat, slo={"ttft_p99_s": 1}, slo_ms=100)


def test_tensorrt_llm_policy_never_preempts(chat):
    r = sim.serve(QWEN, "nvidia-l4", requests=chat, scheduler="tensorrt-llm",
                  scheduler_overrides={"memory_utilization": 0.1, "memory_fraction_of": "total"},
                  max_num_batched_tokens=16384)
    assert r.preemption_count == 0


def test_prefix_caching_lowers_ttft_on_a_shared_prefix_mix():
    # 20 requests a second apart, two groups sharing 3,000 of their 4,000 prompt tokens
    trace = sim.RequestTrace.build(np.arange(20.0), [4000] * 20, [20] * 20, [i % 2 for i in range(20)], [3000] * 20)
    on = sim.serve(QWEN, "nvidia-l4", requests=trace, scheduler="sglang")
    off = sim.serve(QWEN, "nvidia-l4", requests=trace, scheduler="sglang", prefix_caching=False)
    assert on.prefix_hit_rate == pytest.approx(18 * 3000 / (20 * 4000)) and off.prefix_hit_rate == 0
    assert on.ttft_mean_s < off.ttft_mean_s


def test_plan_matches_a_brute_force_search_through_serve():
    """Every candidate of a small space served through serve() (an independent path); the cheapest
    that meets the SLO must be the plan's best, with and without pruning, and every simulated plan
    row must agree with serve() on whether it meets the SLO."""
    trace = sim.request_mix("chat", rate_per_s=3, duration_s=8, seed=4)
    slo = {"ttft_p99_s": 0.6, "tpot_p99_s": 0.02}
    space = dict(devices=["nvidia-l4", "nvidia-t4"], requests=trace, slo=slo, devices_per_replica=(1,),
                 max_replicas=3, max_num_seqs=(4, 32))
    brute = []
    for dev in space["devices"]:
        for r in range(1, 4):
            for seqs in (4, 32):
                s = sim.serve(QWEN, dev, requests=trace, scheduler="vllm", max_num_seqs=seqs, replicas=r, slo=slo)
                brute.append((s.usd_per_hour, dev, r, seqs, s.slo_met))
    cheapest = min(usd for usd, *_, met in brute if met)
    plans = [sim.plan_deployment(QWEN, **space), sim.plan_deployment(QWEN, exhaustive=True, **space)]
    for plan in plans:
        assert plan.best["usd_per_hour"] == pytest.approx(cheapest)
        assert (plan.best["device"], plan.best["replicas"], plan.best["max_num_seqs"]) in \
            [(d, r, q) for usd, d, r, q, met in brute if met and usd == pytest.approx(cheapest)]
    table = plans[1].table
    assert len(table) == len(brute) == 12 and set(table["status"]) <= {"meets SLO", "misses SLO"}
    for usd, dev, r, seqs, met in brute:
        row = table[(table.device == dev) & (table.replicas == r) & (table.max_num_seqs == seqs)].iloc[0]
        assert (row["status"] == "meets SLO") == met
    assert set(plans[0].table["status"]) <= {"meets SLO", "misses SLO", "pruned"}
    assert (plans[0].table["status"] != "pruned").sum() < len(brute)  # the pruning saved simulations


def test_plan_lists_infeasible_candidates_with_reasons():
    trace = sim.request_mix("chat", rate_per_s=1, duration_s=3)
    plan = sim.plan_deployment("llama2-70b", devices=["nvidia-l4", "arm-neoverse-v2-grace"], requests=trace,
                               slo={"ttft_p99_s": 5}, devices_per_replica=(1, 2), max_replicas=1, max_num_seqs=(8,))
    reasons = dict(zip(plan.table["device"] + "/" + plan.table["tp"].astype(str) + "/" + plan.table["pp"].astype(str),
                       plan.table["reason"]))
    assert reasons["nvidia-l4/1/1"].startswith("memory: 128.5 GiB of weights per device")
    assert reasons["arm-neoverse-v2-grace/1/1"].startswith("no price")
    assert plan.best is None and "no candidate meets the SLO" in plan.summary()
    with_price = sim.plan_deployment("llama2-70b", devices=["amd-mi300x"], requests=trace, slo={"ttft_p99_s": 5},
                                     devices_per_replica=(2,), max_replicas=1, max_num_seqs=(8,), pipeline=False,
                                     prices={"amd-mi300x": 2.5})
    assert with_price.best["price_basis"] == "given" and with_price.best["usd_per_hour"] == 5.0


def test_cli_serve_and_plan_from_a_config(tmp_path):
    env_py = [sys.executable, "-m", "simulator"]
    out = subprocess.run(env_py + ["serve", "--workload", QWEN, "--hardware", "nvidia-l4", "--requests", "chat",
                                   "--rate-per-s", "2", "--duration-s", "5", "--scheduler", "vllm",
                                   "--no-chunked-prefill", "--max-num-batched-tokens", "16384",
                                   "--slo", "ttft_p99=1,tpot_p99=0.1", "--format", "json"],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout)
    assert s["chunked_prefill"] is False and s["max_num_batched_tokens"] == 16384 and s["slo_met"] in (True, False)
    plan = subprocess.run(env_py + ["plan", "--workload", QWEN, "--devices", "nvidia-l4,nvidia-t4", "--requests",
                                    "chat", "--rate-per-s", "2", "--duration-s", "5", "--slo", "ttft_p99=1",
                                    "--devices-per-replica", "1", "--max-replicas", "2", "--max-num-seqs", "16",
                                    "--table-csv", "t.csv"], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    assert "best: 1 x 1 nvidia-t4" in plan.stdout and (tmp_path / "t.csv").read_text().count("\n") == 5
    bad = subprocess.run(env_py + ["plan", "--workload", QWEN, "--requests", "chat", "--slo", "ttft=1"],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "slo: ttft=1.0" in bad.stderr


def test_speculative_decoding_cost_and_speed_by_hand():
    """A decode iteration of n sequences under speculation costs k draft decode steps plus a verify
    chunk of k + 1 tokens after their cached ones; with a good draft TPOT drops."""
    from simulator.engine.llm_serving import IterationWork
    from simulator.serving.costs import ServiceModel

    hw = sim.load_hardware("nvidia-l4")
    target = ServiceModel(wl=sim.load_workload("llama3-8b"), hw=hw, precision="bf16", max_batch_size=8)
    draft = ServiceModel(wl=sim.load_workload(QWEN), hw=hw, precision="bf16", max_batch_size=8)
    target.draft, target.draft_tokens, target.draft_acceptance = draft, 4, 0.8
    t, e = target.iteration(IterationWork(decode=4, decode_past=4 * 300, chunks=0, chunk_tokens=0, chunk_past=0))
    t_d, e_d = draft.fast_llm("decode", 4, 300)
    t_v, e_v = target.chunk(4, 5, 300)
    assert (t, e) == pytest.approx((4 * t_d + t_v, 4 * e_d + e_v))
    assert target.tokens_per_decode == pytest.approx((1 - 0.8 ** 5) / 0.2)
    trace = sim.RequestTrace.build([0.0, 0.5], [200, 300], [200, 150])
    plain = sim.serve("llama3-8b", "nvidia-l4", requests=trace, scheduler="vllm")
    fast = sim.serve("llama3-8b", "nvidia-l4", requests=trace, scheduler="vllm",
                     speculative={"draft": QWEN, "tokens": 4, "acceptance": 0.8})
    assert fast.tpot_mean_s < 0.6 * plain.tpot_mean_s and fast.tokens == plain.tokens
    assert fast.kv_blocks < plain.kv_blocks  # the draft's weights take their room
    with pytest.raises(ScenarioError, match="speculative.acceptance"):
        sim.serve("llama3-8b", "nvidia-l4", requests=trace, scheduler="vllm",
                  speculative={"draft": QWEN, "tokens": 4, "acceptance": 1.5})


def test_disaggregated_prefill_and_decode_by_hand():
    """One request, prompt 1,000, 5 outputs, one prefill and one decode copy of an L4 replica: TTFT is
    the prefill alone; the prompt's KV (1,000 x 2 x 24 layers x 2 KV heads x 64 x 2 B) crosses the
    L4's link; then 4 decode steps at 1,000..1,003 cached tokens."""
    from simulator.engine.llm_serving import IterationWork
    from simulator.serving.costs import ServiceModel
    from simulator.serving.paged import kv_transfer_s

    hw = sim.load_hardware("nvidia-l4")
    model = ServiceModel(wl=sim.load_workload(QWEN), hw=hw, precision="bf16", max_batch_size=256)
    link = hw.links[0] if hw.links else hw.host_link
    assert kv_transfer_s(model, 1000) == pytest.approx(1000 * 2 * 24 * 2 * 64 * 2 / (link.bandwidth_gbs * 1e9)
                                                       + link.latency_us * 1e-6)
    trace = sim.RequestTrace.build([0.0], [1000], [5])
    r = sim.serve(QWEN, "nvidia-l4", requests=trace, scheduler="vllm",
                  disaggregated={"prefill_replicas": 1, "decode_replicas": 1})
    ttft = model.iteration(IterationWork(decode=0, decode_past=0, chunks=1, chunk_tokens=1000, chunk_past=0))[0]
    steps = sum(model.iteration(IterationWork(decode=1, decode_past=p, chunks=0, chunk_tokens=0, chunk_past=0))[0]
                for p in range(1000, 1004))
    assert r.ttft_p50_s == pytest.approx(ttft)
    assert r.latency_p50_s == pytest.approx(ttft + kv_transfer_s(model, 1000) + steps)
    assert r.replicas == 2 and set(r.batches["replica"]) == {0, 1}
    assert r.mean_requests_in_system == pytest.approx(r.throughput_per_s * r.latency_mean_s)   # Little's law


def test_disaggregation_keeps_long_prefills_from_slowing_decodes():
    """Long prompts at a steady rate: in one pool every decode waits behind prefill chunks; in separate
    pools the decodes' TPOT is their own (DistServe's point), for the same two replicas. Arrivals every
    0.1 s keep a prefill in flight beside most decodes (at 0.25 s the L4's ~0.1 s prefills of 6000
    tokens leave most decode steps alone, and the one decode pool's larger batch costs more than the
    interference it avoids)."""
    trace = sim.RequestTrace.build(np.arange(20) * 0.1, [6000] * 20, [64] * 20)
    mixed = sim.serve(QWEN, "nvidia-l4", requests=trace, scheduler="vllm", replicas=2)
    split = sim.serve(QWEN, "nvidia-l4", requests=trace, scheduler="vllm",
                      disaggregated={"prefill_replicas": 1, "decode_replicas": 1})
    assert split.tpot_p99_s < mixed.tpot_p99_s


@pytest.mark.parametrize("knobs", [dict(batching="continuous"), dict(scheduler="vllm")])
def test_prompts_near_a_learned_position_table_run(knobs):
    """Regression: a 600-token prompt on GPT-2 (1,024 positions) made the power-of-two grid probe a
    decode after 1,024 cached tokens (and vLLM's profiling pass an 8,192-token sequence)."""
    r = sim.serve("gpt2", "nvidia-l4", prompt_len=600, output_len=64, requests=30, rate_per_s=5, **knobs)
    assert r.ttft_p50_s > 0 and r.tpot_p50_s > 0


def test_a_request_longer_than_the_context_is_refused():
    with pytest.raises(ScenarioError, match=r"request 0 needs 1000 \+ 100 = 1100 tokens, above gpt2's context of 1024"):
        sim.serve("gpt2", "nvidia-l4", batching="continuous", prompt_len=1000, output_len=100, requests=5)


def test_a_mix_is_fitted_to_the_models_context_and_counted():
    """A chat mix's long tail (ShareGPT-like prompts past 4k) on Llama 2's 4,096-token context: those
    requests are cut to fit, as chat front-ends do, and the summary says how many."""
    trace = sim.request_mix("chat", rate_per_s=5, duration_s=20, seed=0)
    over = int(((trace.prompt_len + trace.output_len) > 4096).sum())
    assert over > 0  # the mix really has such requests
    s = sim.serve("llama2-7b", "nvidia-h100-sxm", requests=trace, scheduler="vllm")
    assert s.summary["context_truncated_requests"] == over
    assert s.summary["requests"] == len(trace)  # none dropped
