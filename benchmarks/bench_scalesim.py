"""How much faster than SCALE-Sim is our closed form? Import + mapping time against SCALE-Sim's wall time.

SCALE-Sim is not installed in CI, so its wall times come from ``tests/data/scalesim/scalesim_walltime.json``
(measured by ``tools/scalesim_reference.py``; the machine is recorded there). Ours are measured now:

* ``import+map``: parse the cfg and the topology CSV, build the graph, :func:`map_gemm` every layer;
* ``simulate``: the whole public :func:`simulator.simulate` call on the same files (when available).

Both give the same per-layer compute cycles as SCALE-Sim (see tests/golden/test_scalesim_parity.py).
The speed-up divides CPU seconds by CPU seconds (the shared 2-core machine is often loaded, which
inflates wall times); SCALE-Sim's wall time is printed beside it.

Usage::

    python benchmarks/bench_scalesim.py [--repeat 5] [--only resnet18]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulator.cost.systolic import map_gemm  # noqa: E402
from simulator.spec.scalesim_cfg import load_scalesim_cfg  # noqa: E402
from simulator.workload.importers.scalesim_csv import load_scalesim_csv  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "scalesim"


def import_and_map(topology: Path, config: Path) -> tuple[int, int]:
    """Parse both files, build the graph at batch 1, map every GEMM.

    Returns the total compute cycles and how many of them are the documented depthwise offset
    (SCALE-Sim splits a ``DP`` layer of C channels into C layers, each reporting one cycle less).
    """
    spec = load_scalesim_cfg(config)
    c = spec.compute
    graph = load_scalesim_csv(topology).build(batch_size=1)
    gemms = [g for op in graph.ops for g in op.gemms]
    cycles = sum(map_gemm(g, rows=c.pe_rows, cols=c.pe_cols, dataflow=c.dataflow).cycles for g in gemms)
    return cycles, sum(g.count - 1 for g in gemms)


def simulate_once(topology: Path, config: Path) -> int | None:
    """The public API end to end (fresh loads, no cache); None when ``simulator.simulate`` is missing."""
    import simulator as sim

    if not hasattr(sim, "simulate"):
        return None
    r = sim.simulate(load_scalesim_csv(topology), load_scalesim_cfg(config), mode="inference", batch_size=1)
    return int(r.ops["compute_cycles"].sum())


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def best_of(fn, repeat: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds of ``repeat`` calls (after one warm-up) and the last result."""
    result = fn()
    walls, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=[])
    args = parser.parse_args(argv)
    walls = json.loads((DATA / "scalesim_walltime.json").read_text())
    m = walls["machine"]
    print(f"SCALE-Sim {m['scalesim']} measured on: {m['cpu']} ({m['logical_cpus']} CPUs), Python {m['python']}")
    print(f"ours measured now on: {cpu_model()}, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.1f}")
    print("speed-up = SCALE-Sim CPU seconds / our CPU seconds (CPU time is robust to other load on the machine)")
    head = (f"{'run':26s} {'layers':>6s} {'cycles':>8s} {'SCALE-Sim wall s':>16s} {'CPU s':>7s} "
            f"{'import+map ms':>13s} {'speed-up':>9s} {'simulate ms':>11s} {'speed-up':>9s}")
    print(head)
    print("-" * len(head))
    for key, run in sorted(walls["runs"].items(), key=lambda kv: -kv[1]["wall_s"]):
        if args.only and not any(s in key for s in args.only):
            continue
        golden = json.loads((DATA / "golden" / f"{key}.json").read_text())
        topo, cfg = DATA / golden["topology"], DATA / golden["config"]
        ref_cpu = run.get("cpu_s", run["wall_s"])
        _, t_map, (cycles, dp_offset) = best_of(lambda: import_and_map(topo, cfg), args.repeat)
        _, t_sim, sim_cycles = best_of(lambda: simulate_once(topo, cfg), max(1, args.repeat // 2))
        if cycles - dp_offset != run["compute_cycles"]:
            print(f"  WARNING {key}: ours {cycles} cycles, SCALE-Sim {run['compute_cycles']}")
        elif dp_offset:
            key += f" (+{dp_offset} DP)"
        sim_cols = (f"{t_sim * 1e3:11.1f} {ref_cpu / t_sim:8.0f}x" if sim_cycles is not None
                    else f"{'n/a':>11s} {'':>9s}")
        print(f"{key.replace('__sa_', ' '):26s} {run['layers']:6d} {cycles:8d} {run['wall_s']:16.1f} {ref_cpu:7.1f} "
              f"{t_map * 1e3:13.2f} {ref_cpu / t_map:8.0f}x {sim_cols}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
