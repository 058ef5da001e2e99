"""Reading a sweep table: the Pareto front of several objectives, and which parameters matter.

All functions take the DataFrame :func:`simulator.sweep` returns (any DataFrame with the named
columns works) and return new DataFrames; nothing is modified in place.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..errors import InputError
from .space import RUN_KEYS

if TYPE_CHECKING:
    import pandas as pd


def _usable(table: pd.DataFrame, columns: Sequence[str], feasible_only: bool) -> pd.DataFrame:
    import pandas as pd

    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"objective {missing[0]!r} is not a column of the table; columns: "
                         f"{', '.join(map(str, table.columns))}")
    rows = table
    if "status" in rows.columns:
        rows = rows[rows["status"] == "ok"]
    if feasible_only and "fits_in_memory" in rows.columns:
        rows = rows[rows["fits_in_memory"].astype(bool)]
    values = rows[list(columns)].apply(pd.to_numeric, errors="coerce")
    return rows[np.isfinite(values.to_numpy(dtype=float)).all(axis=1)]


def pareto(table: pd.DataFrame, minimize: Sequence[str] = (), maximize: Sequence[str] = (), *,
           feasible_only: bool = True) -> pd.DataFrame:
    """The non-dominated rows of ``table`` for the given objectives, in table order.

    A row dominates another when it is no worse on every objective and strictly better on one.
    Only rows with ``status == "ok"`` (when that column exists), finite objective values and, when
    ``feasible_only`` and the column exists, ``fits_in_memory`` are candidates. Rows with identical
    objective values do not dominate each other, so all of them are kept.

    Args:
        table: a sweep table (or any DataFrame holding the objective columns).
        minimize: columns where lower is better (e.g. ``step_time_s``, ``energy_j``, ``cost_usd``).
        maximize: columns where higher is better (e.g. ``throughput_samples_per_s``).
        feasible_only: drop points that do not fit in device memory.

    Raises:
        InputError: no objectives, or an objective that is not a column.

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"time": [1, 2, 3, 2], "cost": [3, 1, 2, 3]})
        >>> pareto(t, minimize=["time", "cost"]).index.tolist()
        [0, 1]
    """
    objectives = [*minimize, *maximize]
    if not objectives:
        raise InputError("pareto: name at least one objective to minimize or maximize")
    rows = _usable(table, objectives, feasible_only)
    if rows.empty:
        return rows.copy()
    signs = np.array([1.0] * len(minimize) + [-1.0] * len(maximize))
    values = rows[objectives].to_numpy(dtype=float) * signs  # every objective now minimised
    # In lexicographic order a dominating row always comes before the rows it dominates, so one pass
    # against the front found so far suffices, and the front only ever grows.
    order = np.lexsort(values.T[::-1])
    front = np.empty_like(values)
    kept: list[int] = []
    for i in order:
        v = values[i]
        f = front[: len(kept)]
        if len(kept) and np.any(np.all(f <= v, axis=1) & np.any(f < v, axis=1)):
            continue
        front[len(kept)] = v
        kept.append(int(i))
    return rows.iloc[sorted(kept)].copy()


def parameter_columns(table: pd.DataFrame) -> list[str]:
    """Columns of ``table`` that are sweep parameters and take more than one value.

    The sweep records its parameter names in ``table.attrs["parameters"]``; without it, columns named
    ``hardware``, ``hardware.<path>`` or a run parameter (``batch_size``, ``precision``...) count.
    """
    names = table.attrs.get("parameters") or [c for c in table.columns
                                               if c == "hardware" or str(c).startswith("hardware.") or c in RUN_KEYS]
    return [c for c in names if c in table.columns and table[c].astype(str).nunique() > 1]


def _levels(column: pd.Series, bins: int) -> pd.Series:
    """Values to group by: a numeric column with more than ``bins`` distinct values is cut into quantile bins."""
    import pandas as pd

    numeric = pd.to_numeric(column, errors="coerce")
    if numeric.notna().all() and column.nunique() > bins:
        return pd.qcut(numeric, q=bins, duplicates="drop").astype(str)
    return column.astype(str) if column.map(lambda x: isinstance(x, (dict, list))).any() else column


def main_effects(table: pd.DataFrame, objective: str, *, parameters: Sequence[str] | None = None,
                 bins: int = 5) -> pd.DataFrame:
    """Mean of ``objective`` for each value of each varied parameter (ok rows), as a long table.

    Columns: parameter, value, mean, count. Numeric parameters with more than ``bins`` distinct values
    (random or LHS sweeps) are grouped into ``bins`` quantile bins, labelled by interval.

    Raises:
        InputError: ``objective`` is not a column.

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"hardware": ["a", "a", "b"], "step_time_s": [1.0, 3.0, 5.0]})
        >>> main_effects(t, "step_time_s")["mean"].tolist()
        [2.0, 5.0]
    """
    import pandas as pd

    rows = _usable(table, [objective], feasible_only=False)
    params = list(parameters) if parameters is not None else parameter_columns(rows)
    parts = []
    for p in params:
        if p not in rows.columns:
            raise InputError(f"sensitivity: parameter {p!r} is not a column of the table")
        grouped = rows.groupby(_levels(rows[p], bins), sort=True, observed=True)[objective]
        stats = grouped.agg(["mean", "count"]).reset_index(names="value")
        stats.insert(0, "parameter", p)
        parts.append(stats)
    if not parts:
        return pd.DataFrame(columns=["parameter", "value", "mean", "count"])
    out = pd.concat(parts, ignore_index=True)
    out["mean"] = out["mean"].astype(float)
    return out


def sensitivity(table: pd.DataFrame, objective: str, *, parameters: Sequence[str] | None = None,
                bins: int = 5) -> pd.DataFrame:
    """How much each varied parameter moves ``objective``: the spread of its per-value means, largest first.

    For each parameter, ``spread`` = max - min over its values of the mean objective (a main effect,
    averaged over everything else that varies); ``relative_spread`` divides by the overall mean;
    ``lowest_at`` / ``highest_at`` name the values with the lowest and highest mean.

    Raises:
        InputError: ``objective`` or a named parameter is not a column.

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"hardware": ["a", "a", "b", "b"], "batch_size": [1, 2, 1, 2],
        ...                   "step_time_s": [1.0, 1.1, 5.0, 5.2]})
        >>> sensitivity(t, "step_time_s")["parameter"].tolist()
        ['hardware', 'batch_size']
    """
    import pandas as pd

    effects = main_effects(table, objective, parameters=parameters, bins=bins)
    overall = float(_usable(table, [objective], feasible_only=False)[objective].astype(float).mean()) \
        if len(effects) else float("nan")
    rows: list[dict[str, Any]] = []
    for p, grp in effects.groupby("parameter", sort=False):
        lo, hi = grp.loc[grp["mean"].idxmin()], grp.loc[grp["mean"].idxmax()]
        spread = float(hi["mean"] - lo["mean"])
        rows.append({"parameter": p, "values": len(grp), "spread": spread,
                     "relative_spread": spread / abs(overall) if overall else float("nan"),
                     "min_mean": float(lo["mean"]), "max_mean": float(hi["mean"]),
                     "lowest_at": lo["value"], "highest_at": hi["value"]})
    cols = ["parameter", "values", "spread", "relative_spread", "min_mean", "max_mean", "lowest_at", "highest_at"]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["spread", "parameter"], ascending=[False, True], kind="stable").reset_index(drop=True)

