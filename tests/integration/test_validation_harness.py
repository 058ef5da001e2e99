"""The validation harness: every calibration row predicted or refused with a reason, finite errors,
cross-validation folds that never see their own source, and the error held under a threshold so
regressions in the cost models are caught.

Threshold: the in-sample median |error| (shipped parameters on every row) is at most
IN_SAMPLE_MEDIAN_MAX_PCT; the leave-one-source-out headline (REPORT.md) takes ~3 minutes and is
guarded by a slow test (`make test-all`).
"""
from __future__ import annotations

import math
import time

import pytest

from validation import harness
from validation.cluster_rows import megatron_model_flops
from validation.rows import read_calibration
from simulator.workload.loader import load_workload


SUBSET = {"M001", "M017", "M027", "M043", "M019", "M024", "M083", "M146"}
IN_SAMPLE_MEDIAN_MAX_PCT = 15.0  # a regression guard with a margin over REPORT.md's in-sample figure
CV_MEDIAN_MAX_PCT = 20.0  # the leave-one-source-out guard (the goal is 10 %)


@pytest.fixture(scope="module")
def full():
    return harness.run()


def test_subset_runs_quickly_and_accounts_for_every_row():
    t0 = time.perf_counter()
    rep = harness.run(ids=SUBSET)
    assert time.perf_counter() - t0 < 20
    seen = {s.id for s in rep.scored} | {u.row.id for u in rep.refused}
    assert seen == SUBSET
    assert {u.row.id for u in rep.refused} >= {"M019"}  # host-to-device copy
    assert "M024" in {s.id for s in rep.scored}        # 2-node all-reduce on GCP A3 Mega
    assert all(u.reason for u in rep.refused)
    for s in rep.scored:
        assert math.isfinite(s.error) and s.predicted > 0


def test_every_row_is_predicted_or_refused_with_a_reason(full):
    ids = [r.id for r in read_calibration()]
    scored = {s.id for s in full.scored}
    refused = {u.row.id: u.reason for u in full.refused}
    assert set(ids) == scored | set(refused)
    assert not scored & set(refused)
    assert all(len(reason) > 10 for reason in refused.values())
    assert all(math.isfinite(s.error) for s in full.scored)


def test_both_splits_are_populated_and_bands_cover_the_kinds(full):
    splits = {s.split for s in full.scored}
    assert splits == {"fit", "test"}
    for kind in {s.kind for s in full.scored}:
        assert kind in full.bands and full.bands[kind] > 0


def test_in_sample_median_error_is_below_threshold(full):
    overall = full.summary[("overall", "in-sample")]
    assert overall["n"] >= 100
    assert overall["median_pct"] <= IN_SAMPLE_MEDIAN_MAX_PCT, overall


def test_report_renders_with_command_and_tables(full):
    text = harness.render(full)
    assert harness.COMMAND in text
    assert "## Rows not expressible yet" in text and "| overall | in-sample |" in text


@pytest.mark.slow
def test_leave_one_source_out_median_error_is_below_threshold():
    rep = harness.run(crossval=True)
    overall = rep.summary[("overall", "cv")]
    assert overall["n"] >= 100 and len(rep.cv) == len(rep.scored)
    assert overall["median_pct"] <= CV_MEDIAN_MAX_PCT, overall


def test_multi_device_rows_map_to_their_layouts():
    items = {i.row.id: i for i in harness.map_rows(read_calibration())}
    m128 = items["M128"]  # GPT 177B, TP=8 PP=6 DP=48 in the notes, 288 DGX H100 nodes
    assert (m128.task, m128.system, m128.devices) == ("cluster", "dgx-h100", 2304)
    assert m128.parallelism.startswith("dp=48,tp=8,pp=6,zero=1") and m128.microbatches == 1152 // 48
    m097 = items["M097"]  # Trainium: TP=32 NeuronCores = 16 chips
    assert (m097.system, m097.parallelism.split(",sp")[0]) == ("trn1-32xl", "dp=32,tp=16,pp=1,zero=1")
    m022 = items["M022"]
    assert (m022.task, m022.collective, m022.devices) == ("collective", ("all_reduce", 8 * 2**30), 8)
    m121 = items["M121"]  # NIM TP2 inter-token latency
    assert (m121.task, m121.served_metric, m121.generate) == ("generate", "itl_ms", (500, 2000))
    assert items["M132"].reason  # TPU v5e GPT-3: layout and precision not stated -> refused
    m111 = items["M111"]  # trtllm-bench, in-flight batching at an unbounded request rate
    assert (m111.task, m111.saturated[0], m111.generate) == ("serve", 2048, (128, 128))
    assert items["M122"].saturated[0] == 250  # NIM client concurrency


def test_neuron_data_parallel_rows_run_one_instance_per_core():
    items = {i.row.id: i for i in harness.map_rows(read_calibration())}
    # bert-base-uncased on inf2.xlarge, batch 8 per instance: 2674/s = 2 cores x 8 / 5.97 ms (P50)
    assert (items["M089"].batch, dict(items["M089"].overrides).get("compute.arrays")) == (16, None)
    # resnet50 real-time latency: one request of batch 1 on one NeuronCore
    assert (items["M091"].batch, dict(items["M091"].overrides)["compute.arrays"]) == (1, 1)
    # NeuronX Distributed Llama configs recompute attention cores and MLP blocks
    assert items["M097"].checkpointing == items["M098"].checkpointing == "selective-mlp"


def test_megatron_model_flops_is_megatrons_formula():
    # GPT-3 175B shape with vocab 131072: 72 B s L h^2 (1 + s / 6h + V / 12 L h) (Narayanan et al. 2021)
    p = load_workload("megatron-gpt-177b").params
    b, s_, layers, h, v = 8, 4096, p.layers, p.hidden, p.vocab
    want = 72 * b * s_ * layers * h**2 * (1 + s_ / (6 * h) + v / (12 * layers * h))
    assert megatron_model_flops(p, b, s_) == pytest.approx(want, rel=1e-12)


def test_megatron_rows_are_within_twenty_percent(full):
    """The issue's scale-out validation: Megatron-Core weak scaling on 48..6144 H100 (M124-M129)."""
    errs = {s.id: s.error for s in full.scored if s.id in {"M124", "M126", "M128", "M129"}}
    assert len(errs) == 4
    assert all(abs(e) < 0.2 for e in errs.values()), errs


def test_max_achievable_rows_are_the_models_best_over_the_mamf_sweep():
    """A MAMF row is a maximum over mamf-finder's shape sweep, so it is predicted as the model's own
    maximum over that sweep, which is never below its value at the shape the real chip peaked at."""
    import dataclasses

    from simulator.spec.loader import load_hardware
    from validation import predict as P

    rep = harness.run(ids={"M005"})
    case = rep.cases["M005"]
    assert case.gemm_sweep and case.gemm[:3] == (1280, 4096, 12032)
    best = P.best_gemm_shape(case, load_hardware(case.hardware))
    assert best[:3] != case.gemm[:3] and best[:3] in P.mamf_shapes(case.gemm[:3])
    at_reported = P.predict(dataclasses.replace(case, gemm_sweep=False)).value
    swept = P.predict(case).value
    assert swept >= at_reported
    assert swept == pytest.approx(rep.scored[0].predicted)
    # 160 tiles of 128x256 on 132 SMs: the reported shape is one of the model's poor ones (4.6 % below
    # the sweep's best since the per-kernel gap is 0.5 us, not 7.9 us: less fixed time in both)
    assert swept > 1.04 * at_reported
