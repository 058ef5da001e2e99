"""Serving under load: request arrivals, batching policies and replicas played in the engine
(``run``), LLM engine schedulers as data (``policy``, ``paged``), request traces and mixes
(``requests``), service times from the cost models (``costs``), latency and SLO statistics (``stats``),
deployment planning (``plan``) and the ``serve`` / ``plan`` / ``realtime`` CLI subcommands (``cli``)."""
from __future__ import annotations

from .plan import DeploymentPlan, plan_deployment
from .policy import SchedulerPolicy, list_schedulers, load_scheduler
from .requests import RequestTrace, list_request_mixes, load_requests, request_mix
from .run import ARRIVALS, ServingResult, serve

__all__ = ["serve", "ServingResult", "ARRIVALS", "plan_deployment", "DeploymentPlan", "load_requests", "request_mix",
           "list_request_mixes", "RequestTrace", "load_scheduler", "list_schedulers", "SchedulerPolicy"]
