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
