"""Intel's MLPerf RetinaNet harness post-processes each image on the instance's cores: the int8
network's outputs come back dequantized to FP32 and every class logit is scanned once against the
score threshold (stack intel-mlperf ``output_scans``, simulator/workload/postprocess.py)."""
from __future__ import annotations

import pytest

from simulator.cost.base import Numerics, op_bytes
from simulator.run.device import run_scenario
from simulator.scenario import make_scenario
from simulator.spec.loader import load_hardware
from simulator.spec.stack import load_stack
from simulator.units import Precision
from simulator.workload.loader import load_workload
from simulator.workload.postprocess import SCAN_OP, add_score_scan
from validation.cpu_rows import socket_share

OUTS, CLS = r"(cls|box)\.p\d\.out", r"cls\.p\d\.out"
# 800x800 image: pyramid levels P3-P7 of 100, 50, 25, 13, 7 cells, 9 anchors per cell, 264 classes
ANCHORS = 9 * (100 ** 2 + 50 ** 2 + 25 ** 2 + 13 ** 2 + 7 ** 2)
LOGITS = ANCHORS * 264


def _retinanet(batch: int):
    return load_workload("retinanet-resnext50").build(batch_size=batch, image_size=800)


def test_score_scan_by_hand():
    g = _retinanet(2)
    s = add_score_scan(g, OUTS, CLS, keep=1000)
    assert ANCHORS == 120087 and len(s) == len(g) + 1
    scan = s.op(SCAN_OP)
    assert scan.input_elems == 2 * LOGITS                      # every class logit of both images, once
    assert scan.output_elems == 2 * 5 * 1000 * 2               # <= 1000 (index, score) pairs per level and image
    assert sorted(s.predecessors(SCAN_OP)) == [f"cls.p{i}.out" for i in range(3, 8)]
    marked = [n for n in s.order if dict(s.op(n).attrs).get("output_format") == "fp32"]
    assert sorted(marked) == sorted([f"{h}.p{i}.out" for h in ("box", "cls") for i in range(3, 8)])
    # at int8 a marked output is written at 4 bytes, the scan reads 4 bytes per logit and writes int8
    int8 = Numerics(Precision.INT8, Precision.INT8)
    out = s.op("cls.p3.out")
    assert op_bytes(out, int8, fused_attention=True)[1] == 4 * 2 * 9 * 264 * 100 * 100
    assert op_bytes(scan, int8, fused_attention=True)[:2] == (4 * 2 * LOGITS, 2 * 5 * 1000 * 2)
    assert add_score_scan(g, OUTS, r"no-such-op", keep=1000) is g


def test_intel_mlperf_retinanet_instance_pays_the_scan_at_its_dram_share():
    s = load_stack("intel-mlperf")
    assert len(s.scans_for("retinanet-resnext50", "int8")) == 1 and s.scans_for("resnet50", "int8") == ()
    assert load_stack("onednn").scans_for("retinanet-resnext50", "int8") == ()
    # one MLPerf Offline instance of the v4.1 harness: 4 cores of an 8592+, batch 2
    xeon = load_hardware("intel-xeon-platinum-8592")
    hw = load_hardware("intel-xeon-platinum-8592", socket_share(xeon, 4))
    wl = load_workload("retinanet-resnext50")
    sc = {st: make_scenario(batch_size=2, image_size=800, precision="int8", stack=st) for st in ("onednn", "intel-mlperf")}
    runs = {st: run_scenario(wl, hw, s_) for st, s_ in sc.items()}
    ev = {e.name: e for e in runs["intel-mlperf"].trace.events}
    assert SCAN_OP not in {e.name for e in runs["onednn"].trace.events}
    scan = ev[SCAN_OP]
    assert scan.bytes_moved == pytest.approx(4 * 2 * LOGITS + 2 * 5 * 1000 * 2)     # 253.6 MB
    assert scan.bound == "memory_bandwidth"
    # 253.6 MB at the instance's 4/64 of the socket's DDR5 bandwidth, at the family's memory efficiency
    bw = hw.main_memory.bandwidth_gbs * 1e9 * hw.efficiency.memory
    assert bw == pytest.approx(xeon.main_memory.bandwidth_gbs * 1e9 * 4 / 64 * xeon.efficiency.memory)
    assert scan.end_s - scan.start_s == pytest.approx(scan.bytes_moved / bw, rel=0.02)
    assert runs["intel-mlperf"].step_time_s > runs["onednn"].step_time_s


def test_declared_formats_are_costed_by_the_per_op_model_on_every_kind():
    """The vectorised GPU/TPU/ASIC paths do not read declared tensor formats, so a graph that has them
    is costed op by op: a GPU run of the scanned graph charges the FP32 outputs like op_bytes does."""
    from simulator.cost.base import CostOptions, Numerics
    from simulator.cost.table import OpTable
    from simulator.cost.vector import table_costs
    from simulator.spec.loader import load_hardware
    from simulator.units import Precision
    from simulator.workload.loader import load_workload
    from simulator.workload.postprocess import add_score_scan

    g = load_workload("retinanet-resnext50").build(batch_size=1, image_size=800)
    s = add_score_scan(g, r"(cls|box)\.p\d\.out", r"cls\.p\d\.out", 1000)
    h100, int8 = load_hardware("nvidia-h100-sxm"), Numerics(Precision.INT8, Precision.INT8)
    rows = [(i, 0.0) for i in range(len(s.order))]
    assert table_costs(OpTable([s.op(n) for n in s.order]), rows, h100, int8, CostOptions()) is None
    assert table_costs(OpTable([g.op(n) for n in g.order]), rows[:len(g.order)], h100, int8, CostOptions()) is not None


def test_an_attention_fusion_limit_on_a_kind_that_does_not_model_it_is_refused():
    import pytest
    from pydantic import ValidationError

    from simulator.spec.stack import AttentionFusionLimit

    with pytest.raises(ValidationError):
        AttentionFusionLimit(kinds=("gpu",), precisions=("int8",), max_k=512, max_n=256, source="doc")
