"""Shared test setup: hypothesis profiles (deterministic, no deadlines on a noisy 2-core machine)."""
from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=10_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("default")

REPO = Path(__file__).resolve().parents[1]
