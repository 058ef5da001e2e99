"""A sweep's stored points do not depend on how its paths are spelled (issue #22, defect 9).

Relative paths in a sweep file resolve against the file, wherever the sweep is run from; a point's store
key holds the content digest of each workload or hardware file, not the path as written.
"""
from __future__ import annotations

import contextlib
import io
import sqlite3
from pathlib import Path

import simulator as sim
from simulator import cli
from simulator.sweep.cli import load_sweep_file


def _sweep(*argv: str) -> str:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        assert cli.main(["sweep", *argv, "--workers", "1"]) == 0, err.getvalue()
    return err.getvalue()


def _rows(store: Path) -> int:
    with sqlite3.connect(store) as db:
        return int(db.execute("SELECT COUNT(*) FROM points").fetchone()[0])


def _project(root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "models" / "net.yaml").write_text((Path(sim.__file__).parents[1] / "workloads" / "mlp.yaml").read_text())
    (root / "chip.yaml").write_text(sim.hardware_yaml("nvidia-t4").replace("name: nvidia-t4", "name: my-chip"))
    spec = root / "s.yaml"
    spec.write_text("workload: models/net.yaml\nmode: inference\n"
                    "space:\n  hardware: [chip.yaml, nvidia-t4]\n  batch_size: [1, 2]\n")
    return spec


def test_relative_paths_resolve_against_the_sweep_file(tmp_path, monkeypatch):
    spec = _project(tmp_path / "project")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    loaded = load_sweep_file(Path("..") / "project" / "s.yaml")
    assert Path(loaded.workload).resolve() == (spec.parent / "models" / "net.yaml").resolve()
    assert loaded.space["hardware"][1] == "nvidia-t4"  # a catalogue name stays a name
    assert Path(loaded.space["hardware"][0]).resolve() == (spec.parent / "chip.yaml").resolve()


def test_every_spelling_of_the_same_sweep_shares_its_points(tmp_path, monkeypatch):
    spec = _project(tmp_path / "project")
    store = tmp_path / "points.sqlite"
    monkeypatch.chdir(spec.parent)
    assert "(0 from store" in _sweep("s.yaml", "--store", str(store))
    monkeypatch.chdir(tmp_path)
    assert "4/4 points done (4 from store" in _sweep(str(spec.resolve()), "--store", str(store))
    monkeypatch.chdir(spec.parent / "models")
    assert "(4 from store" in _sweep("../s.yaml", "--store", str(store))
    assert _rows(store) == 4  # each point stored once


def test_an_edited_file_is_simulated_again(tmp_path, monkeypatch):
    spec = _project(tmp_path / "project")
    store = tmp_path / "points.sqlite"
    _sweep(str(spec), "--store", str(store))
    chip = spec.parent / "chip.yaml"
    chip.write_text(chip.read_text().replace("name: my-chip", "name: my-chip-2"))
    assert "(2 from store" in _sweep(str(spec), "--store", str(store))  # the catalogue device's points only
    assert _rows(store) == 6
