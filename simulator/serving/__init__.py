"""Serving under load: request arrivals, batching policies and replicas played in the engine
(``run``), service times from the cost models (``costs``), latency statistics (``stats``) and the
``serve`` / ``realtime`` CLI subcommands (``cli``)."""
from __future__ import annotations

import importlib

_LAZY = {"serve": ".run", "ServingResult": ".run", "ARRIVALS": ".run"}  # imported on first use


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["serve", "ServingResult", "ARRIVALS"]
