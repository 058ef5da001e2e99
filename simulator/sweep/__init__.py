"""Design-space sweeps: the grid (``space``), one simulation per point (``run``) on a local pool or
a Dask cluster, a crash-safe SQLite store (``store``), the ``sweep`` CLI subcommand (``cli``) and
Pareto fronts / sensitivities over the resulting table (``pareto``), and the largest batch that
fits on a device (``capacity``)."""
from __future__ import annotations

from .capacity import max_batch_size
from .pareto import pareto, sensitivity
from .run import DERIVED_COLUMNS, RESULT_COLUMNS, derive, run_point, sweep

__all__ = ["max_batch_size", "sweep", "run_point", "derive", "RESULT_COLUMNS", "DERIVED_COLUMNS", "pareto", "sensitivity"]
