"""A DPU family's per-layer time is identified by its one-thread runner rows, in every fold too."""
from __future__ import annotations

import pytest

from validation import crossval as CV
from validation.stages import _dpu_one_image, _stage_rows
from validation.mapping import map_rows
from validation.predict import Predictor
from validation.cases import Case
from validation.rows import read_calibration

FAMILY = "xilinx-dsp-dpu"


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return [c for c in map_rows(read_calibration()) if isinstance(c, Case) and c.family == FAMILY]


def test_one_thread_dpu_runner_rows_are_the_overhead_evidence(cases):
    rows = _stage_rows(cases, "op_overhead_us", Predictor())
    # the zoo's single-thread and 'Thread num = 1' rows: F015, F022 (VAI 3.0), F043-F045 (VAI 2.0)
    assert {c.row.id for c in rows} == {"F015", "F022", "F043", "F044", "F045"}
    assert all(c.host_threads == 1 and c.category == "latency" for c in rows)
    # multi-thread throughput rows fit compute, not the per-layer time
    assert not any(_dpu_one_image(c) for c in cases if c.host_threads != 1)


def test_every_fold_identifies_the_per_layer_time(cases):
    """Leaving either zoo document out, the other still pins op_overhead_us: no fold falls back to the
    schema's default (5 us) while its compute was fitted at the shipped overhead."""
    from simulator.spec.models import Efficiency

    folds = CV.Folds(cases, Predictor())
    groups = {CV.source_key(c.row.source) for c in cases}
    assert len(groups) >= 3
    for g in groups:
        train = [c for c in cases if CV.source_key(c.row.source) != g]
        x = folds.fit(train, {FAMILY})[FAMILY]["op_overhead_us"]
        assert x != Efficiency().op_overhead_us
        assert 20.0 < x < 80.0  # tens of microseconds per DPU layer, as the full fit
