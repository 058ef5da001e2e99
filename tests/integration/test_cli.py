"""The CLI in fresh processes: JSON keys, tables, CSV, exit codes, byte-identical output."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

KEYS = {"step_time_s", "throughput_samples_per_s", "peak_memory_bytes", "memory_capacity_bytes", "fits_in_memory",
        "energy_j", "average_power_w", "bottleneck", "total_flops", "utilization"}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *args], capture_output=True, text=True, timeout=300)


SIM = ["simulate", "--hardware", "nvidia-h100-sxm", "--workload", "resnet50", "--mode", "training",
       "--batch-size", "32", "--precision", "bf16"]


def test_simulate_json_is_deterministic_across_processes(tmp_path):
    a = cli(*SIM, "--format", "json", "--ops-csv", str(tmp_path / "ops.csv"), "--trace", str(tmp_path / "t.json"))
    b = cli(*SIM, "--format", "json")
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout
    data = json.loads(a.stdout)
    assert KEYS <= set(data)
    header = (tmp_path / "ops.csv").read_text().splitlines()[0]
    assert header.startswith("name,op_type,phase,device,start_s,end_s,duration_s,flops,bytes_moved,bound,energy_j")
    assert json.loads((tmp_path / "t.json").read_text())["traceEvents"]


def test_table_and_lists_and_describe():
    r = cli(*SIM, "--format", "table")
    assert r.returncode == 0 and "step time" in r.stdout
    hw = cli("list", "hardware")
    assert hw.returncode == 0 and "nvidia-h100-sxm" in hw.stdout
    wl = cli("list", "workloads")
    assert wl.returncode == 0 and "resnet50" in wl.stdout
    d = cli("describe", "--workload", "llama2-7b", "--batch-size", "2", "--seq-len", "256", "--format", "json")
    data = json.loads(d.stdout)
    assert data["parameters"] == 6738415616
    assert {"forward_flops", "activation_bytes", "op_count"} <= set(data)


@pytest.mark.parametrize("args,fragment", [
    (["simulate", "--hardware", "nope", "--workload", "mlp"], "no such hardware"),
    (["simulate", "--hardware", "nvidia-h100-sxm", "--workload", "mlp", "--precision", "fp64"], "precision"),
    (["simulate", "--hardware", "nvidia-h100-sxm", "--workload", "mlp", "--batch-size", "0"], "batch_size"),
    (["simulate", "--hardware", "nvidia-h100-sxm", "--workload", "mlp", "--set", "memory.hbm.bandwidth_gbs=-1"],
     "bandwidth_gbs"),
    (["simulate", "--hardware", "nvidia-h100-sxm"], "required"),
])
def test_bad_input_exits_2_with_one_line(args, fragment):
    r = cli(*args)
    assert r.returncode == 2
    assert fragment in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_bad_file_exits_2(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nkind: gpu\ncompute: {sm_count: -1}\n")
    r = cli("simulate", "--hardware", str(p), "--workload", "mlp")
    assert r.returncode == 2 and str(p) in r.stderr and "Traceback" not in r.stderr


# Every subcommand that prints JSON prints the same bytes in two fresh processes.
DETERMINISTIC = {
    "generate": ["generate", "--hardware", "nvidia-h100-sxm", "--workload", "gpt2", "--prompt-len", "64",
                 "--output-len", "8", "--batch-size", "2", "--format", "json"],
    "serve": ["serve", "--hardware", "nvidia-h100-sxm", "--workload", "bert-base", "--requests", "40",
              "--rate-per-s", "200", "--seed", "3", "--format", "json"],
    "realtime": ["realtime", "--hardware", "nvidia-jetson-agx-orin", "--stream", "resnet18:30:4", "--seed", "1",
                 "--format", "json"],
    "collective": ["collective", "--hardware", "dgx-h100", "--collective", "all_reduce", "--bytes", "1000000",
                   "--format", "json"],
    "describe": ["describe", "--workload", "resnet50", "--batch-size", "4", "--format", "json"],
}


@pytest.mark.parametrize("name", sorted(DETERMINISTIC))
def test_subcommand_json_is_deterministic_across_processes(name):
    if name not in cli("--help").stdout:
        pytest.skip(f"no '{name}' subcommand")
    a, b = cli(*DETERMINISTIC[name]), cli(*DETERMINISTIC[name])
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout
    json.loads(a.stdout)


def test_sweep_json_is_deterministic_except_wall_time(tmp_path):
    """The sweep table's ``elapsed_s`` column is each point's wall time; every other byte is identical."""
    spec = tmp_path / "sweep.yaml"
    spec.write_text("workload: mlp\nmode: inference\nspace: {hardware: [nvidia-h100-sxm, nvidia-l4], batch_size: [8, 16]}\n")
    args = ("sweep", str(spec), "--format", "json", "--no-progress", "--workers", "1")
    a, b = cli(*args), cli(*args)
    assert a.returncode == 0, a.stderr
    rows_a, rows_b = json.loads(a.stdout), json.loads(b.stdout)
    assert len(rows_a) == 4 and all(r["status"] == "ok" for r in rows_a)
    for row in (*rows_a, *rows_b):
        assert row.pop("elapsed_s") >= 0
    assert json.dumps(rows_a, sort_keys=True) == json.dumps(rows_b, sort_keys=True)
