"""NVIDIA's MLPerf harness with CUDA graphs off (stacks/tensorrt-mlperf-stream.yaml): the rounds whose
config sets ``use_graphs = False`` (Orin BERT SingleStream, v2.0 and v2.1) enqueue the engine from the
host on every query, so each of the engine's kernels pays the stack's gap instead of a graph replay's;
the engine itself (fusions, plugin kernels, per-query work) is the graph stack's."""
from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.run.device import run_scenario
from simulator.scenario import make_scenario
from simulator.spec.loader import load_hardware
from simulator.spec.stack import load_stack
from simulator.workload.loader import load_workload
from validation.mapping import map_rows
from validation.rows import Row, read_calibration
from validation.stacks import stack_for
from validation.stages import STREAM_STACKS

GRAPH, STREAM = "tensorrt-mlperf", "tensorrt-mlperf-stream"


def _row(notes: str, software: str = "TensorRT 8.5.0") -> Row:
    return Row(id="X", device="d", n_devices=1, workload="MLPerf Inference v2.1 BERT-99 (SingleStream)",
               mode="inference", precision="INT8", batch_size="1", shape="seq 384 (max; variable)",
               metric="latency_ms", value=1.0, software=software, notes=notes)


def test_the_stream_stack_runs_the_graph_stacks_engine():
    g, s = load_stack(GRAPH), load_stack(STREAM)
    assert s.per_query_time and s.fused_regions == g.fused_regions and s.norm_kernels == g.norm_kernels
    assert (s.fuse_pointwise, s.fused_attention) == (g.fuse_pointwise, g.fused_attention)
    assert g.kernel_overhead_us is None and s.kernel_overhead_us is not None
    assert STREAM in STREAM_STACKS and GRAPH not in STREAM_STACKS


def test_only_notes_saying_use_graphs_false_pick_the_stream_stack():
    orin = "nvidia-jetson-agx-orin"
    assert stack_for(_row("class Orin: use_graphs = False"), "gpu", "inference", orin) == STREAM
    assert stack_for(_row("use_graphs False"), "gpu", "inference", orin) == STREAM
    assert stack_for(_row("use_graphs True (CUDA graphs)"), "gpu", "inference", orin) == GRAPH
    assert stack_for(_row(""), "gpu", "inference", orin) == GRAPH
    # Xavier rows are not NVIDIA's MLPerf stack at all (pairwise ResNet plugins): unchanged
    assert stack_for(_row("use_graphs = False"), "gpu", "inference", "nvidia-jetson-agx-xavier") == "tensorrt"
    # nor is a TensorRT row outside MLPerf
    r = replace(_row("use_graphs = False"), workload="BERT-Large inference (TensorRT)")
    assert stack_for(r, "gpu", "inference", orin) == "tensorrt"


def test_the_orin_v2_bert_rows_are_the_stream_stacks_and_v3_is_not():
    ids = {"J056", "J062", "J068", "J006", "J055", "J061"}
    stacks = {c.row.id: c.stack for c in map_rows([r for r in read_calibration() if r.id in ids])}
    # v2.0 / v2.1 Orin BERT: class Orin sets use_graphs = False; v3.0 / v3.1 BERT and every ResNet-50
    # SingleStream config of those rounds keep graphs
    assert stacks == {"J056": STREAM, "J062": STREAM, "J068": GRAPH, "J006": GRAPH, "J055": GRAPH, "J061": GRAPH}


def _bert(stack, gap_us: float | None = None, device: str = "nvidia-jetson-agx-orin") -> float:
    s = load_stack(stack)
    if gap_us is not None:
        s = s.model_copy(update={"kernel_overhead_us": gap_us})
    sc = make_scenario(mode="inference", batch_size=1, seq_len=272, precision="int8", stack=s)
    return run_scenario(load_workload("bert-large"), load_hardware(device), sc).step_time_s


def test_stream_minus_graph_is_every_kernel_times_the_gap_difference():
    # the INT8 engine: embln + 24 layers x 7 kernels + the squad logits = 170 kernels
    # (tests/unit/test_norm_kernels.py). On the AGX Orin every one pays the stack's gap in place of the
    # device's 0.5 us: at 10 us, 170 x 9.5 us = 1.615 ms more per query
    hw = load_hardware("nvidia-jetson-agx-orin")
    dev_gap = hw.efficiency.op_overhead_us
    assert dev_gap == pytest.approx(0.5)
    diff = _bert(STREAM, 10.0) - _bert(GRAPH)
    assert diff == pytest.approx(170 * (10.0 - 0.5) * 1e-6, rel=1e-6)


def test_at_the_devices_gap_the_two_stacks_agree():
    assert _bert(STREAM, 0.5) == pytest.approx(_bert(GRAPH), rel=1e-12)


@settings(max_examples=10, deadline=None)
@given(low=st.floats(0.5, 30.0), extra=st.floats(0.0, 30.0))
def test_a_larger_launch_gap_never_makes_the_query_faster(low, extra):
    assert _bert(STREAM, low + extra) >= _bert(STREAM, low)
