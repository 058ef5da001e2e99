"""Sweep throughput: a 1,000-point design-space sweep locally, on a Dask LocalCluster, with and without a store.

The sweep: a ResNet-50 training step (batch from 32 to 320) over GPU what-if variants:
5 GPUs x 5 HBM bandwidths x 4 clocks x 10 batch sizes = 1,000 points. Rows:

* ``in-process serial``: :func:`run_point` in a loop in this process (no pool), the per-point floor;
* ``local pool, no store`` / ``local pool, store``: :func:`simulator.sweep` on 2 worker processes;
* ``dask LocalCluster``: 2 worker processes (1 thread each); its start-up is timed separately;
* ``store writes only``: committing 1,000 results to a fresh SQLite store, without simulating.

Usage::

    python benchmarks/bench_sweep.py [--points 1000] [--workers 2] [--skip-dask]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulator.sweep.run import _run_point_dict, run_point, sweep  # noqa: E402
from simulator.sweep.space import make_points  # noqa: E402
from simulator.sweep.store import PointOutcome, SweepStore  # noqa: E402

GPUS = ["nvidia-h100-sxm", "nvidia-h100-pcie", "nvidia-a100-sxm-80gb", "nvidia-h200", "nvidia-b200"]
SPACE = {
    "hardware": GPUS,
    "hardware.memory.hbm.bandwidth_gbs": [1500, 2000, 3000, 4000, 6000],
    "hardware.compute.clock_ghz": [1.2, 1.4, 1.6, 1.8],
    "batch_size": [32, 64, 96, 128, 160, 192, 224, 256, 288, 320],
}


def _space(points: int) -> dict:
    """The full space, batch sizes cut so the grid has about ``points`` points."""
    per_batch = len(GPUS) * 5 * 4
    return {**SPACE, "batch_size": SPACE["batch_size"][: max(1, min(10, round(points / per_batch)))]}


def _timed(label: str, fn, n: int, rows: list) -> object:
    start = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - start
    rows.append((label, n, wall, n / wall if wall > 0 else float("inf")))
    print(f"  {label:28s} {n:6d} points  {wall:7.2f} s", file=sys.stderr, flush=True)
    return out


def _check_same(label: str, a, b) -> None:
    """Warn (do not stop the benchmark) when two runs of the same sweep disagree."""
    a, b = a.drop(columns="elapsed_s"), b.drop(columns="elapsed_s")
    diff = [c for c in a.columns if not a[c].equals(b[c])]
    if diff:
        rows = (a[diff[0]] != b[diff[0]]) & ~(a[diff[0]].isna() & b[diff[0]].isna())
        print(f"WARNING: {label} differs from the local run in {diff}; first rows:\n"
              f"{a.loc[rows, ['key', 'status', 'error', *diff]].head(3)}\n{b.loc[rows, ['status', 'error', *diff]].head(3)}",
              file=sys.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--serial-points", type=int, default=40, help="points for the in-process serial row")
    ap.add_argument("--skip-dask", action="store_true")
    args = ap.parse_args()
    space = _space(args.points)
    rows: list[tuple[str, int, float, float]] = []
    tmp = Path(tempfile.mkdtemp(prefix="bench_sweep_"))

    n = len(make_points(space))
    print(f"ResNet-50 training sweep, {n} points, {args.workers} workers, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}", file=sys.stderr)

    pts = [_run_point_dict(p, "resnet50", "training") for p in make_points(space)][: args.serial_points]
    _timed("in-process serial", lambda: [run_point(p) for p in pts], len(pts), rows)
    table = _timed("local pool, no store", lambda: sweep("resnet50", space, workers=args.workers, progress=False),
                   n, rows)
    stored = _timed("local pool, store", lambda: sweep("resnet50", space, workers=args.workers, progress=False,
                                                       store=tmp / "bench.sqlite"), n, rows)
    _check_same("the stored run", table, stored)
    _timed("re-run, all from store", lambda: sweep("resnet50", space, store=tmp / "bench.sqlite", progress=False),
           n, rows)

    outcomes = [PointOutcome(r.key, {"i": i}, r.status, {"step_time_s": r.step_time_s, "energy_j": r.energy_j},
                             r.error, r.elapsed_s) for i, r in enumerate(table.itertuples())]

    def write_all() -> None:
        with SweepStore(tmp / "writes.sqlite") as st:
            for o in outcomes:
                st.put(o)

    _timed("store writes only", write_all, n, rows)
    if not args.skip_dask:
        from distributed import Client, LocalCluster

        start = time.perf_counter()
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        client.run(lambda: __import__("simulator.sweep"))  # workers import the simulator before the clock starts
        rows.append(("dask cluster start-up", 0, time.perf_counter() - start, float("nan")))
        try:
            remote = _timed("dask LocalCluster, no store",
                            lambda: sweep("resnet50", space, executor=client, progress=False), n, rows)
        finally:
            client.close()
            cluster.close()
        _check_same("the Dask run", table, remote)

    ok = int((table["status"] == "ok").sum())
    print(f"\n{'run':30s} {'points':>7s} {'wall s':>8s} {'points/s':>9s}")
    for label, count, wall, rate in rows:
        print(f"{label:30s} {count:7d} {wall:8.2f} {rate:9.1f}")
    no_store = next(w for lbl, _, w, _ in rows if lbl == "local pool, no store")
    with_store = next(w for lbl, _, w, _ in rows if lbl == "local pool, store")
    writes = next(w for lbl, _, w, _ in rows if lbl == "store writes only")
    print(f"\nstore overhead: {(with_store - no_store) / no_store * 100:+.1f}% of the sweep's wall time "
          f"(noise included); committing alone costs {writes / n * 1e3:.2f} ms per point "
          f"({writes / no_store * 100:.1f}% of the no-store sweep)")
    print(f"{ok} of {n} points ok; python {platform.python_version()}, {platform.machine()}, "
          f"load average now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
