"""Leave-one-source-out folds: a held-out document never informs its own prediction."""
from __future__ import annotations

import pytest

from validation import crossval as CV
from validation.mapping import map_rows
from validation.predict import Predictor
from validation.cases import Case
from validation.rows import read_calibration

FAMILIES = {"google-edge-tpu", "aws-neuron"}  # small families with several source documents


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return [c for c in map_rows(read_calibration()) if isinstance(c, Case) and c.family in FAMILIES]


def test_source_documents_group_rows(cases):
    keys = {CV.source_key(c.row.source) for c in cases}
    assert 2 <= len(keys) < len(cases)  # several documents, several rows each
    assert CV.source_key("github:a/b@1 x.md (t1)") == CV.source_key("github:a/b@2 x.md (t2)")
    assert CV.source_key("github:a/b@1 x.md") != CV.source_key("github:a/b@1 y.md")


def test_a_fold_fit_is_the_fit_without_the_held_out_document(cases):
    folds = CV.Folds(cases, Predictor())
    group = CV.source_key(cases[0].row.source)
    held = [c for c in cases if CV.source_key(c.row.source) == group]
    train = [c for c in cases if c not in held]
    out = CV.leave_one_source_out(cases, folds)
    assert set(out) == {c.row.id for c in cases}
    params = folds.fit(train, {c.family for c in held})
    for c in held:
        want = folds.predictor(c, extra={f"efficiency.{k}": v for k, v in params[c.family].items()}).value
        assert out[c.row.id].value == pytest.approx(want)
        assert out[c.row.id].group == group


def test_a_family_without_evidence_falls_back_to_the_schema_default(cases):
    from simulator.spec.models import Efficiency

    folds = CV.Folds(cases, Predictor())
    params = folds.fit([], {"google-edge-tpu"})["google-edge-tpu"]
    assert params == {s: getattr(Efficiency(), s) for s in CV.STAGES}


def test_tabulated_predictions_interpolate_between_grid_points(cases):
    folds = CV.Folds(cases, Predictor())
    c = next(c for c in cases if c.family == "aws-neuron")
    xs = folds.grid("compute")
    exact = folds.predictor(c, extra={"efficiency.compute": xs[4]}).value
    assert folds.predicted(c, "compute", xs[4]) == pytest.approx(exact)
    mid = (xs[4] * xs[5]) ** 0.5
    lo, hi = sorted((folds.predicted(c, "compute", xs[4]), folds.predicted(c, "compute", xs[5])))
    assert lo <= folds.predicted(c, "compute", mid) <= hi


def test_a_fitted_eager_stack_without_fold_rows_never_takes_its_shipped_fit(cases):
    """The shipped tf-graph host time was fitted on its one latency row: a fold holding that row out
    must not predict it with that value. Without eager latency rows at all, the prior; a stack the
    calibration never fitted keeps its own value (None: the predictor reads the stack file)."""
    from simulator.spec.stack import load_stack

    folds = CV.Folds(cases, Predictor())
    assert load_stack("tf-graph").fitted_to
    assert folds.fit_dispatch([], "tf-graph") == CV.EAGER_PRIOR_US
    assert folds.fit_dispatch([], "tensorrt") is None
    eager = [c for c in map_rows(read_calibration()) if isinstance(c, Case) and c.eager and c.category == "latency"]
    others = [c for c in eager if c.stack != "tf-graph"]
    assert others, "eager latency rows of another stack"
    x = folds.fit_dispatch(others, "tf-graph")
    assert x == pytest.approx(folds.fit_dispatch(others, others[0].stack))


def test_rows_beyond_the_robust_cap_at_every_value_are_no_evidence(cases):
    """A family whose only rows the model misses by more than the cap whatever the parameter (here a
    row's measurement scaled 10x, ln 10 = 2.3 > 0.5 over the whole 5x compute range) gets the schema
    default, not golden's tie-break at the lower bound; one row inside the cap restores the fit."""
    import dataclasses

    from simulator.spec.models import Efficiency

    folds = CV.Folds(cases, Predictor())
    rows = [c for c in cases if c.family == "aws-neuron" and c.category == "inference"]
    far = [dataclasses.replace(c, row=dataclasses.replace(c.row, value=c.row.value * 10)) for c in rows]
    assert folds._fit(far, "compute") is None
    assert folds.fit(far, {"aws-neuron"})["aws-neuron"]["compute"] == Efficiency().compute
    x = folds._fit(far + rows[:1], "compute")
    assert x is not None and x > CV.BOUNDS["compute"][0]


def test_a_stream_stack_without_fold_rows_pools_the_other_stream_stacks():
    """The shipped tensorrt-llm gap was fitted on one document's rows: a fold holding them out takes the
    gap the other TensorRT-LLM release's rows identify (same runtime, kernels launched from a stream
    outside a CUDA graph), the value those rows give their own stack; with no stream-stack rows, None
    (the fold then keeps the device's gap)."""
    rows = [c for c in map_rows(read_calibration())
            if isinstance(c, Case) and c.stack == "tensorrt-llm-0.6" and c.row.id in {"M103", "M105"}]
    assert len(rows) == 2
    folds = CV.Folds(rows, Predictor())
    own = folds.fit_stack_gap(rows, "tensorrt-llm-0.6")
    assert own is not None and CV.BOUNDS["kernel_overhead_us"][0] < own < CV.BOUNDS["kernel_overhead_us"][1]
    assert folds.fit_stack_gap(rows, "tensorrt-llm") == pytest.approx(own)
    assert folds.fit_stack_gap([], "tensorrt-llm") is None
