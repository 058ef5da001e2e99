"""Regressions of issue #22: each input that crashed, hung, blew memory up or was silently accepted.

Every case goes through the real entry point (``cli.main`` or the public API) and must end with exit 2
(or an ``InputError``) and one line naming what is wrong, or, where the input is valid, a sane result.
Cases that could hang if the defect came back (a FIFO) run in a subprocess with a timeout.
"""
from __future__ import annotations

import contextlib
import io
import math
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import simulator as sim
from simulator import cli
from simulator.errors import InputError, ScenarioError, SpecError
from simulator.result import SimulationResult, to_json_text
from simulator.sweep.store import PointOutcome, SweepStore, point_key
from simulator.trace import Trace, TraceEvent
from simulator.workload.importers import onnx_shapes
from simulator.workload.importers.onnx_read import MAX_NODES

def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def refused(*argv: str) -> str:
    """The one error line of a CLI run that must exit 2."""
    code, _, err = run_cli(*argv)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (code, err[-800:])
    return lines[0]


def within(seconds: float, call):
    """``call()`` in a daemon thread: a hang (a FIFO read blocking forever) fails the test, never the suite."""
    box: list = []

    def target():
        try:
            box.append(("ok", call()))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            box.append(("raised", exc))

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert box, f"still running after {seconds} s (a hang)"
    if box[0][0] == "raised":
        raise box[0][1]
    return box[0][1]


# --- 1. special files ---------------------------------------------------------------------------------------
@pytest.fixture
def specials(tmp_path: Path) -> dict[str, Path]:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    out = {"fifo": fifo, "folder": tmp_path / "dir.yaml"}
    out["folder"].mkdir()
    for suffix in (".yaml", ".cfg", ".onnx", ".csv"):
        link = tmp_path / f"zero{suffix}"
        link.symlink_to("/dev/zero")
        out[f"zero{suffix}"] = link
    (tmp_path / "fifo.onnx").symlink_to(fifo)
    out["fifo.onnx"] = tmp_path / "fifo.onnx"
    return out


@pytest.mark.skipif(not Path("/dev/zero").exists() or not hasattr(os, "mkfifo"), reason="needs /dev/zero and FIFOs")
@pytest.mark.parametrize("flag,key", [("--hardware", "fifo"), ("--workload", "fifo"), ("--hardware", "zero.yaml"),
                                      ("--hardware", "zero.cfg"), ("--workload", "zero.onnx"),
                                      ("--workload", "zero.csv"), ("--workload", "fifo.onnx"),
                                      ("--hardware", "folder")])
def test_a_fifo_a_device_or_a_folder_is_refused_before_a_byte_is_read(specials, flag, key):
    other = {"--hardware": ("--workload", "mlp"), "--workload": ("--hardware", "nvidia-t4")}[flag]
    line = within(20.0, lambda: refused("simulate", flag, str(specials[key]), *other))
    assert "not a regular file" in line and ("named pipe" in line or "character device" in line or "a folder" in line)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_serve_trace_file_and_sweep_files_refuse_a_fifo(specials, tmp_path):
    fifo = str(specials["fifo"])
    line = within(20.0, lambda: refused("serve", "--hardware", "nvidia-t4", "--workload", "mlp", "--trace-file", fifo))
    assert "named pipe (FIFO), not a regular file" in line
    assert "named pipe (FIFO), not a regular file" in within(20.0, lambda: refused("sweep", fifo, "--no-progress"))
    # a sweep naming a FIFO as its workload: the digest never reads it; the point is invalid, not a hang
    (tmp_path / "s.yaml").write_text(f"workload: {fifo}\nmode: inference\nspace: {{hardware: [nvidia-t4]}}\n")
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as ex:
        table = within(30.0, lambda: sim.sweep(fifo, {"hardware": ["nvidia-t4"]}, mode="inference", executor=ex,
                                               progress=False))
    assert table["status"].tolist() == ["invalid"] and "not a regular file" in table["error"][0]


def test_the_api_loaders_refuse_dev_zero():
    with pytest.raises(SpecError, match="character device, not a regular file"):
        sim.load_hardware("/dev/zero")
    with pytest.raises(SpecError, match="character device, not a regular file"):
        sim.load_workload(Path("/dev/zero"))


# --- 2, 3. ONNX bombs ---------------------------------------------------------------------------------------
def _constant_of_shape_bomb(dims: list[int]) -> onnx.ModelProto:
    """ConstantOfShape of a shape that inference cannot read (behind an Abs): folded at load time."""
    nodes = [helper.make_node("Abs", ["s"], ["s2"]),
             helper.make_node("ConstantOfShape", ["s2"], ["big"], value=helper.make_tensor("v", TensorProto.FLOAT,
                                                                                          [1], [1.0])),
             helper.make_node("ReduceSum", ["big"], ["total"], keepdims=0),
             helper.make_node("Add", ["x", "total"], ["y"])]
    g = helper.make_graph(nodes, "bomb", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
                          initializer=[numpy_helper.from_array(np.array(dims, np.int64), "s")])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_a_constant_folding_bomb_is_never_materialised(tmp_path, monkeypatch):
    """A 200-byte model whose constant is 10^10 floats (40 GB): loads and simulates, nothing big computed."""
    sizes = []
    real = onnx_shapes.ReferenceEvaluator

    class Watched(real):
        def run(self, *args, **kwargs):
            outs = super().run(*args, **kwargs)
            sizes.extend(np.asarray(o).size for o in outs)
            return outs

    monkeypatch.setattr(onnx_shapes, "ReferenceEvaluator", Watched)
    path = tmp_path / "bomb.onnx"
    onnx.save(_constant_of_shape_bomb([100_000, 100_000]), path)
    assert path.stat().st_size < 300
    r = sim.simulate(sim.load_workload(path), "nvidia-t4", batch_size=2)
    assert r.step_time_s > 0 and math.isfinite(r.energy_j)
    assert sizes and max(sizes) <= onnx_shapes.MAX_FOLD_ELEMS  # the Abs was evaluated, the constant never


def test_small_folded_constants_still_fold(tmp_path):
    path = tmp_path / "small.onnx"
    onnx.save(_constant_of_shape_bomb([3, 5]), path)
    assert sim.simulate(sim.load_workload(path), "nvidia-t4", batch_size=2).step_time_s > 0


def _nested_functions(depth: int, fan: int, recursive: bool = False) -> onnx.ModelProto:
    funcs = []
    for d in range(depth):
        op = "Relu" if d == 0 else f"f{d - 1}"
        dom = "" if d == 0 else "local"
        body = [helper.make_node(op, ["a" if j == 0 else f"t{j}"], ["b" if j == fan - 1 else f"t{j + 1}"], domain=dom)
                for j in range(fan)]
        if recursive and d == depth - 1:
            body.append(helper.make_node(f"f{d}", ["b"], ["c"], domain="local"))
        funcs.append(helper.make_function("local", f"f{d}", ["a"], ["b"], body,
                                          [helper.make_opsetid("", 17), helper.make_opsetid("local", 1)]))
    g = helper.make_graph([helper.make_node(f"f{depth - 1}", ["x"], ["y"], domain="local")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local", 1)],
                             functions=funcs)


def test_a_function_inlining_bomb_is_refused_before_inlining(tmp_path):
    path = tmp_path / "nested.onnx"
    onnx.save(_nested_functions(depth=24, fan=10), path)  # 10^23 nodes once inlined, a 6 KB file
    assert refused("simulate", "--hardware", "nvidia-t4", "--workload", str(path)) == (
        f"error: {path}: graph.node: more than {MAX_NODES:,} nodes once its functions are inlined (the limit "
        "for an ONNX model)")


def test_recursive_functions_are_refused_with_one_line(tmp_path):
    path = tmp_path / "rec.onnx"
    onnx.save(_nested_functions(depth=2, fan=2, recursive=True), path)
    assert "recursive functions cannot be inlined: local.f1 -> local.f1" in refused(
        "simulate", "--hardware", "nvidia-t4", "--workload", str(path))


def test_modest_nested_functions_still_inline(tmp_path):
    path = tmp_path / "ok.onnx"
    onnx.save(_nested_functions(depth=3, fan=4), path)  # 64 Relus
    assert len(sim.load_workload(path).build(batch_size=2)) == 64


def test_a_huge_one_dimensional_integer_input_skips_data_propagation(tmp_path):
    """ONNX data propagation makes one symbolic dim per element of a 1-D int tensor (a 10^8 one: 13 GB)."""
    g = helper.make_graph([helper.make_node("Cast", ["ids"], ["f"], to=TensorProto.FLOAT),
                           helper.make_node("Relu", ["f"], ["y"])], "g",
                          [helper.make_tensor_value_info("ids", TensorProto.INT64, ["N"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])])
    path = tmp_path / "ids.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)
    r = sim.simulate(sim.load_workload(path), "nvidia-t4", batch_size=10_000_000)
    assert r.step_time_s > 0


# --- 5. power caps ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cap", ["10", "70"])  # below and exactly at the H100's 70 W idle
def test_a_power_cap_at_or_below_idle_is_refused(cap):
    assert refused("simulate", "--hardware", "nvidia-h100-sxm", "--workload", "resnet50", "--power-cap-w", cap) == (
        f"error: power_cap_w: {cap} W is at or below the idle power of nvidia-h100-sxm (70 W); a cap must leave "
        "power for work")


def test_a_cap_between_idle_and_idle_plus_active_is_honoured():
    free = sim.simulate("resnet50", "nvidia-h100-sxm", batch_size=32)
    capped = sim.simulate("resnet50", "nvidia-h100-sxm", batch_size=32, power_cap_w=200.0)  # idle 70 + active 340
    assert capped.average_power_w <= 200.0 * (1 + 1e-9) < free.average_power_w
    assert capped.step_time_s > free.step_time_s and capped.summary["throttled_fraction"] > 0


# --- 7. internal errors on bad input ----------------------------------------------------------------------------
def test_a_mobilenet_width_below_one_32nd_names_the_empty_layer(tmp_path):
    path = tmp_path / "thin.yaml"
    path.write_text("name: thin\nfamily: mobilenet_v1\nsource: issue 22\nparams: {width_multiplier: 0.01}\n")
    line = refused("simulate", "--hardware", "nvidia-t4", "--workload", str(path))
    assert "ops.stem.conv: conv2d needs at least one input and output channel" in line


@pytest.mark.parametrize("target", ["missing-folder/ops.csv", "."])
def test_ops_csv_into_a_missing_folder_or_onto_a_folder(tmp_path, target):
    dest = str(tmp_path / target)
    line = refused("simulate", "--hardware", "nvidia-t4", "--workload", "mlp", "--ops-csv", dest)
    assert line.startswith(f"error: --ops-csv: cannot write {dest}")


def test_compute_cycles_beyond_int64_stay_exact():
    event = TraceEvent(name="huge", op_type="matmul", phase="forward", device="x:0", track="compute", start_s=0.0,
                       end_s=1.0, flops=1e22, compute_cycles=2**70)
    r = SimulationResult(summary={}, memory_breakdown={}, bottleneck_shares={},
                         trace=Trace(events=(event,), memory=(), end_s=1.0, peak_bytes=0.0))
    assert r.ops["compute_cycles"].tolist() == [2**70]
    assert str(r.ops["compute_cycles"].dtype) == "object"


@pytest.mark.parametrize("argv,message", [
    (["serve", "--hardware", "nvidia-t4", "--workload", "mlp", "--seed", "-1", "--requests", "10"],
     "error: seed: must be an integer in 0..2^63-1, got -1"),
    (["simulate", "--hardware", "nvidia-t4", "--workload", "a" * 100_000],
     "error: " + "a" * 120 + "...(100,000 characters): no such workload name or file (File name too long)"),
    (["realtime", "--hardware", "dgx-h100", "--stream", "mlp:30"],
     "error: hardware: dgx-h100 is a system; this runs on one device (give the system's device, nvidia-h100-sxm)"),
])
def test_inputs_that_raised_internal_errors_are_one_line(argv, message):
    assert refused(*argv) == message


def test_a_system_whose_device_is_a_system_is_refused(tmp_path):
    path = tmp_path / "nested.yaml"
    path.write_text("name: nested\ndisplay_name: x\nvendor: x\nkind: system\ndevice: dgx-h100\ndevices_per_node: 2\n"
                    "intra_node: {topology: switch, link: nvlink, bandwidth_gbs: 100, source: test}\nsource: test\n")
    for cmd in (["simulate", "--workload", "mlp"], ["collective"]):
        assert refused(*cmd, "--hardware", str(path)) == (
            "error: nested: device: 'dgx-h100' is a system, not a device; a system is built of one device spec "
            "(e.g. nvidia-h100-sxm)")


def test_a_corrupt_store_is_one_line(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("workload: mlp\nmode: inference\nspace: {hardware: [nvidia-t4], batch_size: [1]}\n")
    store = tmp_path / "s.sqlite"
    assert run_cli("sweep", str(spec), "--store", str(store), "--no-progress", "--workers", "1")[0] == 0
    with sqlite3.connect(store) as db:
        db.execute("UPDATE points SET result = '{not json'")
    line = refused("sweep", str(spec), "--store", str(store), "--no-progress", "--workers", "1")
    assert "the stored row is not valid JSON (a corrupt store" in line
    (tmp_path / "junk.sqlite").write_bytes(b"not a database at all" * 100)
    assert "cannot open as a sweep store" in refused("sweep", str(spec), "--store", str(tmp_path / "junk.sqlite"),
                                                     "--no-progress")


def test_a_store_that_cannot_be_written_is_an_input_error(tmp_path, monkeypatch):
    """Root ignores file modes, so the read-only database is played by SQLite's own error."""
    def readonly(self, outcome):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(SweepStore, "_put", readonly)
    with SweepStore(tmp_path / "ro.sqlite") as st, pytest.raises(InputError, match="cannot write to the sweep store: "
                                                                                   "attempt to write a readonly"):
        st.put(PointOutcome(point_key({"a": 1}), {"a": 1}, "ok", {}, "", 0.0))


# --- 11. strict JSON ----------------------------------------------------------------------------------------
def test_json_output_refuses_infinity_naming_the_field():
    with pytest.raises(ScenarioError, match=r"result\.extra\.run_energy_j: inf is not a finite number"):
        to_json_text({"extra": {"run_energy_j": float("inf")}})


def test_a_sweep_run_size_that_would_overflow_is_refused(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("workload: gpt2\nmode: training\nspace: {hardware: [nvidia-h100-sxm], batch_size: [8]}\n"
                    "train_tokens: 1.7e308\n")
    line = refused("sweep", str(spec), "--format", "json", "--no-progress")
    assert "train_tokens: Input should be less than or equal to 1000000000000000000" in line
    with pytest.raises(InputError, match="train_tokens: must be a finite number in 0..1e\\+18"):
        sim.sweep("mlp", {"hardware": ["nvidia-t4"]}, train_tokens=1.7e308, progress=False)


# --- 12. silently accepted ------------------------------------------------------------------------------------
@pytest.mark.parametrize("extra,message", [
    (["--devices", "0"], "error: devices: must be an integer in 1..1,000,000, got 0"),
    (["--devices", "-8"], "error: devices: must be an integer in 1..1,000,000, got -8"),
    (["--devices", "4", "--parallel", "pp=4", "--microbatches", "0"],
     "error: microbatches: must be an integer in 1..10,000, got 0"),
    (["--devices", "4", "--parallel", "tp=2,tp=4"], "error: parallelism: tensor is given twice (again as tp=4)"),
    (["--devices", "4", "--parallel", "tp=4,tensor=4"], "error: parallelism: tensor is given twice (again as tensor=4)"),
])
def test_silently_accepted_arguments_are_refused(extra, message):
    assert refused("simulate", "--hardware", "nvidia-h100-sxm", "--workload", "gpt2", *extra) == message
