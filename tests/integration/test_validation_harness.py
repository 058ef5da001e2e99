"""The validation harness: every calibration row predicted or refused with a reason, finite errors,
and the test-split error held under a threshold so regressions in the cost models are caught.

Threshold: the overall test-split median |error| is at most 35 % (REPORT.md records the current
value; the issue's goal is 10 %, which the models do not meet yet).
"""
from __future__ import annotations

import math
import time

import pytest

from validation import harness
from validation.rows import MEASUREMENTS, read_rows

pytestmark = pytest.mark.skipif(not MEASUREMENTS.exists(), reason="../shared/calibration not present")

SUBSET = {"M001", "M017", "M027", "M043", "M019", "M024", "M083", "M146"}
TEST_MEDIAN_MAX_PCT = 35.0


@pytest.fixture(scope="module")
def full():
    return harness.run()


def test_subset_runs_quickly_and_accounts_for_every_row():
    t0 = time.perf_counter()
    rep = harness.run(ids=SUBSET)
    assert time.perf_counter() - t0 < 20
    seen = {s.id for s in rep.scored} | {u.row.id for u in rep.refused}
    assert seen == SUBSET
    assert {u.row.id for u in rep.refused} >= {"M019", "M024"}  # host copy, multi-node collective
    assert all(u.reason for u in rep.refused)
    for s in rep.scored:
        assert math.isfinite(s.error) and s.predicted > 0


def test_every_row_is_predicted_or_refused_with_a_reason(full):
    ids = [r.id for r in read_rows()]
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


def test_test_split_median_error_is_below_threshold(full):
    overall = full.summary[("overall", "test")]
    assert overall["n"] >= 20
    assert overall["median_pct"] <= TEST_MEDIAN_MAX_PCT, overall


def test_report_renders_with_command_and_tables(full):
    text = harness.render(full)
    assert harness.COMMAND in text
    assert "## Rows not expressible yet" in text and "| overall | test |" in text
