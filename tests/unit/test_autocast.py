"""Automatic mixed precision with FP32-stored weights (simulator.workload.autocast): one cast kernel per
weighted matrix op per pass, read at FP32 and written at the compute format; the matrix ops read the casts."""
import pytest

import simulator as sim
from simulator.cost.base import Numerics, op_bytes
from simulator.run.graphs import build_graph
from simulator.scenario import make_scenario
from simulator.units import Precision
from simulator.workload.autocast import CAST_PREFIX, add_weight_casts
from simulator.workload.loader import load_workload


def test_one_cast_per_weighted_matrix_op_right_before_it():
    g = load_workload("resnet50").build(batch_size=1)
    c = add_weight_casts(g)
    weighted = [n for n in g.order if g.op(n).gemms and g.op(n).weight_read_elems > 0]
    assert len(weighted) == 54  # 53 convolutions and the classifier
    assert len(c) == len(g) + 54
    for n in weighted:
        assert c.order.index(CAST_PREFIX + n) == c.order.index(n) - 1
        assert list(c.digraph.predecessors(n)).count(CAST_PREFIX + n) == 1


def test_cast_reads_fp32_and_writes_the_compute_format():
    c = add_weight_casts(load_workload("resnet50").build(batch_size=1))
    cast = c.op(CAST_PREFIX + "fc")
    w = c.op("fc").weight_read_elems
    assert w >= 2048 * 1000  # the classifier's weight matrix (and its bias, if the op reads it)
    a_in, a_out, w_read = op_bytes(cast, Numerics(Precision.FP16, Precision.FP16), fused_attention=True)
    assert (cast.input_elems, a_in, a_out, w_read) == (w, 4 * w, 2 * w, 0.0)


def test_casts_only_for_fp32_weights_under_16_bit_inference():
    wl = load_workload("resnet50")
    amp = make_scenario(mode="inference", batch_size=1, precision="fp16", weight_precision="fp32")
    half = make_scenario(mode="inference", batch_size=1, precision="fp16")
    train = make_scenario(mode="training", batch_size=2, precision="fp16", weight_precision="fp32")
    assert any(n.startswith(CAST_PREFIX) for n in build_graph(wl, amp)[0].order)
    assert not any(n.startswith(CAST_PREFIX) for n in build_graph(wl, half)[0].order)
    assert not any(n.startswith(CAST_PREFIX) for n in build_graph(wl, train)[1].order)


def test_host_bound_eager_pass_pays_one_dispatch_per_cast():
    """Hand computation: at batch 1 eager ResNet-50 is bound by host dispatch; 54 more ops at 50 us each
    add 54 x 50 us = 2.70 ms."""
    kw = dict(mode="inference", batch_size=1, precision="fp16", stack="torch-eager", dispatch_us=50.0)
    half = sim.simulate("resnet50", "nvidia-v100-sxm2", **kw)
    amp = sim.simulate("resnet50", "nvidia-v100-sxm2", weight_precision="fp32", **kw)
    assert amp.step_time_s - half.step_time_s == pytest.approx(54 * 50e-6, rel=0.01)


def test_fp32_weights_stay_resident_and_casts_never_speed_a_run_up():
    for hw in ("nvidia-a100-sxm-80gb", "nvidia-t4"):
        for batch in (1, 64):
            half = sim.simulate("resnet50", hw, mode="inference", batch_size=batch, precision="fp16")
            amp = sim.simulate("resnet50", hw, mode="inference", batch_size=batch, precision="fp16",
                               weight_precision="fp32")
            assert amp.step_time_s >= half.step_time_s
            assert amp.memory_breakdown["weights"] == pytest.approx(2 * half.memory_breakdown["weights"])
