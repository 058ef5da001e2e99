"""Dump full serve() and simulate() outputs as JSON, to compare a checkout with another byte for byte.

Run: ``PYTHONPATH=<checkout> python benchmarks/dump_identity.py OUT.json`` then ``cmp`` two dumps.
Floats are written with ``repr`` (exact); every DataFrame a result exposes is dumped in full.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile

import numpy as np


def _plain(x):
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_plain(v) for v in x.tolist()]
    if isinstance(x, (np.floating, float)):
        return repr(float(x))
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (bool, int, str)) or x is None:
        return x
    return repr(x)


def _frame(df):
    return {"columns": list(df.columns), "dtypes": [str(d) for d in df.dtypes],
            "rows": _plain(df.to_numpy().tolist())}


def serve_dump(r):
    out = {"summary": _plain(r.summary), "latencies": _plain(r.latencies_s)}
    for name in ("request_table", "queue_timeline", "batches", "power_timeline", "kv_utilization_timeline",
                 "preemptions"):
        out[name] = _frame(getattr(r, name))
    out["table"] = r.table()
    return out


def main(path):
    import simulator as sim
    from simulator.workload.loader import workload_from_dict

    trace = os.path.join(tempfile.gettempdir(), "dump_identity_trace.csv")
    rng = np.random.default_rng(7)
    t = np.cumsum(rng.exponential(1 / 150, 3000))
    with open(trace, "w") as f:
        f.write("arrival_s,prompt_len,output_len\n")
        for k, x in enumerate(t):
            f.write(f"{float(x)!r},{int(rng.integers(8, 200))},{int(rng.integers(1, 60))}\n")
    cases = []
    for b in ("none", "static", "dynamic", "continuous"):
        for reps in (1, 3):
            for arr in ("poisson", "bursty", "constant"):
                cases.append((f"resnet50-t4-{b}-r{reps}-{arr}", "resnet50", "nvidia-t4",
                              dict(batching=b, replicas=reps, arrival=arr, requests=3000, rate_per_s=250 * reps,
                                   max_batch_size=16, max_wait_ms=4.0, slo_ms=50.0, seed=reps)))
    cases.append(("resnet50-t4-100k", "resnet50", "nvidia-t4", dict(requests=100_000, rate_per_s=300)))
    cases.append(("resnet50-t4-trace", "resnet50", "nvidia-t4", dict(arrival="trace", trace_file=trace,
                                                                       requests=3000, replicas=2)))
    cases.append(("mlp-t4-static-tail", "mlp", "nvidia-t4", dict(batching="static", requests=1001, max_batch_size=8,
                                                                 rate_per_s=5000)))
    cases.append(("bert-a100-dyn", "bert-base", "nvidia-a100-sxm-80gb",
                  dict(batching="dynamic", requests=2000, rate_per_s=800, replicas=2, seq_len=128)))
    lens = dict(prompt_len={"dist": "uniform", "low": 16, "high": 256},
                output_len={"dist": "lognormal", "mean": 40, "sigma": 0.6, "max": 200})
    for b in ("none", "static", "dynamic", "continuous"):
        for reps in (1, 2):
            cases.append((f"gpt2-h100-{b}-r{reps}", "gpt2", "nvidia-h100-sxm",
                          dict(batching=b, replicas=reps, requests=600, rate_per_s=40 * reps, max_batch_size=16,
                               slo_ms=2000.0, **lens)))
    cases.append(("gpt2-h100-trace-cont", "gpt2", "nvidia-h100-sxm",
                  dict(arrival="trace", trace_file=trace, requests=800, batching="continuous", replicas=2)))
    cases.append(("gpt2-h100-cont-slo", "gpt2", "nvidia-h100-sxm",
                  dict(batching="continuous", requests=500, rate_per_s=60, prompt_len=64, output_len=32,
                       slo={"ttft_p99_s": 0.5, "tpot_p99_s": 0.05})))
    cases.append(("gpt2-h100-cont-noprefillcap", "gpt2", "nvidia-h100-sxm",
                  dict(batching="continuous", requests=500, rate_per_s=60, max_prefill_tokens=None, **lens)))
    for b in ("static", "dynamic", "continuous"):
        cases.append((f"llama2-h100-{b}", "llama2-7b", "nvidia-h100-sxm",
                      dict(batching=b, requests=300, rate_per_s=4, prompt_len=512, output_len=128,
                           max_batch_size=32, slo={"ttft_p99_s": 1.0, "tpot_p99_s": 0.1})))
    cases.append(("llama2-h100-vllm", "llama2-7b", "nvidia-h100-sxm",
                  dict(scheduler="vllm", requests=300, rate_per_s=4, replicas=2, **lens)))
    out = {}
    only = os.environ.get("DUMP_ONLY")
    for name, wl, hw, kw in cases:
        if only and only not in name:
            continue
        try:
            out[name] = serve_dump(sim.serve(wl, hw, **kw))
        except Exception as exc:  # an error is an output too
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
    mlp = lambda n: workload_from_dict({"name": "deep-mlp", "family": "mlp", "source": "benchmark",
                                        "params": {"input_features": 256, "hidden": [256] * (n // 2),
                                                   "num_classes": 10}}, "bench")
    sims = [("resnet50-h100-train", "resnet50", "nvidia-h100-sxm", dict(mode="training", batch_size=32)),
            ("resnet50-t4-inf", "resnet50", "nvidia-t4", dict(batch_size=8)),
            ("gpt2-h100-inf", "gpt2", "nvidia-h100-sxm", dict(batch_size=4, seq_len=256)),
            ("deepmlp-20k-h100", mlp(20_000), "nvidia-h100-sxm", dict(batch_size=32)),
            ("deepmlp-100k-h100", mlp(100_000), "nvidia-h100-sxm", dict(batch_size=32)),
            ("deepmlp-2k-train-a100", mlp(2_000), "nvidia-a100-sxm-80gb", dict(batch_size=16, mode="training")),
            ("llama2-h100-tp2", "llama2-7b", "nvidia-h100-sxm", dict(batch_size=2, seq_len=512, devices=2,
                                                                    parallelism="tp=2"))]
    for name, wl, hw, kw in sims:
        if only and only not in "sim-" + name:
            continue
        try:
            r = sim.simulate(wl, hw, **kw)
            d = {"json": r.to_json()}
            for attr in ("ops", "power_timeline", "transfers"):
                d[attr] = _frame(getattr(r, attr))
            for attr in ("events", "memory_timeline"):
                d[attr] = [_plain(list(row) if isinstance(row, (tuple, list)) else getattr(row, "__dict__", row))
                           for row in getattr(r, attr)]
            d["memory_breakdown"] = _plain(r.memory_breakdown)
            d["bottleneck_shares"] = _plain(r.bottleneck_shares)
            out["sim-" + name] = d
        except Exception as exc:
            out["sim-" + name] = {"error": f"{type(exc).__name__}: {exc}"}
    with open(path, "w") as f:
        json.dump(out, f, indent=0, sort_keys=True)
    print(f"{len(out)} configurations -> {path}")


if __name__ == "__main__":
    main(sys.argv[1])
