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

V5P = load_hardware("google-tpu-v5p")
BF16 = Numerics(Precision.BF16, Precision.BF16)
DP = Parallelism(data=8)


def _segs(tensors: int = 0, clip: bool = False, params: float = 1e9):
    sc = make_scenario(mode="training", optimizer="adamw", optimizer_tensors=tensors, grad_clip=clip)
    return _optimizer_segments(params, sc, DP, V5P, BF16, CostOptions())


@pytest.mark.parametrize("bad", [-1, 2.5, "686", True, None])
def test_a_bad_tensor_count_is_one_error_naming_the_field(bad):
    with pytest.raises(ScenarioError, match="^optimizer_tensors: must be a whole number >= 0"):
        make_scenario(mode="training", optimizer="adamw", optimizer_tensors=bad)


def test_the_cli_takes_the_two_flags_and_refuses_a_negative_count(capsys):
    from simulator.cli import main
    args = ["simulate", "--workload", "mlp", "--hardware", "google-tpu-v5p", "--mode", "training", "--batch-size", "8",
            "--optimizer", "adamw", "--format", "json"]
    import json
    assert main(args) == 0
    plain = json.loads(capsys.readouterr().out)["step_time_s"]
    assert main(args + ["--grad-clip", "--optimizer-tensors", "4"]) == 0
    assert json.loads(capsys.readouterr().out)["step_time_s"] > plain
    assert main(args + ["--optimizer-tensors", "-3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: optimizer_tensors:")


def test_per_tensor_kernels_and_clip_by_hand():
    # v5p: HBM 2765 GB/s x memory efficiency 0.8 = 2212 GB/s; 5 us per kernel (efficiency.op_overhead_us).
    # 1e9 parameters, bf16 gradients: the global norm reads 2 GB: 2e9 / 2212e9 = 0.904159 ms, plus 686
    # kernels x 5 us = 3.43 ms: 4.334159 ms. AdamW reads p, g, master, m, v and writes three of them back
    # (7 fp32 elements per parameter in the model): 28e9 / 2212e9 = 12.658228 ms, plus 3.43 ms.
    fused = _segs()
    assert [s.label for s in fused] == ["optimizer.step"]
    assert fused[0].duration_s == pytest.approx(28e9 / 2212e9 + 5e-6, rel=1e-6)
    segs = _segs(686, clip=True)
    assert [s.label for s in segs] == ["optimizer.grad_norm", "optimizer.step"]
    assert segs[0].bound == "memory_bandwidth"
    assert segs[0].duration_s == pytest.approx(2e9 / 2212e9 + 686 * 5e-6, rel=1e-6)
    assert segs[1].duration_s == pytest.approx(28e9 / 2212e9 + 686 * 5e-6, rel=1e-6)


def test_one_tensor_is_the_fused_kernel():
    assert _segs(1)[0].duration_s == pytest.approx(_segs()[0].duration_s)


@settings(max_examples=30, deadline=None)
@given(a=st.integers(1, 5000), b=st.integers(1, 5000), params=st.floats(1e5, 1e10))
def test_more_tensors_or_clipping_never_make_the_step_faster(a, b, params):
    lo, hi = sorted((a, b))
    t = lambda n, clip=False: sum(s.duration_s for s in _segs(n, clip, params))  # noqa: E731
    assert t(lo) <= t(hi) + 1e-15
    assert t(lo) <= t(lo, clip=True)


def test_one_device_charges_the_per_tensor_form_as_the_cluster_plan_by_hand():
    from simulator.api import simulate
    # mlp: 1,863,690 parameters. The norm reads the bf16 gradients, 3,727,380 B / 2212e9 B/s = 1.685 us,
    # + 5 us for its kernel + 3 x 5 us for the other 3 tensors = 21.685 us; AdamW 7 x 4 B x 1,863,690 =
    # 52,183,320 B / 2212e9 = 23.591 us + 5 us + 3 x 5 us = 43.591 us. Each runs once per step, after
    # every accumulated micro-batch.
    params = 1_863_690
    r = simulate("mlp", "google-tpu-v5p", mode="training", batch_size=8, grad_accumulation=2,
                 optimizer="adamw", optimizer_tensors=4, grad_clip=True)
    ops = r.ops[r.ops.phase == "optimizer"]
    assert list(ops.name) == ["optimizer.grad_norm", "optimizer.step"]
    norm, step = ops.duration_s
    assert norm == pytest.approx(2 * params / 2212e9 + 4 * 5e-6, rel=1e-4)
    assert step == pytest.approx(28 * params / 2212e9 + 4 * 5e-6, rel=1e-4)
    one = _optimizer_segments(params, make_scenario(mode="training", optimizer="adamw", optimizer_tensors=4,
                                                    grad_clip=True),
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

    def extra(tensors, p):
        sc = make_scenario(mode="training", optimizer="adamw", optimizer_tensors=tensors)
        plan = build_plan(fwd, V5P, sc, p, 2, 2, options=CostOptions())
        return [sum(s.duration_s for s in st.optimizer if s.collective is None) for st in plan.stages]

    pp = Parallelism(pipeline=2)
    per_stage = [a - b for a, b in zip(extra(686, pp), extra(0, pp))]
    assert all(x > 0 for x in per_stage)
    assert 685 * 5e-6 - 1e-9 <= sum(per_stage) <= 686 * 5e-6 + 1e-9
    whole = extra(686, Parallelism())[0] - extra(0, Parallelism())[0]
    assert whole == pytest.approx(685 * 5e-6)
