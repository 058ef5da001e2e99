"""The speed targets of issue 21, measured: CPU and wall time per target, and how far each is from a
pure-numpy roofline of the same op tables computed in the same run.

Run: ``python benchmarks/bench_targets.py`` (or ``make bench``); ``--quick`` skips the 4,096-device
run (about 30 s and 2 GB). Each target runs in a fresh subprocess (imports, caches and peak RSS are
its own); "warm" targets report the median of repeated calls after one untimed call, "cold" ones a
single call in a fresh process. CPU seconds are the process's own (plus its children's for the
sweep's worker pool); the 2-core machine is shared, so wall times move with its load (printed).

The roofline column divides the target's CPU time by the time numpy takes to cost the same op
tables as ``max(FLOPs / peak, bytes / bandwidth)`` per op and sum them, as many times as the target
simulates a step (passes, points, devices): how much the simulator's per-op detail (tiles, caches,
dependencies, memory, contention) costs over the cheapest estimate of the same work. The numpy time
excludes building the columns (they come from the same graphs the target builds).

Set PYTHONPATH to measure another checkout of the simulator (the script's own is the fallback).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# name, limit, unit of the limit, what the limit bounds, child code; the child prints one JSON line
TARGETS = [
    ("ResNet-50 training step, H100, warm", 0.002, "cpu", "resnet50"),
    ("generate Llama-2-7B, 17 passes, warm", 0.040, "cpu", "generate"),
    ("1,000-point sweep, 2 workers", 2.0, "wall", "sweep"),
    ("100k-op graph, one device, cold", 1.0, "cpu", "graph100k"),
    ("100k-op graph, one device, warm", 1.0, "cpu", "graph100k_warm"),
    ("serve 100k requests", 0.3, "cpu", "serve"),
    ("--no-symmetry GPT-3, 512 devices", 3.0, "cpu", "nosym512"),
    ("--no-symmetry GPT-3, 4,096 devices", 30.0, "cpu", "nosym4096"),
    ("CLI simulate --format json over python -c pass", 0.25, "wall", "startup"),
]

CHILD = r'''
import json, os, resource, statistics, sys, time
import numpy as np

def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

def timed(fn, repeat):
    fn()
    cpus, walls = [], []
    for _ in range(repeat):
        c, w = cpu(), time.perf_counter()
        fn()
        cpus.append(cpu() - c); walls.append(time.perf_counter() - w)
    return statistics.median(cpus), statistics.median(walls)

def once(fn):
    c, w = cpu(), time.perf_counter()
    out = fn()
    return cpu() - c, time.perf_counter() - w, out

def columns(graph, hw, precision):
    """FLOPs and main-memory bytes of every op, and the device's peak rates: the roofline's inputs."""
    from simulator.cost.peaks import matrix_flops_per_s
    from simulator.units import Precision
    p = Precision(precision)
    ops = graph.ops
    flops = np.array([float(op.flops) for op in ops])
    nbytes = np.array([float(op.input_elems + op.output_elems) * p.bytes + float(op.weight_read_elems) * p.bytes
                       for op in ops])
    return flops, nbytes, matrix_flops_per_s(hw, p), hw.main_memory.bandwidth_gbs * 1e9

def roofline_s(tables, repeat=20):
    """CPU s numpy takes to cost every table (flops, bytes, peak, bandwidth) of the list once."""
    def run():
        total = 0.0
        for flops, nbytes, peak, bw in tables:
            total += float(np.maximum(flops / peak, nbytes / bw).sum())
        return total
    return timed(run, repeat)[0]

def graphs_of(workload, scenario_kw, past=0, logits="all"):
    from simulator.run.graphs import build_graph
    from simulator.scenario import make_scenario
    from simulator.workload.loader import load_workload
    return build_graph(load_workload(workload), make_scenario(**scenario_kw), past_len=past, logits=logits)[1]

def deep_mlp(n):
    from simulator.workload.loader import workload_from_dict
    return workload_from_dict({"name": "deep-mlp", "family": "mlp", "source": "benchmark",
                               "params": {"input_features": 256, "hidden": [256] * (n // 2), "num_classes": 10}},
                              "bench")

kind = sys.argv[1]
import simulator as sim
from simulator.spec.loader import load_hardware
h100 = load_hardware("nvidia-h100-sxm")
out = {}
if kind == "resnet50":
    kw = dict(mode="training", batch_size=32)
    out["cpu_s"], out["wall_s"] = timed(lambda: sim.simulate("resnet50", "nvidia-h100-sxm", **kw), 50)
    out["roofline_s"] = roofline_s([columns(graphs_of("resnet50", kw), h100, "bf16")])
elif kind == "generate":
    out["cpu_s"], out["wall_s"] = timed(lambda: sim.generate("llama2-7b", "nvidia-h100-sxm", batch_size=8), 9)
    from simulator.serving.generation import decode_positions
    tables = [columns(graphs_of("llama2-7b", dict(batch_size=8, seq_len=512), logits="last"), h100, "bf16")]
    tables += [columns(graphs_of("llama2-7b", dict(batch_size=8, seq_len=1), 512 + t, "last"), h100, "bf16")
               for t in decode_positions(127, 16)]
    out["roofline_s"] = roofline_s(tables)
elif kind == "sweep":
    from simulator.sweep.run import sweep
    gpus = ["nvidia-h100-sxm", "nvidia-h100-pcie", "nvidia-a100-sxm-80gb", "nvidia-h200", "nvidia-b200"]
    space = {"hardware": gpus, "hardware.memory.hbm.bandwidth_gbs": [1500, 2000, 3000, 4000, 6000],
             "hardware.compute.clock_ghz": [1.2, 1.4, 1.6, 1.8],
             "batch_size": [32, 64, 96, 128, 160, 192, 224, 256, 288, 320]}
    out["cpu_s"], out["wall_s"], table = once(lambda: sweep("resnet50", space, workers=2, progress=False))
    out["note"] = f"{int((table['status'] == 'ok').sum())} of {len(table)} points ok"
    tables = [columns(graphs_of("resnet50", dict(mode="training", batch_size=b)), load_hardware(h), "bf16")
              for h in gpus for b in space["batch_size"]]
    out["roofline_s"] = roofline_s(tables, 3) * 20  # 20 bandwidth x clock variants of each (gpu, batch)
elif kind in ("graph100k", "graph100k_warm"):
    wl = deep_mlp(100_000)
    if kind == "graph100k":
        out["cpu_s"], out["wall_s"], r = once(lambda: sim.simulate(wl, "nvidia-h100-sxm", batch_size=32))
    else:
        out["cpu_s"], out["wall_s"] = timed(lambda: sim.simulate(wl, "nvidia-h100-sxm", batch_size=32), 3)
    out["roofline_s"] = roofline_s([columns(graphs_of(wl, dict(batch_size=32)), h100, "bf16")], 5)
elif kind == "serve":
    run = lambda: sim.serve("resnet50", "nvidia-t4", requests=100_000, rate_per_s=300)
    out["cpu_s"], out["wall_s"] = timed(run, 3)
    t4 = load_hardware("nvidia-t4")
    out["roofline_s"] = roofline_s([columns(graphs_of("resnet50", dict(batch_size=b)), t4, "fp16") for b in range(1, 33)], 5)
elif kind.startswith("nosym"):
    n = int(kind[5:]); dp = n // 64
    kw = dict(mode="training", batch_size=max(1536, dp * 12), seq_len=2048, devices=n,
              parallelism=dict(data=dp, tensor=8, pipeline=8, zero_stage=1), microbatches=12, checkpointing="full")
    out["cpu_s"], out["wall_s"], r = once(lambda: sim.simulate("gpt3-175b", "nvidia-h100-sxm", symmetric=False, **kw))
    out["note"] = f"{len(r.events):,} events"
    # every device runs its stage's forward and backward for 12 micro-batches: the training graph of one
    # micro-batch sharded 8 ways, 1/8 of it per stage, as many times as devices x micro-batches / 8
    table = columns(graphs_of("gpt3-175b", dict(mode="training", batch_size=1, seq_len=2048)), h100, "bf16")
    out["roofline_s"] = roofline_s([table], 3) * n * 12 / 64
elif kind == "startup":
    import subprocess
    py = sys.executable
    def call(args):
        t0 = os.times(); w = time.perf_counter()
        subprocess.run([py, *args], stdout=subprocess.DEVNULL, check=True)
        t1 = os.times()
        return (t1.children_user - t0.children_user) + (t1.children_system - t0.children_system), time.perf_counter() - w
    base = [call(["-c", "pass"]) for _ in range(9)]
    cli = [call(["-m", "simulator", "simulate", "--workload", "resnet50", "--hardware", "nvidia-h100-sxm",
                 "--format", "json"]) for _ in range(9)]
    out["cpu_s"] = statistics.median(c for c, _ in cli) - statistics.median(c for c, _ in base)
    out["wall_s"] = statistics.median(w for _, w in cli) - statistics.median(w for _, w in base)
    out["roofline_s"] = roofline_s([columns(graphs_of("resnet50", dict(batch_size=1)), h100, "bf16")])
out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
'''


def run(kind: str) -> dict:
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", str(REPO))
    # run from outside any checkout (the working directory goes first on sys.path): PYTHONPATH alone
    # says which simulator runs
    out = subprocess.run([sys.executable, "-c", CHILD, kind], capture_output=True, text=True, env=env,
                         cwd=tempfile.gettempdir())
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the 4,096-device run")
    ap.add_argument("--only", nargs="*", default=[], help="targets whose key contains one of these")
    args = ap.parse_args(argv)
    probe = subprocess.run([sys.executable, "-c", "import simulator; print(simulator.__file__)"], capture_output=True,
                           text=True, env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(REPO))},
                           cwd=tempfile.gettempdir())
    print(f"simulator: {probe.stdout.strip() or probe.stderr.strip()}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at start")
    head = f"{'target':48s} {'limit':>8s} {'CPU s':>9s} {'wall s':>9s} {'x roofline':>11s} {'RSS MB':>7s}  met  note"
    print(head)
    print("-" * len(head))
    for name, limit, unit, kind in TARGETS:
        if (args.quick and kind == "nosym4096") or (args.only and not any(s in kind for s in args.only)):
            continue
        r = run(kind)
        if "error" in r:
            print(f"{name:48s} {limit:8.3g} {'failed: ' + r['error']}")
            continue
        value = r["cpu_s"] if unit == "cpu" else r["wall_s"]
        ratio = r["cpu_s"] / r["roofline_s"] if r.get("roofline_s") else float("nan")
        met = "yes" if value <= limit else "NO"
        print(f"{name:48s} {limit:7.3g}{unit[0]} {r['cpu_s']:9.4f} {r['wall_s']:9.4f} {ratio:10.0f}x {r['rss_mb']:7.0f}"
              f"  {met:3s}  {r.get('note', '')}", flush=True)
    print(f"(limit unit: c = CPU s, w = wall s; load average {os.getloadavg()[0]:.1f} at the end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
