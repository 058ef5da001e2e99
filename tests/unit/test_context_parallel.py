"""Context parallelism (cp=): each sample's sequence split over ranks, keys and values gathered."""
from __future__ import annotations

import pytest

import simulator as sim
from simulator.cost.base import CostOptions
from simulator.errors import ScenarioError
from simulator.parallel.layout import Parallelism, parse_parallelism
from simulator.parallel.plan import build_plan
from simulator.scenario import make_scenario
from simulator.spec.loader import load_hardware
from simulator.workload.loader import load_workload


def _plan(cp: int, mode: str = "training"):
    fwd = load_workload("gpt2").build(batch_size=2, seq_len=1024)
    return fwd, build_plan(fwd, load_hardware("nvidia-h100-sxm"), make_scenario(mode=mode),
                           Parallelism(data=1, context=cp), 1, 2, options=CostOptions())


def test_layout_counts_context_ranks():
    p = parse_parallelism("dp=2,tp=4,cp=2", 16)
    assert (p.context, p.devices) == (2, 16)
    with pytest.raises(ScenarioError, match="x cp = 2 x 4 x 1 x 2 = 16, but devices = 8"):
        parse_parallelism("dp=2,tp=4,cp=2", 8)


def test_kv_all_gather_per_attention_by_hand():
    fwd, plan = _plan(4)
    gathers = [s for s in plan.stages[0].forward if s.collective is not None and s.group == "cp"]
    assert len(gathers) == 12                       # one per layer
    # K and V of the whole sequence: 2 x batch 2 x 1024 tokens x 768, 16-bit
    assert gathers[0].nbytes == pytest.approx(2 * 2 * 1024 * 768 * 2)
    scatters = [s for s in plan.stages[0].backward if s.collective is not None and s.group == "cp"]
    assert len(scatters) == 12 and all(s.overlap for s in gathers + scatters)


def test_each_rank_computes_a_quarter_of_the_tokens():
    _, one = _plan(1, "inference")
    _, four = _plan(4, "inference")
    flops = lambda plan: sum(s.flops for s in plan.stages[0].forward if s.collective is None)  # noqa: E731
    assert flops(four) == pytest.approx(flops(one) / 4, rel=1e-9)


def test_context_parallelism_needs_attention():
    with pytest.raises(ScenarioError, match="no attention layers"):
        sim.simulate("resnet50", "dgx-h100", devices=2, parallelism="dp=1,cp=2", batch_size=8)


def test_symmetric_and_full_runs_agree():
    kw = dict(mode="training", batch_size=4, seq_len=1024, devices=8, parallelism="dp=2,tp=2,cp=2")
    assert sim.simulate("gpt2", "dgx-h100", **kw).step_time_s == pytest.approx(
        sim.simulate("gpt2", "dgx-h100", symmetric=False, **kw).step_time_s, rel=1e-9)
