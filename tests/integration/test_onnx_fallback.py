"""Unsupported ONNX ops: refused by name by default, simulated with the stated fallback on request."""
from __future__ import annotations

import subprocess
import sys

import onnx
import pytest
from onnx import TensorProto, helper

import simulator as sim


@pytest.fixture()
def topk_model(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 8])
    idx = helper.make_tensor_value_info("i", TensorProto.INT64, ["N", 8])
    k = helper.make_tensor("k", TensorProto.INT64, [1], [8])
    w = helper.make_tensor("w", TensorProto.FLOAT, [64, 64], [0.0] * 64 * 64)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="proj"),
             helper.make_node("TopK", ["h", "k"], ["y", "i"], name="pick")]
    graph = helper.make_graph(nodes, "g", [x], [y, idx], initializer=[k, w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "topk.onnx"
    onnx.save(model, path)
    return path


def test_unsupported_op_is_named_then_fallback_runs(topk_model):
    with pytest.raises(sim.WorkloadError, match="pick.*TopK"):
        sim.load_workload(topk_model)
    wl = sim.load_workload(topk_model, unsupported="fallback")
    r = sim.simulate(wl, "nvidia-h100-sxm", batch_size=4, precision="fp16")
    assert r.step_time_s > 0
    assert set(r.ops["name"]) >= {"proj", "pick"}


def test_cli_fallback_flag(topk_model):
    base = [sys.executable, "-m", "simulator", "simulate", "--hardware", "nvidia-h100-sxm", "--workload",
            str(topk_model), "--batch-size", "4"]
    refused = subprocess.run(base, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "TopK" in refused.stderr
    ok = subprocess.run(base + ["--unsupported-ops", "fallback"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
