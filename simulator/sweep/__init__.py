"""Design-space sweeps: the grid (``space``), one simulation per point (``run``) on a local pool or
a Dask cluster, a crash-safe SQLite store (``store``), the ``sweep`` CLI subcommand (``cli``) and
Pareto fronts / sensitivities over the resulting table (``pareto``)."""
from __future__ import annotations

from .pareto import pareto, sensitivity
from .run import DERIVED_COLUMNS, RESULT_COLUMNS, derive, run_point, sweep

__all__ = ["sweep", "run_point", "derive", "RESULT_COLUMNS", "DERIVED_COLUMNS", "pareto", "sensitivity"]
