"""An optimizer applied tensor by tensor (optax's tree_map under XLA: one kernel per parameter tensor)
and global-norm gradient clipping before it (optax.clip_by_global_norm), as MaxDiffusion's train step
runs them (validation/diffusion_rows.py)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cost.base import CostOptions, Numerics
from simulator.errors import ScenarioError
from simulator.parallel.layout import Parallelism
from simulator.parallel.plan import _optimizer_segments
from simulator.scenario import make_scenario
from simulator.spec.loader import load_hardware
from simulator.units import Precision
from simulator.workload.training import Optimizer, parse_optimizer_spec

V5P = load_hardware("google-tpu-v5p")
BF16 = Numerics(Precision.BF16, Precision.BF16)
DP = Parallelism(data=8)


def _segs(optimizer: str, params: float = 1e9):
    sc = make_scenario(mode="training", optimizer=optimizer)
    return _optimizer_segments(params, sc, DP, V5P, BF16, CostOptions())


def test_spec_parses_and_refuses():
    assert parse_optimizer_spec("AdamW+clip+tensors=686") == parse_optimizer_spec("adamw+tensors=686+clip")
    assert parse_optimizer_spec("adamw").optimizer is Optimizer.ADAMW
    with pytest.raises(ScenarioError):
        make_scenario(mode="training", optimizer="adamw+clipp")


@pytest.mark.parametrize("bad, says", [("adamw+tensors=x", "bad suffix 'tensors=x'"),
                                       ("adamw+tensors=0", "bad suffix 'tensors=0'"),
                                       ("adamw+tensors=\u00b2", "bad suffix"),  # isdigit() but not int()
                                       ("adamw+tensors=", "bad suffix"),
                                       ("adamw+clip=1", "bad suffix 'clip=1'"),
                                       ("adamw+fused", "bad suffix 'fused'"),
                                       ("adamw+clip+clip", "+clip given twice"),
                                       ("adamw+tensors=3+tensors=5", "+tensors given twice"),
                                       ("adamx+clip", "unknown optimizer 'adamx'")])
def test_bad_suffix_is_one_error_naming_the_field(bad, says):
    with pytest.raises(ScenarioError, match="^optimizer: ") as e:
        parse_optimizer_spec(bad)
    assert says in str(e.value)


def test_per_tensor_kernels_and_clip_by_hand():
    # v5p: HBM 2765 GB/s x memory efficiency 0.8 = 2212 GB/s; 5 us per kernel (efficiency.op_overhead_us).
    # 1e9 parameters, bf16 gradients: the global norm reads 2 GB: 2e9 / 2212e9 = 0.904159 ms, plus 686
    # kernels x 5 us = 3.43 ms: 4.334159 ms. AdamW reads p, g, master, m, v and writes three of them back
    # (7 fp32 elements per parameter in the model): 28e9 / 2212e9 = 12.658228 ms, plus 3.43 ms.
    fused = _segs("adamw")
    assert [s.label for s in fused] == ["optimizer.step"]
    assert fused[0].duration_s == pytest.approx(28e9 / 2212e9 + 5e-6, rel=1e-6)
    segs = _segs("adamw+clip+tensors=686")
    assert [s.label for s in segs] == ["optimizer.grad_norm", "optimizer.step"]
    assert segs[0].bound == "memory_bandwidth"
    assert segs[0].duration_s == pytest.approx(2e9 / 2212e9 + 686 * 5e-6, rel=1e-6)
    assert segs[1].duration_s == pytest.approx(28e9 / 2212e9 + 686 * 5e-6, rel=1e-6)


def test_one_tensor_is_the_fused_kernel():
    assert _segs("adamw+tensors=1")[0].duration_s == pytest.approx(_segs("adamw")[0].duration_s)


@settings(max_examples=30, deadline=None)
@given(a=st.integers(1, 5000), b=st.integers(1, 5000), params=st.floats(1e5, 1e10))
def test_more_tensors_or_clipping_never_make_the_step_faster(a, b, params):
    lo, hi = sorted((a, b))
    t = lambda spec: sum(s.duration_s for s in _segs(spec, params))  # noqa: E731
    assert t(f"adamw+tensors={lo}") <= t(f"adamw+tensors={hi}") + 1e-15
    assert t(f"adamw+tensors={lo}") <= t(f"adamw+clip+tensors={lo}")


def test_one_device_charges_the_per_tensor_form_as_the_cluster_plan_by_hand():
    from simulator.api import simulate
    # mlp: 1,863,690 parameters. The norm reads the bf16 gradients, 3,727,380 B / 2212e9 B/s = 1.685 us,
    # + 5 us for its kernel + 3 x 5 us for the other 3 tensors = 21.685 us; AdamW 7 x 4 B x 1,863,690 =
    # 52,183,320 B / 2212e9 = 23.591 us + 5 us + 3 x 5 us = 43.591 us. Each runs once per step, after
    # every accumulated micro-batch.
    params = 1_863_690
    r = simulate("mlp", "google-tpu-v5p", mode="training", batch_size=8, grad_accumulation=2,
                 optimizer="adamw+clip+tensors=4")
    ops = r.ops[r.ops.phase == "optimizer"]
    assert list(ops.name) == ["optimizer.grad_norm", "optimizer.step"]
    norm, step = ops.duration_s
    assert norm == pytest.approx(2 * params / 2212e9 + 4 * 5e-6, rel=1e-4)
    assert step == pytest.approx(28 * params / 2212e9 + 4 * 5e-6, rel=1e-4)
    one = _optimizer_segments(params, make_scenario(mode="training", optimizer="adamw+clip+tensors=4"),
                              Parallelism(), V5P, BF16, CostOptions())
    assert [s.duration_s for s in one] == pytest.approx([norm, step], rel=1e-9)
    assert ops.start_s.min() >= r.ops[r.ops.phase == "backward"].end_s.max()
    fused = simulate("mlp", "google-tpu-v5p", mode="training", batch_size=8, grad_accumulation=2, optimizer="adamw")
    assert r.summary["step_time_s"] - fused.summary["step_time_s"] == pytest.approx(norm + 3 * 5e-6, rel=1e-4)


def test_pipeline_stages_share_the_tensor_launches():
    # gpt2 over 2 pipeline stages: each stage updates its own tensors only, so the stages' extra
    # launches add up to the model's (686 - 1) x 5 us within one kernel per stage of rounding (ceil),
    # not to 2 x that, as every stage paying all 686 would
    from simulator.parallel.plan import build_plan
    from simulator.workload.loader import load_workload
    fwd = load_workload("gpt2").build(batch_size=2, seq_len=128)

    def extra(spec, p):
        plan = build_plan(fwd, V5P, make_scenario(mode="training", optimizer=spec), p, 2, 2, options=CostOptions())
        return [sum(s.duration_s for s in st.optimizer if s.collective is None) for st in plan.stages]

    pp = Parallelism(pipeline=2)
    per_stage = [a - b for a, b in zip(extra("adamw+tensors=686", pp), extra("adamw", pp))]
    assert all(x > 0 for x in per_stage)
    assert 685 * 5e-6 - 1e-9 <= sum(per_stage) <= 686 * 5e-6 + 1e-9
    whole = extra("adamw+tensors=686", Parallelism())[0] - extra("adamw", Parallelism())[0]
    assert whole == pytest.approx(685 * 5e-6)
