"""Speed of LLM serving and deployment planning, as a table of CPU and wall time.

Run: ``python benchmarks/bench_serving.py`` (or ``make bench``). Each row runs in a fresh
subprocess (cold caches: the cost-model calls a run needs are part of its time).

* serve: a 10-minute chat trace at 20 requests/s (12,000 requests) on one H100 under the vLLM policy
  (chunked prefill, paged KV in 16-token blocks, prefix caching), Llama 3.1 8B from its HF config;
  target <= 5 s on one core. Also split: cost-model calls vs the engine.
* plan: Llama 3.1 8B, the same 12,000-request trace, five devices (the MI300X at an assumed $3.50/h: its
  spec has no price) x devices per replica (1, 2, 4, 8) x tp/pp layouts x 1..8 replicas x max_num_seqs
  (64, 128, 256) = 1,200 candidates, sequential branch and bound on one core; target <= 60 s.
"""
from __future__ import annotations

import json
import subprocess
import sys

CHILD = r"""
import json, sys, time
import simulator as sim
from simulator.bundled import data_root
kind = sys.argv[1]
cfg = str(data_root("hf_configs") / "llama-3.1-8b.json")
t0, c0 = time.perf_counter(), time.process_time()
if kind == "serve":
    trace = sim.request_mix("chat", rate_per_s=20, duration_s=600, seed=0)
    from simulator.serving import costs
    spent = {"s": 0.0}
    run = costs.ServiceModel._run
    def timed(self, key, fn):
        t = time.process_time(); out = run(self, key, fn); spent["s"] += time.process_time() - t; return out
    costs.ServiceModel._run = timed
    r = sim.serve(cfg, "nvidia-h100-sxm", requests=trace, scheduler="vllm", replicas=2,
                  slo={"ttft_p99_s": 0.5, "tpot_p99_s": 0.05})
    out = {"requests": len(trace), "iterations": r.batches.shape[0], "cost_model_cpu_s": spent["s"],
           "ttft_p99_s": r.ttft_p99_s, "tpot_p99_s": r.tpot_p99_s, "slo_met": r.slo_met,
           "preemptions": r.preemption_count}
else:
    trace = sim.request_mix("chat", rate_per_s=20, duration_s=600, seed=0)
    plan = sim.plan_deployment(cfg, devices=["nvidia-h100-sxm", "nvidia-a100-sxm-80gb", "amd-mi300x",
                                             "google-tpu-v5e", "aws-inferentia2"], requests=trace,
                               slo={"ttft_p99_s": 0.5, "tpot_p99_s": 0.05}, prices={"amd-mi300x": 3.5})
    counts = plan.table["status"].value_counts().to_dict()
    b = plan.best
    out = {"candidates": len(plan.table), "status": counts,
           "best": f"{b['replicas']} x {b['devices_per_replica']} {b['device']} tp{b['tp']} pp{b['pp']}" if b else None}
out.update(wall_s=time.perf_counter() - t0, cpu_s=time.process_time() - c0)
print(json.dumps(out))
"""


def run(kind: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, kind], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    s = run("serve")
    print("LLM serving: 12,000-request chat trace (10 min at 20/s), Llama 3.1 8B, 2 x H100, vLLM policy")
    print(f"{'requests':>9} {'iterations':>11} {'CPU s':>7} {'wall s':>7} {'cost-model CPU s':>17} {'target':>7}")
    print(f"{s['requests']:>9} {s['iterations']:>11} {s['cpu_s']:>7.2f} {s['wall_s']:>7.2f} "
          f"{s['cost_model_cpu_s']:>17.2f} {'<= 5 s':>7}")
    print(f"  TTFT p99 {s['ttft_p99_s']:.3f} s, TPOT p99 {s['tpot_p99_s'] * 1e3:.1f} ms, SLO met {s['slo_met']}, "
          f"{s['preemptions']} preemptions")
    print()
    p = run("plan")
    print("Deployment plan: Llama 3.1 8B, the 12,000-request chat trace, 5 devices, 1,200 candidates")
    print(f"{'candidates':>11} {'CPU s':>7} {'wall s':>7} {'target':>8}  status counts / best")
    print(f"{p['candidates']:>11} {p['cpu_s']:>7.2f} {p['wall_s']:>7.2f} {'<= 60 s':>8}  {p['status']}")
    print(f"{'':>36}best: {p['best']}")


if __name__ == "__main__":
    main()
