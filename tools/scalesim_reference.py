"""Regenerate the SCALE-Sim golden cycles in ``tests/data/scalesim/`` by running real SCALE-Sim 3.0.0.

Needs SCALE-Sim in its own venv (``pip install scalesim==3.0.0 'numpy>=2.0.2,<2.3'``); the tests never
import this file, they only read the JSON it writes:

* ``tests/data/scalesim/golden/<topology>__<config>.json``: per-layer cycles of one run;
* ``tests/data/scalesim/scalesim_walltime.json``: SCALE-Sim's wall time per run and the machine.

Each run uses SCALE-Sim's Python API with ``save_disk_space=True`` (no per-cycle trace files), its CALC
bandwidth mode (as in the configs), and a header-only layout CSV (SCALE-Sim needs one to exist).
The recorded ``compute_cycles`` is the "Total Cycles" column of its COMPUTE_REPORT.csv.

Usage::

    /tmp/scalesim-venv/bin/python tools/scalesim_reference.py            # every run
    /tmp/scalesim-venv/bin/python tools/scalesim_reference.py --only conv_mix --jobs 2
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "scalesim"
GOLDEN = DATA / "golden"
WALLTIME = DATA / "scalesim_walltime.json"

SHAPES = ("8x32", "32x8", "128x128")
DATAFLOWS = ("os", "ws", "is")
# (topology file, input type, config file); the longest runs first so the pool finishes sooner.
RUNS: list[tuple[str, str, str]] = [
    *[("resnet18.csv", "conv", f"sa_128x128_{df}.cfg") for df in DATAFLOWS],
    ("gemm_512.csv", "gemm", "sa_32x32_ws.cfg"),
    *[(topo, kind, f"sa_{shape}_{df}.cfg") for shape in SHAPES for df in DATAFLOWS
      for topo, kind in (("conv_mix.csv", "conv"), ("gemm_mix.csv", "gemm"), ("conv_edge.csv", "conv"))],
]


def run_name(topology: str, config: str) -> str:
    """Key of one run: ``<topology stem>__<config stem>``."""
    return f"{Path(topology).stem}__{Path(config).stem}"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine() -> dict[str, object]:
    """Where the wall times were measured."""
    import numpy
    from importlib.metadata import version

    return {"cpu": _cpu_model(), "logical_cpus": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "scalesim": version("scalesim"), "numpy": numpy.__version__}


def run_one(topology: str, kind: str, config: str) -> dict[str, object]:
    """Run SCALE-Sim once and return the per-layer cycles and the wall time."""
    from scalesim.scale_sim import scalesim

    with tempfile.TemporaryDirectory() as tmp:
        layout = Path(tmp) / "layout.csv"
        layout.write_text("Layer name, IFMAP Height, IFMAP Width, Channels,\n")
        load_before = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            sim = scalesim(save_disk_space=True, verbose=False, config=str(DATA / config),
                           topology=str(DATA / topology), layout=str(layout), input_type_gemm=kind == "gemm")
            sim.run_scale(top_path=str(Path(tmp) / "out"))
        wall_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
        load = max(load_before, os.getloadavg()[0])
        names = [row[0] for row in sim.topo.topo_arrays]
        report = Path(tmp) / "out" / sim.config.get_run_name() / "COMPUTE_REPORT.csv"
        rows = list(csv.reader(report.read_text().splitlines()))[1:]
    layers = []
    for name, row in zip(names, rows, strict=True):
        cells = [c.strip() for c in row]
        layers.append({"name": name, "compute_cycles": int(float(cells[2])), "stall_cycles": int(float(cells[3])),
                       "total_cycles_incl_prefetch": int(float(cells[1]))})
    return {"topology": topology, "input_type": kind, "config": config, "layers": layers,
            "timing": {"wall_s": round(wall_s, 2), "cpu_s": round(cpu_s, 2), "load_avg_1min": round(load, 2)}}


def _job(args: tuple[str, str, str]) -> dict[str, object]:
    return run_one(*args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], help="run only names containing one of these")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    todo = [r for r in RUNS if not args.only or any(s in run_name(r[0], r[2]) for s in args.only)]
    GOLDEN.mkdir(parents=True, exist_ok=True)
    walls = json.loads(WALLTIME.read_text()) if WALLTIME.exists() else {"runs": {}}
    walls["machine"] = machine()
    walls["note"] = ("SCALE-Sim 3.0.0 time per run (Python API, save_disk_space=True, CALC bandwidth), measured "
                     "by tools/scalesim_reference.py with jobs_in_parallel runs at once: wall_s is elapsed time, "
                     "cpu_s the process CPU time (robust to other load), load_avg_1min the machine's load")
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for result in pool.map(_job, todo):
            key = run_name(str(result["topology"]), str(result["config"]))
            timing = result.pop("timing")
            result["scalesim_version"] = walls["machine"]["scalesim"]
            (GOLDEN / f"{key}.json").write_text(json.dumps(result, indent=1) + "\n")
            total = sum(int(layer["compute_cycles"]) for layer in result["layers"])
            walls["runs"][key] = {**timing, "layers": len(result["layers"]), "compute_cycles": total,
                                  "jobs_in_parallel": args.jobs}
            WALLTIME.write_text(json.dumps(walls, indent=1, sort_keys=True) + "\n")
            print(f"{key:40s} {total:>10d} cycles {timing['wall_s']:8.1f} s wall {timing['cpu_s']:8.1f} s CPU "
                  f"(load {timing['load_avg_1min']})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
