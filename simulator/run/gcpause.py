"""Pause Python's cyclic garbage collector while a simulation allocates its graph and events.

A simulation creates hundreds of thousands of long-lived objects (ops, graph nodes, SimPy events);
each generation-2 collection walks all of them, so with the collector on, a 100k-op graph costs
~2x more per op than a 10k-op one (benchmarks/bench_scaleout.py). Reference counting still frees
everything acyclic; the collector runs again as soon as the block ends.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector inside the block; restore its previous state after.

    Example:
        >>> with paused_gc():
        ...     gc.isenabled()
        False
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
