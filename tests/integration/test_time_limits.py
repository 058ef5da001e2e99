"""Time limits on every command and API call, and the documented bounds on what one call may simulate.

Each long run below is one the issue found running for minutes at gigabytes; under ``time_limit_s``
it stops with :class:`SimulationTimeout` (CLI exit 2) naming the limit. The wall-time margin asserted is
generous (a loaded 2-core machine); ``benchmarks/`` is where speed is measured.
"""
from __future__ import annotations

import contextlib
import gc
import io
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import simulator as sim
from simulator import cli
from simulator.deadline import DEFAULT_TIME_LIMIT_S, hard_time_limit
from simulator.errors import ScenarioError, SimulationTimeout

LIMIT_S = 1.0
SLACK_S = 3.0  # the check itself runs every 1,024 events (milliseconds); the rest is a busy machine


def stops_at_the_limit(call) -> SimulationTimeout:
    # A run stopped by its limit leaves its suspended SimPy processes as cyclic garbage (~1.7M objects
    # after the 10,000-micro-batch pipeline); the next full collection, ~2.6 s, would otherwise land
    # inside whichever timed call comes next in this process and be charged to its limit.
    gc.collect()
    start = time.perf_counter()
    with pytest.raises(SimulationTimeout) as info:
        call()
    assert time.perf_counter() - start < LIMIT_S + SLACK_S
    assert str(info.value).startswith(f"time_limit_s: the simulation took longer than the limit of {LIMIT_S:g} s")
    return info.value


@pytest.mark.parametrize("name,call", [
    ("pipelined FPGA", lambda: sim.simulate("resnet50", "amd-alveo-u250", precision="int8", fpga_dataflow="pipelined",
                                            batch_size=2800, time_limit_s=LIMIT_S)),
    ("pipeline of 10,000 micro-batches", lambda: sim.simulate(  # ~3.4 s unlimited on a 2-core VM
        "gpt2", "nvidia-h100-sxm", mode="training", devices=12, parallelism="pp=12", microbatches=10_000,
        batch_size=10_000, seq_len=1024, time_limit_s=LIMIT_S)),
    ("serve 1M requests of a 7B model", lambda: sim.serve("llama2-7b", "nvidia-h100-sxm", requests=1_000_000,
                                                          time_limit_s=LIMIT_S)),
    ("a vLLM scheduler over 800,000 chat requests", lambda: sim.serve(
        "llama2-7b", "nvidia-h100-sxm", requests=sim.request_mix("chat", rate_per_s=2000, duration_s=400),
        scheduler="vllm", time_limit_s=LIMIT_S)),
    ("4,096 decode samples", lambda: sim.generate("llama2-7b", "nvidia-h100-sxm", output_len=100_000,
                                                  decode_samples=4096, time_limit_s=LIMIT_S)),
    ("2M real-time frames", lambda: sim.realtime([{"workload": "resnet50", "fps": 1000, "count": 1000}], "nvidia-t4",
                                                 duration_s=2, time_limit_s=LIMIT_S)),
])
def test_long_runs_stop_at_their_limit(name, call):
    stops_at_the_limit(call)


def test_every_other_call_takes_a_limit():
    """Calls too short to outlast a second are given a limit already passed when they start."""
    tiny = 1e-9
    for call in (lambda: sim.simulate("mlp", "nvidia-t4", time_limit_s=tiny),
                 lambda: sim.collective_benchmark("dgx-h100", nbytes=1e6, time_limit_s=tiny),
                 lambda: sim.max_batch_size("mlp", "nvidia-t4", time_limit_s=tiny)):
        with pytest.raises(SimulationTimeout, match="time_limit_s: .*limit of 1e-09 s"):
            call()
    with ThreadPoolExecutor(1) as ex:
        t = sim.sweep("mlp", {"hardware": ["nvidia-t4"], "batch_size": [1, 2]}, mode="inference", executor=ex,
                      progress=False, time_limit_s=tiny)
    assert t["status"].tolist() == ["invalid", "invalid"]
    assert t["error"].str.contains("SimulationTimeout: time_limit_s").all()


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), 1e7, True, "60"])
def test_a_limit_must_be_a_sane_number(bad):
    with pytest.raises(ScenarioError, match="time_limit_s: must be a number of seconds in"):
        sim.simulate("mlp", "nvidia-t4", time_limit_s=bad)


def _cli(*argv):
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, err.getvalue().strip().splitlines()


def test_every_run_command_defaults_to_the_documented_limit():
    parser = cli.build_parser()
    base = {"simulate": ["--hardware", "x", "--workload", "y"], "describe": ["--workload", "y"],
            "collective": ["--hardware", "x"], "generate": ["--hardware", "x", "--workload", "y"],
            "serve": ["--hardware", "x", "--workload", "y"], "realtime": ["--hardware", "x", "--stream", "m:1"],
            "sweep": ["s.yaml"], "plan": ["--workload", "y", "--requests", "chat", "--slo", "ttft_p99=1"]}
    for cmd, args in base.items():
        assert parser.parse_args([cmd, *args]).time_limit_s == DEFAULT_TIME_LIMIT_S == 600.0, cmd


def test_the_cli_stops_with_exit_2_naming_the_limit():
    start = time.perf_counter()
    code, lines = _cli("serve", "--hardware", "nvidia-h100-sxm", "--workload", "llama2-7b", "--requests", "1000000",
                       "--time-limit-s", str(LIMIT_S))
    assert code == 2 and len(lines) == 1  # stopped in the serving loop or in one of its service-time probes
    assert lines[0].startswith(f"error: time_limit_s: the simulation took longer than the limit of {LIMIT_S:g} s "
                               "(stopped while ")
    assert time.perf_counter() - start < LIMIT_S + SLACK_S


def test_the_backstop_stops_code_without_a_cooperative_check(monkeypatch):
    """A phase with no check of its own (here: a stand-in loader that spins) is stopped by the timer."""
    import simulator.run.step as step

    def spin(*args, **kwargs):
        while True:
            time.sleep(0.01)

    monkeypatch.setattr(step, "load_workload", spin)
    start = time.perf_counter()
    code, lines = _cli("simulate", "--hardware", "nvidia-t4", "--workload", "mlp", "--time-limit-s", "0.5")
    assert code == 2 and lines == ["error: time_limit_s: the simulation took longer than the limit of 0.5 s "
                                   "(stopped while running the command)"]
    assert time.perf_counter() - start < 0.5 + SLACK_S


def test_the_backstop_leaves_the_signal_as_it_found_it():
    import signal

    before = signal.getsignal(signal.SIGALRM)
    with hard_time_limit(5.0):
        pass
    assert signal.getsignal(signal.SIGALRM) == before and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# --- the documented bounds ------------------------------------------------------------------------------------
@pytest.mark.parametrize("call,message", [
    (lambda: sim.simulate("gpt2", "nvidia-h100-sxm", devices=4, parallelism="pp=4", microbatches=10_001,
                          batch_size=10_001 * 4), "microbatches: must be an integer in 1..10,000, got 10001"),
    (lambda: sim.simulate("gpt2", "nvidia-h100-sxm", devices=100_000, symmetric=False, batch_size=100_000,
                          seq_len=64), "symmetric: simulating every one of 100,000 devices is above the limit of 16,384"),
    (lambda: sim.simulate("gpt2", "nvidia-h100-sxm", devices=2_000_000, batch_size=2_000_000),
     "devices: must be an integer in 1..1,000,000, got 2000000"),
    (lambda: sim.serve("mlp", "nvidia-t4", requests=1_000_001), "requests: must be an integer in 1..1000000"),
    (lambda: sim.serve("mlp", "nvidia-t4", replicas=4097), "replicas: must be an integer in 1..4096"),
    (lambda: sim.generate("gpt2", "nvidia-t4", output_len=5000, decode_samples=4097),
     "decode_samples: must be an integer in 2..4,096 or None"),
    (lambda: sim.generate("gpt2", "nvidia-t4", output_len=5000, decode_samples=None),
     "decode_samples: simulating every one of 4,999 decode steps is above the limit of 4,096"),
    (lambda: sim.simulate("resnet50", "amd-alveo-u250", precision="int8", fpga_dataflow="pipelined",
                          batch_size=10_000_000), "10,000,000 samples (one pass each, layer-pipelined) x 175 ops"),
    (lambda: sim.simulate("gpt2", "nvidia-h100-sxm", mode="training", batch_size=100_000, seq_len=8,
                          grad_accumulation=100_000), "op runs, above the limit of 2,000,000 for one call"),
])
def test_each_bound_is_one_clear_error_before_any_work(call, message):
    start = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        call()
    assert message in str(info.value) and "\n" not in str(info.value)
    assert time.perf_counter() - start < SLACK_S + 2.0
