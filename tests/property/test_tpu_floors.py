"""Physical floors on every bundled TPU: batch-1 decode never beats streaming the weights from main
memory, and no op beats its roofline (matrix peak, main-memory bandwidth)."""
from __future__ import annotations

import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cost.base import CostOptions
from simulator.cost.dispatch import device_numerics, op_cost
from simulator.cost.peaks import matrix_flops_per_s
from simulator.serving.generation import generate
from simulator.spec.loader import catalogue, load_hardware
from simulator.units import Precision
from simulator.workload import ops as O
from simulator.workload.loader import load_workload

TPUS = sorted(n for n, p in catalogue().items() if p.parent.name == "tpu")
# (workload, precision) pairs every TPU holds: the Edge TPU is int8 only
MODELS = st.sampled_from(["gpt2", "llama2-7b"])


@functools.lru_cache(maxsize=None)
def _hw(name):
    return load_hardware(name)


def _precision(hw) -> str:
    return "int8" if matrix_flops_per_s(hw, Precision.BF16) <= 0 else "bf16"


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(TPUS), model=MODELS, prompt=st.sampled_from([16, 128, 1000]))
def test_batch1_decode_never_beats_the_weight_stream(name, model, prompt):
    hw = _hw(name)
    prec = _precision(hw)
    wl = load_workload(model)
    g = generate(wl, hw, batch_size=1, prompt_len=prompt, output_len=4, precision=prec, decode_samples=None)
    weight_bytes = wl.build(batch_size=1, seq_len=8).parameters * Precision(prec).bytes
    floor = weight_bytes / (hw.main_memory.bandwidth_gbs * 1e9)
    assert g.tpot_s >= floor * (1 - 1e-9)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(TPUS), m=st.integers(1, 8192), k=st.integers(1, 8192), n=st.integers(1, 8192),
       count=st.sampled_from([1, 8, 64]))
def test_no_gemm_beats_its_roofline(name, m, k, n, count):
    hw = _hw(name)
    numerics = device_numerics(hw, Precision(_precision(hw)))
    op = O.matmul("g", batch=count, m=m, k=k, n=n, bias=False, has_weight=count == 1)
    c = op_cost(op, hw, numerics, CostOptions())
    peak = matrix_flops_per_s(hw, numerics.compute)
    floor = max(op.flops / peak, c.bytes_by_level[hw.main_memory.name] / (hw.main_memory.bandwidth_gbs * 1e9))
    assert c.duration_s >= floor * (1 - 1e-9)
    assert c.bytes_by_level[hw.main_memory.name] >= (op.weight_read_elems * numerics.weight_bytes) * (1 - 1e-9)


def test_every_datacenter_tpu_is_in_the_sweep():
    assert {"google-tpu-v4", "google-tpu-v5e", "google-tpu-v5p", "google-tpu-v6e", "google-edge-tpu"} <= set(TPUS)
