"""simulator.calibrate: a user's own runs recover the parameters that produced them."""
from __future__ import annotations

import pytest
import yaml

import simulator as sim
from simulator.errors import InputError
from simulator.calibration import predict, read_runs

HEADER = "id,workload,mode,precision,batch_size,seq_len_or_image_size,metric,value,software\n"


def _runs_made_by(tmp_path, compute: float, overhead_us: float):
    """Runs 'measured' on an H100 whose true compute efficiency and per-op overhead we choose."""
    truth = sim.load_hardware("nvidia-h100-sxm", {"efficiency.compute": compute, "efficiency.op_overhead_us": overhead_us})
    specs = [("big1", "resnet50", 256, "224x224", "images_per_s"), ("big2", "bert-large", 64, "seq 384", "sequences_per_s"),
             ("big3", "gpt2", 32, "seq 1024", "samples_per_s"), ("lat1", "resnet50", 1, "224x224", "latency_ms"),
             ("lat2", "bert-base", 1, "seq 128", "latency_ms")]
    lines = [HEADER]
    for rid, wl, b, shape, metric in specs:
        text = f"{rid},{wl},inference,bf16,{b},{shape},{metric},1,compiled\n"
        path = tmp_path / "one.csv"
        path.write_text(HEADER + text)
        value, _ = predict(read_runs(path)[0], truth)
        lines.append(text.replace(",1,compiled", f",{value!r},compiled"))
    out = tmp_path / "runs.csv"
    out.write_text("".join(lines))
    return out


def test_runs_recover_the_parameters_that_made_them(tmp_path):
    runs = _runs_made_by(tmp_path, compute=0.5, overhead_us=20.0)
    res = sim.calibrate("nvidia-h100-sxm", runs, write=tmp_path / "mine.yaml")
    assert res.params["compute"] == pytest.approx(0.5, rel=0.02)
    assert res.params["op_overhead_us"] == pytest.approx(20.0, rel=0.05)
    assert res.after_median_pct < 2.0 and res.loo_median_pct < 5.0 < res.before_median_pct
    derived = yaml.safe_load((tmp_path / "mine.yaml").read_text())
    assert derived["name"] == "nvidia-h100-sxm-calibrated" and "simulator.calibrate" in derived["efficiency"]["fitted_to"]
    assert sim.load_hardware(tmp_path / "mine.yaml").efficiency.compute == res.params["compute"]


def test_runs_that_identify_nothing_are_refused(tmp_path):
    p = tmp_path / "runs.csv"
    p.write_text(HEADER + "x,no-such-model,inference,bf16,1,,latency_ms,1.0,\n")
    with pytest.raises(InputError, match="line 2: no-such-model"):
        sim.calibrate("nvidia-h100-sxm", p)
    p.write_text(HEADER + "x,resnet50,inference,bf16,1,,fps,1.0,\n")
    with pytest.raises(InputError, match="line 2: metric"):
        sim.calibrate("nvidia-h100-sxm", p)


def test_cli_calibrate_exits_2_on_bad_runs(tmp_path, capsys):
    from simulator.cli import main

    p = tmp_path / "runs.csv"
    p.write_text("workload,value\nresnet50,1\n")
    assert main(["calibrate", "--hardware", "nvidia-h100-sxm", "--runs", str(p)]) == 2
    assert "missing column(s) metric" in capsys.readouterr().err
