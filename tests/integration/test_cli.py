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
    # a count fixes the requests: a --duration-s beside it was once ignored without a word
    (["serve", "--hardware", "nvidia-l4", "--workload", "gpt2", "--requests", "20", "--duration-s", "10"],
     "--duration-s"),
    (["serve", "--hardware", "nvidia-l4", "--workload", "gpt2", "--duration-s", "0"], "positive"),
    # a trace file fixes the arrivals: a duration beside it once cut the trace at rate x duration requests
    (["serve", "--hardware", "nvidia-l4", "--workload", "gpt2", "--trace-file", "t.csv", "--duration-s", "10"],
     "--trace-file"),
    # rate x duration must be a finite count (inf or nan once reached round() as a traceback)
    (["serve", "--hardware", "nvidia-l4", "--workload", "gpt2", "--duration-s", "inf"], "positive"),
    (["serve", "--hardware", "nvidia-l4", "--workload", "gpt2", "--duration-s", "10", "--rate-per-s", "nan"],
     "finite"),
    (["serve", "--hardware", "nvidia-l4", "--workload", "gpt2", "--duration-s", "1e300", "--rate-per-s", "1e10"],
     "finite"),
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


# --- a CLI that explains itself (issue 18) ---------------------------------------------------------------

def test_version_matches_the_package():
    import simulator

    r = cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"accsim {simulator.__version__}"


def test_every_subcommand_has_a_one_line_description_and_its_defaults_in_help():
    top = cli("--help")
    assert top.returncode == 0 and "exit status:" in top.stdout and "3  DOES NOT FIT" in top.stdout
    from simulator.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert len(sub.choices) >= 10
    for name, parser in sub.choices.items():
        assert parser.description and "\n" not in parser.description, name
        assert parser.description in " ".join(top.stdout.split()), name   # listed in accsim --help
        help_text = " ".join(parser.format_help().split())
        for action in parser._actions:   # every flag with a value shows its default
            if action.option_strings and action.default not in (None, False, "==SUPPRESS==") and action.nargs != 0:
                assert f"default: {action.default}" in help_text or "default:" in (action.help or ""), \
                    (name, action.dest)
    simulate_help = cli("simulate", "--help").stdout
    assert "native" in simulate_help and "(default: inference)" in " ".join(simulate_help.split())


def test_list_hardware_by_kind():
    r = cli("list", "hardware", "--kind", "tpu", "--format", "json")
    rows = json.loads(r.stdout)
    assert rows and {x["kind"] for x in rows} == {"tpu"}
    assert {"google-tpu-v4", "google-edge-tpu"} <= {x["name"] for x in rows}
    bad = cli("list", "workloads", "--kind", "gpu")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --kind")


def test_show_a_device_gives_every_figure_with_its_source():
    j = cli("show", "nvidia-h100-sxm", "--format", "json")
    card = json.loads(j.stdout)
    assert card["precisions"]["native"] == "bf16" and "fp8" in card["precisions"]["supported"]
    # 132 SMs x 1.83 GHz x 4096 FLOP/cycle/SM (the spec's derivation of the whitepaper's 989.4 TFLOP/s)
    assert card["peak"]["bf16"]["matrix_flops_per_s"] == pytest.approx(132 * 1.83e9 * 4096)
    assert [m["name"] for m in card["memory"]] == ["l2", "hbm"] and card["memory"][1]["capacity_bytes"] == 80 * 2**30
    assert card["price"]["cloud_usd_per_hour"] == 2.99
    for block in (card["compute"], *card["memory"], *card["links"], card["power"], card["price"]):
        assert len(block["source"]) > 10
    t = cli("show", "nvidia-h100-sxm").stdout
    for fragment in ("989 TFLOP/s", "80.0 GiB", "3.35 TB/s", "TDP 700 W", "$2.99 per hour", "source:"):
        assert fragment in t, fragment


def test_show_a_system_and_a_workload_and_an_unknown_name():
    s = cli("show", "dgx-a100")
    assert s.returncode == 0 and "nvidia-a100-sxm-80gb" in s.stdout and "300 GB/s" in s.stdout
    w = cli("show", "resnet50", "--batch-size", "1")
    assert w.returncode == 0 and "25.6 M" in w.stdout
    bad = cli("show", "nvidia-h100")
    assert bad.returncode == 2 and "did you mean" in bad.stderr and len(bad.stderr.splitlines()) == 1


def test_a_run_that_does_not_fit_exits_3_with_the_shortfall():
    r = cli("simulate", "--hardware", "nvidia-l4", "--workload", "llama2-70b", "--batch-size", "1")
    assert r.returncode == 3
    assert "DOES NOT FIT" in r.stdout                                   # the table says so
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("DOES NOT FIT: llama2-70b on nvidia-l4") and "short by" in line and "weights" in line
    g = cli("generate", "--hardware", "nvidia-l4", "--workload", "llama2-70b", "--output-len", "4")
    assert g.returncode == 3 and "DOES NOT FIT" in g.stderr
    s = cli("serve", "--hardware", "nvidia-l4", "--workload", "llama2-70b", "--requests", "10")
    assert s.returncode == 3 and s.stderr.startswith("DOES NOT FIT: llama2-70b on nvidia-l4")


def test_serve_duration_alone_draws_rate_times_duration_requests():
    r = cli("serve", "--hardware", "nvidia-l4", "--workload", "bert-base", "--rate-per-s", "5", "--duration-s", "10",
            "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["requests"] == 50


def test_native_precision_by_default_and_a_fallback_is_noted_on_stderr():
    fpga = cli("simulate", "--hardware", "amd-alveo-u250", "--workload", "resnet18", "--format", "json")
    assert fpga.returncode == 0 and json.loads(fpga.stdout)["precision"] == "int8" and fpga.stderr == ""
    a100 = cli("simulate", "--hardware", "nvidia-a100-sxm-80gb", "--workload", "mlp", "--precision", "fp8")
    assert a100.returncode == 0 and "fp8 (runs as fp16" in a100.stdout
    assert a100.stderr.strip() == "note: nvidia-a100-sxm-80gb has no fp8 path; it ran in fp16 (effective_precision)"
    refused = cli("simulate", "--hardware", "nvidia-t4", "--workload", "mlp", "--mode", "training", "--precision", "int8")
    assert refused.returncode == 2 and "it trains in fp32, fp16" in refused.stderr


def test_tables_read_in_scaled_units_json_stays_si():
    t = cli("simulate", "--hardware", "dgx-a100", "--workload", "gpt3-175b", "--devices", "1024", "--parallel",
            "dp=16,tp=8,pp=8", "--microbatches", "96", "--checkpointing", "full", "--mode", "training",
            "--batch-size", "1536", "--seq-len", "2048")
    assert t.returncode == 0, t.stderr
    import re

    step = re.search(r"step time\s+(\S+) (\S+)", t.stdout)
    assert step.group(2) == "s" and len(step.group(1).replace(".", "")) == 3   # e.g. 30.0 s, not 29631.209 ms
    assert re.search(r"energy\s+\S+ MJ", t.stdout) and "pipeline bubble" in t.stdout
    assert "e+" not in t.stdout
