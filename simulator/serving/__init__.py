"""Serving under load: request arrivals, batching policies and replicas played in the engine
(``run``), LLM engine schedulers as data (``policy``, ``paged``), request traces and mixes
(``requests``), service times from the cost models (``costs``), latency and SLO statistics (``stats``),
deployment planning (``plan``) and the ``serve`` / ``plan`` / ``realtime`` CLI subcommands (``cli``)."""
from __future__ import annotations

import importlib

_LAZY = {"serve": ".run", "ARRIVALS": ".run", "ServingResult": ".result",  # imported on first use
         "DeploymentPlan": ".plan", "plan_deployment": ".plan",
         **dict.fromkeys(("SchedulerPolicy", "list_schedulers", "load_scheduler"), ".policy"),
         **dict.fromkeys(("RequestTrace", "list_request_mixes", "load_requests", "request_mix"), ".requests")}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["serve", "ServingResult", "ARRIVALS", "plan_deployment", "DeploymentPlan", "load_requests", "request_mix",
           "list_request_mixes", "RequestTrace", "load_scheduler", "list_schedulers", "SchedulerPolicy"]
