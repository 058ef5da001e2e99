"""Serving under load: request arrivals, batching policies and replicas played in the engine
(``run``), service times from the cost models (``costs``), latency statistics (``stats``) and the
``serve`` / ``realtime`` CLI subcommands (``cli``)."""
from __future__ import annotations

from .run import ARRIVALS, ServingResult, serve

__all__ = ["serve", "ServingResult", "ARRIVALS"]
