"""Laws of the Pareto front and the sensitivity table, checked against brute force on random tables."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from simulator.sweep.pareto import pareto, sensitivity

# small integer values make ties and duplicates common, where dominance bugs hide
value = st.one_of(st.integers(0, 4).map(float), st.just(math.nan))


@st.composite
def tables(draw):
    n_obj = draw(st.integers(1, 3))
    n_rows = draw(st.integers(0, 25))
    rows = draw(st.lists(st.tuples(*[value] * n_obj, st.sampled_from(["ok", "ok", "ok", "invalid", "error"])),
                         min_size=n_rows, max_size=n_rows))
    names = [f"o{i}" for i in range(n_obj)]
    table = pd.DataFrame(rows, columns=[*names, "status"])
    maximize = [c for c in names if draw(st.booleans())]
    minimize = [c for c in names if c not in maximize]
    return table, minimize, maximize


def _candidates(table, objectives):
    ok = table[table["status"] == "ok"]
    return ok[ok[objectives].notna().all(axis=1)]


def _dominates(a, b, minimize, maximize) -> bool:
    worse_nowhere = all(a[c] <= b[c] for c in minimize) and all(a[c] >= b[c] for c in maximize)
    better_somewhere = any(a[c] < b[c] for c in minimize) or any(a[c] > b[c] for c in maximize)
    return worse_nowhere and better_somewhere


@given(tables())
def test_front_holds_no_dominated_row(case):
    table, minimize, maximize = case
    front = pareto(table, minimize=minimize, maximize=maximize)
    cands = _candidates(table, minimize + maximize)
    for _, f in front.iterrows():
        assert not any(_dominates(c, f, minimize, maximize) for _, c in cands.iterrows())


@given(tables())
def test_front_drops_no_non_dominated_row(case):
    table, minimize, maximize = case
    front = pareto(table, minimize=minimize, maximize=maximize)
    cands = _candidates(table, minimize + maximize)
    for i, c in cands.iterrows():
        if i not in front.index:
            assert any(_dominates(o, c, minimize, maximize) for _, o in cands.iterrows())


@given(tables())
def test_front_is_ok_rows_with_finite_objectives_in_table_order(case):
    table, minimize, maximize = case
    front = pareto(table, minimize=minimize, maximize=maximize)
    assert set(front.index) <= set(_candidates(table, minimize + maximize).index)
    assert list(front.index) == sorted(front.index)
    assert front.columns.tolist() == table.columns.tolist()


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from([1, 2]),
                          st.floats(0.1, 100, allow_nan=False)), min_size=1, max_size=30))
def test_sensitivity_spread_is_max_minus_min_of_group_means_sorted_descending(rows):
    table = pd.DataFrame(rows, columns=["hardware", "batch_size", "step_time_s"])
    s = sensitivity(table, "step_time_s")
    for _, r in s.iterrows():
        means = table.groupby(r["parameter"])["step_time_s"].mean()
        assert np.isclose(r["spread"], means.max() - means.min())
    assert s["spread"].is_monotonic_decreasing
    assert set(s["parameter"]) == {c for c in ("hardware", "batch_size") if table[c].nunique() > 1}
