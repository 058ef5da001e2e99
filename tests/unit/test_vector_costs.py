"""The vectorised cost models (cost/vgpu.py, cost/varray.py over cost/table.py's op table) give the
same OpCost as the per-op reference models (cost/gpu.py, tpu.py, asic.py), exactly: every float
is computed with the same operations in the same order, so not even the last bit may differ (the
dicts' key order too, which sums over them follow)."""
from __future__ import annotations

import zlib
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.cost.base import CostOptions, Numerics
from simulator.cost.dispatch import default_precision, op_cost, supported_precisions
from simulator.cost.table import OpTable
from simulator.cost.vector import VECTOR_KINDS, table_costs
from simulator.run.graphs import build_graph
from simulator.scenario import make_scenario
from simulator.spec.loader import catalogue, load_hardware
from simulator.testing import compute_graphs, hardware_specs
from simulator.units import Precision
from simulator.workload.loader import load_workload, zoo

DEVICES = {kind: sorted(n for n, p in catalogue().items() if p.parent.name == kind) for kind in VECTOR_KINDS}


def _assert_same(ops, hw, numerics, options, cached):
    table = OpTable(ops)
    rows = [(i, cached[i]) for i in range(len(ops))]
    fast = VECTOR_KINDS[hw.kind](table, np.arange(len(ops)), np.array(cached), hw, numerics, options)
    for op, (i, elems), got in zip(ops, rows, fast):
        want = op_cost(op, hw, numerics, replace(options, cached_input_elems=elems))
        assert got == want, (op.name, hw.name, numerics, options)
        assert list(got.bytes_by_level) == list(want.bytes_by_level)
        assert list(got.energy_by_level_j) == list(want.energy_by_level_j)


def _edge_ops():
    """Ops that reach each branch of the models whatever the device: full waves (an exact multiple
    of any SM count up to 264, and one tile more), long K (stream-K, split-K into L2 or HBM), depthwise
    kernels that pack two channels per fold, and recurrent steps."""
    from simulator.workload import ops as O

    out = [O.matmul(f"full{m}", batch=1, m=m, k=k, n=256) for m in (128 * 2 * 3 * 4 * 5 * 7 * 11, 128 * 1849)
           for k in (4096, 4097, 12288)]
    out += [O.matmul(f"skinny{m}x{n}", batch=1, m=m, k=k, n=n) for m, n, k in ((64, 64, 401408), (512, 1024, 65536),
                                                                                 (2048, 2048, 8192), (8, 8, 300))]
    out += [O.conv2d(f"dw{kern}", batch=2, in_ch=96, h=28, w=28, out_ch=96, kernel=kern, pad=kern // 2, groups=96)
            for kern in (3, 5, 7, 9)]
    out += [O.lstm("lstm", batch=4, steps=7, input_size=300, hidden=500),
            O.attention("att", batch=2, heads=8, q_len=1024, kv_len=1024, head_dim=64, kv_heads=2, causal=True),
            O.attention("dec", batch=4, heads=16, q_len=1, kv_len=700, head_dim=128, kv_heads=2)]
    return out


def _options(hw):
    return (CostOptions(), CostOptions(fused_attention=False, power_cap_w=0.6 * hw.power.tdp_w),
            CostOptions(weights_on_chip=True), CostOptions(fused_attention=False, score_passes=2),
            CostOptions(kv_per_query_head=True))


def _distinct(graph):
    return list({replace(op, name="", layer=""): op for op in graph.ops}.values())


@pytest.mark.parametrize("workload", sorted(zoo()))
def test_every_bundled_workload_costs_the_same_on_every_vectorised_kind(workload):
    wl = load_workload(workload)
    seq = 64 if wl.uses_seq_len else None
    for mode in ("inference", "training"):
        try:
            _, graph = build_graph(wl, make_scenario(mode=mode, batch_size=2, seq_len=seq))
        except Exception:  # noqa: BLE001 - a shape the workload refuses is not a cost question
            continue
        ops = _distinct(graph)
        cached = [float(i % 3) * 512.0 for i in range(len(ops))]
        for kind, names in DEVICES.items():
            # a different device of the kind for each workload: every device is met over the zoo
            hw = load_hardware(names[zlib.crc32(f"{workload}{mode}".encode()) % len(names)])
            precisions = [p for p in supported_precisions(hw) if p.is_float or mode == "inference"]
            for p in {default_precision(hw), *precisions[:1]} & set(precisions):
                for options in _options(hw):
                    _assert_same(ops, hw, Numerics(p, p, training=mode == "training"), options, cached)


@pytest.mark.parametrize("device", [n for names in DEVICES.values() for n in names])
def test_every_vectorised_device_costs_the_same_in_every_precision(device):
    hw = load_hardware(device)
    _, graph = build_graph(load_workload("gpt2"), make_scenario(mode="training", batch_size=2, seq_len=64))
    ops = _distinct(graph) + _distinct(build_graph(load_workload("mobilenet-v2"), make_scenario(batch_size=1))[1])
    ops += _edge_ops()
    for p in supported_precisions(hw):
        training = p.is_float or (hw.kind == "tpu" and p == Precision.INT8)   # AQT int8 training on TPUs
        _assert_same(ops, hw, Numerics(p, Precision.INT4 if not training else p, training=training),
                     CostOptions(), [0.0] * len(ops))


@given(graph=compute_graphs(max_ops=16), hw=st.sampled_from(sorted(VECTOR_KINDS)).flatmap(hardware_specs),
       fused=st.booleans(), cached=st.sampled_from((0.0, 100.0, 1e9)))
def test_random_graphs_on_random_devices_cost_the_same(graph, hw, fused, cached):
    p = supported_precisions(hw)[0] if supported_precisions(hw) else Precision.FP32
    ops = graph.ops
    _assert_same(ops, hw, Numerics(p, p), CostOptions(fused_attention=fused), [cached] * len(ops))


def test_table_costs_answers_only_for_vectorised_kinds_and_enough_rows():
    t = OpTable(load_workload("resnet18").build(batch_size=1).ops)
    bf16 = Numerics(Precision.BF16, Precision.BF16)
    rows = [(i, 0.0) for i in range(t.rows)]
    assert table_costs(t, rows, load_hardware("amd-epyc-9654"), bf16, CostOptions()) is None
    assert table_costs(t, rows[:3], load_hardware("nvidia-l4"), bf16, CostOptions()) is None
    assert len(table_costs(t, rows + rows, load_hardware("nvidia-l4"), bf16, CostOptions())) == 2 * t.rows


def test_fused_norm_training_graphs_cost_the_same():
    """A norm that absorbed a residual add (stack ``fuse_norm_training``) takes its batch statistics
    over its own input only (``STATS_ELEMS``): the op table charges the same bytes as op_bytes."""
    sc = make_scenario(mode="training", batch_size=2, image_size=64, stack="mxnet-mlperf")
    ops = _distinct(build_graph(load_workload("resnet50"), sc)[1])
    assert any("stats_elems" in dict(op.attrs) for op in ops)
    for kind, names in DEVICES.items():
        hw = load_hardware(names[0])
        p = default_precision(hw)
        if p.is_float:
            _assert_same(ops, hw, Numerics(p, p, training=True), CostOptions(), [float(i % 3) * 512.0 for i in range(len(ops))])
