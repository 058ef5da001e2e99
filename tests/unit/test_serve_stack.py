"""serve(stack=...): the service-time simulations run under a software stack as simulate does, so a
stack's own per-kernel gap (``kernel_overhead_us``, stacks/tensorrt-llm.yaml) reaches a serving run;
without a stack the results are those of the device's own gap, unchanged."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulator as sim
from simulator.spec.loader import load_hardware
from simulator.spec.stack import load_stack

ONE_AT_A_TIME = dict(arrival="constant", rate_per_s=10.0, requests=20, batching="none")


def _gap_stack(gap_us: float):
    """The default stack (nothing fused) with its own per-kernel gap."""
    return load_stack("default").model_copy(update={"kernel_overhead_us": gap_us})


def test_each_request_pays_the_stack_gap_once_per_kernel():
    # mlp's inference step is 6 kernels (fc0, act0, fc1, act1, classifier, loss: simulate's op table).
    # One request at a time, 100 ms apart: no queueing, each latency is one forward pass. A stack gap
    # 10 us above the device's adds 6 x 10 us = 60 us to every request.
    gap = load_hardware("nvidia-t4").efficiency.op_overhead_us
    assert len(sim.simulate("mlp", "nvidia-t4", batch_size=1).ops) == 6
    base = sim.serve("mlp", "nvidia-t4", **ONE_AT_A_TIME)
    slow = sim.serve("mlp", "nvidia-t4", stack=_gap_stack(gap + 10.0), **ONE_AT_A_TIME)
    assert slow.latencies_s == pytest.approx(base.latencies_s + 60e-6, rel=0, abs=1e-12)


def test_without_a_stack_the_results_are_the_default_stacks_byte_for_byte():
    kw = dict(arrival="constant", rate_per_s=1e9, requests=16, batching="continuous", max_batch_size=8,
              prompt_len=64, output_len=8)
    none = sim.serve("gpt2", "nvidia-l4", **kw)
    default = sim.serve("gpt2", "nvidia-l4", stack="default", **kw)
    # a stack whose gap is the device's own derives no new device (stackhw.stack_device returns hw)
    same_gap = sim.serve("gpt2", "nvidia-l4", **kw,
                         stack=_gap_stack(load_hardware("nvidia-l4").efficiency.op_overhead_us))
    assert none.summary == default.summary == same_gap.summary
    assert none.latencies_s.tobytes() == default.latencies_s.tobytes() == same_gap.latencies_s.tobytes()


@settings(max_examples=6, deadline=None)
@given(low=st.floats(0.0, 20.0), extra=st.floats(0.5, 20.0))
def test_a_larger_stack_gap_never_raises_llm_throughput(low, extra):
    kw = dict(arrival="constant", rate_per_s=1e9, requests=12, batching="continuous", max_batch_size=4,
              prompt_len=32, output_len=4)
    a = sim.serve("gpt2", "nvidia-l4", stack=_gap_stack(low), **kw).summary["tokens_per_s"]
    b = sim.serve("gpt2", "nvidia-l4", stack=_gap_stack(low + extra), **kw).summary["tokens_per_s"]
    assert b <= a


def test_a_bad_stack_is_refused_before_any_simulation():
    with pytest.raises(sim.ScenarioError, match="unknown software stack"):
        sim.serve("mlp", "nvidia-t4", stack="tensorrt-llm-9", **ONE_AT_A_TIME)


def test_trtllm_bench_rows_run_the_pytorch_backend_stack_by_their_software_internal_and_external():
    from validation.mapping import map_rows
    from validation.rows import read_rows

    root = Path(__file__).resolve().parents[2] / "validation"
    cases = [c for p in (root / "data" / "measurements.csv", root / "external_measurements.csv")
             for c in map_rows(read_rows(p)) if getattr(c, "task", None) in ("serve", "generate")]
    bench = [c for c in cases if "trtllm-bench" in c.row.workload]
    assert len(bench) >= 50 and all(c.stack == "tensorrt-llm" for c in bench)
    # NIM's rows (TensorRT engines, not the PyTorch backend) keep their stacks
    assert all(c.stack != "tensorrt-llm" for c in cases if "NIM" in c.row.software)
    st_ = load_stack("tensorrt-llm")
    assert st_.fuse_pointwise and st_.fused_attention and not st_.training and st_.kernel_overhead_us > 0
