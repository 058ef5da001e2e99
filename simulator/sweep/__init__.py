"""Design-space sweeps: the grid (``space``), one simulation per point (``run``) on a local pool or
a Dask cluster, a crash-safe SQLite store (``store``), the ``sweep`` CLI subcommand (``cli``) and
Pareto fronts / sensitivities over the resulting table (``pareto``), and the largest batch that
fits on a device (``capacity``)."""
from __future__ import annotations

import importlib

# name -> module defining it, imported on first use: the CLI's other commands never load them
_LAZY = {"max_batch_size": ".capacity", "pareto": ".pareto", "sensitivity": ".pareto", "DERIVED_COLUMNS": ".run",
         "RESULT_COLUMNS": ".run", "derive": ".run", "run_point": ".run", "sweep": ".run"}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["max_batch_size", "sweep", "run_point", "derive", "RESULT_COLUMNS", "DERIVED_COLUMNS", "pareto", "sensitivity"]
