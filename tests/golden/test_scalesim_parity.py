"""Parity with SCALE-Sim 3.0.0: our closed-form systolic cycles against cycles recorded from real runs.

The goldens in ``tests/data/scalesim/golden/`` were written by ``tools/scalesim_reference.py`` (SCALE-Sim
is not needed here). Each holds one (topology CSV, cfg) run: per layer, SCALE-Sim's stall-free compute
cycles ("Total Cycles" of its COMPUTE_REPORT.csv, CALC bandwidth mode). We import the same two files with
our importers and map every op with :func:`simulator.cost.systolic.map_gemm`.

Depthwise (``DP``) layers: SCALE-Sim runs C one-channel layers, each reporting ``cycles - 1``; we run one
op with ``Gemm(count=C)`` reporting ``C * cycles - 1``, so ours is exactly ``C - 1`` cycles more.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.cost.systolic import map_gemm
from simulator.spec.scalesim_cfg import load_scalesim_cfg
from simulator.workload.importers.scalesim_csv import load_scalesim_csv

DATA = Path(__file__).resolve().parents[1] / "data" / "scalesim"
GOLDENS = sorted((DATA / "golden").glob("*.json"))
TOLERANCE = 0.01


def _golden(path: Path) -> dict:
    return json.loads(path.read_text())


def _reference_by_op(golden: dict) -> dict[str, int]:
    """SCALE-Sim cycles per layer name, summing the per-channel layers it makes of a ``DP`` layer."""
    out: dict[str, int] = {}
    for layer in golden["layers"]:
        name = layer["name"]
        if "DP" in name and "Channel_" in name:
            name = name.rsplit("Channel_", 1)[0]
        out[name] = out.get(name, 0) + layer["compute_cycles"]
    return out


def test_goldens_cover_shapes_and_dataflows():
    """The recorded runs span non-square and large arrays and every SCALE-Sim dataflow."""
    runs = {(g["config"], g["topology"]) for g in map(_golden, GOLDENS)}
    shapes = {(s.compute.pe_rows, s.compute.pe_cols, s.compute.dataflow.value)
              for s in (load_scalesim_cfg(DATA / cfg) for cfg, _ in runs)}
    for rows, cols in ((8, 32), (32, 8), (128, 128)):
        for df in ("os", "ws", "is"):
            assert (rows, cols, df) in shapes
    assert {"conv_mix.csv", "gemm_mix.csv", "conv_edge.csv", "resnet18.csv"} <= {topo for _, topo in runs}


@pytest.mark.parametrize("golden_path", GOLDENS, ids=[p.stem for p in GOLDENS])
def test_map_gemm_matches_scalesim_per_layer(golden_path: Path):
    golden = _golden(golden_path)
    spec = load_scalesim_cfg(DATA / golden["config"])
    ops = load_scalesim_csv(DATA / golden["topology"]).build(batch_size=1).ops
    reference = _reference_by_op(golden)
    assert [op.name for op in ops] == list(reference)
    c = spec.compute
    for op in ops:
        (gemm,) = op.gemms
        ours = map_gemm(gemm, rows=c.pe_rows, cols=c.pe_cols, dataflow=c.dataflow, arrays=1).cycles
        theirs = reference[op.name]
        assert abs(ours - theirs) <= TOLERANCE * theirs, (op.name, ours, theirs)
        assert ours == theirs + (gemm.count - 1), (op.name, ours, theirs)  # exact, DP offset documented above


def test_batch_multiplies_m():
    """SCALE-Sim topologies are batch 1: a batch of 4 is 4x the rows of the GEMM."""
    ops1 = load_scalesim_csv(DATA / "conv_mix.csv").build(batch_size=1).ops
    ops4 = load_scalesim_csv(DATA / "conv_mix.csv").build(batch_size=4).ops
    for a, b in zip(ops1, ops4, strict=True):
        assert b.gemms[0].m == 4 * a.gemms[0].m
        assert (b.gemms[0].n, b.gemms[0].k) == (a.gemms[0].n, a.gemms[0].k)


@pytest.mark.parametrize("golden_path", GOLDENS, ids=[p.stem for p in GOLDENS])
def test_simulate_reports_scalesim_compute_cycles(golden_path: Path):
    """The public API's per-op table carries SCALE-Sim's cycles for an imported cfg + topology."""
    import simulator as sim

    if not hasattr(sim, "simulate"):
        pytest.skip("simulator.simulate is not available yet")
    golden = _golden(golden_path)
    workload = sim.load_workload(DATA / golden["topology"])
    r = sim.simulate(workload, sim.load_hardware(DATA / golden["config"]), mode="inference", batch_size=1)
    got = dict(zip(r.ops["name"], (int(x) for x in r.ops["compute_cycles"]), strict=True))
    dp_offset = {op.name: op.gemms[0].count - 1 for op in workload.build(batch_size=1).ops}
    assert got == {name: cycles + dp_offset[name] for name, cycles in _reference_by_op(golden).items()}
