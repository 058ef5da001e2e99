"""Speed of the simulator itself at scale: wall time and peak RSS per configuration, as a table.

Run: ``python benchmarks/bench_scaleout.py`` (or ``make bench``). Each configuration runs in a
fresh subprocess so peak RSS is its own. The ratio column compares each row with the first row
of its group (the baseline measured in the same run).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time

CHILD = r"""
import json, resource, sys, time
import simulator as sim
kind, arg = sys.argv[1], int(sys.argv[2])
t = time.perf_counter()
if kind == "devices":
    n = arg
    tp = 8 if n >= 64 else 1
    pp = 8 if n >= 64 else 1
    dp = n // (tp * pp)
    r = sim.simulate("gpt3-175b", "nvidia-h100-sxm", mode="training", batch_size=max(1536, dp * 12),
                     seq_len=2048, devices=n, parallelism=dict(data=dp, tensor=tp, pipeline=pp, zero_stage=1),
                     microbatches=12 if pp > 1 else 1, checkpointing="full") if n > 8 else \
        sim.simulate("gpt3-175b", "dgx-h100", mode="training", batch_size=16, seq_len=2048,
                     parallelism="tp=8", checkpointing="full")
    ops = r.op_count
else:
    # a plain MLP with `arg` layers x 2 ops, one device: engine cost per op
    from simulator.workload.loader import workload_from_dict
    wl = workload_from_dict({"name": "deep-mlp", "family": "mlp", "source": "benchmark",
                             "params": {"input_features": 256, "hidden": [256] * (arg // 2),
                                        "num_classes": 10}}, "bench")
    r = sim.simulate(wl, "nvidia-h100-sxm", mode="inference", batch_size=32)
    ops = r.op_count
wall = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall_s": wall, "rss_mb": rss, "ops": ops, "step_s": r.step_time_s}))
"""


def run(kind: str, arg: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, kind, str(arg)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    print("GPT-3 175B training step (full checkpointing), symmetric simulation")
    print(f"{'devices':>8} {'wall s':>8} {'ratio':>7} {'peak RSS MB':>12} {'sim step s':>11}")
    base = None
    for n in (8, 64, 512, 1024, 4096):
        r = run("devices", n)
        base = base or r["wall_s"]
        print(f"{n:>8} {r['wall_s']:>8.2f} {r['wall_s'] / base:>7.2f} {r['rss_mb']:>12.0f} {r['step_s']:>11.3f}")
    print()
    print("Single-device inference of a deep MLP: engine cost per op")
    print(f"{'ops':>8} {'wall s':>8} {'ratio':>7} {'us/op':>7} {'peak RSS MB':>12}")
    base = None
    for n in (1_000, 10_000, 100_000):
        r = run("ops", n)
        base = base or r["wall_s"]
        print(f"{r['ops']:>8} {r['wall_s']:>8.2f} {r['wall_s'] / base:>7.2f} {r['wall_s'] / r['ops'] * 1e6:>7.1f}"
              f" {r['rss_mb']:>12.0f}")


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(f"\n(total {time.perf_counter() - t:.1f} s)")
